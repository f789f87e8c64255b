//go:build e2e

package e2e

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/ovsnet/ovsnet/test/cluster"
)

// A bridge network lives on one host: its containers reach each other, the
// host reaches them by IP, containers on other hosts cannot reach them and
// cannot join. Overlay addresses are not reachable from the hosts.
func TestBridgeNetworkIsLocalToItsHost(t *testing.T) {
	c := cluster.New(t, cluster.Options{Hosts: 3})
	h1, h2 := c.Lab.Hosts[0], c.Lab.Hosts[1]
	c.CreateNetwork("testnet01", "-d", "bridge", "--host", "h1")
	c.CreateNetwork("testnet02")
	b1 := c.Lab.AddContainer(h1, "b1")
	b2 := c.Lab.AddContainer(h1, "b2")
	o2 := c.Lab.AddContainer(h2, "o2")
	ep1 := c.Connect("testnet01", b1, nil)
	ep2 := c.Connect("testnet01", b2, nil)
	if got := ep1.IPv4.String(); got != "172.18.0.2/16" {
		t.Fatalf("first bridge endpoint got %s, want Docker's default 172.18.0.2/16", got)
	}
	over := c.Connect("testnet02", o2, nil)

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := b1.Ping(ctx, ep2.IPv4.Addr().String(), 2); err != nil {
		t.Fatalf("bridge containers on one host: %v", err)
	}
	if err := h1.Ping(ctx, ep1.IPv4.Addr().String(), 2); err != nil {
		t.Fatalf("host h1 cannot reach its bridge container by IP: %v", err)
	}
	// The gateway port carries the gateway address in h1's kernel.
	out, _ := h1.Exec(ctx, "ip", "-o", "addr")
	if !strings.Contains(string(out), "172.18.0.1/16") {
		t.Fatalf("h1 has no gateway address 172.18.0.1/16:\n%s", out)
	}

	// Not from other hosts: neither joining nor reaching.
	o3 := c.Lab.AddContainer(h2, "b3")
	if _, err := c.TryConnect("testnet01", o3, nil); err == nil || !strings.Contains(err.Error(), "local to host h1") {
		t.Fatalf("joining h1's bridge network from h2: err = %v, want a clear refusal", err)
	}
	if o2.PingOnce(ep1.IPv4.Addr().String(), time.Second) {
		t.Fatal("a container on h2 reaches a bridge container of h1")
	}
	if h2.Ping(ctx, ep1.IPv4.Addr().String(), 1) == nil {
		t.Fatal("host h2 reaches a bridge container of h1")
	}
	// Overlay addresses are not reachable from hosts, as in Docker.
	for _, h := range c.Lab.Hosts {
		if h.Ping(ctx, over.IPv4.Addr().String(), 1) == nil {
			t.Fatalf("host %s reaches overlay address %s", h.Name, over.IPv4.Addr())
		}
	}
	// Nothing half-created by the refused join.
	for _, ep := range c.Endpoints("testnet01") {
		if ep.ContainerName == "b3" {
			t.Fatalf("refused join left an endpoint: %+v", ep)
		}
	}
}

// Internal networks reach each other across hosts and nothing else;
// other networks leave through their own host, SNATed to its address.
func TestInternalAndEgress(t *testing.T) {
	c := cluster.New(t, cluster.Options{Hosts: 3, Outside: true})
	h1, h2 := c.Lab.Hosts[0], c.Lab.Hosts[1]
	out := c.Lab.Outside.Addr.String()
	c.CreateNetwork("testnet03", "--internal")
	c.CreateNetwork("testnet02")
	i1 := c.Lab.AddContainer(h1, "i1")
	i2 := c.Lab.AddContainer(h2, "i2")
	e1 := c.Lab.AddContainer(h1, "e1")
	ep1 := c.Connect("testnet03", i1, nil)
	ep2 := c.Connect("testnet03", i2, nil)
	epE := c.Connect("testnet02", e1, nil)

	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	if err := i1.Ping(ctx, ep2.IPv4.Addr().String(), 2); err != nil {
		t.Fatalf("internal network across hosts: %v", err)
	}
	// No default route: the kernel says so at once.
	res, err := i1.Exec(ctx, "ping", "-c", "1", "-W", "1", out)
	if err == nil || !strings.Contains(string(res)+err.Error(), "Network is unreachable") {
		t.Fatalf("internal container pinging outside: err=%v output=%q, want \"Network is unreachable\"", err, res)
	}
	routes := cluster.Exec(t, i1, "ip", "route")
	if strings.Contains(routes, "default") {
		t.Fatalf("internal container has a default route:\n%s", routes)
	}

	// Non-internal: reaches the outside through its own host, SNATed.
	srv, err := startOutsideIperf(c.Lab.Outside)
	if err != nil {
		t.Fatal(err)
	}
	defer srv.stop()
	if err := e1.Ping(ctx, out, 2); err != nil {
		t.Fatalf("egress from testnet02: %v", err)
	}
	if _, err := e1.Exec(ctx, "iperf3", "-c", out, "-t", "1"); err != nil {
		t.Fatalf("TCP egress from testnet02: %v", err)
	}
	if log := srv.log(); !strings.Contains(log, "Accepted connection from "+h1.TunnelIP.String()) {
		t.Fatalf("outside did not see the connection SNATed to h1's address %s:\n%s", h1.TunnelIP, log)
	}

	// Nothing from outside gets in, even with a route pointing at the host.
	for _, sub := range []string{"10.0.0.0/24", "10.0.1.0/24"} {
		if _, err := c.Lab.Outside.Exec(ctx, "ip", "route", "replace", sub, "via", h1.TunnelIP.String()); err != nil {
			t.Fatal(err)
		}
	}
	for _, addr := range []string{ep1.IPv4.Addr().String(), epE.IPv4.Addr().String()} {
		if c.Lab.Outside.Ping(ctx, addr, 2) == nil {
			t.Fatalf("the outside reaches container %s", addr)
		}
	}
	// The established connection still worked (only new ones are refused).
	if err := e1.Ping(ctx, out, 1); err != nil {
		t.Fatalf("egress broke after outside probes: %v", err)
	}
}
