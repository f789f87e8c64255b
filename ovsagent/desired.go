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
func (d *Desired) HostState() *model.HostState {
	st := &model.HostState{Host: d.Host}
	peers := map[string]netip.Addr{}
	for id, n := range d.Networks {
		st.Networks = append(st.Networks, *n)
		for _, ep := range d.Endpoints[id] {
			st.Endpoints = append(st.Endpoints, *ep)
			if ep.Host != d.Host && ep.TunnelIP.IsValid() {
				peers[ep.Host] = ep.TunnelIP
			}
		}
		st.Generation = max(st.Generation, d.Index[id])
	}
	for name, ip := range peers {
		st.Hosts = append(st.Hosts, model.Host{Name: name, TunnelIP: ip})
	}
	for _, n := range d.Catalog {
		st.Catalog = append(st.Catalog, *n)
	}
	sort.Slice(st.Hosts, func(i, j int) bool { return st.Hosts[i].Name < st.Hosts[j].Name })
	model.SortNetworks(st.Networks)
	model.SortNetworks(st.Catalog)
	model.SortEndpoints(st.Endpoints)
	return st
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
