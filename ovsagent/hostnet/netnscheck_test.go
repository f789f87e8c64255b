package hostnet

import (
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/vishvananda/netns"

	"github.com/ovsnet/ovsnet/model"
)

func checkPath(t *testing.T, g namespaceGuard, path string) error {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	return g.check(int(f.Fd()), path)
}

// The agent's own namespace and PID 1's are refused whatever the path
// that leads to them; so is anything that is not a network namespace.
func TestNamespaceGuard(t *testing.T) {
	if err := checkPath(t, hostNamespaces, "/proc/self/ns/net"); err == nil || !strings.Contains(err.Error(), "agent's own network namespace") {
		t.Errorf("the agent's own namespace: %v", err)
	}
	// PID 1's, played by this process's (an unprivileged test may not look
	// at the real PID 1).
	asInit := namespaceGuard{self: "/proc/self/ns/uts", init: "/proc/self/ns/net"}
	if err := checkPath(t, asInit, "/proc/self/ns/net"); err == nil || !strings.Contains(err.Error(), "PID 1's network namespace") {
		t.Errorf("PID 1's namespace: %v", err)
	}
	if err := checkPath(t, hostNamespaces, "/proc/self/ns/uts"); err == nil || !strings.Contains(err.Error(), "not a network namespace") {
		t.Errorf("a UTS namespace: %v", err)
	}
	file := filepath.Join(t.TempDir(), "fake")
	_ = os.WriteFile(file, nil, 0o600)
	if err := checkPath(t, hostNamespaces, file); err == nil || !strings.Contains(err.Error(), "not a namespace") {
		t.Errorf("a regular file: %v", err)
	}

	// A container's namespace passes (needs CAP_SYS_ADMIN to make one).
	if os.Geteuid() != 0 {
		t.Skip("making a network namespace needs root")
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	orig, err := netns.Get()
	if err != nil {
		t.Fatal(err)
	}
	defer orig.Close()
	ns, err := netns.New() // and this thread enters it
	if err != nil {
		t.Skipf("new namespace: %v", err)
	}
	defer ns.Close()
	if err := netns.Set(orig); err != nil {
		t.Fatal(err)
	}
	if err := hostNamespaces.check(int(ns), "/proc/x/ns/net"); err != nil {
		t.Errorf("a container's namespace refused: %v", err)
	}
}

// EnsureEndpoint refuses before creating anything.
func TestEnsureEndpointRefusesTheHostNamespace(t *testing.T) {
	n := &model.Network{ID: strings.Repeat("a", 64)}
	for _, p := range []string{"/proc/1/ns/net", "/proc/self/ns/net", "/etc/passwd", "/run/netns/../../proc/1/ns/net"} {
		ep := &model.Endpoint{ID: strings.Repeat("b", 64), Netns: p, IfName: "eth9"}
		if err := (Netlink{}).EnsureEndpoint(ep, n, 1500); err == nil || !strings.Contains(err.Error(), "refused") && !strings.Contains(err.Error(), "not a container's") && !strings.Contains(err.Error(), "clean absolute path") {
			t.Errorf("%s: %v", p, err)
		}
	}
}
