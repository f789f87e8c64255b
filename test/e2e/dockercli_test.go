//go:build e2e

package e2e

import (
	"context"
	"encoding/json"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/ovsnet/ovsnet/test/cluster"
)

// The stock docker CLI pointed at the controller manages the cluster's
// networks: ls, create, inspect, connect, disconnect, rm.
func TestDockerCLIAgainstController(t *testing.T) {
	c := cluster.New(t, cluster.Options{Hosts: 2})
	docker := func(args ...string) (string, error) {
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		cmd := exec.CommandContext(ctx, "docker", append([]string{"-H", "tcp://" + c.Controllers[0].Addr}, args...)...)
		out, err := cmd.CombinedOutput()
		return strings.TrimSpace(string(out)), err
	}
	mustDocker := func(args ...string) string {
		t.Helper()
		out, err := docker(args...)
		if err != nil {
			t.Fatalf("docker %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return out
	}
	id := mustDocker("network", "create", "-d", "overlay", "--subnet", "10.0.1.0/24", "testnet04")
	mustDocker("network", "create", "-d", "overlay", "--internal", "testnet03")
	mustDocker("network", "create", "-d", "bridge", "-o", "ovsnet.host=h1", "testnet01")
	ls := mustDocker("network", "ls")
	for _, want := range []string{`(?m)^` + id[:12] + `\s+testnet04\s+overlay\s+global$`, `testnet03\s+overlay\s+global`, `testnet01\s+bridge\s+local`} {
		if !regexp.MustCompile(want).MatchString(ls) {
			t.Errorf("docker network ls lacks %s:\n%s", want, ls)
		}
	}
	// Errors are Docker's: a bridge network without a host, a duplicate.
	if out, err := docker("network", "create", "lonely"); err == nil || !strings.Contains(out, "Error response from daemon") || !strings.Contains(out, "host") {
		t.Errorf("bridge network without host: err=%v %s", err, out)
	}
	if out, err := docker("network", "create", "-d", "overlay", "testnet04"); err == nil || !strings.Contains(out, "already exists") {
		t.Errorf("duplicate name: err=%v %s", err, out)
	}

	// A container known to ovsnet can be connected by name with docker.
	ct := c.Lab.AddContainer(c.Lab.Hosts[0], "web")
	c.Connect("testnet03", ct, nil)
	mustDocker("network", "connect", "--ip", "10.0.1.50", "--alias", "www", "testnet04", "web")
	var nets []struct {
		Name     string
		Internal bool
		IPAM     struct {
			Config []struct{ Subnet, Gateway string }
		}
		Containers map[string]struct{ Name, IPv4Address, MacAddress string }
	}
	if err := json.Unmarshal([]byte(mustDocker("network", "inspect", "testnet04", "testnet03")), &nets); err != nil {
		t.Fatal(err)
	}
	if len(nets) != 2 || nets[0].IPAM.Config[0].Subnet != "10.0.1.0/24" || nets[0].IPAM.Config[0].Gateway != "10.0.1.1" || !nets[1].Internal {
		t.Fatalf("docker network inspect: %+v", nets)
	}
	var found bool
	for _, ep := range nets[0].Containers {
		found = found || (ep.Name == "web" && ep.IPv4Address == "10.0.1.50/24")
	}
	if !found {
		t.Fatalf("inspect does not show web at 10.0.1.50/24: %+v", nets[0].Containers)
	}
	if got := cluster.Addrs(t, ct)["eth1"]; len(got) != 1 || got[0] != "10.0.1.50/24" {
		t.Fatalf("web's eth1 = %v, want 10.0.1.50/24", got)
	}
	if out, err := docker("network", "rm", "testnet04"); err == nil || !strings.Contains(out, "has active endpoints") {
		t.Fatalf("removing a network in use: err=%v %s", err, out)
	}
	mustDocker("network", "disconnect", "testnet04", "web")
	cluster.Poll(t, 10*time.Second, "eth1 leaves web", func() error {
		if _, ok := cluster.Addrs(t, ct)["eth1"]; ok {
			return errorf("eth1 still there")
		}
		return nil
	})
	mustDocker("network", "rm", "testnet04")
	if out, err := docker("network", "inspect", "testnet04"); err == nil || !strings.Contains(out, "not found") {
		t.Fatalf("inspect after rm: err=%v %s", err, out)
	}
}
