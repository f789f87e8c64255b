package model

import (
	"fmt"
	"path"
	"strconv"
	"strings"
)

// NetnsDir is where named network namespaces live (ip netns add NAME).
const NetnsDir = "/run/netns"

// CheckNetnsPath says whether p may be a container's network namespace: a
// named namespace, /run/netns/NAME (or /var/run/netns/NAME), or a
// process's, /proc/PID/ns/net, other than PID 1's (the host's). Anything
// else could be the host's own namespace, or no namespace at all. The
// agent checks further what only it can see: that the namespace is not
// its own, nor PID 1's, whatever the path (ovsagent/hostnet).
func CheckNetnsPath(p string) error {
	if len(p) > MaxNetnsPath {
		return fmt.Errorf("netns %.80q...: a namespace path has at most %d bytes", p, MaxNetnsPath)
	}
	help := fmt.Sprintf("a container's network namespace is %s/NAME (ip netns) or /proc/PID/ns/net", NetnsDir)
	if p != path.Clean(p) || !strings.HasPrefix(p, "/") {
		return fmt.Errorf("netns %q must be a clean absolute path: %s", p, help)
	}
	if name, ok := strings.CutPrefix(p, NetnsDir+"/"); ok && validNetnsName(name) {
		return nil
	}
	if name, ok := strings.CutPrefix(p, "/var"+NetnsDir+"/"); ok && validNetnsName(name) {
		return nil
	}
	if rest, ok := strings.CutPrefix(p, "/proc/"); ok {
		if pid, ok := strings.CutSuffix(rest, "/ns/net"); ok {
			n, err := strconv.Atoi(pid)
			switch {
			case err != nil || n < 1 || strconv.Itoa(n) != pid:
			case n == 1:
				return fmt.Errorf("netns %s is PID 1's network namespace, the host's own: refused (%s)", p, help)
			default:
				return nil
			}
		}
	}
	return fmt.Errorf("netns %q is not a container's network namespace: %s", p, help)
}

func validNetnsName(name string) bool {
	return name != "" && name != "." && name != ".." && !strings.Contains(name, "/")
}
