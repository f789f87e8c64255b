//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/ovsnet/ovsnet/model"
	"github.com/ovsnet/ovsnet/test/cluster"
	"github.com/ovsnet/ovsnet/test/lab"
)

// DNS end-to-end tests (docs/dns.md): every agent answers its containers'
// queries in OVS from the controller's state. Queries go from inside the
// containers' namespaces, either by the test's own DNS client (exact rcodes
// and records) or through glibc with `ip netns exec` (the resolv.conf the
// agent writes: zero configuration).

// ask sends one query from inside netns to server:53 (three tries, one
// second each) and renders the reply as "RCODE answer answer...", answers
// sorted.
func ask(netns, server, name string, qtype uint16) (string, error) {
	conn, err := lab.DialUDPIn(netns, net.JoinHostPort(server, "53"))
	if err != nil {
		return "", err
	}
	defer conn.Close()
	q := new(dns.Msg)
	q.SetQuestion(dns.Fqdn(name), qtype)
	co := &dns.Conn{Conn: conn}
	for try := 0; ; try++ {
		_ = conn.SetDeadline(time.Now().Add(time.Second))
		if err = co.WriteMsg(q); err == nil {
			var r *dns.Msg
			if r, err = co.ReadMsg(); err == nil {
				if r.Id != q.Id {
					err = fmt.Errorf("reply id %d, query id %d", r.Id, q.Id)
				} else {
					return renderReply(r), nil
				}
			}
		}
		if try == 2 {
			return "", fmt.Errorf("%s %s from %s to %s: %w", dns.TypeToString[qtype], name, netns, server, err)
		}
	}
}

func renderReply(r *dns.Msg) string {
	var parts []string
	for _, rr := range r.Answer {
		switch rr := rr.(type) {
		case *dns.A:
			parts = append(parts, rr.A.String())
		case *dns.AAAA:
			parts = append(parts, rr.AAAA.String())
		case *dns.PTR:
			parts = append(parts, rr.Ptr)
		default:
			parts = append(parts, rr.String())
		}
	}
	slices.Sort(parts)
	return strings.TrimSpace(dns.RcodeToString[r.Rcode] + " " + strings.Join(parts, " "))
}

// dnsCase is one query and the reply it must get.
type dnsCase struct {
	from   *lab.Container
	server string // "" for the gateway of from's first network
	name   string
	qtype  uint16
	want   string
}

// checkDNS runs the cases concurrently and reports every mismatch.
func checkDNS(t *testing.T, servers map[*lab.Container]string, cases []dnsCase) {
	t.Helper()
	errs := make([]string, len(cases))
	var wg sync.WaitGroup
	for i, c := range cases {
		wg.Add(1)
		go func() {
			defer wg.Done()
			server := c.server
			if server == "" {
				server = servers[c.from]
			}
			got, err := ask(c.from.NetnsName, server, c.name, c.qtype)
			if err != nil {
				errs[i] = err.Error()
			} else if got != c.want {
				errs[i] = fmt.Sprintf("%s asks %s %s at %s: got %q, want %q", c.from.Name, dns.TypeToString[c.qtype], c.name, server, got, c.want)
			}
		}()
	}
	wg.Wait()
	for _, e := range errs {
		if e != "" {
			t.Error(e)
		}
	}
}

// getent resolves name with glibc inside ct, as `ip netns exec` runs
// programs (so /etc/netns/NAME/resolv.conf applies).
func getent(ct *lab.Container, db, name string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "ip", "netns", "exec", ct.NetnsName, "getent", db, name).CombinedOutput()
	return strings.TrimSpace(string(out)), err
}

func addr(ep model.EndpointView) string  { return ep.IPv4.Addr().String() }
func addr6(ep model.EndpointView) string { return ep.IPv6.Addr().String() }

func reverse(a string) string {
	r, err := dns.ReverseAddr(a)
	if err != nil {
		panic(err)
	}
	return r
}

// dnsSteered is how many DNS packets OVS steered to the resolver on h.
func dnsSteered(t *testing.T, h *lab.Host) int {
	t.Helper()
	out, err := h.Ofctl("dump-flows", "br-int", "table=30")
	if err != nil {
		t.Fatalf("%s: dump-flows: %v", h.Name, err)
	}
	total := 0
	for _, line := range strings.Split(out, "\n") {
		if !strings.Contains(line, "tp_dst=53") {
			continue
		}
		var n int
		if i := strings.Index(line, "n_packets="); i >= 0 {
			fmt.Sscanf(line[i:], "n_packets=%d", &n)
		}
		total += n
	}
	return total
}

// NAME, NAME.NETWORK, aliases (A and AAAA, over IPv4 and IPv6), links and
// reverse lookups resolve across three hosts for netns containers attached
// with ovsnetctl's API, with no configuration in the containers: the agent
// writes their resolv.conf and OVS steers the queries to it.
func TestDNSNamesAcrossHosts(t *testing.T) {
	c := cluster.New(t, cluster.Options{Hosts: 3})
	c.CreateNetwork("testnet02", "--ipv6", "--subnet", "10.0.0.0/24", "--subnet", "fd00:2::/64")
	web := c.Lab.AddContainer(c.Lab.Hosts[0], "web")
	mysql := c.Lab.AddContainer(c.Lab.Hosts[1], "mysql01")
	app := c.Lab.AddContainer(c.Lab.Hosts[2], "app")
	webEP := c.Connect("testnet02", web, nil)
	mysqlEP := c.Connect("testnet02", mysql, &model.EndpointSettings{Aliases: []string{"database", "mysql.internal"}})
	appEP := c.Connect("testnet02", app, &model.EndpointSettings{Links: []string{"mysql01:db"}})

	// Zero configuration: glibc in the container finds the resolver.
	conf, err := os.ReadFile("/etc/netns/" + web.NetnsName + "/resolv.conf")
	if err != nil || !strings.Contains(string(conf), "nameserver 10.0.0.1\nnameserver fd00:2::1\n") {
		t.Fatalf("web's resolv.conf (%v):\n%s", err, conf)
	}
	for _, q := range []struct {
		from           *lab.Container
		db, name, want string
	}{
		{web, "hosts", "mysql01", addr6(mysqlEP) + " mysql01"},
		{web, "ahostsv4", "mysql01", addr(mysqlEP) + " STREAM mysql01"},
		{web, "ahostsv4", "mysql01.testnet02", addr(mysqlEP) + " STREAM mysql01.testnet02"},
		{web, "ahostsv4", "database", addr(mysqlEP) + " STREAM database"},
		{app, "ahostsv4", "db", addr(mysqlEP) + " STREAM db"},
		{mysql, "ahostsv4", "web.testnet02", addr(webEP) + " STREAM web.testnet02"},
		{app, "hosts", addr(mysqlEP), addr(mysqlEP) + " mysql01.testnet02"},
	} {
		out, err := getent(q.from, q.db, q.name)
		if got := strings.Join(strings.Fields(out), " "); err != nil || !strings.HasPrefix(got, q.want) {
			t.Errorf("%s: getent %s %s = %q (%v), want it to start with %q", q.from.Name, q.db, q.name, out, err, q.want)
		}
	}
	if out, err := getent(web, "ahostsv4", "db"); err == nil {
		t.Errorf("web resolves app's link alias db: %s", out)
	}

	gw := map[*lab.Container]string{web: "10.0.0.1", mysql: "10.0.0.1", app: "10.0.0.1"}
	A, AAAA, PTR := dns.TypeA, dns.TypeAAAA, dns.TypePTR
	checkDNS(t, gw, []dnsCase{
		{web, "", "mysql01", A, "NOERROR " + addr(mysqlEP)},
		{web, "", "mysql01", AAAA, "NOERROR " + addr6(mysqlEP)},
		{web, "", "MYSQL01.testnet02", A, "NOERROR " + addr(mysqlEP)},
		{web, "fd00:2::1", "mysql01.testnet02", AAAA, "NOERROR " + addr6(mysqlEP)},
		{web, "fd00:2::1", "app", A, "NOERROR " + addr(appEP)},
		{web, "", "database", A, "NOERROR " + addr(mysqlEP)},
		{web, "", "mysql.internal", A, "NOERROR " + addr(mysqlEP)},
		{web, "", "database.testnet02", AAAA, "NOERROR " + addr6(mysqlEP)},
		{mysql, "", "web", A, "NOERROR " + addr(webEP)},
		{mysql, "", "mysql01", A, "NOERROR " + addr(mysqlEP)},
		// Links resolve only inside the linking container.
		{app, "", "db", A, "NOERROR " + addr(mysqlEP)},
		{app, "fd00:2::1", "db", AAAA, "NOERROR " + addr6(mysqlEP)},
		{web, "", "db", A, "NXDOMAIN"},
		{mysql, "", "db", A, "NXDOMAIN"},
		// Reverse lookups, IPv4 and IPv6.
		{web, "", reverse(addr(mysqlEP)), PTR, "NOERROR mysql01.testnet02."},
		{app, "fd00:2::1", reverse(addr6(webEP)), PTR, "NOERROR web.testnet02."},
		// Unknown: ovsnet's own zones NXDOMAIN, others refused (no upstream).
		{web, "", "nosuch", A, "NXDOMAIN"},
		{web, "", "nosuch.testnet02", A, "NXDOMAIN"},
		{web, "", reverse("10.0.0.200"), PTR, "NXDOMAIN"},
		{web, "", "example.test", A, "REFUSED"},
	})
	// The queries took the in-OVS path on every host.
	for _, h := range c.Lab.Hosts {
		if n := dnsSteered(t, h); n == 0 {
			t.Errorf("%s: no DNS packet steered to the resolver in table DNS", h.Name)
		}
	}

	// The agent removes the file with the container's last endpoint.
	c.MustCtl("network", "disconnect", "testnet02", "web")
	cluster.Poll(t, 15*time.Second, "web's resolv.conf removed", func() error {
		if _, err := os.Stat("/etc/netns/" + web.NetnsName); !os.IsNotExist(err) {
			return fmt.Errorf("/etc/netns/%s still there (%v)", web.NetnsName, err)
		}
		return nil
	})
}

// Name isolation matches network isolation: names of networks a container
// is not on do not resolve, also between networks with the same subnet and
// the same addresses on one host; a container on two networks answers with
// the address of the network the asker shares with it.
func TestDNSIsolation(t *testing.T) {
	c := cluster.New(t, cluster.Options{Hosts: 3})
	c.CreateNetwork("blue", "--subnet", "10.0.5.0/24")
	c.CreateNetwork("red", "--subnet", "10.0.5.0/24")
	c.CreateNetwork("green", "--subnet", "10.0.6.0/24")
	h1, h2, h3 := c.Lab.Hosts[0], c.Lab.Hosts[1], c.Lab.Hosts[2]
	static := func(ip string) *model.EndpointSettings {
		return &model.EndpointSettings{IPAMConfig: &model.EndpointIPAMConfig{IPv4Address: ip}}
	}
	b1 := c.Lab.AddContainer(h1, "b1")
	r1 := c.Lab.AddContainer(h1, "r1")
	b2 := c.Lab.AddContainer(h2, "b2")
	r2 := c.Lab.AddContainer(h3, "r2")
	both := c.Lab.AddContainer(h2, "both")
	g1 := c.Lab.AddContainer(h3, "g1")
	c.Connect("blue", b1, static("10.0.5.10"))
	c.Connect("red", r1, static("10.0.5.10")) // same address, same host, other network
	c.Connect("blue", b2, static("10.0.5.20"))
	c.Connect("red", r2, static("10.0.5.30"))
	c.Connect("blue", both, static("10.0.5.40"))
	c.Connect("green", both, static("10.0.6.40"))
	c.Connect("green", g1, static("10.0.6.50"))

	gw := map[*lab.Container]string{b1: "10.0.5.1", r1: "10.0.5.1", b2: "10.0.5.1", r2: "10.0.5.1", both: "10.0.5.1", g1: "10.0.6.1"}
	A, PTR := dns.TypeA, dns.TypePTR
	checkDNS(t, gw, []dnsCase{
		{b1, "", "b2", A, "NOERROR 10.0.5.20"},
		{b1, "", "r1", A, "NXDOMAIN"},
		{b1, "", "r2", A, "NXDOMAIN"},
		{b1, "", "r2.red", A, "NXDOMAIN"},
		{b1, "", "g1", A, "NXDOMAIN"},
		{b1, "", "g1.green", A, "NXDOMAIN"},
		{r1, "", "r2", A, "NOERROR 10.0.5.30"},
		{r1, "", "b1", A, "NXDOMAIN"},
		{r1, "", "b2.blue", A, "NXDOMAIN"},
		{r2, "", "r1.red", A, "NOERROR 10.0.5.10"},
		{r2, "", "both", A, "NXDOMAIN"},
		// Same address, same host, two networks: each its own name.
		{b1, "", reverse("10.0.5.10"), PTR, "NOERROR b1.blue."},
		{r1, "", reverse("10.0.5.10"), PTR, "NOERROR r1.red."},
		{r2, "", reverse("10.0.5.20"), PTR, "NXDOMAIN"},
		// A container on two networks: the shared network's address.
		{b1, "", "both", A, "NOERROR 10.0.5.40"},
		{g1, "", "both", A, "NOERROR 10.0.6.40"},
		{g1, "", "both.green", A, "NOERROR 10.0.6.40"},
		{g1, "", "both.blue", A, "NXDOMAIN"},
		{b1, "", "both.green", A, "NXDOMAIN"},
		// The container on both networks resolves both (its first network
		// first), whichever gateway it asks.
		{both, "", "b1", A, "NOERROR 10.0.5.10"},
		{both, "", "g1", A, "NOERROR 10.0.6.50"},
		{both, "10.0.6.1", "both", A, "NOERROR 10.0.6.40"},
		{both, "10.0.5.1", "both", A, "NOERROR 10.0.5.40"},
	})
}

// upstream is a resolver in the outside namespace: example.test is
// 203.0.113.80, anything else NXDOMAIN. It counts the names it was asked.
type upstream struct {
	srv   *dns.Server
	mu    sync.Mutex
	asked map[string]int
}

func startUpstream(t *testing.T, l *lab.Lab) *upstream {
	t.Helper()
	pc, err := lab.ListenUDPIn(l.Outside.Netns, "203.0.113.1:53")
	if err != nil {
		t.Fatal(err)
	}
	u := &upstream{asked: map[string]int{}}
	u.srv = &dns.Server{PacketConn: pc, Handler: dns.HandlerFunc(func(w dns.ResponseWriter, q *dns.Msg) {
		name := strings.ToLower(q.Question[0].Name)
		u.mu.Lock()
		u.asked[name]++
		u.mu.Unlock()
		r := new(dns.Msg)
		r.SetReply(q)
		r.RecursionAvailable = true
		if name == "example.test." && q.Question[0].Qtype == dns.TypeA {
			r.Answer = append(r.Answer, &dns.A{Hdr: dns.RR_Header{Name: q.Question[0].Name, Rrtype: dns.TypeA, Class: dns.ClassINET, Ttl: 60},
				A: net.ParseIP("203.0.113.80")})
		} else if name != "example.test." {
			r.Rcode = dns.RcodeNameError
		}
		_ = w.WriteMsg(r)
	})}
	started := make(chan struct{})
	u.srv.NotifyStartedFunc = func() { close(started) }
	go func() { _ = u.srv.ActivateAndServe() }()
	<-started
	t.Cleanup(func() { _ = u.srv.Shutdown() })
	return u
}

func (u *upstream) count(name string) int {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.asked[dns.Fqdn(strings.ToLower(name))]
}

// Internal networks resolve their own names and nothing else (never
// forwarded); other names from non-internal networks go to the configured
// upstream. Queries to any off-link resolver are answered by the agent
// (that is how Docker's embedded resolver forwards), queries to another
// container's own DNS server are not touched.
func TestDNSInternalAndUpstream(t *testing.T) {
	c := cluster.New(t, cluster.Options{Hosts: 3, Outside: true, AgentArgs: []string{"-dns-upstream", "203.0.113.1:53"}})
	up := startUpstream(t, c.Lab)
	c.CreateNetwork("testnet03", "-d", "overlay", "--internal")
	c.CreateNetwork("testnet02", "-d", "overlay")
	h1, h2, h3 := c.Lab.Hosts[0], c.Lab.Hosts[1], c.Lab.Hosts[2]
	i1 := c.Lab.AddContainer(h1, "i1")
	i2 := c.Lab.AddContainer(h2, "i2")
	n1 := c.Lab.AddContainer(h3, "n1")
	n2 := c.Lab.AddContainer(h1, "n2")
	i1EP := c.Connect("testnet03", i1, nil)
	i2EP := c.Connect("testnet03", i2, nil)
	n1EP := c.Connect("testnet02", n1, nil)
	n2EP := c.Connect("testnet02", n2, nil)
	igw, ngw := i1EP.IPv4.Masked().Addr().Next().String(), n1EP.IPv4.Masked().Addr().Next().String()

	// n2 runs its own DNS server: queries to its address are its own.
	own, err := lab.ListenUDPIn(n2.NetnsName, net.JoinHostPort(addr(n2EP), "53"))
	if err != nil {
		t.Fatal(err)
	}
	ownSrv := &dns.Server{PacketConn: own, Handler: dns.HandlerFunc(func(w dns.ResponseWriter, q *dns.Msg) {
		r := new(dns.Msg)
		r.SetReply(q)
		r.Answer = append(r.Answer, &dns.A{Hdr: dns.RR_Header{Name: q.Question[0].Name, Rrtype: dns.TypeA, Class: dns.ClassINET},
			A: net.ParseIP("192.0.2.99")})
		_ = w.WriteMsg(r)
	})}
	go func() { _ = ownSrv.ActivateAndServe() }()
	t.Cleanup(func() { _ = ownSrv.Shutdown() })

	gw := map[*lab.Container]string{i1: igw, i2: igw, n1: ngw, n2: ngw}
	A := dns.TypeA
	checkDNS(t, gw, []dnsCase{
		// Internal: its own names, on-link at the gateway address.
		{i1, "", "i2", A, "NOERROR " + addr(i2EP)},
		{i2, "", "i1.testnet03", A, "NOERROR " + addr(i1EP)},
		{i1, "", "example.test", A, "NXDOMAIN"},
		{i1, "", "n1", A, "NXDOMAIN"},
		{i1, "", "n1.testnet02", A, "NXDOMAIN"},
		// Non-internal: forwarded to the upstream...
		{n1, "", "example.test", A, "NOERROR 203.0.113.80"},
		{n1, "", "other.example.test", A, "NXDOMAIN"},
		// ...except ovsnet's own zones.
		{n1, "", "nosuch", A, "NXDOMAIN"},
		{n1, "", "i1", A, "NXDOMAIN"},
		{n1, "", "i1.testnet03", A, "NXDOMAIN"},
		{n1, "", "n2", A, "NOERROR " + addr(n2EP)},
		// Any off-link resolver through the default route: the agent
		// answers (Docker's embedded resolver forwards this way).
		{n1, "198.51.100.53", "n2.testnet02", A, "NOERROR " + addr(n2EP)},
		{n1, "198.51.100.53", "example.test", A, "NOERROR 203.0.113.80"},
		// A container's own DNS server is not hijacked.
		{n1, addr(n2EP), "n2", A, "NOERROR 192.0.2.99"},
	})
	if n := up.count("example.test"); n < 2 {
		t.Errorf("upstream asked for example.test %d times, want at least 2 (forwarded from n1 twice)", n)
	}
	// Once per query the test sent: ask sends again after a second
	// without an answer (at most three times), and nothing is cached.
	if n := up.count("other.example.test"); n < 1 || n > 3 {
		t.Errorf("upstream asked for other.example.test %d times, want 1 (up to 3 if the test's query was resent)", n)
	}
	for _, name := range []string{"nosuch", "i1", "n1", "i1.testnet03", "n1.testnet02"} {
		if n := up.count(name); n != 0 {
			t.Errorf("upstream was asked for ovsnet's name %s (%d times)", name, n)
		}
	}
	// glibc through the written resolv.conf: forwarded name, internal
	// container's own network.
	if out, err := getent(n1, "ahostsv4", "example.test"); err != nil || !strings.HasPrefix(out, "203.0.113.80") {
		t.Errorf("n1: getent ahostsv4 example.test = %q (%v)", out, err)
	}
	if out, err := getent(i1, "ahostsv4", "i2"); err != nil || !strings.HasPrefix(out, addr(i2EP)) {
		t.Errorf("i1: getent ahostsv4 i2 = %q (%v)", out, err)
	}
	before := up.count("example.test")
	if out, err := getent(i1, "ahostsv4", "example.test"); err == nil {
		t.Errorf("internal i1 resolves example.test: %s", out)
	}
	if n := up.count("example.test"); n != before {
		t.Errorf("a query from the internal network reached the upstream")
	}
	// Only DNS reaches the internal gateway: nothing else leaves.
	if i1.PingOnce(igw, time.Second) {
		t.Errorf("i1 pings its internal gateway %s: more than DNS gets through", igw)
	}
}

// Answers follow the cluster within a second: a new container resolves, a
// removed one stops resolving. With Consul and the controller down (and
// the agent restarted meanwhile), the agent keeps answering from its copy.
func TestDNSFollowsChanges(t *testing.T) {
	c := cluster.New(t, cluster.Options{Hosts: 3})
	c.CreateNetwork("testnet02")
	h1, h2, h3 := c.Lab.Hosts[0], c.Lab.Hosts[1], c.Lab.Hosts[2]
	a := c.Lab.AddContainer(h1, "a")
	b := c.Lab.AddContainer(h2, "b")
	newc := c.Lab.AddContainer(h3, "newc")
	c.Connect("testnet02", a, nil)
	bEP := c.Connect("testnet02", b, nil)
	gw := "10.0.0.1"
	checkDNS(t, map[*lab.Container]string{a: gw}, []dnsCase{{a, "", "b", dns.TypeA, "NOERROR " + addr(bEP)}, {a, "", "newc", dns.TypeA, "NXDOMAIN"}})

	// waitFor polls a's view of name every 20 ms until it is want (at
	// most limit) and returns how long that took.
	waitFor := func(name, want string, limit time.Duration) time.Duration {
		start := time.Now()
		for time.Since(start) < limit {
			if got, err := ask(a.NetnsName, gw, name, dns.TypeA); err == nil && got == want {
				return time.Since(start)
			}
			time.Sleep(20 * time.Millisecond)
		}
		t.Fatalf("%s did not become %q within %v", name, want, limit)
		return 0
	}
	newEP := c.Connect("testnet02", newc, nil)
	took := waitFor("newc", "NOERROR "+addr(newEP), 5*time.Second)
	t.Logf("a new container (on h3) resolved on h1 %v after its connect returned", took.Round(time.Millisecond))
	if took > time.Second {
		t.Errorf("a new container took %v to resolve, want within 1 s", took)
	}
	c.MustCtl("network", "disconnect", "testnet02", "b")
	took = waitFor("b", "NXDOMAIN", 5*time.Second)
	t.Logf("a removed container stopped resolving %v after its disconnect returned", took.Round(time.Millisecond))
	if took > time.Second {
		t.Errorf("a removed container took %v to stop resolving, want within 1 s", took)
	}

	// The DNS port replaced behind the agent's back (as when
	// ovs-vswitchd restarts): the next full sync recreates it and the
	// resolver reopens its socket on the new device.
	if out, err := h1.Vsctl("del-port", "br-int", "ovsnet-dns"); err != nil {
		t.Fatalf("del-port: %v %s", err, out)
	}
	start := time.Now()
	for time.Since(start) < 30*time.Second {
		if got, err := ask(a.NetnsName, gw, "newc", dns.TypeA); err == nil && got == "NOERROR "+addr(newEP) {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	took = time.Since(start)
	if took >= 30*time.Second {
		t.Fatalf("no answers within 30 s after the DNS port was deleted")
	}
	t.Logf("answers again %v after the DNS port was deleted (the agent's full sync recreates it)", took.Round(time.Millisecond))

	// Consul and the controller down; the agent on h1 restarted meanwhile.
	c.Consul.Stop()
	for _, ctl := range c.Controllers {
		if err := ctl.Proc.Stop(); err != nil {
			t.Fatalf("stop controller: %v", err)
		}
	}
	if err := c.Agents[h1.Name].Stop(); err != nil {
		t.Fatalf("stop agent: %v", err)
	}
	c.Agents[h1.Name].Restart()
	start = time.Now()
	// The process starts, reads its cached state and opens the DNS port;
	// an unanswered query takes 3 s of the budget.
	waitFor("newc", "NOERROR "+addr(newEP), 20*time.Second)
	t.Logf("restarted agent answered from its cached state %v after start, Consul and controller down", time.Since(start).Round(time.Millisecond))
	for i := 0; i < 20; i++ {
		checkDNS(t, map[*lab.Container]string{a: gw}, []dnsCase{
			{a, "", "newc.testnet02", dns.TypeA, "NOERROR " + addr(newEP)},
			{a, "", "b", dns.TypeA, "NXDOMAIN"},
		})
		time.Sleep(100 * time.Millisecond)
	}
	c.Consul.Start()
}
