//go:build e2e

package e2e

import (
	"context"
	"testing"
	"time"

	"github.com/ovsnet/ovsnet/test/cluster"
)

// Open vSwitch restarts under the agent: ovs-vswitchd crashes and comes
// back (its flows and tunnel neighbours are gone), then ovsdb-server does.
// The agent notices, restores bridge, ports and flows, and traffic between
// the containers resumes; the packets lost at 100 pings a second are
// printed.
func TestOVSRestarts(t *testing.T) {
	c := cluster.New(t, cluster.Options{Hosts: 2})
	h1, h2 := c.Lab.Hosts[0], c.Lab.Hosts[1]
	c.CreateNetwork("ovsr", "--subnet", "10.61.0.0/24")
	a := c.Lab.AddContainer(h1, "a")
	b := c.Lab.AddContainer(h2, "b")
	c.Connect("ovsr", a, nil)
	eb := c.Connect("ovsr", b, nil)
	to := eb.IPv4.Addr().String()
	cluster.WaitPing(t, a, to, 10*time.Second)

	for _, fault := range []struct {
		name          string
		kill, restart func()
	}{
		{"ovs-vswitchd", h2.KillVswitchd, h2.StartVswitchd},
		{"ovsdb-server", h2.KillOVSDB, h2.StartOVSDB},
	} {
		ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
		ping := startPing(ctx, a, to, 10*time.Millisecond, 1000) // 10 s at 100/s
		time.Sleep(2 * time.Second)
		fault.kill()
		time.Sleep(time.Second)
		restarted := time.Now()
		fault.restart()
		res := ping.wait()
		cancel()
		t.Logf("%s killed and started again (down 1 s, restarted %s): %d of %d pings lost at 100/s",
			fault.name, restarted.Format("15:04:05.000"), res.transmitted-res.received, res.transmitted)
		// Whatever was lost, traffic flows again.
		cluster.WaitPing(t, a, to, 20*time.Second)
		cluster.WaitPing(t, b, "10.61.0.2", 20*time.Second)
	}
	// A new container on the restarted host works too.
	d := c.Lab.AddContainer(h2, "d")
	ed := c.Connect("ovsr", d, nil)
	cluster.WaitPing(t, a, ed.IPv4.Addr().String(), 10*time.Second)
}
