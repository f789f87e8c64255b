package controller

import (
	"errors"
	"net/netip"
	"sort"
	"strings"

	"github.com/ovsnet/ovsnet/internal/store"
	"github.com/ovsnet/ovsnet/model"
)

// state is the leader's in-memory copy of the intent, with the indexes every
// request needs: networks by id and name, endpoints by network, host and
// container, taken addresses, VNIs and pools. It is pure (no I/O): loaded
// once from Consul when the replica takes the lead, then changed only by
// the leader's own committed transactions (it is the only writer of the
// intent, fenced by its session), so a change costs what it touches.
type state struct {
	// index is the Consul index of the last load or commit.
	index    uint64
	networks map[string]*netState
	byName   map[string]string
	vnis     map[uint32]string
	pools    map[netip.Prefix]string
	eps      map[string]*store.Versioned[model.Endpoint]
	// byHost and byContainer index endpoint ids.
	byHost      map[string]map[string]bool
	byContainer map[string]map[string]bool
	hosts       map[string]model.Host
	catalogSeq  uint64
	skipped     []store.SkippedKey
	// poolHint is, per driver, the position of the first default pool not
	// known to be taken: creating a network looks from there on.
	poolHint map[model.Driver]int
}

// errOrphanEndpoint marks an endpoint record whose network does not exist.
var errOrphanEndpoint = errors.New("endpoint of a network that does not exist")

// netState is one network with what hangs off it.
type netState struct {
	store.Versioned[model.Network]
	// seq is the newest sequence number of the network's change ring.
	seq    uint64
	eps    map[string]bool
	ipam   map[netip.Addr]store.Holder
	attach map[string]store.Holder
}

func newState() *state {
	return &state{networks: map[string]*netState{}, byName: map[string]string{}, vnis: map[uint32]string{},
		pools: map[netip.Prefix]string{}, eps: map[string]*store.Versioned[model.Endpoint]{},
		byHost: map[string]map[string]bool{}, byContainer: map[string]map[string]bool{}, hosts: map[string]model.Host{},
		poolHint: map[model.Driver]int{}}
}

// stateFrom builds the state from a snapshot. Endpoints of unknown
// networks are counted as skipped: nothing can serve them.
func stateFrom(sn *store.Snapshot) *state {
	s := newState()
	s.index, s.catalogSeq = sn.Index, sn.CatalogSeq
	s.skipped = append(s.skipped, sn.Skipped...)
	for _, n := range sn.Networks {
		s.putNetwork(n.Value, n.Index)
	}
	for p, id := range sn.Pools {
		s.pools[p] = id
	}
	for id, seq := range sn.ChangeSeq {
		if ns := s.networks[id]; ns != nil {
			ns.seq = seq
		}
	}
	for netID, addrs := range sn.IPAM {
		if ns := s.networks[netID]; ns != nil {
			for a, h := range addrs {
				ns.ipam[a] = h
			}
		}
	}
	for netID, ctrs := range sn.Attach {
		if ns := s.networks[netID]; ns != nil {
			for c, h := range ctrs {
				ns.attach[c] = h
			}
		}
	}
	for _, ep := range sn.Endpoints {
		if s.networks[ep.Value.NetworkID] == nil {
			s.skipped = append(s.skipped, store.SkippedKey{Key: ep.Value.ID, Err: errOrphanEndpoint})
			continue
		}
		s.putEndpoint(ep.Value, ep.Index)
	}
	for _, h := range sn.Hosts {
		s.hosts[h.Name] = h
	}
	return s
}

// putNetwork adds or replaces a network.
func (s *state) putNetwork(n model.Network, index uint64) {
	ns := s.networks[n.ID]
	if ns == nil {
		ns = &netState{eps: map[string]bool{}, ipam: map[netip.Addr]store.Holder{}, attach: map[string]store.Holder{}}
		s.networks[n.ID] = ns
	} else if ns.Value.Name != n.Name {
		delete(s.byName, ns.Value.Name)
	}
	ns.Versioned = store.Versioned[model.Network]{Value: n, Index: index}
	s.byName[n.Name] = n.ID
	s.vnis[n.VNI] = n.ID
}

// removeNetwork drops a network with its allocations (it has no endpoints).
func (s *state) removeNetwork(id string) {
	ns := s.networks[id]
	if ns == nil {
		return
	}
	for epID := range ns.eps {
		s.removeEndpoint(epID)
	}
	delete(s.networks, id)
	s.poolHint = map[model.Driver]int{} // what it held may be the first free pool now
	if s.byName[ns.Value.Name] == id {
		delete(s.byName, ns.Value.Name)
	}
	if s.vnis[ns.Value.VNI] == id {
		delete(s.vnis, ns.Value.VNI)
	}
	for p, owner := range s.pools {
		if owner == id {
			delete(s.pools, p)
		}
	}
}

// putEndpoint adds or replaces an endpoint record (its allocations are
// set separately).
func (s *state) putEndpoint(ep model.Endpoint, index uint64) {
	if old := s.eps[ep.ID]; old != nil {
		s.unindexEndpoint(old.Value)
	}
	s.eps[ep.ID] = &store.Versioned[model.Endpoint]{Value: ep, Index: index}
	if ns := s.networks[ep.NetworkID]; ns != nil {
		ns.eps[ep.ID] = true
	}
	addIndex(s.byHost, ep.Host, ep.ID)
	addIndex(s.byContainer, ep.ContainerName, ep.ID)
	if ep.ContainerID != "" {
		addIndex(s.byContainer, ep.ContainerID, ep.ID)
	}
}

// removeEndpoint drops an endpoint and what it holds.
func (s *state) removeEndpoint(id string) {
	rec := s.eps[id]
	if rec == nil {
		return
	}
	ep := rec.Value
	s.unindexEndpoint(ep)
	delete(s.eps, id)
	if ns := s.networks[ep.NetworkID]; ns != nil {
		delete(ns.eps, id)
		for _, a := range []netip.Addr{ep.IPv4.Addr(), ep.IPv6.Addr()} {
			if h, ok := ns.ipam[a]; ok && h.Value == id {
				delete(ns.ipam, a)
			}
		}
		if h, ok := ns.attach[ep.ContainerID]; ok && h.Value == id {
			delete(ns.attach, ep.ContainerID)
		}
	}
}

func (s *state) unindexEndpoint(ep model.Endpoint) {
	delIndex(s.byHost, ep.Host, ep.ID)
	delIndex(s.byContainer, ep.ContainerName, ep.ID)
	if ep.ContainerID != "" {
		delIndex(s.byContainer, ep.ContainerID, ep.ID)
	}
	if ns := s.networks[ep.NetworkID]; ns != nil {
		delete(ns.eps, ep.ID)
	}
}

func addIndex(ix map[string]map[string]bool, k, id string) {
	m := ix[k]
	if m == nil {
		m = map[string]bool{}
		ix[k] = m
	}
	m[id] = true
}

func delIndex(ix map[string]map[string]bool, k, id string) {
	if m := ix[k]; m != nil {
		delete(m, id)
		if len(m) == 0 {
			delete(ix, k)
		}
	}
}

// network finds a network by full id, name or unique id prefix (Docker's
// lookup rules: id, then name, then prefix).
func (s *state) network(ref string) (*netState, error) {
	if ns := s.networks[ref]; ns != nil {
		return ns, nil
	}
	if id, ok := s.byName[ref]; ok {
		return s.networks[id], nil
	}
	var found *netState
	if ref != "" {
		for id, ns := range s.networks {
			if strings.HasPrefix(id, ref) {
				if found != nil {
					return nil, errorf(ErrInvalid, "network %s is ambiguous (%s and %s)", ref, model.ShortID(found.Value.ID), model.ShortID(id))
				}
				found = ns
			}
		}
	}
	if found == nil {
		return nil, errorf(ErrNotFound, "network %s not found", ref)
	}
	return found, nil
}

// endpointsOf lists a network's endpoints in a stable order.
func (s *state) endpointsOf(netID string) []model.Endpoint {
	ns := s.networks[netID]
	if ns == nil {
		return nil
	}
	out := make([]model.Endpoint, 0, len(ns.eps))
	for id := range ns.eps {
		out = append(out, s.eps[id].Value)
	}
	model.SortEndpoints(out)
	return out
}

// endpointsOn lists a host's endpoints.
func (s *state) endpointsOn(host string) []model.Endpoint {
	var out []model.Endpoint
	for id := range s.byHost[host] {
		out = append(out, s.eps[id].Value)
	}
	model.SortEndpoints(out)
	return out
}

// endpointsOfContainer lists the endpoints of a container by name or id.
func (s *state) endpointsOfContainer(ref string) []model.Endpoint {
	var out []model.Endpoint
	for id := range s.byContainer[ref] {
		out = append(out, s.eps[id].Value)
	}
	model.SortEndpoints(out)
	return out
}

// used is the set of taken addresses of a network.
func (ns *netState) used() map[netip.Addr]bool {
	out := make(map[netip.Addr]bool, len(ns.ipam))
	for a := range ns.ipam {
		out[a] = true
	}
	return out
}

// peerHosts lists the hosts other than except with endpoints on a network.
func (s *state) peerHosts(netID, except string) []string {
	seen := map[string]bool{}
	if ns := s.networks[netID]; ns != nil {
		for id := range ns.eps {
			if h := s.eps[id].Value.Host; h != except {
				seen[h] = true
			}
		}
	}
	out := make([]string, 0, len(seen))
	for h := range seen {
		out = append(out, h)
	}
	sort.Strings(out)
	return out
}

// hostHasNetwork says whether host holds an endpoint of netID other than
// except.
func (s *state) hostHasNetwork(host, netID, except string) bool {
	for id := range s.byHost[host] {
		if id != except && s.eps[id].Value.NetworkID == netID {
			return true
		}
	}
	return false
}

// sortedNetworks lists networks by name.
func (s *state) sortedNetworks() []model.Network {
	out := make([]model.Network, 0, len(s.networks))
	for _, ns := range s.networks {
		out = append(out, ns.Value)
	}
	model.SortNetworks(out)
	return out
}

// sortedHosts lists hosts by name.
func (s *state) sortedHosts() []model.Host {
	out := make([]model.Host, 0, len(s.hosts))
	for _, h := range s.hosts {
		out = append(out, h)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// allEndpoints lists every endpoint in a stable order.
func (s *state) allEndpoints() []model.Endpoint {
	out := make([]model.Endpoint, 0, len(s.eps))
	for _, rec := range s.eps {
		out = append(out, rec.Value)
	}
	model.SortEndpoints(out)
	return out
}

// takenSubnets lists every subnet in use and every default pool handed out.
func (s *state) takenSubnets() []netip.Prefix {
	out := make([]netip.Prefix, 0, len(s.networks)+len(s.pools))
	for _, ns := range s.networks {
		out = append(out, ns.Value.Subnet)
	}
	for p := range s.pools {
		out = append(out, p)
	}
	return out
}

// freeVNI is the lowest VNI no network uses.
func (s *state) freeVNI() uint32 {
	v := uint32(model.MinVNI + 1)
	for s.vnis[v] != "" {
		v++
	}
	return v
}
