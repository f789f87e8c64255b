package dns

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/ovsnet/ovsnet/model"
)

// A new state rebuilds only the networks whose names changed; the others'
// tables are the very ones built before.
func TestIndexerReusesUnchangedNetworks(t *testing.T) {
	st := dnsTestState()
	model.SortEndpoints(st.Endpoints) // as the agent hands it over
	x := newIndexer()
	before := x.build(st, false, nil)
	front, back := netIDByName(t, st, "front"), netIDByName(t, st, "back")

	next := cloneState(st)
	next.Endpoints = append(next.Endpoints, model.Endpoint{ID: strings.Repeat("e", 64), NetworkID: back, Host: "h2",
		ContainerName: "newcomer", IPv4: netip.MustParsePrefix("10.0.1.77/24")})
	model.SortEndpoints(next.Endpoints)
	until := time.Now().Add(time.Second)
	after := x.build(next, false, map[string]time.Time{front: until})

	if r, _ := ask(t, after, after.host, "newcomer.back.", dns.TypeA); r == nil || answers(r) != "A 10.0.1.77" {
		t.Fatalf("newcomer.back. after the change: %v", r)
	}
	for name, dn := range netsOf(after) {
		old := netsOf(before)[name]
		switch name {
		case "back":
			if sameTables(dn, old) {
				t.Errorf("back changed but its tables were reused")
			}
		case "front":
			if !sameTables(dn, old) {
				t.Errorf("front: its names did not change, but they were rebuilt")
			}
			if !dn.namelessUntil.Equal(until) || !old.namelessUntil.IsZero() {
				t.Errorf("front: namelessUntil %v (before: %v), want %v on the new index only", dn.namelessUntil, old.namelessUntil, until)
			}
		default:
			if !sameTables(dn, old) {
				t.Errorf("network %s: its names did not change, but they were rebuilt", dn.name)
			}
		}
	}
	// The first index still answers as before: indexes are never changed.
	if r, _ := ask(t, before, before.host, "newcomer.back.", dns.TypeA); r == nil || r.Rcode != dns.RcodeNameError {
		t.Errorf("the old index learnt a later name: %v", r)
	}
}

// Through any sequence of states, the index the resolver keeps up to date
// answers every question exactly as one built from scratch.
func TestIndexerMatchesFreshBuild(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 11))
	st := dnsTestState()
	x := newIndexer()
	for step := range 200 {
		st = mutateState(rng, st, step)
		var nameless map[string]time.Time
		if len(st.Networks) > 0 && rng.IntN(4) == 0 {
			nameless = map[string]time.Time{st.Networks[rng.IntN(len(st.Networks))].ID: time.Unix(int64(step), 0)}
		}
		forward := rng.IntN(2) == 0
		got, want := x.build(st, forward, nameless), buildDNSIndex(st, forward, nameless)
		if err := sameAnswers(t, st, got, want); err != nil {
			t.Fatalf("step %d: %v", step, err)
		}
	}
}

// mutateState returns a copy of st with one random change: an endpoint
// added, removed or renamed, aliases or links changed, a network added,
// removed or made internal, the catalog changed.
func mutateState(rng *rand.Rand, st *model.HostState, step int) *model.HostState {
	next := cloneState(st)
	names := []string{"web", "db", "cache", "api", "Web", "queue"}
	// Addresses are unique per network (IPAM), MACs follow them.
	taken := func(netID string, a netip.Addr) bool {
		return slices.ContainsFunc(next.Endpoints, func(ep model.Endpoint) bool { return ep.NetworkID == netID && ep.IPv4.Addr() == a })
	}
	aliases := []string{"svc", "db", "lb", "a.b"}
	switch op := rng.IntN(9); {
	case op <= 2 && len(next.Networks) > 0: // add an endpoint
		n := next.Networks[rng.IntN(len(next.Networks))]
		ip := n.Subnet.Addr().As4()
		ip[3] = byte(2 + rng.IntN(200))
		if taken(n.ID, netip.AddrFrom4(ip)) {
			break
		}
		ep := model.Endpoint{ID: fmt.Sprintf("%064x", step+1<<20), NetworkID: n.ID, Host: fmt.Sprintf("h%d", 1+rng.IntN(3)),
			ContainerName: names[rng.IntN(len(names))], IPv4: netip.PrefixFrom(netip.AddrFrom4(ip), n.Subnet.Bits())}
		ep.ContainerID = model.ContainerIDFor(ep.Host, ep.ContainerName)
		ep.MAC = model.MACFromIPv4(ep.IPv4.Addr())
		if rng.IntN(2) == 0 {
			ep.Aliases = []string{aliases[rng.IntN(len(aliases))]}
		}
		if n.Subnet6.IsValid() {
			ip6 := n.Subnet6.Addr().As16()
			ip6[15] = ip[3]
			ep.IPv6 = netip.PrefixFrom(netip.AddrFrom16(ip6), n.Subnet6.Bits())
		}
		if rng.IntN(3) == 0 {
			ep.Links = []model.Link{{Name: names[rng.IntN(len(names))], Alias: "linked"}}
		}
		next.Endpoints = append(next.Endpoints, ep)
	case op == 3 && len(next.Endpoints) > 0: // remove one
		i := rng.IntN(len(next.Endpoints))
		next.Endpoints = slices.Delete(next.Endpoints, i, i+1)
	case op == 4 && len(next.Endpoints) > 0: // new aliases or a new name (a Docker endpoint getting its name), same addresses
		ep := &next.Endpoints[rng.IntN(len(next.Endpoints))]
		if rng.IntN(2) == 0 {
			ep.ContainerName = names[rng.IntN(len(names))]
		} else {
			ep.Aliases = []string{aliases[rng.IntN(len(aliases))], aliases[rng.IntN(len(aliases))]}
		}
	case op == 5 && len(next.Endpoints) > 0: // another address
		ep := &next.Endpoints[rng.IntN(len(next.Endpoints))]
		if ep.IPv6.IsValid() && rng.IntN(2) == 0 {
			ep.IPv6 = netip.PrefixFrom(ep.IPv6.Addr().Next(), ep.IPv6.Bits())
			break
		}
		a := ep.IPv4.Addr().As4()
		a[3]++
		if taken(ep.NetworkID, netip.AddrFrom4(a)) {
			break
		}
		ep.IPv4 = netip.PrefixFrom(netip.AddrFrom4(a), ep.IPv4.Bits())
		ep.MAC = model.MACFromIPv4(ep.IPv4.Addr())
	case op == 6: // a network added
		vni := uint32(5000 + step)
		subnet := netip.PrefixFrom(netip.AddrFrom4([4]byte{10, 9, byte(step % 256), 0}), 24)
		name := fmt.Sprintf("%c%d", "nN"[rng.IntN(2)], rng.IntN(4)) // n1 and N1: names differ in case only
		next.Networks = append(next.Networks, model.Network{ID: fmt.Sprintf("%064x", vni), Name: name,
			Driver: model.DriverOverlay, Scope: model.ScopeGlobal, Subnet: subnet, Gateway: subnet.Addr().Next(), VNI: vni})
	case op == 7 && len(next.Networks) > 1: // a network gone, with its endpoints, or made internal
		i := rng.IntN(len(next.Networks))
		switch rng.IntN(5) {
		case 0:
			next.Networks[i].Internal = !next.Networks[i].Internal
			return next
		case 4: // the same network under another name
			next.Networks[i].Name = fmt.Sprintf("%c%d", "nN"[rng.IntN(2)], rng.IntN(4))
			model.SortNetworks(next.Networks)
			return next
		case 1: // subnets: the reverse zones that are never forwarded
			n := &next.Networks[i]
			if rng.IntN(2) == 0 {
				n.Subnet = netip.PrefixFrom(n.Subnet.Addr(), 8+rng.IntN(23))
			} else if n.Subnet6.IsValid() {
				n.Subnet6 = netip.Prefix{}
			} else {
				n.Subnet6 = netip.MustParsePrefix(fmt.Sprintf("fd00:%x::/64", step))
			}
			return next
		}
		id := next.Networks[i].ID
		next.Networks = slices.Delete(next.Networks, i, i+1)
		next.Endpoints = slices.DeleteFunc(next.Endpoints, func(ep model.Endpoint) bool { return ep.NetworkID == id })
	default: // the catalog
		if len(next.Catalog) > 0 && rng.IntN(2) == 0 {
			next.Catalog = next.Catalog[1:]
		} else {
			next.Catalog = append(next.Catalog, model.Network{ID: fmt.Sprintf("c%063d", step), Name: fmt.Sprintf("cat%d", step%5),
				Subnet: netip.PrefixFrom(netip.AddrFrom4([4]byte{172, 20, byte(step % 256), 0}), 24)})
		}
	}
	model.SortNetworks(next.Networks)
	model.SortEndpoints(next.Endpoints)
	return next
}

// sameAnswers asks both indexes, from every view and the host's, for every
// name and address the state holds (and a few it does not), and compares
// the bytes.
func sameAnswers(t *testing.T, st *model.HostState, got, want *dnsIndex) error {
	if len(got.views) != len(want.views) {
		return fmt.Errorf("%d views, want %d", len(got.views), len(want.views))
	}
	var qs []string
	for _, n := range append(slices.Clone(st.Networks), st.Catalog...) {
		qs = append(qs, "nothere."+n.Name+".")
	}
	for _, ep := range st.Endpoints {
		qs = append(qs, ep.ContainerName+".")
		for _, n := range st.Networks {
			qs = append(qs, ep.ContainerName+"."+n.Name+".")
			for _, a := range ep.Aliases {
				qs = append(qs, a+".", a+"."+n.Name+".")
			}
		}
		for _, a := range []netip.Addr{ep.IPv4.Addr(), ep.IPv6.Addr()} {
			if a.IsValid() {
				rev, _ := dns.ReverseAddr(a.String())
				qs = append(qs, rev)
			}
		}
	}
	qs = append(qs, "linked.", "nothere.", "example.test.", "1.2.3.4.in-addr.arpa.")
	slices.Sort(qs)
	qs = slices.Compact(qs)
	out1, out2 := make([]byte, 0, 4096), make([]byte, 0, 4096)
	check := func(what string, v1, v2 *dnsView) error {
		for _, name := range qs {
			for _, qtype := range []uint16{dns.TypeA, dns.TypeAAAA, dns.TypePTR} {
				q := new(dns.Msg)
				q.SetQuestion(name, qtype)
				msg, err := q.Pack()
				if err != nil {
					return err
				}
				r1, a1, _ := got.answer(v1, msg, out1[:0])
				r2, a2, _ := want.answer(v2, msg, out2[:0])
				if a1 != a2 || !bytes.Equal(r1, r2) {
					return fmt.Errorf("%s asks %s (type %d): action %v, %x; from scratch: %v, %x", what, name, qtype, a1, r1, a2, r2)
				}
			}
		}
		if v1 != nil && v2 != nil && (v1.internal != v2.internal || v1.forward != v2.forward || len(v1.nets) != len(v2.nets)) {
			return fmt.Errorf("%s: view differs", what)
		}
		return nil
	}
	if err := check("the host", got.host, want.host); err != nil {
		return err
	}
	// The host's table by its definition: every network's NAME.NETWORK and
	// reverse names, the first network by name winning.
	merged := map[string]*dnsRecord{}
	for _, dn := range want.host.all.byName {
		suffix, _ := wireName(dn.name)
		for k, r := range dn.names {
			qualified := len(k) > len(suffix) && k[len(k)-len(suffix):] == suffix
			_, reverse := reverseAddr([]byte(k))
			if _, taken := merged[k]; !taken && (qualified || reverse) {
				merged[k] = r
			}
		}
	}
	for _, name := range qs {
		key, ok := wireName(name)
		if !ok {
			continue
		}
		r, ref := got.host.all.lookup([]byte(key)), merged[key]
		if (r == nil) != (ref == nil) || (r != nil && (!bytes.Equal(r.a, ref.a) || !bytes.Equal(r.aaaa, ref.aaaa) || !bytes.Equal(r.ptr, ref.ptr))) {
			return fmt.Errorf("the host looks up %s: %+v, by the definition %+v", name, r, ref)
		}
	}
	for k, v := range want.views {
		if err := check(fmt.Sprintf("%d/%s", k.vni, k.addr), got.views[k], v); err != nil {
			return err
		}
	}
	return nil
}

func cloneState(st *model.HostState) *model.HostState {
	c := *st
	c.Networks = slices.Clone(st.Networks)
	c.Endpoints = slices.Clone(st.Endpoints)
	c.Catalog = slices.Clone(st.Catalog)
	return &c
}

func netIDByName(t *testing.T, st *model.HostState, name string) string {
	t.Helper()
	for _, n := range st.Networks {
		if n.Name == name {
			return n.ID
		}
	}
	t.Fatalf("no network %s", name)
	return ""
}

// netsOf maps an index's networks by name (unique in the test state).
func netsOf(ix *dnsIndex) map[string]*dnsNet {
	out := map[string]*dnsNet{}
	for _, dn := range ix.host.all.byName {
		out[dn.name] = dn
	}
	return out
}

func sameTables(a, b *dnsNet) bool {
	if a == nil || b == nil || len(a.names) == 0 {
		return false
	}
	for k, r := range a.names {
		return b.names[k] == r // the same record: the same table
	}
	return false
}

// One attach on a host that knows 1,000 networks of 20 endpoints: the
// index as the resolver keeps it (only the changed network rebuilt),
// beside BenchmarkDNSIndexFromScratch on the same state.
func BenchmarkDNSIndexOneChange(b *testing.B) {
	st := manyNetworksState(1000, 20)
	x := newIndexer()
	x.build(st, false, nil)
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		b.StopTimer()
		next := cloneState(st)
		ep := &next.Endpoints[i%len(next.Endpoints)]
		ep.Aliases = []string{fmt.Sprintf("a%d", i)}
		b.StartTimer()
		x.build(next, false, nil)
	}
}

func BenchmarkDNSIndexFromScratch(b *testing.B) {
	st := manyNetworksState(1000, 20)
	b.ReportAllocs()
	for range b.N {
		buildDNSIndex(st, false, nil)
	}
}

func manyNetworksState(nets, eps int) *model.HostState {
	st := &model.HostState{Host: "h1"}
	for n := range nets {
		subnet := netip.PrefixFrom(netip.AddrFrom4([4]byte{10, byte(n >> 8), byte(n), 0}), 24)
		net := model.Network{ID: fmt.Sprintf("%064x", n+1), Name: fmt.Sprintf("net%d", n), Driver: model.DriverOverlay,
			Scope: model.ScopeGlobal, Subnet: subnet, Gateway: subnet.Addr().Next(), VNI: uint32(4097 + n)}
		st.Networks = append(st.Networks, net)
		for i := range eps {
			ip := netip.AddrFrom4([4]byte{10, byte(n >> 8), byte(n), byte(i + 2)})
			st.Endpoints = append(st.Endpoints, model.Endpoint{ID: fmt.Sprintf("%032x%032x", n+1, i+1), NetworkID: net.ID,
				Host: fmt.Sprintf("h%d", 1+i%8), ContainerName: fmt.Sprintf("c%d-%d", n, i), IPv4: netip.PrefixFrom(ip, 24),
				MAC: model.MACFromIPv4(ip)})
		}
	}
	model.SortNetworks(st.Networks)
	model.SortEndpoints(st.Endpoints)
	return st
}
