package ovsagent

import (
	"net/netip"
	"sort"

	"github.com/ovsnet/ovsnet/model"
)

// Desired is what this host must hold, as the cluster says: the networks
// present on it and all their endpoints, local and remote. A Desired is
// never modified once published. A new one shares, by pointer, every part
// that did not change — the inner endpoint map of an unchanged network, the
// record of an unchanged endpoint, the catalog — so the reconciler finds
// what a change touched by comparing pointers, in time proportional to the
// change and not to the host's share of the cluster.
type Desired struct {
	Host string
	// Networks present on this host: those with a local endpoint, and the
	// bridge networks it owns.
	Networks map[string]*model.Network
	// Endpoints of those networks, by network id then endpoint id.
	Endpoints map[string]map[string]*model.Endpoint
	// Index is, per network, the Consul index of its endpoint records.
	Index map[string]uint64
	// Catalog is every network the host should know of, endpoints or not
	// (global ones and its own bridge networks): Docker mirrors it, DNS
	// answers NXDOMAIN for its names. Nil when nothing asked for it.
	Catalog map[string]*model.Network
}

// NewDesired returns an empty desired state for host.
func NewDesired(host string) *Desired {
	return &Desired{Host: host, Networks: map[string]*model.Network{}, Endpoints: map[string]map[string]*model.Endpoint{},
		Index: map[string]uint64{}}
}

// clone copies the top-level maps (not what they point to), for a new
// version.
func (d *Desired) clone() *Desired {
	out := &Desired{Host: d.Host, Networks: make(map[string]*model.Network, len(d.Networks)),
		Endpoints: make(map[string]map[string]*model.Endpoint, len(d.Endpoints)), Index: make(map[string]uint64, len(d.Index)),
		Catalog: d.Catalog}
	for k, v := range d.Networks {
		out.Networks[k] = v
	}
	for k, v := range d.Endpoints {
		out.Endpoints[k] = v
	}
	for k, v := range d.Index {
		out.Index[k] = v
	}
	return out
}

// local lists this host's endpoints of network netID.
func (d *Desired) local(netID string) []*model.Endpoint {
	var out []*model.Endpoint
	for _, ep := range d.Endpoints[netID] {
		if ep.Host == d.Host {
			out = append(out, ep)
		}
	}
	return out
}

// HostState renders the desired state in the flat form the extensions
// (DNS, Docker, metrics) and the on-disk cache use. The tunnel peers are
// the other hosts with endpoints in the host's networks.
func (d *Desired) HostState() *model.HostState { return new(flattener).hostState(d) }

// flattener renders successive desired states in flat form. It keeps each
// network's endpoints sorted, with the map they came from: a new state
// shares the endpoint map of every network it did not change (see
// Desired), so only the changed networks are sorted again; the rest is
// copying.
type flattener struct {
	nets map[string]flatNetwork
}

type flatNetwork struct {
	from map[string]*model.Endpoint
	eps  []model.Endpoint // in model.SortEndpoints' order
}

func (f *flattener) hostState(d *Desired) *model.HostState {
	st := &model.HostState{Host: d.Host, Networks: make([]model.Network, 0, len(d.Networks))}
	ids := make([]string, 0, len(d.Networks))
	for id, n := range d.Networks {
		ids = append(ids, id)
		st.Networks = append(st.Networks, *n)
		st.Generation = max(st.Generation, d.Index[id])
	}
	sort.Strings(ids) // endpoints come by network id first
	next := make(map[string]flatNetwork, len(ids))
	total := 0
	for _, id := range ids {
		fn, ok := f.nets[id]
		if !ok || !sameMap(fn.from, d.Endpoints[id]) {
			fn = flatNetwork{from: d.Endpoints[id], eps: sortedEndpoints(d.Endpoints[id])}
		}
		next[id] = fn
		total += len(fn.eps)
	}
	f.nets = next
	st.Endpoints = make([]model.Endpoint, 0, total)
	peers := map[string]netip.Addr{}
	for _, id := range ids {
		for i := range next[id].eps {
			ep := &next[id].eps[i]
			if ep.Host != d.Host && ep.TunnelIP.IsValid() {
				peers[ep.Host] = ep.TunnelIP
			}
		}
		st.Endpoints = append(st.Endpoints, next[id].eps...)
	}
	for name, ip := range peers {
		st.Hosts = append(st.Hosts, model.Host{Name: name, TunnelIP: ip})
	}
	st.Catalog = make([]model.Network, 0, len(d.Catalog))
	for _, n := range d.Catalog {
		st.Catalog = append(st.Catalog, *n)
	}
	sort.Slice(st.Hosts, func(i, j int) bool { return st.Hosts[i].Name < st.Hosts[j].Name })
	model.SortNetworks(st.Networks)
	model.SortNetworks(st.Catalog)
	// Empty lists are nil, as they always were in the cache on disk.
	if len(st.Networks) == 0 {
		st.Networks = nil
	}
	if len(st.Endpoints) == 0 {
		st.Endpoints = nil
	}
	if len(st.Catalog) == 0 {
		st.Catalog = nil
	}
	return st
}

// sortedEndpoints copies a network's endpoints in model.SortEndpoints'
// order, sorting pointers rather than the records.
func sortedEndpoints(m map[string]*model.Endpoint) []model.Endpoint {
	ptrs := make([]*model.Endpoint, 0, len(m))
	for _, ep := range m {
		ptrs = append(ptrs, ep)
	}
	sort.Slice(ptrs, func(i, j int) bool { return model.EndpointLess(ptrs[i], ptrs[j]) })
	out := make([]model.Endpoint, len(ptrs))
	for i, ep := range ptrs {
		out[i] = *ep
	}
	return out
}

// DesiredFromHostState is the inverse of HostState, for the on-disk cache
// and for tests.
func DesiredFromHostState(st *model.HostState) *Desired {
	d := NewDesired(st.Host)
	tunnels := map[string]netip.Addr{}
	for _, h := range st.Hosts {
		tunnels[h.Name] = h.TunnelIP
	}
	for i := range st.Networks {
		n := st.Networks[i]
		d.Networks[n.ID] = &n
		d.Endpoints[n.ID] = map[string]*model.Endpoint{}
		d.Index[n.ID] = st.Generation
	}
	for i := range st.Endpoints {
		ep := st.Endpoints[i]
		if eps := d.Endpoints[ep.NetworkID]; eps != nil {
			if !ep.TunnelIP.IsValid() {
				ep.TunnelIP = tunnels[ep.Host]
			}
			eps[ep.ID] = &ep
		}
	}
	if st.Catalog != nil {
		d.Catalog = map[string]*model.Network{}
		for i := range st.Catalog {
			n := st.Catalog[i]
			d.Catalog[n.ID] = &n
		}
	}
	return d
}
