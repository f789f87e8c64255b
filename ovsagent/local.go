package ovsagent

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"sort"
	"time"

	"github.com/ovsnet/ovsnet/flows"
	"github.com/ovsnet/ovsnet/model"
	"github.com/ovsnet/ovsnet/ovsagent/hostnet"
)

// The local side of a reconcile: this host's containers, ports and kernel
// rules, and the reports on its endpoints. st holds every network present
// and the local endpoints only.

// publishRules lists the kernel DNATs of this host's published ports:
// overlay endpoints through their transit address, bridge endpoints
// directly (the kernel routes to them).
func (a *Agent) publishRules(st *model.HostState, ofports flows.OFPorts) []hostnet.PublishRule {
	nets := map[string]*model.Network{}
	for i := range st.Networks {
		nets[st.Networks[i].ID] = &st.Networks[i]
	}
	// One rule per host port. A container may publish a port on several of
	// its networks (Podman hands its ports to each): the earliest endpoint
	// gets it, the one whose network holds the container's default route
	// (the first network with a gateway keeps it), so replies leave the
	// way the request came in.
	type choice struct {
		rule hostnet.PublishRule
		ep   *model.Endpoint
	}
	chosen := map[model.PortMapping]choice{}
	for i := range st.Endpoints {
		ep := &st.Endpoints[i]
		n := nets[ep.NetworkID]
		if ep.Host != a.cfg.Host || n == nil || len(ep.Published) == 0 || !n.HasGateway() {
			continue
		}
		to := ep.IPv4.Addr()
		if n.Driver == model.DriverOverlay {
			transit, ok := flows.PublishedAddress(a.cfg.Pipeline, ofports[ep.PortName()])
			if !ok {
				continue
			}
			to = transit
		}
		for _, p := range ep.Published {
			key := model.PortMapping{Proto: p.Proto, HostPort: p.HostPort}
			if c, ok := chosen[key]; ok && !earlier(ep, c.ep) {
				continue
			}
			chosen[key] = choice{hostnet.PublishRule{Proto: p.Proto, HostPort: p.HostPort, To: netip.AddrPortFrom(to, p.Port)}, ep}
		}
	}
	out := make([]hostnet.PublishRule, 0, len(chosen))
	for _, c := range chosen {
		out = append(out, c.rule)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Proto != out[j].Proto {
			return out[i].Proto < out[j].Proto
		}
		return out[i].HostPort < out[j].HostPort
	})
	return out
}

// earlier orders endpoints by creation, then id.
func earlier(a, b *model.Endpoint) bool {
	if !a.Created.Equal(b.Created) {
		return a.Created.Before(b.Created)
	}
	return a.ID < b.ID
}

// presentPorts drops the ports of Docker endpoints whose veth the plugin has
// not created yet (Docker creates the endpoint before it joins a container).
func (a *Agent) presentPorts(st *model.HostState, ports []flows.Port) []flows.Port {
	docker := map[string]bool{}
	for _, ep := range st.Endpoints {
		if ep.Docker && ep.Host == a.cfg.Host {
			docker[ep.PortName()] = true
		}
	}
	if len(docker) == 0 {
		return ports
	}
	out := ports[:0:0]
	for _, p := range ports {
		if docker[p.Name] && !a.pl.Exists(p.Name) {
			continue
		}
		out = append(out, p)
	}
	return out
}

// syncPorts plumbs local containers, removes stale ones, makes OVSDB's ports
// match and configures the kernel side. It returns the endpoints that could
// not be plumbed and whether something was not ready yet.
//
// only, when not nil, names the endpoints to plumb (those that changed);
// the others are plumbed already, unless their last report was a failure.
func (a *Agent) syncPorts(ctx context.Context, st *model.HostState, desired []flows.Port, ofports flows.OFPorts, full bool,
	only map[string]bool, internalDone map[string]string, phase *phases) (map[string]error, bool, error) {
	var errs []error
	again := false
	nets := map[string]*model.Network{}
	for i := range st.Networks {
		nets[st.Networks[i].ID] = &st.Networks[i]
	}
	// Containers first: OVS can only open ports whose devices exist.
	failed := map[string]error{}
	localPorts := map[string]bool{}
	for i := range st.Endpoints {
		ep := &st.Endpoints[i]
		n := nets[ep.NetworkID]
		if ep.Host != a.cfg.Host || n == nil {
			continue
		}
		localPorts[ep.PortName()] = true
		if ep.Docker {
			continue // the Docker plugin creates its veth; Docker plumbs the container side
		}
		if only != nil && !only[ep.ID] && a.reportedReady(ep.ID) {
			continue
		}
		if err := a.pl.EnsureEndpoint(ep, n, n.EndpointMTU(a.cfg.UnderlayMTU)); err != nil {
			failed[ep.ID] = err
		}
	}
	phase.mark("plumb")
	if existing, err := a.pl.EndpointPorts(); err == nil {
		for _, p := range existing {
			if localPorts[p.Name] {
				// Nothing of ovsnet's takes a port down; whoever did, traffic
				// to the container needs it up.
				if !p.Up {
					if err := a.pl.SetUp(p.Name); err != nil {
						errs = append(errs, err)
					} else {
						a.log.Warn("container interface was down; brought it up", "port", p.Name)
					}
				}
				continue
			}
			if err := a.pl.RemoveEndpoint(p.Name); err != nil {
				a.log.Warn("removing a container interface the cluster no longer has", "port", p.Name, "err", err)
			} else {
				a.log.Warn("unplugged a container interface the cluster no longer has (its endpoint was removed, or its host reaped while this agent was away)", "port", p.Name)
			}
		}
	}

	var ports []flows.Port
	rules := hostnet.KernelRules{EgressPort: a.cfg.Pipeline.EgressPortName, EgressSource: a.cfg.Pipeline.EgressOVS}
	for _, p := range desired {
		if p.Kind == flows.PortEndpoint && failed[p.ExternalIDs[flows.ExtEndpointID]] != nil {
			continue
		}
		ports = append(ports, p)
	}
	phase.mark("stale")
	if err := a.sw.SyncPorts(ctx, a.cfg.Bridge, ports, ofports); err != nil {
		return failed, true, err
	}
	phase.mark("ovsdb")
	for _, p := range ports {
		if p.Kind != flows.PortEgress && p.Kind != flows.PortGateway {
			continue
		}
		key := fmt.Sprint(p.Name, p.Addrs, p.Routes, p.MTU)
		if full || internalDone[p.Name] != key {
			ready, err := a.pl.ConfigureInternal(p.Name, p.Addrs, p.Routes, p.MTU)
			if err != nil {
				errs = append(errs, err)
			}
			if !ready {
				again = true
			}
			if ready && err == nil {
				internalDone[p.Name] = key
			} else {
				delete(internalDone, p.Name)
			}
		}
		if p.Kind == flows.PortGateway {
			rules.Gateways = append(rules.Gateways, hostnet.GatewayRule{Port: p.Name, Subnet: p.Addrs[0].Masked()})
		}
	}
	phase.mark("internal")
	rules.Published = a.publishRules(st, ofports)
	if err := a.kern.Apply(ctx, rules); err != nil {
		errs = append(errs, err)
	}
	phase.mark("kernel")
	return failed, again, errors.Join(errs...)
}

// report tells the controller which local endpoints are ready or failed,
// writing only what changed, and forgets endpoints that are gone.
func (a *Agent) report(ctx context.Context, st *model.HostState, failed map[string]error, ofports flows.OFPorts, ports []flows.Port) error {
	var errs []error
	current := map[string]bool{}
	present := map[string]bool{}
	for _, p := range ports {
		present[p.Name] = true
	}
	for _, ep := range st.Endpoints {
		if ep.Host != a.cfg.Host {
			continue
		}
		if ep.Docker && !present[ep.PortName()] {
			continue // not joined yet: nothing to report
		}
		current[ep.ID] = true
		s := model.EndpointStatus{EndpointID: ep.ID, Host: a.cfg.Host, State: model.EndpointReady,
			Port: ep.PortName(), OFPort: ofports[ep.PortName()]}
		if err := failed[ep.ID]; err != nil {
			s.State, s.Error, s.OFPort = model.EndpointError, err.Error(), 0
		}
		a.mu.Lock()
		prev, ok := a.reported[ep.ID]
		a.mu.Unlock()
		if ok && prev.State == s.State && prev.Error == s.Error && prev.OFPort == s.OFPort {
			continue
		}
		s.Updated = time.Now().UTC()
		if err := a.cl.ReportStatus(ctx, s); err != nil {
			errs = append(errs, err)
			continue
		}
		a.mu.Lock()
		a.reported[ep.ID] = s
		a.mu.Unlock()
	}
	a.mu.Lock()
	var gone []string
	for id := range a.reported {
		if !current[id] {
			gone = append(gone, id)
		}
	}
	a.mu.Unlock()
	for _, id := range gone {
		if err := a.cl.DeleteStatus(ctx, a.cfg.Host, id); err != nil {
			errs = append(errs, err)
			continue
		}
		a.mu.Lock()
		delete(a.reported, id)
		a.mu.Unlock()
	}
	return errors.Join(errs...)
}

// reportedReady says whether the endpoint was last reported ready.
func (a *Agent) reportedReady(id string) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.reported[id].State == model.EndpointReady
}
