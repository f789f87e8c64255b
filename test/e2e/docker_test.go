//go:build e2e

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

// tryDocker runs the docker CLI and returns its output and error.
func tryDocker(d *lab.Docker, args ...string) (string, error) {
	out, err := d.CLI(context.Background(), args...)
	return strings.TrimSpace(string(out)), err
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
		out, err := tryDocker(d2, "network", "ls", "--format", "{{.Name}} {{.Driver}}")
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

	// A network made with the CLI appears in both engines; a running
	// container joins it and gets a second interface.
	c.CreateNetwork("testnet04", "--subnet", "10.0.1.0/24")
	for _, d := range []*lab.Docker{d1, d2} {
		cluster.Poll(t, 15*time.Second, "testnet04 in "+d.Host.Name+"'s engine", func() error {
			out, err := d.CLI(context.Background(), "network", "ls", "--format", "{{.Name}}")
			if err != nil || !strings.Contains(string(out), "testnet04") {
				return errorf("lists %s %v", out, err)
			}
			return nil
		})
	}
	dockerOn(t, d1, "network", "connect", "testnet04", "mysql01")
	if ip4 := containerIP(t, d1, "mysql01", "testnet04"); ip4 != "10.0.1.2" {
		t.Fatalf("mysql01 got %q on testnet04, want 10.0.1.2", ip4)
	}
	if out := dockerOn(t, d1, "exec", "mysql01", "ip", "-o", "addr", "show", "eth1"); !strings.Contains(out, "10.0.1.2/24") {
		t.Fatalf("mysql01's eth1: %s", out)
	}

	// --ip inside the subnet is honoured; outside it, Docker's own error
	// names the address; an address in use on the other host fails too.
	dockerOn(t, d2, "run", "-d", "--name", "web", "--net", "testnet04", "--ip", "10.0.1.100", "busybox:local", "sleep", "600")
	if got := containerIP(t, d2, "web", "testnet04"); got != "10.0.1.100" {
		t.Fatalf("--ip 10.0.1.100 gave %q", got)
	}
	out, err := tryDocker(d2, "run", "--rm", "--net", "testnet04", "--ip", "10.0.2.100", "busybox:local", "true")
	if err == nil || !strings.Contains(out+err.Error(), "10.0.2.100") {
		t.Fatalf("--ip outside the subnet: err=%v %s", err, out)
	}
	out, err = tryDocker(d1, "run", "--rm", "--net", "testnet04", "--ip", "10.0.1.100", "busybox:local", "true")
	if err == nil || !strings.Contains(out+err.Error(), "Address already in use") {
		t.Fatalf("--ip in use on the other host: err=%v %s", err, out)
	}
	if out := dockerOn(t, d1, "exec", "mysql01", "ping", "-c", "2", "-W", "2", "10.0.1.100"); !strings.Contains(out, "2 packets received") {
		t.Fatalf("mysql01 → web on testnet04 across hosts:\n%s", out)
	}

	// An internal network reaches across hosts and nothing else.
	dockerOn(t, d1, "network", "create", "-d", "ovsnet", "--ipam-driver", "ovsnet", "--internal", "testnet03")
	cluster.Poll(t, 15*time.Second, "testnet03 in h2's engine", func() error {
		out, err := tryDocker(d2, "network", "inspect", "-f", "{{.Internal}}", "testnet03")
		if err != nil || strings.TrimSpace(string(out)) != "true" {
			return errorf("%s %v", out, err)
		}
		return nil
	})
	dockerOn(t, d1, "run", "-d", "--name", "db", "--net", "testnet03", "busybox:local", "sleep", "600")
	dbIP := containerIP(t, d1, "db", "testnet03")
	if out := dockerOn(t, d2, "run", "--rm", "--net", "testnet03", "busybox:local", "ping", "-c", "2", "-W", "2", dbIP); !strings.Contains(out, "2 packets received") {
		t.Fatalf("internal network across hosts:\n%s", out)
	}
	out, err = tryDocker(d1, "exec", "db", "ping", "-c", "1", "-W", "1", "203.0.113.1")
	if err == nil || !strings.Contains(out+err.Error(), "unreachable") {
		t.Fatalf("internal container reached outside: err=%v %s", err, out)
	}
	// Non-internal: egress through the host.
	if out := dockerOn(t, d2, "exec", "web", "ping", "-c", "2", "-W", "2", "203.0.113.1"); !strings.Contains(out, "2 packets received") {
		t.Fatalf("egress from testnet04:\n%s", out)
	}

	// -p publishes a container port on its host's address.
	dockerOn(t, d1, "run", "-d", "--name", "pub", "--net", "testnet02", "-p", "8080:80", "busybox:local", "httpd", "-f", "-p", "80", "-h", "/etc")
	h1 := c.Lab.Hosts[0]
	cluster.Poll(t, 15*time.Second, "published port answers from the outside", func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		out, err := c.Lab.Outside.Exec(ctx, "busybox", "wget", "-q", "-O-", "http://"+h1.TunnelIP.String()+":8080/hostname")
		if err != nil || strings.TrimSpace(string(out)) == "" {
			return errorf("wget: %v %s", err, out)
		}
		return nil
	})
	// The same host port for a second container on h1 (on another network
	// too): refused with the controller's words, the first one unharmed.
	before := len(c.Endpoints("testnet04"))
	out, err = tryDocker(d1, "run", "-d", "--name", "pub2", "--net", "testnet04", "-p", "8080:80", "busybox:local", "sleep", "600")
	if err == nil || !strings.Contains(out+err.Error(), "host port tcp/8080 on h1 is already published by container pub") {
		t.Fatalf("a second container publishing host port 8080 on h1: err=%v\n%s", err, out)
	}
	_, _ = tryDocker(d1, "rm", "-f", "pub2")
	if eps := c.Endpoints("testnet04"); len(eps) != before {
		t.Fatalf("the refused container left endpoints on testnet04: %+v", eps)
	}
	if out, err := c.Lab.Outside.Exec(context.Background(), "busybox", "wget", "-q", "-O-", "http://"+h1.TunnelIP.String()+":8080/hostname"); err != nil || strings.TrimSpace(string(out)) == "" {
		t.Fatalf("pub stopped answering after the refusal: %v %s", err, out)
	}

	// docker network rm on h2 while h1 has containers on it: Docker 20.10
	// ignores a driver's refusal to delete (only its own local check
	// counts), so the engine drops its copy; the cluster keeps the network
	// and h2's agent restores it in h2's engine at once.
	_, _ = tryDocker(d2, "network", "rm", "testnet02")
	cluster.Poll(t, 15*time.Second, "testnet02 restored in h2's engine", func() error {
		out, err := tryDocker(d2, "network", "ls", "--format", "{{.Name}}")
		if err != nil || !strings.Contains(out, "testnet02") {
			return errorf("h2 lists %q %v", out, err)
		}
		return nil
	})
	if ls := c.MustCtl("network", "ls"); !strings.Contains(ls, "testnet02") {
		t.Fatal("testnet02 was removed from the cluster while containers use it")
	}
	if out := dockerOn(t, d2, "run", "--rm", "--net", "testnet02", "busybox:local", "ping", "-c", "1", "-W", "2", ip); !strings.Contains(out, "1 packets received") {
		t.Fatalf("h2 cannot use testnet02 after the refused removal:\n%s", out)
	}
	// ...and removes it everywhere once they are gone.
	dockerOn(t, d1, "rm", "-f", "mysql01", "pub")
	dockerOn(t, d2, "network", "rm", "testnet02")
	cluster.Poll(t, 15*time.Second, "testnet02 leaves h1's engine and the cluster", func() error {
		out, err := tryDocker(d1, "network", "ls", "--format", "{{.Name}}")
		if err != nil || strings.Contains(string(out), "testnet02") {
			return errorf("h1 still lists it: %s %v", out, err)
		}
		if ls := c.MustCtl("network", "ls"); strings.Contains(ls, "testnet02") {
			return errorf("the controller still lists it")
		}
		return nil
	})

	// IPv6: a dual-stack network made in Docker, addresses from both pools.
	dockerOn(t, d2, "network", "create", "-d", "ovsnet", "--ipam-driver", "ovsnet", "--ipv6", "--subnet", "10.0.9.0/24", "--subnet", "fd00:9::/64", "v6net")
	cluster.Poll(t, 15*time.Second, "v6net in h1's engine", func() error {
		_, err := tryDocker(d1, "network", "inspect", "v6net")
		return err
	})
	dockerOn(t, d1, "run", "-d", "--name", "six", "--net", "v6net", "--ip6", "fd00:9::99", "busybox:local", "sleep", "600")
	six := dockerOn(t, d1, "inspect", "-f", `{{(index .NetworkSettings.Networks "v6net").GlobalIPv6Address}}`, "six")
	if six != "fd00:9::99" {
		t.Fatalf("--ip6 fd00:9::99 gave %q", six)
	}
	if out := dockerOn(t, d2, "run", "--rm", "--net", "v6net", "busybox:local", "ping6", "-c", "2", "-W", "2", six); !strings.Contains(out, "2 packets received") {
		t.Fatalf("IPv6 across hosts:\n%s", out)
	}

	// Another IPAM driver is refused with a pointer to ovsnet's.
	out, err = tryDocker(d1, "network", "create", "-d", "ovsnet", "wrongipam")
	if err == nil || !strings.Contains(out+err.Error(), "--ipam-driver ovsnet") {
		t.Fatalf("default IPAM: err=%v %s", err, out)
	}
}
