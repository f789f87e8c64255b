//go:build e2e

package e2e

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/ovsnet/ovsnet/model"
	"github.com/ovsnet/ovsnet/test/cluster"
)

// A host that dies is reaped after the grace period: its addresses can be
// taken again, its peers hold no flow for it; when it comes back, it
// unplugs its reaped endpoints and nothing conflicts.
func TestDeadHostReaped(t *testing.T) {
	c := cluster.New(t, cluster.Options{Hosts: 3, ControllerArgs: []string{"-host-grace", "3s", "-reap-dead-hosts"}})
	h1, h2, h3 := c.Lab.Hosts[0], c.Lab.Hosts[1], c.Lab.Hosts[2]
	c.CreateNetwork("dh", "--subnet", "10.60.0.0/24")
	a := c.Lab.AddContainer(h1, "a")
	b := c.Lab.AddContainer(h2, "b")
	gone := c.Lab.AddContainer(h3, "gone")
	c.Connect("dh", a, nil)
	c.Connect("dh", b, nil)
	eg := c.Connect("dh", gone, nil)
	cluster.WaitPing(t, a, eg.IPv4.Addr().String(), 10*time.Second)
	peer := h3.TunnelIP.String()
	if flows, _ := h1.Ofctl("-O", "OpenFlow14", "dump-flows", "br-int"); !strings.Contains(flows, peer) {
		t.Fatalf("h1 holds no flow for h3 while it lives:\n%s", flows)
	}

	died := time.Now()
	if err := c.Agents[h3.Name].Stop(); err != nil {
		t.Fatal(err)
	}
	h3.StopOVS()
	cluster.Poll(t, 60*time.Second, "h3 reaped", func() error {
		eps := c.Endpoints("dh")
		for _, ep := range eps {
			if ep.Host == h3.Name {
				return errorf("h3's endpoint is still there")
			}
		}
		hosts, err := c.API.ListHosts(context.Background())
		if err != nil {
			return err
		}
		for _, h := range hosts {
			if h.Name == h3.Name {
				return errorf("h3 still listed (%s)", h.State)
			}
		}
		return nil
	})
	t.Logf("h3 reaped %s after its agent stopped (grace 3s)", time.Since(died).Round(100*time.Millisecond))
	for _, h := range []*struct{ name, flows string }{{h1.Name, ""}, {h2.Name, ""}} {
		host := h1
		if h.name == h2.Name {
			host = h2
		}
		cluster.Poll(t, 10*time.Second, h.name+" drops h3's flows", func() error {
			flows, err := host.Ofctl("-O", "OpenFlow14", "dump-flows", "br-int")
			if err != nil {
				return err
			}
			if strings.Contains(flows, peer) {
				return errorf("%s still holds flows for %s", h.name, peer)
			}
			return nil
		})
	}
	// The dead endpoint's address is free for someone else.
	reuse := c.Lab.AddContainer(h1, "reuse")
	er := c.Connect("dh", reuse, &model.EndpointSettings{IPAMConfig: &model.EndpointIPAMConfig{IPv4Address: eg.IPv4.Addr().String()}})
	cluster.WaitPing(t, b, er.IPv4.Addr().String(), 10*time.Second)

	// h3 comes back: it unplugs what was reaped, says so, and works again.
	h3.StartOVS()
	c.Agents[h3.Name].Restart()
	c.WaitHostsAlive(30*time.Second, h3)
	cluster.Poll(t, 20*time.Second, "h3 unplugs its reaped endpoint and says so", func() error {
		if _, ok := cluster.Addrs(t, gone)["eth0"]; ok {
			return errorf("gone still has eth0")
		}
		if !strings.Contains(c.Agents[h3.Name].Log(), "no longer has") {
			return errorf("h3's agent does not say why it unplugged the endpoint:\n%s", lastLines(c.Agents[h3.Name].Log(), 20))
		}
		return nil
	})
	back := c.Lab.AddContainer(h3, "back")
	eb := c.Connect("dh", back, nil)
	cluster.WaitPing(t, back, er.IPv4.Addr().String(), 10*time.Second)
	cluster.WaitPing(t, a, eb.IPv4.Addr().String(), 10*time.Second)
}

// A second agent started with a host name a live agent holds refuses to
// run, and says why; the first keeps its host.
func TestDuplicateAgentRefused(t *testing.T) {
	c := cluster.New(t, cluster.Options{Hosts: 2})
	h1, h2 := c.Lab.Hosts[0], c.Lab.Hosts[1]
	args := append(c.AgentArgs(h2), "-host", h1.Name, "-metrics-listen", "")
	dup := c.Lab.Start("agent-duplicate", h2.Netns, h2.Env(), c.Bins["ovsnet-agent"], args...)
	if err := dup.Wait(30 * time.Second); err == nil {
		t.Fatalf("the duplicate agent exited without an error:\n%s", lastLines(dup.Log(), 20))
	}
	if log := dup.Log(); !strings.Contains(log, "held by another ovsnet agent that is alive") {
		t.Fatalf("the duplicate agent does not say why it stopped:\n%s", lastLines(log, 20))
	}
	c.WaitHostsAlive(5*time.Second, h1)
	a := c.Lab.AddContainer(h1, "a")
	c.CreateNetwork("dup")
	c.Connect("dup", a, nil)
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
