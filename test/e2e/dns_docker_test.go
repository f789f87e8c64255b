//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/ovsnet/ovsnet/test/cluster"
	"github.com/ovsnet/ovsnet/test/lab"
)

// dnsDocker runs the docker CLI on an engine, returning output and error.
func dnsDocker(d *lab.Docker, args ...string) (string, error) {
	out, err := d.CLI(context.Background(), args...)
	return strings.TrimSpace(string(out)), err
}

// nslookup runs busybox nslookup in a Docker container: it asks Docker's
// embedded resolver (127.0.0.11), which answers the engine's own containers
// and forwards everything else to the host's resolvers through the
// container's default route, where OVS steers it to the agent.
func nslookup(d *lab.Docker, container, name string) string {
	out, err := dnsDocker(d, "exec", container, "nslookup", name)
	if err != nil {
		return out + " (" + err.Error() + ")"
	}
	return out
}

// resolved says whether nslookup's output gives addr for the name.
func resolved(out, addr string) bool {
	_, answer, ok := strings.Cut(out, "Name:")
	if !ok {
		return false
	}
	return strings.Contains(answer, "Address: "+addr) || strings.Contains(answer, "Address 1: "+addr)
}

// The seed's names with real Docker engines on three hosts: mysql01 and
// mysql01.testnet02 from another host, --link=mysql01:db only inside the
// linking container, nothing of testnet02 from a container on another
// network, and other names forwarded to the upstream resolver. Docker's
// embedded resolver knows only its own engine's containers; the rest is
// answered by the agents.
func TestDNSDocker(t *testing.T) {
	c := cluster.New(t, cluster.Options{Hosts: 3, Outside: true, Docker: true,
		AgentArgs: []string{"-dns-upstream", "203.0.113.1:53"}})
	up := startUpstream(t, c.Lab)
	d1, d2, d3 := c.Dockers["h1"], c.Dockers["h2"], c.Dockers["h3"]
	dockerOn(t, d1, "network", "create", "-d", "ovsnet", "--ipam-driver", "ovsnet", "testnet02")
	c.CreateNetwork("testnet05", "--subnet", "10.0.5.0/24")
	for _, w := range []struct {
		d   *lab.Docker
		net string
	}{{d2, "testnet02"}, {d3, "testnet05"}} {
		cluster.Poll(t, 15*time.Second, w.net+" in "+w.d.Host.Name+"'s engine", func() error {
			out, err := dnsDocker(w.d, "network", "ls", "--format", "{{.Name}}")
			if err != nil || !strings.Contains(out, w.net) {
				return errorf("lists %q %v", out, err)
			}
			return nil
		})
	}
	dockerOn(t, d1, "run", "-d", "--name", "mysql01", "--net", "testnet02", "busybox:local", "sleep", "600")
	dockerOn(t, d1, "run", "-d", "--name", "app", "--net", "testnet02", "--link=mysql01:db", "busybox:local", "sleep", "600")
	dockerOn(t, d2, "run", "-d", "--name", "web", "--net", "testnet02", "busybox:local", "sleep", "600")
	dockerOn(t, d3, "run", "-d", "--name", "other", "--net", "testnet05", "busybox:local", "sleep", "600")
	mysqlIP := containerIP(t, d1, "mysql01", "testnet02")
	webIP := containerIP(t, d2, "web", "testnet02")

	// The controller learns the containers' names and links from the
	// engines; wait until the agents can know them.
	cluster.Poll(t, 20*time.Second, "Docker containers' names and links in the controller", func() error {
		var names []string
		links := ""
		for _, ep := range c.Endpoints("testnet02") {
			names = append(names, ep.ContainerName)
			if ep.ContainerName == "app" {
				for _, l := range ep.Links {
					links += l.Name + ":" + l.Alias
				}
			}
		}
		slices.Sort(names)
		if strings.Join(names, " ") != "app mysql01 web" || links != "mysql01:db" {
			return fmt.Errorf("endpoints of testnet02: %v, app's links %q", names, links)
		}
		return nil
	})
	steeredBefore := dnsSteered(t, c.Lab.Hosts[1])

	// Across hosts, through Docker's resolver: answered by h2's agent.
	for _, name := range []string{"mysql01.testnet02", "mysql01"} {
		if out := nslookup(d2, "web", name); !resolved(out, mysqlIP) {
			t.Errorf("web (h2): nslookup %s, want %s:\n%s", name, mysqlIP, out)
		}
	}
	if out := nslookup(d1, "mysql01", "web.testnet02"); !resolved(out, webIP) {
		t.Errorf("mysql01 (h1): nslookup web.testnet02, want %s:\n%s", webIP, out)
	}
	if n := dnsSteered(t, c.Lab.Hosts[1]); n <= steeredBefore {
		t.Errorf("h2 steered no DNS packet to its agent (Docker's resolver did not go through OVS)")
	}
	// The link: inside the linking container only.
	if out := nslookup(d1, "app", "db"); !resolved(out, mysqlIP) {
		t.Errorf("app: nslookup db (--link=mysql01:db), want %s:\n%s", mysqlIP, out)
	}
	if out := nslookup(d2, "web", "db"); resolved(out, mysqlIP) {
		t.Errorf("web resolves app's link alias db:\n%s", out)
	}
	// Another network's container sees nothing of testnet02.
	for _, name := range []string{"mysql01.testnet02", "mysql01", "web"} {
		if out := nslookup(d3, "other", name); resolved(out, mysqlIP) || resolved(out, webIP) || !strings.Contains(out, "NXDOMAIN") {
			t.Errorf("other (testnet05, h3): nslookup %s must be NXDOMAIN:\n%s", name, out)
		}
	}
	// Other names: forwarded by the agent to the upstream.
	if out := nslookup(d2, "web", "example.test"); !resolved(out, "203.0.113.80") {
		t.Errorf("web: nslookup example.test, want 203.0.113.80 from the upstream:\n%s", out)
	}
	if up.count("example.test") == 0 {
		t.Error("the upstream was never asked for example.test")
	}
	if n := up.count("mysql01") + up.count("db") + up.count("mysql01.testnet02"); n != 0 {
		t.Errorf("ovsnet's names reached the upstream %d times", n)
	}

	// The agent itself, asked at the gateway from the containers'
	// namespaces: the link Docker reported is the linking container's only.
	nsOf := func(d *lab.Docker, ct string) string {
		return "/proc/" + dockerOn(t, d, "inspect", "-f", "{{.State.Pid}}", ct) + "/ns/net"
	}
	app, web := nsOf(d1, "app"), nsOf(d2, "web")
	for _, q := range []struct{ ns, name, want string }{
		{app, "db", "NOERROR " + mysqlIP},
		{web, "db", "NXDOMAIN"},
		{web, "mysql01", "NOERROR " + mysqlIP},
		{web, "app.testnet02", "NOERROR " + containerIP(t, d1, "app", "testnet02")},
	} {
		got, err := ask(q.ns, "10.0.0.1", q.name, dns.TypeA)
		if err != nil || got != q.want {
			t.Errorf("agent asked %s from %s: %q (%v), want %q", q.name, q.ns, got, err, q.want)
		}
	}

	// Names from a container's first instruction: one-shot containers on
	// h2 whose very first command uses the link alias, many times in a row
	// (the plugin learns the link only after the container has joined).
	for i := range 8 {
		out, err := dnsDocker(d2, "run", "--rm", "--net=testnet02", "--link=mysql01:db", "busybox:local", "ping", "-c1", "-W3", "db")
		if err != nil || !strings.Contains(out, "1 packets received") {
			t.Errorf("one-shot container %d: ping -c1 db (--link=mysql01:db, mysql01 on h1): %v\n%s", i, err, out)
		}
	}

	// Internal networks only: Docker's resolver reaches the agent through
	// the host routes of the Join; names across hosts answer, other names
	// are NXDOMAIN and never forwarded.
	dockerOn(t, d1, "network", "create", "-d", "ovsnet", "--ipam-driver", "ovsnet", "--internal", "testnet06")
	cluster.Poll(t, 15*time.Second, "testnet06 in h2's engine", func() error {
		out, err := dnsDocker(d2, "network", "ls", "--format", "{{.Name}}")
		if err != nil || !strings.Contains(out, "testnet06") {
			return errorf("lists %q %v", out, err)
		}
		return nil
	})
	dockerOn(t, d1, "run", "-d", "--name", "i1", "--net", "testnet06", "busybox:local", "sleep", "600")
	i1IP := containerIP(t, d1, "i1", "testnet06")
	for _, name := range []string{"i1.testnet06", "i1"} {
		out, err := dnsDocker(d2, "run", "--rm", "--net=testnet06", "busybox:local", "ping", "-c1", "-W3", name)
		if err != nil || !strings.Contains(out, "1 packets received") || !strings.Contains(out, i1IP) {
			t.Errorf("internal-only container on h2: ping -c1 %s (i1 at %s on h1): %v\n%s", name, i1IP, err, out)
		}
	}
	before := up.count("internal-only.test")
	out, _ := dnsDocker(d2, "run", "--rm", "--net=testnet06", "busybox:local", "nslookup", "internal-only.test")
	if resolved(out, "203.0.113.80") {
		t.Errorf("an internal-only container resolved an outside name:\n%s", out)
	}
	if up.count("internal-only.test") != before {
		t.Error("a query from an internal network reached the upstream")
	}
	out, err := dnsDocker(d2, "run", "--rm", "--net=testnet06", "busybox:local", "ip", "route")
	if err != nil || strings.Contains(out, "default") {
		t.Errorf("an internal-only container has a default route: %v\n%s", err, out)
	}

	// A removed container stops resolving on the other hosts.
	dockerOn(t, d1, "rm", "-f", "mysql01")
	cluster.Poll(t, 15*time.Second, "mysql01 gone from h2's answers", func() error {
		if got, err := ask(web, "10.0.0.1", "mysql01", dns.TypeA); err != nil || got != "NXDOMAIN" {
			return fmt.Errorf("web asks mysql01: %q %v", got, err)
		}
		return nil
	})
}
