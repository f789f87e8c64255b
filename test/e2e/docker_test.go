package e2e

import (
	"context"
	"encoding/json"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/ovsnet/ovsnet/test/cluster"
	"github.com/ovsnet/ovsnet/test/lab"
)

// dockerOn runs the docker CLI against one host's engine.
func dockerOn(t *testing.T, d *lab.Docker, args ...string) string {
	t.Helper()
	out, err := d.CLI(context.Background(), args...)
	if err != nil {
		t.Fatalf("%v", err)
	}
	return strings.TrimSpace(string(out))
}

// containerIP reads a container's address on a network from docker inspect.
func containerIP(t *testing.T, d *lab.Docker, container, network string) string {
	t.Helper()
	return dockerOn(t, d, "inspect", "-f", "{{(index .NetworkSettings.Networks \""+network+"\").IPAddress}}", container)
}

// The seed's sequence with -d ovsnet on two real Docker engines.
func TestDockerSeedSequence(t *testing.T) {
	c := cluster.New(t, cluster.Options{Hosts: 2, Outside: true, Docker: true})
	d1, d2 := c.Dockers["h1"], c.Dockers["h2"]

	// Created on host 1, listed on host 2.
	dockerOn(t, d1, "network", "create", "-d", "ovsnet", "--ipam-driver", "ovsnet", "testnet02")
	cluster.Poll(t, 15*time.Second, "testnet02 appears in h2's docker network ls", func() error {
		out, err := d2.CLI(context.Background(), "network", "ls", "--format", "{{.Name}} {{.Driver}}")
		if err != nil || !strings.Contains(string(out), "testnet02 ovsnet") {
			return errorf("h2 lists: %s %v", out, err)
		}
		return nil
	})
	// The controller has it too, as an overlay network.
	if out := c.MustCtl("network", "ls"); !regexp.MustCompile(`testnet02\s+overlay\s+global`).MatchString(out) {
		t.Fatalf("ovsnetctl network ls:\n%s", out)
	}

	// A server on host 1, reached by IP from host 2.
	dockerOn(t, d1, "run", "-d", "--name", "mysql01", "--net", "testnet02", "busybox:local", "httpd", "-f", "-p", "80", "-h", "/etc")
	ip := containerIP(t, d1, "mysql01", "testnet02")
	if !strings.HasPrefix(ip, "10.0.0.") {
		t.Fatalf("mysql01 has %q on testnet02, want an address of 10.0.0.0/24", ip)
	}
	out := dockerOn(t, d2, "run", "--rm", "--net", "testnet02", "busybox:local", "ping", "-c", "3", "-W", "2", ip)
	if !strings.Contains(out, "3 packets received") {
		t.Fatalf("ping from h2 to mysql01 on h1:\n%s", out)
	}
	out = dockerOn(t, d2, "run", "--rm", "--net", "testnet02", "busybox:local", "timeout", "10", "wget", "-q", "-O-", "http://"+ip+"/hostname")
	if strings.TrimSpace(out) == "" {
		t.Fatal("TCP to mysql01 from h2 returned nothing")
	}
	// docker inspect shows the interface as for a built-in driver.
	var nets map[string]struct {
		IPAddress, MacAddress, Gateway, NetworkID string
		IPPrefixLen                               int
	}
	if err := json.Unmarshal([]byte(dockerOn(t, d1, "inspect", "-f", "{{json .NetworkSettings.Networks}}", "mysql01")), &nets); err != nil {
		t.Fatal(err)
	}
	if n := nets["testnet02"]; n.Gateway != "10.0.0.1" || n.IPPrefixLen != 24 || !strings.HasPrefix(n.MacAddress, "02:42:0a:00:00:") {
		t.Fatalf("docker inspect: %+v", n)
	}
	mtu := dockerOn(t, d1, "exec", "mysql01", "cat", "/sys/class/net/eth0/mtu")
	if mtu != "1450" {
		t.Fatalf("mysql01's eth0 MTU is %s, want 1450", mtu)
	}
}
