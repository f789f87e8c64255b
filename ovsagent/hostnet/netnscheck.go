package hostnet

import (
	"errors"
	"fmt"

	"golang.org/x/sys/unix"

	"github.com/ovsnet/ovsnet/model"
)

// A container's network namespace must be one: a named namespace or a
// process's (the path's shape, model.CheckNetnsPath), and a network
// namespace that is neither the agent's own nor PID 1's, whatever path
// leads to it (a named namespace can be a bind mount of the host's).
// Plumbing into the host's namespace would put an overlay interface and a
// default route on the host itself.

// namespaceGuard holds the namespaces no endpoint may be plumbed into.
type namespaceGuard struct {
	// self and init are the paths of the agent's own network namespace and
	// PID 1's.
	self, init string
}

var hostNamespaces = namespaceGuard{self: "/proc/self/ns/net", init: "/proc/1/ns/net"}

// check refuses the namespace open at fd (reached through path) unless it
// is a network namespace other than the host's. It looks at the open file,
// so what is checked is what gets plumbed.
func (g namespaceGuard) check(fd int, path string) error {
	var fs unix.Statfs_t
	if err := unix.Fstatfs(fd, &fs); err != nil {
		return fmt.Errorf("network namespace %s: %w", path, err)
	}
	if fs.Type != unix.NSFS_MAGIC {
		return fmt.Errorf("%s is not a namespace (a file or directory of some other file system): refused", path)
	}
	kind, err := unix.IoctlRetInt(fd, unix.NS_GET_NSTYPE)
	if err != nil {
		return fmt.Errorf("network namespace %s: %w", path, err)
	}
	if kind != unix.CLONE_NEWNET {
		return fmt.Errorf("%s is a namespace, but not a network namespace: refused", path)
	}
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return fmt.Errorf("network namespace %s: %w", path, err)
	}
	for _, ref := range []struct{ path, what string }{
		{g.self, "the ovsnet agent's own network namespace, the host's"},
		{g.init, "PID 1's network namespace, the host's"},
	} {
		var r unix.Stat_t
		if err := unix.Stat(ref.path, &r); err != nil {
			if errors.Is(err, unix.EACCES) || errors.Is(err, unix.EPERM) {
				continue // not ours to see (an unprivileged test): nothing to compare
			}
			return fmt.Errorf("network namespace %s: comparing with %s: %w", path, ref.path, err)
		}
		if r.Dev == st.Dev && r.Ino == st.Ino {
			return fmt.Errorf("%s is %s: an endpoint is never plumbed there (%s)", path, ref.what, netnsHelp)
		}
	}
	return nil
}

const netnsHelp = "give the container's own namespace: " + model.NetnsDir + "/NAME or /proc/PID/ns/net"
