//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/ovsnet/ovsnet/model"
	"github.com/ovsnet/ovsnet/test/cluster"
	"github.com/ovsnet/ovsnet/test/lab"
)

// The DOCKER-USER rules of docs/install.md ("Docker's firewall"), as
// printed, on a host whose FORWARD chain is what Docker's --iptables makes
// of it: policy DROP, and a jump to DOCKER-USER first. Without the rules
// neither an overlay nor a bridge network reaches the outside; with them
// both do, and a published port is reached from the outside.
func TestDockerUserRules(t *testing.T) {
	c := cluster.New(t, cluster.Options{Hosts: 1, Outside: true})
	h1 := c.Lab.Hosts[0]
	outside := c.Lab.Outside.Addr.String()
	c.CreateNetwork("over")
	c.CreateNetwork("br", "-d", "bridge", "--host", h1.Name)
	co := c.Lab.AddContainer(h1, "co")
	cb := c.Lab.AddContainer(h1, "cb")
	epO := c.Connect("over", co, nil)
	c.Connect("br", cb, nil)
	for _, ct := range []*lab.Container{co, cb} {
		cluster.WaitPing(t, ct, outside, 10*time.Second)
	}

	// Docker's FORWARD chain, in the host's namespace.
	for _, args := range [][]string{
		{"-N", "DOCKER-USER"},
		{"-A", "DOCKER-USER", "-j", "RETURN"},
		{"-I", "FORWARD", "-j", "DOCKER-USER"},
		{"-P", "FORWARD", "DROP"},
	} {
		iptablesOn(t, h1, args...)
	}
	for _, ct := range []*lab.Container{co, cb} {
		if ct.PingOnce(outside, time.Second) {
			t.Fatalf("%s reaches the outside through a FORWARD chain with policy DROP: the test does not reproduce Docker's firewall", ct.Name)
		}
	}

	// The document's rules, run as printed in the host's namespace.
	block := blocksOf(t, "docker-user")[0]
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, "ip", "netns", "exec", h1.Netns, "bash", "-e", "-x", "-c", block.Text).CombinedOutput()
	if err != nil {
		t.Fatalf("%s: %v\n%s", block.Where(), err, out)
	}
	for _, ct := range []*lab.Container{co, cb} {
		cluster.WaitPing(t, ct, outside, 10*time.Second)
	}

	// A port published by the overlay endpoint, reached from the outside
	// on the host's address: in through the uplink, DNATed, out through
	// ovsnet-egress.
	published := []model.PortMapping{{Proto: "tcp", Port: 5201, HostPort: 15201}}
	if _, err := c.API.UpdateEndpoint(ctx, epO.ID, model.EndpointUpdate{Published: &published}); err != nil {
		t.Fatal(err)
	}
	srv := exec.CommandContext(ctx, "ip", "netns", "exec", co.NetnsName, "iperf3", "-s", "-p", "5201")
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = srv.Process.Kill(); _ = srv.Wait() }()
	cluster.Poll(t, 20*time.Second, "the outside reaches the published port through DOCKER-USER", func() error {
		out, err := c.Lab.Outside.Exec(ctx, "iperf3", "-c", h1.TunnelIP.String(), "-p", "15201", "-t", "1", "--connect-timeout", "1000")
		if err != nil {
			return fmt.Errorf("%v: %s", err, out)
		}
		return nil
	})
	// And the counters show the rules did the work.
	rules, err := exec.CommandContext(ctx, "ip", "netns", "exec", h1.Netns, "iptables", "-L", "DOCKER-USER", "-v", "-n").CombinedOutput()
	if err != nil || !strings.Contains(string(rules), "ovsnet-egress") || !strings.Contains(string(rules), "ovsgw+") {
		t.Fatalf("DOCKER-USER after the rules: %v\n%s", err, rules)
	}
	t.Logf("DOCKER-USER:\n%s", rules)
}

func iptablesOn(t *testing.T, h *lab.Host, args ...string) {
	t.Helper()
	out, err := exec.Command("ip", append([]string{"netns", "exec", h.Netns, "iptables"}, args...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("iptables %s in %s: %v %s", strings.Join(args, " "), h.Name, err, out)
	}
}
