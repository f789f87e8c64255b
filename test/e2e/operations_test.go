//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/ovsnet/ovsnet/flows"
	"github.com/ovsnet/ovsnet/model"
	"github.com/ovsnet/ovsnet/test/cluster"
)

// Operators inspect everything with the standard tools: ports carry
// external_ids naming network, endpoint and container; flows show named
// tables and per-network cookies.
func TestInspectionWithOVSTools(t *testing.T) {
	c := cluster.New(t, cluster.Options{Hosts: 2})
	h1 := c.Lab.Hosts[0]
	c.CreateNetwork("testnet02")
	c.CreateNetwork("testnet03", "--internal")
	c1 := c.Lab.AddContainer(h1, "c1")
	c2 := c.Lab.AddContainer(c.Lab.Hosts[1], "c2")
	ep := c.Connect("testnet02", c1, nil)
	c.Connect("testnet02", c2, nil)
	ep3 := c.Connect("testnet03", c1, nil)

	show, err := h1.Vsctl("show")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Bridge br-int", "fail_mode: secure", "datapath_type: netdev",
		"Port " + ep.PortName(), "Port " + ep3.PortName(), "type: vxlan", "key=flow", "remote_ip=flow"} {
		if !strings.Contains(show, want) {
			t.Errorf("ovs-vsctl show lacks %q:\n%s", want, show)
		}
	}
	ids, err := h1.Vsctl("--columns=external_ids", "list", "Interface", ep.PortName())
	if err != nil {
		t.Fatal(err)
	}
	// ovs-vsctl quotes values only where it must (an id starting with a
	// digit, a MAC with colons).
	for _, want := range []string{"ovsnet-network=testnet02", `iface-id="?` + ep.ID + `"?`, "container-name=c1",
		`attached-mac="` + ep.MAC.String() + `"`, "owner=ovsnet"} {
		if !regexp.MustCompile(want).MatchString(ids) {
			t.Errorf("external_ids of %s lack %s:\n%s", ep.PortName(), want, ids)
		}
	}
	// Find endpoint ports by network with the standard tools.
	found, err := h1.Vsctl("--bare", "--columns=name", "find", "Interface", "external_ids:ovsnet-network=testnet03")
	if err != nil || strings.TrimSpace(found) != ep3.PortName() {
		t.Errorf("ovs-vsctl find by network: %q %v", found, err)
	}

	dump, err := h1.Ofctl("--names", "--no-stats", "dump-flows", "br-int")
	if err != nil {
		t.Fatal(err)
	}
	for _, tbl := range flows.Pipeline {
		if !regexp.MustCompile(`table="?` + tbl.Name + `"?,`).MatchString(dump) {
			t.Errorf("dump-flows --names shows no table %s", tbl.Name)
		}
	}
	// Per-network cookies select exactly one network's flows.
	nets := map[string]uint32{}
	for _, n := range []string{"testnet02", "testnet03"} {
		res, err := c.API.InspectNetwork(context.Background(), n)
		if err != nil {
			t.Fatal(err)
		}
		var vni uint32
		fmt.Sscan(res.Options[model.OptVNI], &vni)
		nets[n] = vni
	}
	for name, vni := range nets {
		sel := fmt.Sprintf("cookie=%#x/%#x", uint64(flows.NetworkCookie(vni)), uint64(flows.NetworkMask))
		out, err := h1.Ofctl("--no-stats", "dump-flows", "br-int", sel)
		if err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(strings.TrimSpace(out), "\n")
		if len(lines) < 5 {
			t.Fatalf("network %s (VNI %d) has only %d flows by cookie:\n%s", name, vni, len(lines), out)
		}
		for _, l := range lines {
			if !strings.Contains(l, fmt.Sprintf("%x", vni)) {
				t.Errorf("flow selected by %s's cookie does not mention its VNI: %s", name, l)
			}
		}
	}
}

// Restarting agents (gracefully and with SIGKILL) loses no packet of a
// running 100-per-second ping between containers on two hosts, and state
// changed while an agent was down is applied without leaving stale flows.
func TestAgentRestartKeepsTraffic(t *testing.T) {
	c := cluster.New(t, cluster.Options{Hosts: 2})
	h1, h2 := c.Lab.Hosts[0], c.Lab.Hosts[1]
	c.CreateNetwork("testnet02")
	c1 := c.Lab.AddContainer(h1, "c1")
	c2 := c.Lab.AddContainer(h2, "c2")
	gone := c.Lab.AddContainer(h1, "gone")
	e1 := c.Connect("testnet02", c1, nil)
	e2 := c.Connect("testnet02", c2, nil)
	eg := c.Connect("testnet02", gone, nil)
	cluster.WaitPing(t, c1, e2.IPv4.Addr().String(), 10*time.Second)
	flowsBefore := countFlows(t, h1)

	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	ping := startPing(ctx, c1, e2.IPv4.Addr().String(), 10*time.Millisecond, 1200)

	time.Sleep(time.Second)
	agent1 := c.Agents["h1"]
	if err := agent1.Stop(); err != nil {
		t.Fatal(err)
	}
	// While h1's agent is down, "gone" leaves the network.
	c.MustCtl("network", "disconnect", "testnet02", "gone")
	agent1.Restart()
	time.Sleep(2 * time.Second)
	c.Agents["h2"].Kill()
	c.Agents["h2"].Restart()
	time.Sleep(2 * time.Second)

	res := ping.wait()
	t.Logf("ping during restarts: %d transmitted, %d received", res.transmitted, res.received)
	if res.transmitted < 1000 || res.received != res.transmitted {
		t.Fatalf("packets lost while agents restarted: %d of %d\n%s", res.transmitted-res.received, res.transmitted, res.output)
	}
	// The departed endpoint's port, veth and flows are gone.
	cluster.Poll(t, 15*time.Second, "h1 removes gone's port and flows", func() error {
		ports, err := h1.Vsctl("list-ports", "br-int")
		if err != nil {
			return err
		}
		if strings.Contains(ports, eg.PortName()) {
			return errorf("port %s still on br-int", eg.PortName())
		}
		dump, err := h1.Ofctl("--no-stats", "dump-flows", "br-int")
		if err != nil {
			return err
		}
		if strings.Contains(dump, eg.MAC.String()) || strings.Contains(dump, eg.IPv4.Addr().String()+",") {
			return errorf("flows for gone remain")
		}
		return nil
	})
	if out, _ := h1.Exec(ctx, "ip", "link", "show", eg.PortName()); strings.Contains(string(out), eg.PortName()) {
		t.Fatalf("veth %s survived", eg.PortName())
	}
	// Only gone's flows left: c1's, c2's and the shared ones are all there,
	// nothing duplicated.
	if after := countFlows(t, h1); after >= flowsBefore || after < flowsBefore-12 {
		t.Fatalf("h1 had %d flows before, %d after removing one endpoint", flowsBefore, after)
	}
	for _, agent := range []string{"h1", "h2"} {
		if !c.Agents[agent].Running() {
			t.Fatalf("agent %s died:\n%s", agent, c.Agents[agent].Log())
		}
	}
	// A container's host-side interface taken down by hand comes back up
	// at once (the agent watches them), well before the next resync.
	c1Port := e1.PortName()
	if out, err := h1.Exec(ctx, "ip", "link", "set", c1Port, "down"); err != nil {
		t.Fatalf("ip link set down: %v %s", err, out)
	}
	cluster.Poll(t, 5*time.Second, "h1's agent brings "+c1Port+" back up", func() error {
		out, err := h1.Exec(ctx, "ip", "-br", "link", "show", c1Port)
		if err != nil || !strings.Contains(string(out), "UP") || strings.Contains(string(out), "DOWN") {
			return errorf("%s: %s %v", c1Port, out, err)
		}
		return nil
	})
	cluster.WaitPing(t, c1, e2.IPv4.Addr().String(), 5*time.Second)
}

func countFlows(t *testing.T, h interface {
	Ofctl(...string) (string, error)
}) int {
	t.Helper()
	out, err := h.Ofctl("--no-stats", "dump-flows", "br-int")
	if err != nil {
		t.Fatal(err)
	}
	return len(strings.Split(strings.TrimSpace(out), "\n"))
}

// Stopping Consul for 30 seconds loses no packet; writes meanwhile get a
// clear 503; reads keep working; everything works again afterwards.
func TestConsulOutage(t *testing.T) {
	c := cluster.New(t, cluster.Options{Hosts: 2})
	h1, h2 := c.Lab.Hosts[0], c.Lab.Hosts[1]
	c.CreateNetwork("testnet02")
	c1 := c.Lab.AddContainer(h1, "c1")
	c2 := c.Lab.AddContainer(h2, "c2")
	c.Connect("testnet02", c1, nil)
	e2 := c.Connect("testnet02", c2, nil)
	cluster.WaitPing(t, c1, e2.IPv4.Addr().String(), 10*time.Second)

	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	// 3800 pings at 100/s span the 30 s outage; the deadline leaves a
	// loaded machine room to stretch the interval.
	ping := startPing(ctx, c1, e2.IPv4.Addr().String(), 10*time.Millisecond, 3800)
	time.Sleep(time.Second)
	c.Consul.Stop()
	stopped := time.Now()

	code, body, err := cluster.HTTP("POST", c.Controllers[0].URL+"/networks/create", `{"Name":"during","Driver":"overlay"}`)
	if err != nil || code != 503 || !strings.Contains(body, "unavailable") {
		t.Errorf("write during the outage: %d %s %v; want 503 naming the unavailable store", code, body, err)
	}
	out, err := c.Ctl("network", "create", "during2")
	if err == nil || !strings.Contains(out, "Consul") {
		t.Errorf("ovsnetctl write during the outage: err=%v output=%q", err, out)
	}
	// Reads are served from the last known state.
	if out, err := c.Ctl("network", "ls"); err != nil || !strings.Contains(out, "testnet02") {
		t.Errorf("reads during the outage: %v\n%s", err, out)
	}
	time.Sleep(30*time.Second - time.Since(stopped))
	c.Consul.Start()

	res := ping.wait()
	t.Logf("ping across a 30 s Consul outage: %d transmitted, %d received", res.transmitted, res.received)
	if res.transmitted < 3800 || res.received != res.transmitted {
		t.Fatalf("packets lost during the Consul outage: %d of %d", res.transmitted-res.received, res.transmitted)
	}
	// Back to normal: writes work, hosts come back alive, new endpoints work.
	cluster.Poll(t, 30*time.Second, "create after the outage", func() error {
		_, err := c.Ctl("network", "create", "after")
		return err
	})
	c.WaitHostsAlive(40 * time.Second)
	c3 := c.Lab.AddContainer(h2, "c3")
	e3 := c.Connect("after", c3, nil)
	c.Connect("after", c1, nil)
	cluster.WaitPing(t, c1, e3.IPv4.Addr().String(), 10*time.Second)
}
