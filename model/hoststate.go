package model

import (
	"net/netip"
	"sort"
	"time"
)

// Host is one machine running an agent.
type Host struct {
	Name string `json:"name"`
	// TunnelIP is the host's underlay address: the VXLAN tunnel endpoint.
	TunnelIP    netip.Addr `json:"tunnelIP"`
	UnderlayMTU int        `json:"underlayMTU,omitempty"`
	Version     string     `json:"version,omitempty"`
	// Alive is derived by the controller: the agent holds its Consul session.
	Alive bool `json:"alive"`
	// State is alive, down (the agent is gone) or dead (gone for longer
	// than the controller's grace period: its endpoints may be reaped);
	// DownSince says since when the agent is gone, as the leader saw it.
	State     HostLiveness `json:"state,omitempty"`
	DownSince time.Time    `json:"downSince,omitzero"`
	// BootID and PID identify the agent process holding the record: a
	// second agent started with the same host name refuses to run while
	// that one lives.
	BootID string `json:"bootId,omitempty"`
	PID    int    `json:"pid,omitempty"`
	// Started is when the current agent process started.
	Started time.Time `json:"started"`
	// LastSync is when the agent last finished a reconcile of its OVS, and
	// Generation which compiled state it applied.
	LastSync   time.Time `json:"lastSync,omitzero"`
	Generation uint64    `json:"generation,omitempty"`
	// Flows is how many OpenFlow flows the agent holds per network id (and
	// "" for the shared pipeline); shown by the UI as the OVS footprint.
	Flows map[string]int `json:"flows,omitempty"`
}

// HostLiveness is how a host's agent is doing, as the controller sees it.
type HostLiveness string

const (
	HostAlive HostLiveness = "alive"
	HostDown  HostLiveness = "down"
	HostDead  HostLiveness = "dead"
)

// EndpointState is what an agent reports about an endpoint it plumbs.
type EndpointState string

const (
	EndpointReady EndpointState = "ready"
	EndpointError EndpointState = "error"
)

// EndpointStatus is an agent's report on one of its endpoints.
type EndpointStatus struct {
	EndpointID string        `json:"endpointId"`
	Host       string        `json:"host"`
	State      EndpointState `json:"state"`
	Error      string        `json:"error,omitempty"`
	Port       string        `json:"port,omitempty"`
	OFPort     int           `json:"ofport,omitempty"`
	Updated    time.Time     `json:"updated"`
}

// HostState is the controller's compiled view for one host: everything its
// agent needs to build its OVS configuration, and nothing more.
type HostState struct {
	Host string `json:"host"`
	// Generation increases with every change the controller publishes.
	Generation uint64 `json:"generation"`
	// Networks with at least one endpoint on this host, plus bridge networks
	// this host owns.
	Networks []Network `json:"networks"`
	// Endpoints of those networks, local and remote.
	Endpoints []Endpoint `json:"endpoints"`
	// Hosts are the other hosts of the cluster (tunnel peers). All of them,
	// not only those sharing a network now, so the agent can resolve their
	// underlay addresses before the first packet needs them.
	Hosts []Host `json:"hosts"`
	// Catalog is every network this host should know of, endpoints or not:
	// all global networks and the host's own local ones. The agent mirrors
	// it into the host's Docker engine.
	Catalog []Network `json:"catalog,omitempty"`
}

// Compile builds one host's state from the cluster's intent. It is what the
// controller publishes and what the agent's flows are computed from.
func Compile(host string, networks []Network, endpoints []Endpoint, hosts []Host) HostState {
	st := HostState{Host: host}
	netByID := map[string]*Network{}
	for i := range networks {
		netByID[networks[i].ID] = &networks[i]
	}
	present := map[string]bool{}
	for _, ep := range endpoints {
		if ep.Host == host && netByID[ep.NetworkID] != nil {
			present[ep.NetworkID] = true
		}
	}
	for _, n := range networks {
		if present[n.ID] || (n.Scope == ScopeLocal && n.Host == host) {
			st.Networks = append(st.Networks, n)
		}
		if n.Scope == ScopeGlobal || n.Host == host {
			st.Catalog = append(st.Catalog, n)
		}
	}
	for _, ep := range endpoints {
		if present[ep.NetworkID] {
			st.Endpoints = append(st.Endpoints, ep)
		}
	}
	for _, h := range hosts {
		if h.Name != host && h.TunnelIP.IsValid() {
			// The per-host view needs only what builds tunnels.
			st.Hosts = append(st.Hosts, Host{Name: h.Name, TunnelIP: h.TunnelIP})
		}
	}
	sort.Slice(st.Hosts, func(i, j int) bool { return st.Hosts[i].Name < st.Hosts[j].Name })
	SortNetworks(st.Networks)
	SortNetworks(st.Catalog)
	SortEndpoints(st.Endpoints)
	return st
}
