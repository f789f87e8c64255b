//go:build e2e

package e2e

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ovsnet/ovsnet/test/cluster"
)

// A wiped Consul does not mean renumbering every container: `ovsnetctl
// backup` saves the intent, ovsnet's keys are deleted from Consul (the
// agents unplug what they no longer find), `ovsnetctl restore` brings it
// back, and the running containers keep their addresses and reach each
// other again. Restoring twice changes nothing.
func TestBackupWipeRestoreLive(t *testing.T) {
	c := cluster.New(t, cluster.Options{Hosts: 2, LogLevel: "info"})
	h1, h2 := c.Lab.Hosts[0], c.Lab.Hosts[1]
	netID := c.CreateNetwork("bk", "--subnet", "10.63.0.0/24")
	a := c.Lab.AddContainer(h1, "a")
	b := c.Lab.AddContainer(h2, "b")
	ea := c.Connect("bk", a, nil)
	eb := c.Connect("bk", b, nil)
	cluster.WaitPing(t, a, eb.IPv4.Addr().String(), 10*time.Second)
	vniBefore := c.MustCtl("network", "inspect", "-f", "{{index .Options \"com.docker.network.driver.overlay.vxlanid_list\"}}", "bk")
	if vniBefore == "" || vniBefore == "<no value>" {
		t.Fatalf("network bk shows no VNI: %q", vniBefore)
	}

	backup := filepath.Join(c.Lab.Dir, "backup.json")
	out := c.MustCtl("backup")
	if err := os.WriteFile(backup, []byte(out), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{netID, ea.IPv4.Addr().String(), eb.IPv4.Addr().String()} {
		if !strings.Contains(out, want) {
			t.Fatalf("the backup lacks %s:\n%s", want, out)
		}
	}

	// Wipe every ovsnet key in Consul.
	code, body, err := cluster.HTTP("DELETE", c.Consul.URL()+"/v1/kv/"+c.Prefix+"?recurse=true", "")
	if err != nil || code != 200 {
		t.Fatalf("wiping %s in Consul: %d %s %v", c.Prefix, code, body, err)
	}
	cluster.Poll(t, 20*time.Second, "the network gone from the controller", func() error {
		if out, err := c.Ctl("network", "ls", "-q", "-f", "name=bk"); err != nil || strings.TrimSpace(out) != "" {
			return errorf("network ls: %q %v", out, err)
		}
		return nil
	})
	// The agents re-register; the containers are cut off.
	c.WaitHostsAlive(30 * time.Second)
	cluster.Poll(t, 20*time.Second, "traffic stopped with the intent gone", func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		defer cancel()
		if _, err := a.Exec(ctx, "ping", "-c1", "-W1", eb.IPv4.Addr().String()); err == nil {
			return errorf("a still reaches b")
		}
		return nil
	})

	restored := c.MustCtl("restore", backup)
	t.Logf("restore: %s", restored)
	cluster.WaitPing(t, a, eb.IPv4.Addr().String(), 30*time.Second)
	cluster.WaitPing(t, b, ea.IPv4.Addr().String(), 10*time.Second)
	if got := strings.TrimSpace(c.MustCtl("network", "inspect", "-f", "{{.Id}}", "bk")); got != netID {
		t.Errorf("network id after restore %s, want %s", got, netID)
	}
	if got := c.MustCtl("network", "inspect", "-f", "{{index .Options \"com.docker.network.driver.overlay.vxlanid_list\"}}", "bk"); got != vniBefore {
		t.Errorf("VNI after restore %s, want %s", got, vniBefore)
	}
	eps := map[string]string{}
	for _, ep := range c.Endpoints("bk") {
		eps[ep.ContainerName] = ep.IPv4.Addr().String()
	}
	if eps["a"] != ea.IPv4.Addr().String() || eps["b"] != eb.IPv4.Addr().String() {
		t.Errorf("addresses after restore %v, want a=%s b=%s", eps, ea.IPv4.Addr(), eb.IPv4.Addr())
	}

	// Again: nothing to do, nothing changes.
	c.MustCtl("restore", backup)
	if got := len(c.Endpoints("bk")); got != 2 {
		t.Errorf("after a second restore %d endpoints, want 2", got)
	}
	cluster.WaitPing(t, a, eb.IPv4.Addr().String(), 10*time.Second)
	// A new container gets a fresh address, not a restored one.
	d := c.Lab.AddContainer(h2, "d")
	ed := c.Connect("bk", d, nil)
	if s := ed.IPv4.Addr().String(); s == eps["a"] || s == eps["b"] {
		t.Errorf("a new container got a restored address %s", s)
	}
	cluster.WaitPing(t, a, ed.IPv4.Addr().String(), 10*time.Second)
}
