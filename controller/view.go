package controller

import (
	"context"
	"strings"

	"github.com/ovsnet/ovsnet/internal/store"
	"github.com/ovsnet/ovsnet/model"
)

// Snapshot is a read view of the cluster for the API's listings, the UI
// and traces: a copy of the leader's state, plus what agents report, read
// from Consul when the view asks for it (never kept or watched, so agents'
// reports cost nothing until someone looks).
type Snapshot struct {
	Index     uint64
	Networks  []model.Network
	Endpoints []model.Endpoint
	Hosts     []model.Host
	// Statuses are the agents' endpoint reports (viewStatuses).
	Statuses map[string]model.EndpointStatus
}

// What a view includes beyond the intent.
type viewParts uint8

const (
	// viewStatuses reads every endpoint's status.
	viewStatuses viewParts = 1 << iota
	// viewHostStats reads every host's stats and per-network flow counts.
	viewHostStats
)

// snapshot builds a view. Without a leader's state (Consul away) it serves
// the last state this replica held.
func (c *Controller) snapshot(ctx context.Context, parts viewParts) (*Snapshot, error) {
	sn := &Snapshot{Statuses: map[string]model.EndpointStatus{}}
	if err := c.read(func(s *state) error {
		sn.Index = s.index
		sn.Networks = s.sortedNetworks()
		sn.Endpoints = s.allEndpoints()
		sn.Hosts = s.sortedHosts()
		for i := range sn.Hosts {
			c.liveness(&sn.Hosts[i])
		}
		return nil
	}); err != nil {
		return nil, err
	}
	if parts&viewStatuses != 0 {
		pairs, _, err := c.st.B.List(ctx, c.st.K.Statuses(), store.Query{})
		if err != nil {
			return sn, c.unavailable(err)
		}
		for _, p := range pairs {
			var st model.EndpointStatus
			if store.Decode(p, &st) == nil && st.EndpointID != "" {
				sn.Statuses[st.EndpointID] = st
			}
		}
	}
	if parts&viewHostStats != 0 {
		if err := c.addHostStats(ctx, sn.Hosts); err != nil {
			return sn, err
		}
	}
	return sn, nil
}

// addHostStats fills hosts' last sync and flow counts from their reports.
func (c *Controller) addHostStats(ctx context.Context, hosts []model.Host) error {
	byName := map[string]*model.Host{}
	for i := range hosts {
		byName[hosts[i].Name] = &hosts[i]
	}
	stats, _, err := c.st.B.List(ctx, c.st.K.Stats(), store.Query{})
	if err != nil {
		return c.unavailable(err)
	}
	totals := map[string]int{}
	for _, p := range stats {
		var hs store.HostStats
		name := p.Key[strings.LastIndexByte(p.Key, '/')+1:]
		if h := byName[name]; h != nil && store.Decode(p, &hs) == nil {
			h.LastSync = hs.LastSync
			totals[name] = hs.Flows
		}
	}
	applied, _, err := c.st.B.List(ctx, c.st.K.AppliedPrefix(), store.Query{})
	if err != nil {
		return c.unavailable(err)
	}
	for _, p := range applied {
		parts := store.Tail(p.Key, c.st.K.AppliedPrefix())
		var a store.Applied
		if len(parts) != 2 || store.Decode(p, &a) != nil {
			continue
		}
		if h := byName[parts[0]]; h != nil {
			if h.Flows == nil {
				h.Flows = map[string]int{}
			}
			h.Flows[parts[1]] = a.Flows
			h.Generation = max(h.Generation, a.Index)
		}
	}
	for name, total := range totals {
		h := byName[name]
		sum := 0
		for _, n := range h.Flows {
			sum += n
		}
		if total > sum {
			if h.Flows == nil {
				h.Flows = map[string]int{}
			}
			h.Flows[""] = total - sum // the shared pipeline
		}
	}
	return nil
}

// Network finds a network by full id, name or unique id prefix.
func (sn *Snapshot) Network(ref string) (*model.Network, error) {
	for i := range sn.Networks {
		if sn.Networks[i].ID == ref {
			return &sn.Networks[i], nil
		}
	}
	for i := range sn.Networks {
		if sn.Networks[i].Name == ref {
			return &sn.Networks[i], nil
		}
	}
	var found *model.Network
	if ref != "" {
		for i := range sn.Networks {
			if strings.HasPrefix(sn.Networks[i].ID, ref) {
				if found != nil {
					return nil, errorf(ErrInvalid, "network %s is ambiguous (%s and %s)", ref, model.ShortID(found.ID), model.ShortID(sn.Networks[i].ID))
				}
				found = &sn.Networks[i]
			}
		}
	}
	if found == nil {
		return nil, errorf(ErrNotFound, "network %s not found", ref)
	}
	return found, nil
}

// EndpointsOf lists the endpoints of a network.
func (sn *Snapshot) EndpointsOf(netID string) []model.Endpoint {
	var out []model.Endpoint
	for _, ep := range sn.Endpoints {
		if ep.NetworkID == netID {
			out = append(out, ep)
		}
	}
	return out
}

// Host finds a registered host.
func (sn *Snapshot) Host(name string) (*model.Host, bool) {
	for i := range sn.Hosts {
		if sn.Hosts[i].Name == name {
			return &sn.Hosts[i], true
		}
	}
	return nil, false
}

// view renders an endpoint with its status, when the view has it.
func (sn *Snapshot) view(ep model.Endpoint) *model.EndpointView {
	v := &model.EndpointView{Endpoint: ep}
	if n, err := sn.Network(ep.NetworkID); err == nil {
		v.NetworkName = n.Name
	}
	if st, ok := sn.Statuses[ep.ID]; ok {
		v.Status = &st
	}
	return v
}
