package dns

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/ovsnet/ovsnet/flows"
	"github.com/ovsnet/ovsnet/model"
)

// dnsTestState is host h1 of:
//
//	front  overlay 10.0.0.0/24 + fd00:2::/64 (VNI 4097): web (h1, alias www, link mysql01:db), mysql01 (h2)
//	back   overlay 10.0.1.0/24 (VNI 4098): mysql01 (h2, alias database), api (h1)
//	intern internal 10.0.2.0/24 (VNI 4099): api (h1), secret (h2), vault (h1, on no other network)
//	other  overlay 10.0.0.0/24, the same subnet as front (VNI 4100): dup (h1, web's address), peer (h3)
func dnsTestState() *model.HostState {
	pfx, addr := netip.MustParsePrefix, netip.MustParseAddr
	id := func(s string) string { return fmt.Sprintf("%064x", len(s)*1000+int(s[0])*10+int(s[len(s)-1])) }
	nw := func(name string, vni uint32, subnet string, internal bool) model.Network {
		p := pfx(subnet)
		return model.Network{ID: id(name), Name: name, Driver: model.DriverOverlay, Scope: model.ScopeGlobal,
			Subnet: p, Gateway: p.Addr().Next(), VNI: vni, Internal: internal}
	}
	front := nw("front", 4097, "10.0.0.0/24", false)
	front.EnableIPv6, front.Subnet6, front.Gateway6 = true, pfx("fd00:2::/64"), addr("fd00:2::1")
	back := nw("back", 4098, "10.0.1.0/24", false)
	intern := nw("intern", 4099, "10.0.2.0/24", true)
	other := nw("other", 4100, "10.0.0.0/24", false)
	created := time.Unix(1700000000, 0)
	ep := func(n model.Network, host, name, ip, ip6 string) model.Endpoint {
		created = created.Add(time.Second)
		e := model.Endpoint{ID: id(n.Name + "/" + name), NetworkID: n.ID, Host: host, ContainerName: name,
			ContainerID: model.ContainerIDFor(host, name), Netns: "/run/netns/t-" + name, IfName: "eth0",
			IPv4: pfx(ip), MAC: model.MACFromIPv4(pfx(ip).Addr()), Created: created}
		if ip6 != "" {
			e.IPv6 = pfx(ip6)
		}
		return e
	}
	web := ep(front, "h1", "web", "10.0.0.2/24", "fd00:2::2/64")
	web.Aliases = []string{"www"}
	web.Links = []model.Link{{Name: "mysql01", Alias: "db"}}
	mysqlBack := ep(back, "h2", "mysql01", "10.0.1.3/24", "")
	mysqlBack.Aliases = []string{"database"}
	apiIntern := ep(intern, "h1", "api", "10.0.2.2/24", "")
	apiIntern.IfName = "eth1"
	far := nw("far", 4200, "10.9.0.0/24", false)
	return &model.HostState{Host: "h1", Generation: 7,
		Networks: []model.Network{back, front, intern, other},
		Catalog:  []model.Network{back, far, front, intern, other},
		Endpoints: []model.Endpoint{
			web,
			ep(front, "h2", "mysql01", "10.0.0.3/24", "fd00:2::3/64"),
			mysqlBack,
			ep(back, "h1", "api", "10.0.1.2/24", ""),
			apiIntern,
			ep(intern, "h2", "secret", "10.0.2.3/24", ""),
			ep(intern, "h1", "vault", "10.0.2.4/24", ""),
			ep(other, "h1", "dup", "10.0.0.2/24", ""),
			ep(other, "h3", "peer", "10.0.0.3/24", ""),
		},
	}
}

// ask runs one query through the index as a given asker.
func ask(t testing.TB, ix *dnsIndex, v *dnsView, name string, qtype uint16) (*dns.Msg, dnsAction) {
	t.Helper()
	q := new(dns.Msg)
	q.SetQuestion(name, qtype)
	q.Id = 0x4242
	msg, err := q.Pack()
	if err != nil {
		t.Fatal(err)
	}
	out := make([]byte, 0, 2048)
	reply, act, _ := ix.answer(v, msg, out)
	if act != dnsReply {
		return nil, act
	}
	var r dns.Msg
	if err := r.Unpack(reply); err != nil {
		t.Fatalf("%s: reply does not parse: %v", name, err)
	}
	if r.Id != q.Id || !r.Response || len(r.Question) != 1 || r.Question[0].Name != name {
		t.Fatalf("%s: reply does not match the query: %v", name, r)
	}
	return &r, act
}

// answers renders a reply's answer section as "A 10.0.0.3 AAAA fd00:2::3".
func answers(r *dns.Msg) string {
	var parts []string
	for _, rr := range r.Answer {
		switch rr := rr.(type) {
		case *dns.A:
			parts = append(parts, "A "+rr.A.String())
		case *dns.AAAA:
			parts = append(parts, "AAAA "+rr.AAAA.String())
		case *dns.PTR:
			parts = append(parts, "PTR "+rr.Ptr)
		default:
			parts = append(parts, rr.String())
		}
	}
	return strings.Join(parts, " ")
}

func TestDNSLookupRules(t *testing.T) {
	st := dnsTestState()
	ix := buildDNSIndex(st, false, nil)
	ixFwd := buildDNSIndex(st, true, nil)
	view := func(ix *dnsIndex, vni uint32, a string) *dnsView {
		return ix.views[dnsViewKey{vni, netip.MustParseAddr(a)}]
	}
	const (
		ok       = "NOERROR"
		nx       = "NXDOMAIN"
		refused  = "REFUSED"
		forwards = "forward"
	)
	type tc struct {
		asker string
		name  string
		qtype uint16
		rcode string
		want  string
	}
	web, webV6, webLL := "web", "web6", "webLL"
	askers := func(ix *dnsIndex) map[string]*dnsView {
		return map[string]*dnsView{
			web:         view(ix, 4097, "10.0.0.2"),
			webV6:       view(ix, 4097, "fd00:2::2"),
			webLL:       view(ix, 4097, model.LinkLocal(model.MACFromIPv4(netip.MustParseAddr("10.0.0.2"))).String()),
			"api/back":  view(ix, 4098, "10.0.1.2"),
			"api/inner": view(ix, 4099, "10.0.2.2"),
			"vault":     view(ix, 4099, "10.0.2.4"),
			"dup":       view(ix, 4100, "10.0.0.2"),
			"host":      ix.host,
			"stranger":  view(ix, 4097, "10.0.0.99"),
		}
	}
	A, AAAA, PTR, MX := dns.TypeA, dns.TypeAAAA, dns.TypePTR, dns.TypeMX
	cases := []tc{
		// NAME and NAME.NETWORK across hosts, A and AAAA, any case.
		{web, "mysql01.", A, ok, "A 10.0.0.3"},
		{web, "mysql01.", AAAA, ok, "AAAA fd00:2::3"},
		{web, "mysql01.front.", A, ok, "A 10.0.0.3"},
		{web, "MySQL01.Front.", A, ok, "A 10.0.0.3"},
		{webV6, "mysql01.front.", AAAA, ok, "AAAA fd00:2::3"},
		{webLL, "mysql01.", A, ok, "A 10.0.0.3"},
		{web, "web.", A, ok, "A 10.0.0.2"},
		{web, "mysql01.", MX, ok, ""},
		// Aliases.
		{web, "www.", A, ok, "A 10.0.0.2"},
		{web, "www.front.", AAAA, ok, "AAAA fd00:2::2"},
		{"api/back", "database.", A, ok, "A 10.0.1.3"},
		{"api/back", "database.back.", A, ok, "A 10.0.1.3"},
		{web, "database.", A, nx, ""},
		// Links only for the linking container.
		{web, "db.", A, ok, "A 10.0.0.3"},
		{web, "db.", AAAA, ok, "AAAA fd00:2::3"},
		{"api/back", "db.", A, nx, ""},
		{web, "db.front.", A, nx, ""},
		// Isolation: other networks' names do not resolve.
		{web, "api.", A, nx, ""},
		{web, "secret.", A, nx, ""},
		{web, "mysql01.back.", A, nx, ""},
		{web, "dup.", A, nx, ""},
		{web, "peer.other.", A, nx, ""},
		{"dup", "mysql01.", A, nx, ""},
		{"dup", "peer.", A, ok, "A 10.0.0.3"},
		// A container on several networks: the query's network first, then
		// the others it is on.
		{"api/back", "mysql01.", A, ok, "A 10.0.1.3"},
		{"api/back", "mysql01.", AAAA, ok, ""},
		{"api/back", "secret.", A, ok, "A 10.0.2.3"},
		{"api/inner", "secret.intern.", A, ok, "A 10.0.2.3"},
		{"api/inner", "mysql01.", A, ok, "A 10.0.1.3"},
		{"api/back", "api.", A, ok, "A 10.0.1.2"},
		{"api/inner", "api.", A, ok, "A 10.0.2.2"},
		// Reverse: per network, also with overlapping subnets.
		{web, "2.0.0.10.in-addr.arpa.", PTR, ok, "PTR web.front."},
		{"dup", "2.0.0.10.in-addr.arpa.", PTR, ok, "PTR dup.other."},
		{web, "3.0.0.10.in-addr.arpa.", PTR, ok, "PTR mysql01.front."},
		{web, "3.0.0.0." + strings.Repeat("0.", 20) + "2.0.0.0.0.0.d.f.ip6.arpa.", PTR, ok, "PTR mysql01.front."},
		{web, "3.0.0.0." + strings.Repeat("0.", 20) + "2.0.0.0.0.0.d.f.IP6.ARPA.", PTR, ok, "PTR mysql01.front."},
		{web, "3.1.0.10.in-addr.arpa.", PTR, nx, ""},
		{web, "9.0.0.10.in-addr.arpa.", PTR, nx, ""},
		// Unknown names: refused without upstreams (internal: NXDOMAIN);
		// ovsnet's own zones are NXDOMAIN.
		{web, "example.test.", A, refused, ""},
		{web, "8.8.8.8.in-addr.arpa.", PTR, refused, ""},
		{web, "nosuch.", A, nx, ""},
		{web, "nosuch.front.", A, nx, ""},
		{web, "api.back.", A, nx, ""},
		{"api/inner", "example.test.", A, refused, ""}, // api also has a way out (back)
		{"vault", "example.test.", A, nx, ""},          // internal networks only
		{"vault", "secret.", A, ok, "A 10.0.2.3"},
		{"stranger", "mysql01.", A, refused, ""},
		// Networks without endpoints here are ovsnet's too (the catalog).
		{web, "x.far.", A, nx, ""},
		{web, "7.0.9.10.in-addr.arpa.", PTR, nx, ""},
		{"host", "x.far.", A, nx, ""},
		// The host resolves NAME.NETWORK of every network on it.
		{"host", "mysql01.front.", A, ok, "A 10.0.0.3"},
		{"host", "mysql01.back.", A, ok, "A 10.0.1.3"},
		{"host", "secret.intern.", A, ok, "A 10.0.2.3"},
		{"host", "dup.other.", A, ok, "A 10.0.0.2"},
		{"host", "2.1.0.10.in-addr.arpa.", PTR, ok, "PTR api.back."},
		{"host", "mysql01.", A, nx, ""},
		{"host", "example.test.", A, refused, ""},
	}
	for _, c := range cases {
		v := askers(ix)[c.asker]
		if v == nil && c.asker != "stranger" {
			t.Fatalf("no view for %s", c.asker)
		}
		r, act := ask(t, ix, v, c.name, c.qtype)
		if act != dnsReply {
			t.Errorf("%s asks %s %s: action %v, want a reply", c.asker, dns.TypeToString[c.qtype], c.name, act)
			continue
		}
		got := dns.RcodeToString[r.Rcode]
		if got != c.rcode || answers(r) != c.want {
			t.Errorf("%s asks %s %s: %s [%s], want %s [%s]", c.asker, dns.TypeToString[c.qtype], c.name, got, answers(r), c.rcode, c.want)
		}
		if r.Rcode == dns.RcodeSuccess && (!r.Authoritative || len(r.Answer) > 0 && r.Answer[0].Header().Ttl != dnsTTL) {
			t.Errorf("%s asks %s: answer not authoritative or TTL not %d: %v", c.asker, c.name, dnsTTL, r)
		}
	}
	// With upstreams: unknown names from non-internal networks (and from
	// the host) are forwarded; ovsnet's zones and internal networks never.
	fwdCases := []tc{
		{web, "example.test.", A, forwards, ""},
		{web, "8.8.8.8.in-addr.arpa.", PTR, forwards, ""},
		{"host", "example.test.", A, forwards, ""},
		{web, "nosuch.", A, nx, ""},
		{web, "nosuch.back.", A, nx, ""},
		{web, "x.far.", A, nx, ""},
		{web, "9.0.0.10.in-addr.arpa.", PTR, nx, ""},
		{"api/inner", "example.test.", A, forwards, ""},
		{"vault", "example.test.", A, nx, ""},
		{"api/back", "example.test.", A, forwards, ""},
	}
	for _, c := range fwdCases {
		r, act := ask(t, ixFwd, askers(ixFwd)[c.asker], c.name, c.qtype)
		got := forwards
		if act == dnsReply {
			got = dns.RcodeToString[r.Rcode]
		}
		if got != c.rcode {
			t.Errorf("with upstreams, %s asks %s: %s, want %s", c.asker, c.name, got, c.rcode)
		}
	}
}

// The answer echoes the question as asked (case, EDNS) and respects the
// asker's size limit without setting TC.
func TestDNSAnswerFormat(t *testing.T) {
	st := dnsTestState()
	// 60 endpoints share one alias on front: 60 A records do not fit 512 bytes.
	front := st.Networks[1]
	for i := 0; i < 60; i++ {
		ip := netip.AddrFrom4([4]byte{10, 0, 0, byte(100 + i)})
		st.Endpoints = append(st.Endpoints, model.Endpoint{ID: fmt.Sprintf("%064x", 9000+i), NetworkID: front.ID, Host: "h2",
			ContainerName: fmt.Sprintf("w%d", i), Aliases: []string{"pool"}, IPv4: netip.PrefixFrom(ip, 24), MAC: model.MACFromIPv4(ip)})
	}
	ix := buildDNSIndex(st, false, nil)
	v := ix.views[dnsViewKey{4097, netip.MustParseAddr("10.0.0.2")}]
	for _, edns := range []uint16{0, 4096} {
		q := new(dns.Msg)
		q.SetQuestion("PoOl.", dns.TypeA)
		if edns > 0 {
			q.SetEdns0(edns, false)
		}
		msg, _ := q.Pack()
		reply, act, _ := ix.answer(v, msg, make([]byte, 0, 2048))
		var r dns.Msg
		if act != dnsReply || r.Unpack(reply) != nil {
			t.Fatalf("edns %d: no valid reply", edns)
		}
		limit := 512
		if edns > 0 {
			limit = dnsMaxUDP
		}
		if len(reply) > limit || r.Truncated || len(r.Answer) == 0 || r.Question[0].Name != "PoOl." {
			t.Errorf("edns %d: %d bytes, %d answers, TC=%v, question %q", edns, len(reply), len(r.Answer), r.Truncated, r.Question[0].Name)
		}
		if (r.IsEdns0() != nil) != (edns > 0) {
			t.Errorf("edns %d: OPT in reply = %v", edns, r.IsEdns0() != nil)
		}
		if edns > 0 && len(r.Answer) != 60 {
			t.Errorf("with EDNS all 60 addresses fit, got %d", len(r.Answer))
		}
	}
}

// Malformed and unusual messages get the right error, never a panic.
func TestDNSSlowPath(t *testing.T) {
	ix := buildDNSIndex(dnsTestState(), false, nil)
	v := ix.views[dnsViewKey{4097, netip.MustParseAddr("10.0.0.2")}]
	pack := func(m *dns.Msg) []byte {
		b, err := m.Pack()
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	q := func(name string, f func(*dns.Msg)) []byte {
		m := new(dns.Msg)
		m.SetQuestion(name, dns.TypeA)
		if f != nil {
			f(m)
		}
		return pack(m)
	}
	notify := new(dns.Msg)
	notify.SetNotify("front.")
	cases := []struct {
		name  string
		msg   []byte
		rcode int // -1: no reply
		want  string
	}{
		{"short", []byte{1, 2, 3}, -1, ""},
		{"response", pack(new(dns.Msg).SetReply(new(dns.Msg).SetQuestion("x.", dns.TypeA))), -1, ""},
		{"garbage after header", append([]byte{0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0}, 0x3f, 'a'), dns.RcodeFormatError, ""},
		{"notify", pack(notify), dns.RcodeNotImplemented, ""},
		{"chaos", q("version.bind.", func(m *dns.Msg) { m.Question[0].Qclass = dns.ClassCHAOS }), dns.RcodeRefused, ""},
		{"two questions", q("web.", func(m *dns.Msg) { m.Question = append(m.Question, m.Question[0]) }), dns.RcodeFormatError, ""},
		{"edns version 1", q("web.", func(m *dns.Msg) { m.SetEdns0(1232, false); m.IsEdns0().SetVersion(1) }), dns.RcodeBadVers, ""},
		{"extra record", q("web.", func(m *dns.Msg) {
			m.Extra = append(m.Extra, &dns.TXT{Hdr: dns.RR_Header{Name: "x.", Rrtype: dns.TypeTXT, Class: dns.ClassINET}, Txt: []string{"hi"}})
			m.SetEdns0(1232, false)
		}), dns.RcodeSuccess, "A 10.0.0.2"},
		{"compressed question", func() []byte {
			// Question name "web" then a pointer to the root of... itself
			// is invalid; a pointer into the header is malformed too.
			b := []byte{0, 7, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0xc0, 12, 0, 1, 0, 1}
			return b
		}(), dns.RcodeFormatError, ""},
	}
	for _, c := range cases {
		reply, act, _ := ix.answer(v, c.msg, make([]byte, 0, 2048))
		if c.rcode < 0 {
			if act != dnsDrop {
				t.Errorf("%s: answered, want dropped", c.name)
			}
			continue
		}
		var r dns.Msg
		if act != dnsReply {
			t.Errorf("%s: action %v", c.name, act)
			continue
		}
		if err := r.Unpack(reply); err != nil {
			// Header-only FORMERR replies need not carry a question.
			if len(reply) < 12 || int(reply[3]&0xf) != c.rcode {
				t.Errorf("%s: reply does not parse: %v", c.name, err)
			}
			continue
		}
		if r.Rcode != c.rcode || answers(&r) != c.want {
			t.Errorf("%s: %s [%s], want %s [%s]", c.name, dns.RcodeToString[r.Rcode], answers(&r), dns.RcodeToString[c.rcode], c.want)
		}
	}
}

// A query frame from the DNS port is answered with a frame the container
// accepts: MACs, addresses and ports turned around, valid checksums.
func TestDNSFrameRoundTrip(t *testing.T) {
	ix := buildDNSIndex(dnsTestState(), false, nil)
	for _, src := range []string{"10.0.0.2", "fd00:2::2"} {
		srcIP := netip.MustParseAddr(src)
		dst := netip.MustParseAddr("10.0.0.1")
		if srcIP.Is6() {
			dst = netip.MustParseAddr("fd00:2::1")
		}
		q := new(dns.Msg)
		q.SetQuestion("mysql01.front.", dns.TypeA)
		msg, _ := q.Pack()
		webMAC := model.MACFromIPv4(netip.MustParseAddr("10.0.0.2"))
		query := buildQueryFrame(flows.DNSMAC(4097), webMAC, srcIP, dst, 40000, 53, msg)
		var f dnsFrame
		if !parseDNSFrame(query, &f) || f.vni != 4097 || f.src != srcIP || f.dst != dst || f.sport != 40000 || string(f.payload) != string(msg) {
			t.Fatalf("%s: parsed %+v", src, f)
		}
		out := make([]byte, 2048)
		h := f.headerLen()
		reply, act, _ := ix.answer(ix.views[dnsViewKey{f.vni, f.src}], f.payload, out[h:h])
		if act != dnsReply {
			t.Fatalf("%s: no reply", src)
		}
		frame := writeReplyFrame(out, &f, len(reply))
		// Parse it as the container would: swap roles and check.
		var back dnsFrame
		mangled := append([]byte(nil), frame...)
		copy(mangled[0:6], flows.DNSMAC(4097)) // parseDNSFrame wants a DNS MAC as destination
		if !parseDNSFrame(mangled, &back) || back.src != dst || back.dst != srcIP || back.sport != 53 || back.dport != 40000 {
			t.Fatalf("%s: reply frame %+v", src, back)
		}
		if string(frame[0:6]) != string(webMAC) || string(frame[6:12]) != string(flows.DNSMAC(4097)) {
			t.Errorf("%s: reply MACs %x -> %x", src, frame[6:12], frame[0:6])
		}
		if !checksumsValid(frame) {
			t.Errorf("%s: bad checksums in %x", src, frame)
		}
		var r dns.Msg
		if err := r.Unpack(back.payload); err != nil || answers(&r) != "A 10.0.0.3" {
			t.Errorf("%s: reply %v %v", src, r, err)
		}
	}
}

func dnsTestLogger(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(b []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(b)))
	return len(b), nil
}

// buildQueryFrame makes a query frame as table DNS hands it to the port.
func buildQueryFrame(dstMAC, srcMAC model.HardwareAddr, src, dst netip.Addr, sport, dport uint16, msg []byte) []byte {
	// A reply frame from dst to src is a query frame from src to dst.
	f := dnsFrame{src: dst, dst: src, sport: dport, dport: sport}
	copy(f.srcMAC[:], dstMAC)
	copy(f.dstMAC[:], srcMAC)
	out := make([]byte, f.headerLen()+len(msg))
	copy(out[f.headerLen():], msg)
	return writeReplyFrame(out, &f, len(msg))
}

func checksumsValid(frame []byte) bool {
	var pseudo uint32
	var udp []byte
	if frame[12] == 0x08 {
		ip := frame[14:34]
		if fold(sumBytes(0, ip)) != 0xffff {
			return false
		}
		pseudo = sumBytes(sumBytes(0, ip[12:16]), ip[16:20])
		udp = frame[34:]
	} else {
		ip := frame[14:54]
		pseudo = sumBytes(sumBytes(0, ip[8:24]), ip[24:40])
		udp = frame[54:]
	}
	pseudo += ipProtoUDP + uint32(len(udp))
	return fold(sumBytes(pseudo, udp)) == 0xffff
}

// Files for netns containers: written with the first network's gateway,
// rewritten on change, removed with the container's last endpoint; files
// the agent did not write are never touched.
func TestDNSResolvConf(t *testing.T) {
	dir, state := t.TempDir(), t.TempDir()
	rc := newResolvConfs(dir, state, "h1", dnsTestLogger(t))
	st := dnsTestState()
	// Someone else's file for dup: left alone.
	if err := os.MkdirAll(filepath.Join(dir, "t-dup"), 0o755); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "t-dup", "resolv.conf"), []byte("nameserver 9.9.9.9\n"), 0o644)
	rc.sync(st)
	read := func(ns string) string {
		b, _ := os.ReadFile(filepath.Join(dir, ns, "resolv.conf"))
		return string(b)
	}
	if got := read("t-web"); !strings.HasPrefix(got, resolvConfMark) || !strings.Contains(got, "nameserver 10.0.0.1\nnameserver fd00:2::1\noptions ndots:0\n") {
		t.Errorf("web's resolv.conf:\n%s", got)
	}
	// api is on back (created first) and intern: back's gateway.
	if got := read("t-api"); !strings.Contains(got, "nameserver 10.0.1.1\n") || strings.Contains(got, "10.0.2.1") {
		t.Errorf("api's resolv.conf:\n%s", got)
	}
	if got := read("t-dup"); got != "nameserver 9.9.9.9\n" {
		t.Errorf("someone else's file was changed:\n%s", got)
	}
	if got := read("t-mysql01"); got != "" {
		t.Errorf("a file for a container on another host:\n%s", got)
	}
	// A new agent process knows what the last one wrote; api leaves back
	// (now intern's gateway), web leaves altogether.
	rc = newResolvConfs(dir, state, "h1", dnsTestLogger(t))
	var eps []model.Endpoint
	for _, ep := range st.Endpoints {
		if !(ep.ContainerName == "web" || ep.ContainerName == "api" && ep.IPv4.Addr().String() == "10.0.1.2") {
			eps = append(eps, ep)
		}
	}
	st.Endpoints = eps
	rc.sync(st)
	if _, err := os.Stat(filepath.Join(dir, "t-web")); !os.IsNotExist(err) {
		t.Errorf("web's file (and the directory the agent made) not removed: %v", err)
	}
	if got := read("t-api"); !strings.Contains(got, "nameserver 10.0.2.1\n") {
		t.Errorf("api's resolv.conf after leaving back:\n%s", got)
	}
	st.Endpoints = nil
	rc.sync(st)
	if got := read("t-dup"); got != "nameserver 9.9.9.9\n" {
		t.Errorf("someone else's file was removed")
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 1 {
		t.Errorf("left in %s: %v", dir, ents)
	}
}

func TestDNSIndexSpeed(t *testing.T) {
	st := bigDNSState(2000)
	start := time.Now()
	ix := buildDNSIndex(st, false, nil)
	took := time.Since(start)
	t.Logf("indexed %d endpoints (%d local askers) in %v", len(st.Endpoints), len(ix.views), took)
	if took > time.Second {
		t.Errorf("indexing %d endpoints took %v", len(st.Endpoints), took)
	}
}

// bigDNSState is host h1 of one network with n endpoints on 8 hosts.
func bigDNSState(n int) *model.HostState {
	net := model.Network{ID: strings.Repeat("a", 64), Name: "big", Driver: model.DriverOverlay, Scope: model.ScopeGlobal,
		Subnet: netip.MustParsePrefix("10.0.0.0/16"), Gateway: netip.MustParseAddr("10.0.0.1"), VNI: 4097}
	st := &model.HostState{Host: "h1", Networks: []model.Network{net}}
	for i := 0; i < n; i++ {
		ip := netip.AddrFrom4([4]byte{10, 0, byte((i + 2) >> 8), byte(i + 2)})
		st.Endpoints = append(st.Endpoints, model.Endpoint{ID: fmt.Sprintf("%064x", i+1), NetworkID: net.ID,
			Host: fmt.Sprintf("h%d", 1+i%8), ContainerName: fmt.Sprintf("c%d", i), ContainerID: fmt.Sprintf("%064x", i+100000),
			Aliases: []string{fmt.Sprintf("svc%d", i%10)}, IPv4: netip.PrefixFrom(ip, 16), MAC: model.MACFromIPv4(ip)})
	}
	return st
}

func BenchmarkDNSAnswer(b *testing.B) {
	st := bigDNSState(2000)
	ix := buildDNSIndex(st, false, nil)
	v := ix.views[dnsViewKey{4097, netip.MustParseAddr("10.0.0.2")}]
	var msgs [][]byte
	for i := 0; i < 64; i++ {
		q := new(dns.Msg)
		q.SetQuestion(fmt.Sprintf("c%d.big.", i*31), dns.TypeA)
		q.SetEdns0(1232, false)
		m, _ := q.Pack()
		msgs = append(msgs, m)
	}
	out := make([]byte, 0, 2048)
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		reply, act, _ := ix.answer(v, msgs[i%len(msgs)], out)
		if act != dnsReply || reply[7] != 1 {
			b.Fatalf("no answer: %v %x", act, reply)
		}
	}
}

func FuzzDNSAnswer(f *testing.F) {
	ix := buildDNSIndex(dnsTestState(), true, nil)
	v := ix.views[dnsViewKey{4097, netip.MustParseAddr("10.0.0.2")}]
	for _, name := range []string{"web.", "mysql01.front.", "2.0.0.10.in-addr.arpa.", "example.test."} {
		q := new(dns.Msg)
		q.SetQuestion(name, dns.TypeA)
		m, _ := q.Pack()
		f.Add(m)
		q.SetEdns0(4096, true)
		m, _ = q.Pack()
		f.Add(m)
	}
	f.Add([]byte{0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 1, 0, 0, 1, 0, 1, 0, 0, 41, 4, 0, 0, 0, 0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, msg []byte) {
		for _, view := range []*dnsView{v, ix.host, nil} {
			out := make([]byte, 0, 2048)
			reply, act, maxSize := ix.answer(view, msg, out)
			if act != dnsReply {
				continue
			}
			if len(reply) < 12 || reply[0] != msg[0] || reply[1] != msg[1] || reply[2]&0x80 == 0 {
				t.Fatalf("reply %x to %x: not a response with the query's id", reply, msg)
			}
			if len(reply) > max(maxSize, 512) {
				t.Fatalf("reply of %d bytes exceeds %d", len(reply), maxSize)
			}
		}
		// The same bytes as a frame payload of the DNS port.
		frame := buildQueryFrame(flows.DNSMAC(4097), model.MACFromIPv4(netip.MustParseAddr("10.0.0.2")),
			netip.MustParseAddr("10.0.0.2"), netip.MustParseAddr("10.0.0.1"), 1234, 53, msg)
		var fr dnsFrame
		if parseDNSFrame(frame, &fr) {
			out := make([]byte, 2048)
			h := fr.headerLen()
			if reply, act, _ := ix.answer(ix.views[dnsViewKey{fr.vni, fr.src}], fr.payload, out[h:h]); act == dnsReply {
				if len(reply) <= len(out)-h {
					copy(out[h:], reply)
					writeReplyFrame(out, &fr, len(reply))
				}
			}
		}
		// And raw bytes as a frame.
		parseDNSFrame(msg, &fr)
	})
}

func TestDNSReverseAddr(t *testing.T) {
	for _, a := range []string{"10.0.0.2", "192.168.255.1", "fd00:2::3", "2001:db8::abcd:1"} {
		rev, _ := dns.ReverseAddr(a)
		key, _ := wireName(rev)
		got, ok := reverseAddr([]byte(key))
		if !ok || got != netip.MustParseAddr(a) {
			t.Errorf("reverseAddr(%s) = %v, %v", rev, got, ok)
		}
	}
	for _, bad := range []string{"1.2.3.in-addr.arpa.", "256.0.0.10.in-addr.arpa.", "a.0.0.10.in-addr.arpa.", "x.ip6.arpa.", "in-addr.arpa."} {
		key, _ := wireName(bad)
		if _, ok := reverseAddr([]byte(key)); ok {
			t.Errorf("reverseAddr(%s) parsed", bad)
		}
	}
}

func BenchmarkDNSIndex(b *testing.B) {
	st := bigDNSState(2000)
	b.ReportAllocs()
	for range b.N {
		buildDNSIndex(st, false, nil)
	}
}

// The host listener answers over real sockets, in batches, and forwards
// unknown names to an upstream.
func TestDNSHostListener(t *testing.T) {
	upConn, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	upSrv := &dns.Server{PacketConn: upConn, Handler: dns.HandlerFunc(func(w dns.ResponseWriter, q *dns.Msg) {
		r := new(dns.Msg)
		r.SetReply(q)
		r.Answer = append(r.Answer, &dns.A{Hdr: dns.RR_Header{Name: q.Question[0].Name, Rrtype: dns.TypeA, Class: dns.ClassINET, Ttl: 5},
			A: net.ParseIP("203.0.113.80")})
		_ = w.WriteMsg(r)
	})}
	go func() { _ = upSrv.ActivateAndServe() }()
	defer upSrv.Shutdown()
	d := New(Config{Readers: 1, Upstreams: []netip.AddrPort{upConn.LocalAddr().(*net.UDPAddr).AddrPort()}, ListenForward: true}, nil, dnsTestLogger(t))
	d.OnState(dnsTestState())
	ctx, cancel := context.WithCancel(context.Background())
	l, err := d.listenUDP(ctx, netip.MustParseAddrPort("127.0.0.1:0"))
	if err != nil {
		t.Fatal(err)
	}
	addr := l.conns[0].LocalAddr().String()
	done := make(chan struct{})
	go func() { l.serve(ctx); close(done) }()
	defer func() {
		cancel()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			t.Error("listener did not stop")
		}
	}()
	cl := &dns.Client{Timeout: 2 * time.Second}
	check := func(name string, want string) {
		q := new(dns.Msg)
		q.SetQuestion(name, dns.TypeA)
		r, _, err := cl.Exchange(q, addr)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			return
		}
		if got := dns.RcodeToString[r.Rcode] + " " + answers(r); got != want {
			t.Errorf("%s: %q, want %q", name, got, want)
		}
	}
	check("mysql01.front.", "NOERROR A 10.0.0.3")
	check("example.test.", "NOERROR A 203.0.113.80")
	check("mysql01.", "NXDOMAIN ")
	// A burst: many queries queued at once are answered in batches.
	conn, err := net.Dial("udp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	const burst = 100
	for i := 0; i < burst; i++ {
		q := new(dns.Msg)
		q.SetQuestion("web.front.", dns.TypeA)
		q.Id = uint16(i)
		b, _ := q.Pack()
		if _, err := conn.Write(b); err != nil {
			t.Fatal(err)
		}
	}
	seen := map[uint16]bool{}
	buf := make([]byte, 2048)
	_ = conn.SetReadDeadline(time.Now().Add(3 * time.Second))
	for len(seen) < burst {
		n, err := conn.Read(buf)
		if err != nil {
			break
		}
		var r dns.Msg
		if r.Unpack(buf[:n]) == nil && answers(&r) == "A 10.0.0.2" {
			seen[r.Id] = true
		}
	}
	if len(seen) < burst*9/10 {
		t.Errorf("burst of %d queries: %d answered", burst, len(seen))
	}
	if q := d.queries.Load(); q < burst {
		t.Errorf("resolver counted %d queries", q)
	}
}
