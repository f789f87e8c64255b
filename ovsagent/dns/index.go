package dns

import (
	"encoding/binary"
	"net/netip"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/miekg/dns"

	"github.com/ovsnet/ovsnet/model"
)

// The resolver's lookup table (docs/dns.md). It is built from one compiled
// host state and never changed afterwards: a new state builds a new index,
// swapped in atomically, so queries never wait for an update and an update
// never waits for queries.
//
// Names are kept in DNS wire format, lower case (the map key of "web." is
// "\x03web\x00"), so a query's name is looked up without converting it to
// text. Answers are precomputed resource records whose owner name is a
// compression pointer to the question (offset 12), so the same bytes answer
// whatever case the question used.

// dnsTTL is the TTL of every answer. Zero: the index changes with the
// cluster's state within milliseconds, and a cache in the container (none by
// default; Docker's resolver has none either) must not keep a removed
// container's address.
const dnsTTL = 0

// dnsIndex answers for one host state.
type dnsIndex struct {
	// views maps a query's network and source address to what the asking
	// endpoint may resolve.
	views map[dnsViewKey]*dnsView
	// host is the view of queries to the host listener (-dns-listen).
	host *dnsView
	// suffixes are ".NETWORK" zones (wire format, lower case) of every
	// network the host knows (present or in the catalog); names in them
	// are never forwarded.
	suffixes map[string]bool
	// reverse are the subnets whose reverse names are never forwarded.
	reverse []netip.Prefix
}

type dnsViewKey struct {
	vni  uint32
	addr netip.Addr
}

// dnsView is what one asker resolves: its networks in order of preference,
// starting with the one the query came in on.
type dnsView struct {
	nets []*dnsNet
	// links[i] are the link aliases of the asker's endpoint on nets[i].
	links []map[string]*dnsRecord
	// all is the host view's table: every network's qualified and
	// reverse names.
	all *hostNames
	// internal: the query came in on an internal network, whose unknown
	// names are answered NXDOMAIN and never forwarded.
	internal bool
	// forward: unknown names go to the upstream resolvers.
	forward bool
}

// dnsNet is one network's names.
type dnsNet struct {
	name string
	// names holds NAME, ALIAS, NAME.NETWORK, ALIAS.NETWORK and the reverse
	// names of the network's addresses.
	names map[string]*dnsRecord
	// containers holds only container names, for links.
	containers map[string]*dnsRecord
	// namelessUntil: until then, a Docker endpoint of the network may
	// still get its names (hold.go).
	namelessUntil time.Time
}

// dnsRecord is everything a name answers, as resource records.
type dnsRecord struct {
	a, aaaa, ptr    []byte
	na, naaaa, nptr uint16
}

// rrs returns the records for qtype.
func (r *dnsRecord) rrs(qtype uint16) ([]byte, uint16) {
	switch qtype {
	case dns.TypeA:
		return r.a, r.na
	case dns.TypeAAAA:
		return r.aaaa, r.naaaa
	case dns.TypePTR:
		return r.ptr, r.nptr
	}
	return nil, 0
}

// lookup finds a name for this view; nil if it does not resolve here.
func (v *dnsView) lookup(key []byte) *dnsRecord {
	for i, n := range v.nets {
		if r := v.links[i][string(key)]; r != nil {
			return r
		}
		if r := n.names[string(key)]; r != nil {
			return r
		}
	}
	if v.all != nil {
		return v.all.lookup(key)
	}
	return nil
}

// hostNames is what the host listener resolves: NAME.NETWORK of every
// network and reverse names, never bare names, which would be ambiguous.
// The first network by name wins a name or an address two networks share.
// It looks into the networks' own tables rather than a merged copy, so a
// new state does not copy every name the host knows; a reverse name costs
// one map lookup per network.
type hostNames struct {
	// bySuffix maps ".NETWORK" (wire format, lower case) to its networks,
	// by name (names that differ only in case share a suffix).
	bySuffix map[string][]*dnsNet
	// byName are all the networks, by name.
	byName []*dnsNet
}

func (h *hostNames) lookup(key []byte) *dnsRecord {
	if _, ok := reverseAddr(key); ok {
		for _, dn := range h.byName {
			if r := dn.names[string(key)]; r != nil {
				return r
			}
		}
		return nil
	}
	// NAME.NETWORK: the name is in the table of a network whose name ends
	// it (network names may have dots, so try every suffix).
	var best *dnsNet
	var rec *dnsRecord
	for i := 0; i < len(key) && key[i] != 0; i += int(key[i]) + 1 {
		if i == 0 {
			continue
		}
		for _, dn := range h.bySuffix[string(key[i:])] {
			if best != nil && best.name <= dn.name {
				break
			}
			if r := dn.names[string(key)]; r != nil {
				best, rec = dn, r
				break
			}
		}
	}
	return rec
}

// authoritative says whether a name belongs to ovsnet, so that it is
// answered NXDOMAIN rather than forwarded when it does not resolve: single
// labels (container names, aliases, links), NAME.NETWORK for every network
// the host knows, and reverse names of addresses in the networks' subnets.
func (ix *dnsIndex) authoritative(key []byte) bool {
	labels := 0
	for i := 0; i < len(key) && key[i] != 0; i += int(key[i]) + 1 {
		if labels > 0 && ix.suffixes[string(key[i:])] {
			return true
		}
		labels++
	}
	if labels == 1 {
		return true
	}
	if a, ok := reverseAddr(key); ok {
		for _, p := range ix.reverse {
			if p.Contains(a) {
				return true
			}
		}
	}
	return false
}

// reverseAddr parses a complete in-addr.arpa or ip6.arpa name (wire format).
func reverseAddr(key []byte) (netip.Addr, bool) {
	var labels [34][]byte
	n := 0
	for i := 0; i < len(key) && key[i] != 0; i += int(key[i]) + 1 {
		if n == len(labels) || i+1+int(key[i]) > len(key) {
			return netip.Addr{}, false
		}
		labels[n] = key[i+1 : i+1+int(key[i])]
		n++
	}
	switch {
	case n == 6 && string(labels[4]) == "in-addr" && string(labels[5]) == "arpa":
		var b [4]byte
		for i := 0; i < 4; i++ {
			v := 0
			l := labels[3-i]
			if len(l) == 0 || len(l) > 3 {
				return netip.Addr{}, false
			}
			for _, c := range l {
				if c < '0' || c > '9' {
					return netip.Addr{}, false
				}
				v = v*10 + int(c-'0')
			}
			if v > 255 {
				return netip.Addr{}, false
			}
			b[i] = byte(v)
		}
		return netip.AddrFrom4(b), true
	case n == 34 && string(labels[32]) == "ip6" && string(labels[33]) == "arpa":
		var b [16]byte
		for i := 0; i < 32; i++ {
			l := labels[31-i]
			if len(l) != 1 {
				return netip.Addr{}, false
			}
			var v byte
			switch c := l[0]; {
			case c >= '0' && c <= '9':
				v = c - '0'
			case c >= 'a' && c <= 'f':
				v = c - 'a' + 10
			default:
				return netip.Addr{}, false
			}
			b[i/2] |= v << (4 * (1 - i%2))
		}
		return netip.AddrFrom16(b), true
	}
	return netip.Addr{}, false
}

// wireName packs a text name into lower-case wire format; ok is false for
// names DNS cannot carry (a label over 63 bytes, a name over 255).
func wireName(name string) (string, bool) {
	fqdn := dns.Fqdn(strings.ToLower(name))
	var buf [256]byte
	n, err := dns.PackDomainName(fqdn, buf[:], 0, nil, false)
	if err != nil {
		return "", false
	}
	return string(buf[:n]), true
}

// recordBuilder collects a name's addresses before they become records.
type recordBuilder struct {
	v4, v6 []netip.Addr
	ptr    []string
}

func (b *recordBuilder) addAddr(a netip.Addr) {
	if !a.IsValid() {
		return
	}
	if a.Is4() {
		if !slices.Contains(b.v4, a) {
			b.v4 = append(b.v4, a)
		}
	} else if !slices.Contains(b.v6, a) {
		b.v6 = append(b.v6, a)
	}
}

// rrHeader is a resource record's fixed part, owned by the question's name.
func rrHeader(out []byte, qtype uint16, rdlen int) []byte {
	out = append(out, 0xc0, 12)
	out = binary.BigEndian.AppendUint16(out, qtype)
	out = binary.BigEndian.AppendUint16(out, dns.ClassINET)
	out = binary.BigEndian.AppendUint32(out, dnsTTL)
	return binary.BigEndian.AppendUint16(out, uint16(rdlen))
}

func (b *recordBuilder) build() *dnsRecord {
	r := &dnsRecord{}
	sort.Slice(b.v4, func(i, j int) bool { return b.v4[i].Less(b.v4[j]) })
	sort.Slice(b.v6, func(i, j int) bool { return b.v6[i].Less(b.v6[j]) })
	for _, a := range b.v4 {
		r.a = append(rrHeader(r.a, dns.TypeA, 4), a.AsSlice()...)
		r.na++
	}
	for _, a := range b.v6 {
		r.aaaa = append(rrHeader(r.aaaa, dns.TypeAAAA, 16), a.AsSlice()...)
		r.naaaa++
	}
	for _, p := range b.ptr {
		target, ok := wireName(p)
		if !ok {
			continue
		}
		r.ptr = append(rrHeader(r.ptr, dns.TypePTR, len(target)), target...)
		r.nptr++
	}
	return r
}

// netBuilder collects one network's names.
type netBuilder struct {
	net        *model.Network
	names      map[string]*recordBuilder
	containers map[string]*recordBuilder
}

func (nb *netBuilder) add(m map[string]*recordBuilder, name string) *recordBuilder {
	key, ok := wireName(name)
	if !ok {
		return nil
	}
	b := m[key]
	if b == nil {
		b = &recordBuilder{}
		m[key] = b
	}
	return b
}

func (nb *netBuilder) endpoint(ep *model.Endpoint) {
	addrs := []netip.Addr{ep.IPv4.Addr(), ep.IPv6.Addr()}
	names := append([]string{ep.ContainerName}, ep.Aliases...)
	for _, name := range names {
		if name == "" {
			continue
		}
		for _, n := range []string{name, name + "." + nb.net.Name} {
			if b := nb.add(nb.names, n); b != nil {
				for _, a := range addrs {
					b.addAddr(a)
				}
			}
		}
	}
	if b := nb.add(nb.containers, ep.ContainerName); b != nil {
		for _, a := range addrs {
			b.addAddr(a)
		}
	}
	for _, a := range addrs {
		if !a.IsValid() {
			continue
		}
		rev, err := dns.ReverseAddr(a.String())
		if err != nil {
			continue
		}
		if b := nb.add(nb.names, rev); b != nil {
			target := ep.ContainerName + "." + nb.net.Name + "."
			if !slices.Contains(b.ptr, target) {
				b.ptr = append(b.ptr, target)
			}
		}
	}
}

func buildRecords(m map[string]*recordBuilder) map[string]*dnsRecord {
	out := make(map[string]*dnsRecord, len(m))
	for k, b := range m {
		out[k] = b.build()
	}
	return out
}

// buildDNSIndex indexes a host state from scratch (tests; the resolver
// keeps an indexer, which reuses the networks that did not change).
func buildDNSIndex(st *model.HostState, forward bool, nameless map[string]time.Time) *dnsIndex {
	return newIndexer().build(st, forward, nameless)
}

// indexer builds a resolver's successive indexes. It keeps, per network,
// the names it built and what it built them from: a new state rebuilds
// only the networks whose names changed, so an attach costs the size of
// its own network, not of everything the host knows.
type indexer struct {
	mu   sync.Mutex
	nets map[string]*builtNet // by network id
	wire map[string]string    // network name → ".NETWORK" in wire format
}

func newIndexer() *indexer {
	return &indexer{nets: map[string]*builtNet{}, wire: map[string]string{}}
}

// builtNet is one network's names and exactly what they were built from.
type builtNet struct {
	name string
	eps  []nameInput
	dn   *dnsNet
}

// nameInput is what an endpoint gives its network's names. Its aliases
// are the state's own slice: a published HostState is never modified.
type nameInput struct {
	container string
	aliases   []string
	v4, v6    netip.Addr
}

func inputOf(ep *model.Endpoint) nameInput {
	return nameInput{container: ep.ContainerName, aliases: ep.Aliases, v4: ep.IPv4.Addr(), v6: ep.IPv6.Addr()}
}

func (in nameInput) equal(o nameInput) bool {
	return in.container == o.container && in.v4 == o.v4 && in.v6 == o.v6 && slices.Equal(in.aliases, o.aliases)
}

// builtFrom says whether b was built from n and eps (in this order).
func (b *builtNet) builtFrom(n *model.Network, eps []*model.Endpoint) bool {
	if b.name != n.Name || len(b.eps) != len(eps) {
		return false
	}
	for i, ep := range eps {
		if !b.eps[i].equal(inputOf(ep)) {
			return false
		}
	}
	return true
}

func buildNet(n *model.Network, eps []*model.Endpoint) *builtNet {
	nb := &netBuilder{net: n, names: map[string]*recordBuilder{}, containers: map[string]*recordBuilder{}}
	b := &builtNet{name: n.Name, eps: make([]nameInput, 0, len(eps))}
	for _, ep := range eps {
		nb.endpoint(ep)
		b.eps = append(b.eps, inputOf(ep))
	}
	b.dn = &dnsNet{name: n.Name, names: buildRecords(nb.names), containers: buildRecords(nb.containers)}
	return b
}

// wireSuffix is a network name in wire format, remembered across builds.
func (x *indexer) wireSuffix(next map[string]string, name string) (string, bool) {
	key, ok := next[name]
	if !ok {
		if key, ok = x.wire[name]; !ok {
			key, _ = wireName(name)
		}
		next[name] = key
	}
	return key, key != ""
}

// build indexes a host state. forward says whether upstream resolvers are
// configured; nameless says, per network id, until when names may still
// arrive (hold.go; nil: none).
func (x *indexer) build(st *model.HostState, forward bool, nameless map[string]time.Time) *dnsIndex {
	x.mu.Lock()
	defer x.mu.Unlock()
	ix := &dnsIndex{views: map[dnsViewKey]*dnsView{}, suffixes: map[string]bool{}}
	wire := make(map[string]string, len(x.wire))
	known := func(n *model.Network) {
		if key, ok := x.wireSuffix(wire, n.Name); ok {
			ix.suffixes[key] = true
		}
		for _, p := range []netip.Prefix{n.Subnet, n.Subnet6} {
			if p.IsValid() {
				ix.reverse = append(ix.reverse, p.Masked())
			}
		}
	}
	byNet := make(map[string][]*model.Endpoint, len(st.Networks))
	for i := range st.Endpoints {
		ep := &st.Endpoints[i]
		byNet[ep.NetworkID] = append(byNet[ep.NetworkID], ep)
	}
	built := make(map[string]*builtNet, len(st.Networks))
	nets := make(map[string]*dnsNet, len(st.Networks))
	all := &hostNames{bySuffix: make(map[string][]*dnsNet, len(st.Networks))}
	for i := range st.Networks {
		n := &st.Networks[i]
		known(n)
		b := x.nets[n.ID]
		if b == nil || !b.builtFrom(n, byNet[n.ID]) {
			b = buildNet(n, byNet[n.ID])
		}
		built[n.ID] = b
		dn := b.dn
		if t := nameless[n.ID]; !t.IsZero() {
			c := *dn // the tables are shared, never changed
			c.namelessUntil = t
			dn = &c
		}
		nets[n.ID] = dn
		all.byName = append(all.byName, dn)
		if key, ok := x.wireSuffix(wire, n.Name); ok {
			all.bySuffix[key] = append(all.bySuffix[key], dn)
		}
	}
	x.nets, x.wire = built, wire
	// Networks this host has no endpoint on are still ovsnet's: their
	// names are answered NXDOMAIN, never forwarded.
	for i := range st.Catalog {
		known(&st.Catalog[i])
	}
	byName := func(ns []*dnsNet) {
		sort.SliceStable(ns, func(i, j int) bool { return ns[i].name < ns[j].name })
	}
	byName(all.byName)
	for _, ns := range all.bySuffix {
		if len(ns) > 1 {
			byName(ns)
		}
	}
	ix.host = &dnsView{all: all, forward: forward}

	// Views of local endpoints, grouped by container.
	byContainer := map[string][]*model.Endpoint{}
	for i := range st.Endpoints {
		ep := &st.Endpoints[i]
		if ep.Host != st.Host || nets[ep.NetworkID] == nil {
			continue
		}
		c := ep.ContainerID
		if c == "" {
			c = "name:" + ep.ContainerName
		}
		byContainer[c] = append(byContainer[c], ep)
	}
	netOf := map[string]*model.Network{}
	for i := range st.Networks {
		netOf[st.Networks[i].ID] = &st.Networks[i]
	}
	for _, eps := range byContainer {
		sort.Slice(eps, func(i, j int) bool { return netOf[eps[i].NetworkID].Name < netOf[eps[j].NetworkID].Name })
		// A container with a way out may have its other names forwarded,
		// whichever of its networks the query came in on (a Docker
		// container's queries to its resolver take the host routes of an
		// internal network's Join); one on internal networks only never.
		external := false
		for _, ep := range eps {
			external = external || !netOf[ep.NetworkID].Internal
		}
		for _, asker := range eps {
			ordered := []*model.Endpoint{asker}
			for _, ep := range eps {
				if ep != asker {
					ordered = append(ordered, ep)
				}
			}
			n := netOf[asker.NetworkID]
			v := &dnsView{internal: !external, forward: forward && external}
			for _, ep := range ordered {
				v.nets = append(v.nets, nets[ep.NetworkID])
			}
			for _, ep := range ordered {
				links := map[string]*dnsRecord{}
				for _, l := range ep.Links {
					key, ok := wireName(l.Alias)
					if !ok {
						continue
					}
					target, ok := wireName(l.Name)
					if !ok {
						continue
					}
					// NAME's address on the link's network, else on the
					// first other shared network it is on.
					for _, dn := range append([]*dnsNet{nets[ep.NetworkID]}, v.nets...) {
						if r := dn.containers[target]; r != nil {
							links[key] = r
							break
						}
					}
				}
				v.links = append(v.links, links)
			}
			for _, a := range []netip.Addr{asker.IPv4.Addr(), asker.IPv6.Addr(), linkLocalOf(asker)} {
				if a.IsValid() {
					ix.views[dnsViewKey{n.VNI, a}] = v
				}
			}
		}
	}
	return ix
}

func linkLocalOf(ep *model.Endpoint) netip.Addr {
	if len(ep.MAC) != 6 {
		return netip.Addr{}
	}
	return model.LinkLocal(ep.MAC)
}
