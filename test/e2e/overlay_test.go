//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ovsnet/ovsnet/model"
	"github.com/ovsnet/ovsnet/test/cluster"
	"github.com/ovsnet/ovsnet/test/lab"
)

// An overlay network created once is listed on every host, and containers
// on three hosts ping each other and hold a TCP connection across the
// tunnel.
func TestOverlayNetworkAcrossHosts(t *testing.T) {
	c := cluster.New(t, cluster.Options{Hosts: 3})
	id := c.CreateNetwork("testnet02", "-d", "overlay")

	// Listed on every host: ovsnetctl run inside each host's namespace.
	for _, h := range c.Lab.Hosts {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		out, err := h.Exec(ctx, c.Bins["ovsnetctl"], "--controller", c.Controllers[0].URL, "network", "ls")
		cancel()
		if err != nil {
			t.Fatalf("%s: ovsnetctl network ls: %v\n%s", h.Name, err, out)
		}
		if !regexp.MustCompile(`(?m)^` + id[:12] + `\s+testnet02\s+overlay\s+global\s*$`).Match(out) {
			t.Fatalf("%s does not list testnet02:\n%s", h.Name, out)
		}
	}

	var cts []*lab.Container
	var ips []string
	for i, h := range c.Lab.Hosts {
		ct := c.Lab.AddContainer(h, fmt.Sprintf("c%d", i+1))
		ep := c.Connect("testnet02", ct, nil)
		if ep.Status == nil || ep.Status.State != model.EndpointReady {
			t.Fatalf("connect returned before the endpoint was ready: %+v", ep)
		}
		cts = append(cts, ct)
		ips = append(ips, ep.IPv4.Addr().String())
	}
	if strings.Join(ips, " ") != "10.0.0.2 10.0.0.3 10.0.0.4" {
		t.Fatalf("addresses %v: want Docker's defaults 10.0.0.2, .3, .4 (lowest free in 10.0.0.0/24)", ips)
	}
	// eth0 carries the address with MTU 1450 (underlay 1500 - VXLAN 50).
	for i, ct := range cts {
		link := cluster.Exec(t, ct, "ip", "-o", "link", "show", "eth0")
		if !strings.Contains(link, "mtu 1450") {
			t.Errorf("%s: eth0 MTU not 1450: %s", ct.Name, link)
		}
		if got := cluster.Addrs(t, ct)["eth0"]; len(got) != 1 || got[0] != ips[i]+"/24" {
			t.Errorf("%s: eth0 addresses %v, want %s/24", ct.Name, got, ips[i])
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	for i, from := range cts {
		for j, to := range ips {
			if i == j {
				continue
			}
			if err := from.Ping(ctx, to, 2); err != nil {
				t.Errorf("%s → %s: %v", from.Name, to, err)
			}
		}
	}

	// TCP across the tunnel: a 3-second iperf3 stream must move data.
	srv, err := startIperfServer(cts[1], ips[1])
	if err != nil {
		t.Fatal(err)
	}
	defer srv()
	out, err := cts[0].Exec(ctx, "iperf3", "-c", ips[1], "-t", "3", "-J")
	if err != nil {
		t.Fatalf("iperf3 across the tunnel: %v\n%s", err, out)
	}
	bps := iperfBitsPerSecond(t, out)
	t.Logf("iperf3 TCP c1 (h1) → c2 (h2) across VXLAN: %.0f Mbit/s", bps/1e6)
	if bps < 10e6 {
		t.Fatalf("TCP across the tunnel moved only %.1f Mbit/s: the connection stalls", bps/1e6)
	}
}

// A running container connected to a second network gets a second interface
// and address and reaches both networks.
func TestConnectRunningContainerToSecondNetwork(t *testing.T) {
	c := cluster.New(t, cluster.Options{Hosts: 3})
	c.CreateNetwork("front")
	c.CreateNetwork("back")
	c1 := c.Lab.AddContainer(c.Lab.Hosts[0], "c1")
	c2 := c.Lab.AddContainer(c.Lab.Hosts[1], "c2")
	c3 := c.Lab.AddContainer(c.Lab.Hosts[2], "c3")
	c.Connect("front", c1, nil)
	front2 := c.Connect("front", c2, nil)
	back3 := c.Connect("back", c3, nil)

	// c1 keeps pinging c2 while it joins "back": the running connection must
	// not notice.
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cluster.WaitPing(t, c1, front2.IPv4.Addr().String(), 10*time.Second)
	ping := startPing(ctx, c1, front2.IPv4.Addr().String(), 20*time.Millisecond, 150)

	// Connect through the ovsnetctl CLI, which knows c1 by name now.
	c.MustCtl("network", "connect", "back", "c1")
	addrs := cluster.Addrs(t, c1)
	if len(addrs["eth1"]) != 1 || !strings.HasPrefix(addrs["eth1"][0], "10.0.1.") {
		t.Fatalf("c1 has no address on back's eth1: %v", addrs)
	}
	if len(addrs["eth0"]) != 1 || !strings.HasPrefix(addrs["eth0"][0], "10.0.0.") {
		t.Fatalf("c1 lost its front address: %v", addrs)
	}
	if err := c1.Ping(ctx, back3.IPv4.Addr().String(), 3); err != nil {
		t.Fatalf("c1 cannot reach c3 on back: %v", err)
	}
	res := ping.wait()
	// c1's flows on front are not touched by its joining back (the
	// reconciler recomputes only the new endpoint's owner:
	// TestReconcileSequence), but OVS's userspace datapath may drop a packet of
	// other flows while it adds a port to the bridge (19 of 1,519 with a
	// loop of plain `ovs-vsctl add-port`; here 1 of 151 once in seven CI
	// runs, on a busy machine). More than one is ovsnet's doing.
	t.Logf("c1's ping to c2 on front while joining back: %d of %d lost", res.transmitted-res.received, res.transmitted)
	if res.received == 0 || res.transmitted-res.received > 1 {
		t.Fatalf("c1's ping to c2 on front lost packets while joining back: %+v", res)
	}
	// c2 (front only) does not reach c3 (back only).
	if c2.PingOnce(back3.IPv4.Addr().String(), time.Second) {
		t.Fatal("c2 on front reaches c3 on back")
	}
	// The endpoint list shows both of c1's endpoints.
	out := c.MustCtl("endpoint", "ls", "--host", "h1")
	if strings.Count(out, " c1 ") != 2 {
		t.Fatalf("endpoint ls --host h1 should list c1 twice:\n%s", out)
	}
}

// pingResult is what ping's summary line says.
type pingResult struct {
	transmitted, received int
	output                string
}

type runningPing struct {
	done chan pingResult
}

func (p *runningPing) wait() pingResult { return <-p.done }

var pingSummary = regexp.MustCompile(`(\d+) packets transmitted, (\d+) received`)

// startPing runs ping -i interval -c count in ct in the background.
func startPing(ctx context.Context, ct *lab.Container, addr string, interval time.Duration, count int) *runningPing {
	p := &runningPing{done: make(chan pingResult, 1)}
	go func() {
		secs := strconv.FormatFloat(interval.Seconds(), 'f', 3, 64)
		// ping -c counts replies when -w is given; the deadline is generous
		// so a loaded machine's stretched interval does not cut it short.
		deadline := strconv.Itoa(int(2*interval.Seconds()*float64(count)) + 10)
		out, _ := ct.Exec(ctx, "ping", "-n", "-q", "-i", secs, "-c", strconv.Itoa(count), "-w", deadline, "-W", "1", addr)
		res := pingResult{output: string(out)}
		if m := pingSummary.FindStringSubmatch(string(out)); m != nil {
			res.transmitted, _ = strconv.Atoi(m[1])
			res.received, _ = strconv.Atoi(m[2])
		}
		p.done <- res
	}()
	return p
}

// The userspace datapath drops the packet that makes it resolve a tunnel
// peer, so agents fill OVS's tunnel neighbour cache themselves: a host
// resolves a peer as soon as they share a network, before it reports the
// change applied, so the very first packet of a new container crosses the
// tunnel; a flushed cache is refilled. Hosts that share nothing do not
// resolve each other.
func TestTunnelPeersResolvedBeforeFirstPacket(t *testing.T) {
	c := cluster.New(t, cluster.Options{Hosts: 3})
	h1, h2, h3 := c.Lab.Hosts[0], c.Lab.Hosts[1], c.Lab.Hosts[2]
	cached := func(h *lab.Host) map[string]string {
		out, err := h.Appctl("tnl/neigh/show")
		if err != nil {
			t.Fatalf("%s: tnl/neigh/show: %v", h.Name, err)
		}
		m := map[string]string{}
		for _, line := range strings.Split(out, "\n") {
			if f := strings.Fields(line); len(f) >= 2 && strings.HasPrefix(f[0], "192.0.2.") {
				m[f[0]] = f[1]
			}
		}
		return m
	}
	knows := func(h *lab.Host, peers ...*lab.Host) error {
		got := cached(h)
		for _, p := range peers {
			if got[p.TunnelIP.String()] != p.PhyMAC {
				return errorf("%s's OVS has %s at %q, want %s (cache: %v)", h.Name, p.TunnelIP, got[p.TunnelIP.String()], p.PhyMAC, got)
			}
		}
		return nil
	}

	c.CreateNetwork("first", "--subnet", "10.9.0.0/24")
	a := c.Lab.AddContainer(h2, "a")
	b := c.Lab.AddContainer(h3, "b")
	c.Connect("first", a, nil)
	ep := c.Connect("first", b, nil)
	// One echo request, no retry: it is the first packet a ever sends.
	out, err := a.Exec(t.Context(), "ping", "-n", "-c", "1", "-W", "2", ep.IPv4.Addr().String())
	if err != nil || !strings.Contains(string(out), "1 received") {
		t.Fatalf("the first packet from a (h2) to b (h3) was lost: %v\n%s", err, out)
	}
	if err := knows(h2, h3); err != nil {
		t.Fatal(err)
	}
	if err := knows(h3, h2); err != nil {
		t.Fatal(err)
	}

	if _, err := h2.Appctl("tnl/neigh/flush"); err != nil {
		t.Fatal(err)
	}
	cluster.Poll(t, 15*time.Second, "h2 refills its tunnel neighbours after a flush", func() error { return knows(h2, h3) })

	// A third host joins the network: its first packet crosses too.
	d := c.Lab.AddContainer(h1, "d")
	c.Connect("first", d, nil)
	out, err = d.Exec(t.Context(), "ping", "-n", "-c", "1", "-W", "2", ep.IPv4.Addr().String())
	if err != nil || !strings.Contains(string(out), "1 received") {
		t.Fatalf("the first packet from d (h1) to b (h3) was lost: %v\n%s", err, out)
	}
}
