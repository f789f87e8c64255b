//go:build e2e

package lab

import (
	"os"
	"path/filepath"
	"testing"
)

// Files the agent's DNS writes for a lab container under /etc/netns go
// with the lab.
func TestCleanupRemovesEtcNetns(t *testing.T) {
	var dir string
	t.Run("sub", func(t *testing.T) {
		l := New(t, Options{Hosts: 1})
		c := l.AddContainer(l.Hosts[0], "c1")
		dir = filepath.Join(etcNetns, c.NetnsName)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "resolv.conf"), []byte("nameserver 10.0.0.1\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		if left := etcNetnsLeftovers(l.Prefix); len(left) != 1 {
			t.Fatalf("etcNetnsLeftovers = %q, want the one directory", left)
		}
	})
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		os.RemoveAll(dir)
		t.Fatalf("%s survived the lab's cleanup (%v)", dir, err)
	}
}
