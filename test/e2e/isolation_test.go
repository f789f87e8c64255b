//go:build e2e

package e2e

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ovsnet/ovsnet/model"
	"github.com/ovsnet/ovsnet/test/cluster"
	"github.com/ovsnet/ovsnet/test/lab"
)

// rxPackets reads an interface's received-packet counter inside a container.
func rxPackets(t *testing.T, ct *lab.Container, ifname string) int {
	t.Helper()
	out := cluster.Exec(t, ct, "cat", "/sys/class/net/"+ifname+"/statistics/rx_packets")
	n, err := strconv.Atoi(strings.TrimSpace(out))
	if err != nil {
		t.Fatalf("rx_packets of %s in %s: %q", ifname, ct.Name, out)
	}
	return n
}

// Endpoints of different networks exchange no packet at all, even with the
// same subnet and addresses; a container forging its source MAC or IP gets
// nothing through.
func TestIsolationAndSpoofGuard(t *testing.T) {
	c := cluster.New(t, cluster.Options{Hosts: 2})
	h1, h2 := c.Lab.Hosts[0], c.Lab.Hosts[1]
	c.CreateNetwork("red", "--subnet", "10.9.0.0/24")
	c.CreateNetwork("blue", "--subnet", "10.9.0.0/24")
	static := func(ip string) *model.EndpointSettings {
		return &model.EndpointSettings{IPAMConfig: &model.EndpointIPAMConfig{IPv4Address: ip}}
	}
	r1 := c.Lab.AddContainer(h1, "r1")
	r2 := c.Lab.AddContainer(h2, "r2")
	b1 := c.Lab.AddContainer(h1, "b1")
	b2 := c.Lab.AddContainer(h2, "b2")
	// Same addresses in both networks, crosswise on the hosts.
	c.Connect("red", r1, static("10.9.0.2"))
	c.Connect("red", r2, static("10.9.0.3"))
	c.Connect("blue", b2, static("10.9.0.2"))
	c.Connect("blue", b1, static("10.9.0.3"))

	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	blueRx := func() int { return rxPackets(t, b1, "eth0") + rxPackets(t, b2, "eth0") }
	before := blueRx()
	// Red talks, locally and across hosts: ARP, ICMP, TCP attempts, broadcast.
	if err := r1.Ping(ctx, "10.9.0.3", 3); err != nil {
		t.Fatalf("red across hosts: %v", err)
	}
	_, _ = r1.Exec(ctx, "ping", "-b", "-c", "2", "-W", "1", "10.9.0.255")
	_, _ = r2.Exec(ctx, "ping", "-c", "2", "-W", "1", "10.9.0.2")
	for _, ip := range []string{"10.9.0.4", "10.9.0.9"} { // unknown addresses: no flooding
		_, _ = r1.Exec(ctx, "ping", "-c", "1", "-W", "1", ip)
	}
	if got := blueRx(); got != before {
		t.Fatalf("blue received %d packets while only red talked", got-before)
	}
	// And blue still works on its own.
	if err := b1.Ping(ctx, "10.9.0.2", 2); err != nil {
		t.Fatalf("blue across hosts: %v", err)
	}

	// Spoofing: r1 sends with another source IP, then another MAC.
	redRx := func() int { return rxPackets(t, r2, "eth0") }
	cluster.Exec(t, r1, "ip", "addr", "add", "10.9.0.50/24", "dev", "eth0")
	// Resolve the neighbour with the real address first, so that the only
	// difference afterwards is the forged source.
	cluster.WaitPing(t, r1, "10.9.0.3", 5*time.Second)
	before = redRx()
	if _, err := r1.Exec(ctx, "ping", "-c", "3", "-W", "1", "-I", "10.9.0.50", "10.9.0.3"); err == nil {
		t.Fatal("a ping from a forged source IP got an answer")
	}
	if got := redRx(); got != before {
		t.Fatalf("r2 received %d packets with a forged source IP", got-before)
	}
	cluster.Exec(t, r1, "ip", "addr", "del", "10.9.0.50/24", "dev", "eth0")
	cluster.Exec(t, r1, "ip", "link", "set", "eth0", "address", "02:42:0a:09:00:63")
	before = redRx()
	if _, err := r1.Exec(ctx, "ping", "-c", "3", "-W", "1", "10.9.0.3"); err == nil {
		t.Fatal("a ping from a forged source MAC got an answer")
	}
	if got := redRx(); got != before {
		t.Fatalf("r2 received %d packets with a forged source MAC", got-before)
	}
	// Forged ARP (r1 claiming r2's address to r2) is dropped too.
	cluster.Exec(t, r1, "ip", "link", "set", "eth0", "address", "02:42:0a:09:00:02")
	cluster.Exec(t, r1, "ip", "addr", "add", "10.9.0.3/32", "dev", "eth0")
	before = redRx()
	out, err := r1.Exec(ctx, "arping", "-I", "eth0", "-s", "10.9.0.3", "-c", "2", "-w", "3", "10.9.0.3")
	if err == nil || !strings.Contains(string(out), "Sent 2 probes") {
		t.Fatalf("forged ARP: arping must send 2 probes and get no answer: err=%v\n%s", err, out)
	}
	if got := redRx(); got != before {
		t.Fatalf("r2 received %d packets after r1's forged ARP", got-before)
	}
	cluster.Exec(t, r1, "ip", "addr", "del", "10.9.0.3/32", "dev", "eth0")
	// With its own identity back, r1 works again.
	cluster.WaitPing(t, r1, "10.9.0.3", 5*time.Second)
}

// ARP and IPv6 neighbour discovery are answered by the local OVS: while
// containers on different hosts find each other, no ARP or neighbour
// solicitation crosses the underlay inside VXLAN.
func TestNeighborDiscoveryStaysLocal(t *testing.T) {
	c := cluster.New(t, cluster.Options{Hosts: 2})
	c.CreateNetwork("testnet02", "--ipv6", "--subnet", "10.0.0.0/24", "--subnet", "fd00:2::/64")
	n1 := c.Lab.AddContainer(c.Lab.Hosts[0], "n1")
	n2 := c.Lab.AddContainer(c.Lab.Hosts[1], "n2")
	e1 := c.Connect("testnet02", n1, nil)
	e2 := c.Connect("testnet02", n2, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cluster.WaitPing(t, n1, e2.IPv4.Addr().String(), 10*time.Second)

	for _, ct := range []*lab.Container{n1, n2} {
		cluster.Exec(t, ct, "ip", "neigh", "flush", "all")
		cluster.Exec(t, ct, "ip", "-6", "neigh", "flush", "all")
	}
	stop, err := c.Lab.Capture(ctx, "udp port 4789")
	if err != nil {
		t.Fatal(err)
	}
	for _, pair := range [][2]string{{"n1", e2.IPv4.Addr().String()}, {"n2", e1.IPv4.Addr().String()},
		{"n1", e2.IPv6.Addr().String()}, {"n2", e1.IPv6.Addr().String()}} {
		ct := n1
		if pair[0] == "n2" {
			ct = n2
		}
		if err := ct.Ping(ctx, pair[1], 2); err != nil {
			t.Fatalf("%s → %s: %v", ct.Name, pair[1], err)
		}
	}
	pkts, err := stop()
	if err != nil {
		t.Fatal(err)
	}
	var icmp, icmp6, neigh int
	for _, line := range strings.Split(strings.TrimSpace(string(pkts)), "\n") {
		f := strings.Split(line, "\t")
		if len(f) < 8 || f[5] == "" {
			continue // not VXLAN
		}
		proto, info := f[6], f[7]
		switch {
		case proto == "ARP" || strings.Contains(info, "Neighbor Solicitation") || strings.Contains(info, "Neighbor Advertisement"):
			neigh++
			t.Errorf("neighbour discovery crossed the underlay: %s", line)
		case proto == "ICMPv6":
			icmp6++
		case proto == "ICMP":
			icmp++
		}
	}
	// Each pair pinged twice; a ping passes with one reply of two, so at
	// least one exchange per pair: 4 packets of each family.
	if icmp < 4 || icmp6 < 4 {
		t.Fatalf("the capture saw %d ICMP and %d ICMPv6 packets in VXLAN, want ≥ 4 each (capture broken?):\n%s", icmp, icmp6, pkts)
	}
	// And the neighbours were learnt: from OVS's answers, with the right MACs.
	neighOut := cluster.Exec(t, n1, "ip", "neigh")
	if !strings.Contains(neighOut, e2.IPv4.Addr().String()+" dev eth0 lladdr "+e2.MAC.String()) {
		t.Fatalf("n1 did not learn n2's MAC %s:\n%s", e2.MAC, neighOut)
	}
	neigh6 := cluster.Exec(t, n1, "ip", "-6", "neigh")
	if !strings.Contains(neigh6, e2.IPv6.Addr().String()+" dev eth0 lladdr "+e2.MAC.String()) {
		t.Fatalf("n1 did not learn n2's IPv6 neighbour %s:\n%s", e2.MAC, neigh6)
	}
}
