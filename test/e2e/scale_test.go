//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/ovsnet/ovsnet/model"
	"github.com/ovsnet/ovsnet/test/cluster"
)

// With 1,000 networks defined, connects still work as usual and traffic
// flows; a host whose agent starts into that cluster converges: it learns
// its networks and its containers reach the others.
func TestThousandNetworks(t *testing.T) {
	c := cluster.New(t, cluster.Options{Hosts: 3, Agents: 2, LogLevel: "info"})
	h1, h2, h3 := c.Lab.Hosts[0], c.Lab.Hosts[1], c.Lab.Hosts[2]
	ctx := context.Background()
	start := time.Now()
	for i := 0; i < 1000; i++ {
		if _, err := c.API.CreateNetwork(ctx, model.NetworkCreateRequest{Name: fmt.Sprintf("many%04d", i), Driver: "overlay"}); err != nil {
			t.Fatalf("create many%04d: %v", i, err)
		}
	}
	t.Logf("1,000 networks created in %s", time.Since(start).Round(time.Millisecond))
	nets, err := c.API.ListNetworks(ctx)
	if err != nil || len(nets) != 1000 {
		t.Fatalf("%d networks listed: %v", len(nets), err)
	}

	// Containers on the last network and on a network in the middle.
	a := c.Lab.AddContainer(h1, "a")
	b := c.Lab.AddContainer(h2, "b")
	for _, n := range []string{"many0999", "many0500"} {
		begin := time.Now()
		c.Connect(n, a, nil)
		t.Logf("connect to %s with 1,000 networks defined: %s", n, time.Since(begin).Round(time.Millisecond))
		eb := c.Connect(n, b, nil)
		cluster.WaitPing(t, a, eb.IPv4.Addr().String(), 10*time.Second)
	}

	// h3's agent starts now: it registers, learns the network of its
	// container and reaches b.
	c.StartAgent(h3)
	c.WaitHostsAlive(30*time.Second, h3)
	d := c.Lab.AddContainer(h3, "d")
	begin := time.Now()
	c.Connect("many0999", d, nil)
	t.Logf("first connect on the joining host: %s", time.Since(begin).Round(time.Millisecond))
	eb := c.Endpoints("many0999")
	for _, ep := range eb {
		if ep.ContainerName == "b" {
			cluster.WaitPing(t, d, ep.IPv4.Addr().String(), 10*time.Second)
		}
	}
	// Removing networks one by one still works, and only they go.
	for i := 0; i < 100; i++ {
		if err := c.API.RemoveNetwork(ctx, fmt.Sprintf("many%04d", i)); err != nil {
			t.Fatalf("remove many%04d: %v", i, err)
		}
	}
	if nets, err := c.API.ListNetworks(ctx); err != nil || len(nets) != 900 {
		t.Fatalf("%d networks after removing 100: %v", len(nets), err)
	}
}
