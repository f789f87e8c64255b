//go:build e2e

package e2e

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/ovsnet/ovsnet/model"
	"github.com/ovsnet/ovsnet/test/cluster"
	"github.com/ovsnet/ovsnet/test/lab"
)

// --subnet with --ip/--ip6 gives exactly that address; an address outside
// the subnets, or in use, fails with a clear error; nothing is half-created
// after any failure.
func TestStaticAddresses(t *testing.T) {
	c := cluster.New(t, cluster.Options{Hosts: 2})
	h1, h2 := c.Lab.Hosts[0], c.Lab.Hosts[1]
	c.CreateNetwork("testnet04", "--subnet", "10.0.1.0/24", "--ipv6", "--subnet", "fd00:4::/64")
	a := c.Lab.AddContainer(h1, "a")
	b := c.Lab.AddContainer(h2, "b")
	d := c.Lab.AddContainer(h2, "d")

	// Exactly the requested addresses, through the CLI.
	c.MustCtl("network", "connect", "--host", "h1", "--netns", a.Netns, "--ip", "10.0.1.100", "--ip6", "fd00:4::100", "testnet04", "a")
	addrs := cluster.Addrs(t, a)["eth0"]
	if strings.Join(addrs, " ") != "10.0.1.100/24 fd00:4::100/64" {
		t.Fatalf("a's eth0 has %v, want exactly 10.0.1.100/24 fd00:4::100/64", addrs)
	}
	bEP := c.Connect("testnet04", b, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := b.Ping(ctx, "10.0.1.100", 2); err != nil {
		t.Fatal(err)
	}
	if err := b.Ping(ctx, "fd00:4::100", 2); err != nil {
		t.Fatalf("IPv6 across hosts: %v", err)
	}

	before := snapshot(t, c, h2)
	// Outside the subnet: Docker's own wording, naming the address.
	out, err := c.Ctl("network", "connect", "--host", "h2", "--netns", d.Netns, "--ip", "10.0.2.100", "testnet04", "d")
	if err == nil || !strings.Contains(out, "Invalid preferred address 10.0.2.100: It does not belong to any of this network's subnets") {
		t.Fatalf("--ip outside the subnet: err=%v output=%q", err, out)
	}
	out, err = c.Ctl("network", "connect", "--host", "h2", "--netns", d.Netns, "--ip6", "fd00:9::5", "testnet04", "d")
	if err == nil || !strings.Contains(out, "Invalid preferred address fd00:9::5") {
		t.Fatalf("--ip6 outside the subnet: err=%v output=%q", err, out)
	}
	// In use (by a on another host).
	out, err = c.Ctl("network", "connect", "--host", "h2", "--netns", d.Netns, "--ip", "10.0.1.100", "testnet04", "d")
	if err == nil || !strings.Contains(out, "Address already in use") {
		t.Fatalf("--ip in use: err=%v output=%q", err, out)
	}
	// The gateway is not an endpoint address.
	out, err = c.Ctl("network", "connect", "--host", "h2", "--netns", d.Netns, "--ip", "10.0.1.1", "testnet04", "d")
	if err == nil || !strings.Contains(out, "gateway") {
		t.Fatalf("--ip of the gateway: err=%v output=%q", err, out)
	}
	// A namespace that does not exist: the agent fails, the controller
	// removes the endpoint again.
	ghost := &lab.Container{Name: "ghost", Netns: "/run/netns/" + c.Lab.Prefix + "-nosuch", Host: h2}
	if _, err := c.TryConnect("testnet04", ghost, nil); err == nil || !strings.Contains(err.Error(), "could not plumb") {
		t.Fatalf("connect into a missing namespace: err = %v, want the agent's plumbing error", err)
	}
	after := snapshot(t, c, h2)
	if before != after {
		t.Fatalf("failed connects changed state:\nbefore: %s\nafter:  %s", before, after)
	}
	if len(cluster.Addrs(t, d)) != 1 { // lo only
		t.Fatalf("failed connects left an interface in d: %v", cluster.Addrs(t, d))
	}
	// The addresses tried are still free: d gets the next lowest one.
	// (b took .2; the failed ghost's .3 must have been released for d.)
	dEP := c.Connect("testnet04", d, nil)
	if bEP.IPv4.String() != "10.0.1.2/24" || dEP.IPv4.String() != "10.0.1.3/24" {
		t.Fatalf("d got %s: the address of the failed connect was not released (want 10.0.1.3/24)", dEP.IPv4)
	}
}

// snapshot summarises what a failed connect must not change: the cluster's
// endpoints and the host's OVS ports.
func snapshot(t *testing.T, c *cluster.Cluster, h *lab.Host) string {
	t.Helper()
	var eps []string
	for _, ep := range c.Endpoints("") {
		eps = append(eps, ep.ContainerName+"="+ep.IPv4.String())
	}
	ports, err := h.Vsctl("list-ports", "br-int")
	if err != nil {
		t.Fatal(err)
	}
	return strings.Join(eps, ",") + " | ports: " + strings.Join(strings.Fields(ports), ",")
}

// Two controllers allocating at once never hand out the same address, and
// when the leader dies the other one takes over publishing.
func TestTwoControllers(t *testing.T) {
	c := cluster.New(t, cluster.Options{Hosts: 2, Controllers: 2})
	c.CreateNetwork("shared")
	var cts []*lab.Container
	for i := 0; i < 16; i++ {
		cts = append(cts, c.Lab.AddContainer(c.Lab.Hosts[i%2], "s"+string(rune('a'+i))))
	}
	type result struct {
		ep  model.EndpointView
		err error
	}
	results := make(chan result, len(cts))
	for i, ct := range cts {
		go func() {
			api := apiFor(t, c, c.Controllers[i%2].URL)
			ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
			defer cancel()
			ep, err := api.Connect(ctx, "shared", model.NetworkConnectRequest{Container: ct.Name, EndpointConfig: &model.EndpointSettings{
				DriverOpts: map[string]string{model.OptEndpointHost: ct.Host.Name, model.OptEndpointNetns: ct.Netns}}})
			results <- result{ep, err}
		}()
	}
	seen := map[string]string{}
	for range cts {
		r := <-results
		if r.err != nil {
			t.Fatalf("concurrent connect: %v", r.err)
		}
		if other, dup := seen[r.ep.IPv4.String()]; dup {
			t.Fatalf("address %s handed out twice (%s and %s)", r.ep.IPv4, other, r.ep.ContainerName)
		}
		seen[r.ep.IPv4.String()] = r.ep.ContainerName
	}

	// Exactly one leader; stop it and the other one leads.
	leader := -1
	for i, ctl := range c.Controllers {
		code, body, err := cluster.HTTP("GET", ctl.URL+"/healthz", "")
		if err != nil || code != 200 {
			t.Fatalf("healthz of controller %d: %d %v", i+1, code, err)
		}
		if strings.Contains(body, `"leader":true`) {
			if leader >= 0 {
				t.Fatal("two leaders")
			}
			leader = i
		}
	}
	if leader < 0 {
		t.Fatal("no leader")
	}
	if err := c.Controllers[leader].Proc.Stop(); err != nil {
		t.Fatal(err)
	}
	other := c.Controllers[1-leader]
	cluster.Poll(t, 40*time.Second, "the surviving controller takes over", func() error {
		_, body, err := cluster.HTTP("GET", other.URL+"/healthz", "")
		if err != nil || !strings.Contains(body, `"leader":true`) {
			return errorf("not leading: %s %v", body, err)
		}
		return nil
	})
	// A new endpoint is published by the new leader and reachable.
	late := c.Lab.AddContainer(c.Lab.Hosts[0], "late")
	api := apiFor(t, c, other.URL)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	ep, err := api.Connect(ctx, "shared", model.NetworkConnectRequest{Container: "late", EndpointConfig: &model.EndpointSettings{
		DriverOpts: map[string]string{model.OptEndpointHost: "h1", model.OptEndpointNetns: late.Netns}}})
	if err != nil {
		t.Fatalf("connect after failover: %v", err)
	}
	cluster.WaitPing(t, cts[1], ep.IPv4.Addr().String(), 10*time.Second)
}
