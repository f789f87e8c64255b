package ovsagent

import (
	"context"
	"errors"
	"net/netip"
	"reflect"
	"time"

	"github.com/ovsnet/ovsnet/flows"
	"github.com/ovsnet/ovsnet/internal/store"
	"github.com/ovsnet/ovsnet/model"
	"github.com/ovsnet/ovsnet/ovsagent/vswitch"
)

// reconciler is the agent's level-triggered core. A full reconcile reads
// the flow table back from OVS and applies the whole difference; the
// others compare the new desired state with the last applied one (by
// pointer: see Desired), recompute the flows of the owners that changed
// and send only their difference, in one bundle. The local side — veths,
// OVSDB ports, internal ports, nftables — is looked at only when a local
// endpoint or network changed, on request, and on full reconciles.
// Everything here runs on the reconcile loop's goroutine.
type reconciler struct {
	a *Agent

	applied *Desired
	fs      *flowState
	// peers counts, per tunnel peer address, the remote endpoints behind it.
	peers map[netip.Addr]int

	bridgeOK     bool
	planned      flows.OFPorts
	internalDone map[string]string
	// newPeers are the tunnel peers this reconcile added.
	newPeers []netip.Addr
	// remoteChanged are the networks where an endpoint of another host
	// changed since the last report: their peers may be waiting for it.
	remoteChanged map[string]bool
	// appliedSent is what was last reported per network.
	appliedSent map[string]store.Applied
	statsSent   store.HostStats
}

func newReconciler(a *Agent) *reconciler {
	return &reconciler{a: a, internalDone: map[string]string{}, appliedSent: map[string]store.Applied{}, remoteChanged: map[string]bool{}}
}

// reconcile makes OVS and the kernel match d. It returns whether it should
// run again soon (something was not ready yet).
func (r *reconciler) reconcile(ctx context.Context, d *Desired, full, local bool) (ReconcileResult, bool) {
	a := r.a
	res := ReconcileResult{Full: full || r.fs == nil}
	for _, idx := range d.Index {
		res.Generation = max(res.Generation, idx)
	}
	phase := newPhases()
	defer func() { a.log.Debug("reconcile phases", "took", phase.String()) }()
	if full || !r.bridgeOK {
		if err := a.sw.EnsureBridge(ctx, vswitch.BridgeConfig{Name: a.cfg.Bridge, DatapathType: a.cfg.DatapathType}); err != nil {
			r.bridgeOK = false
			res.Err = err
			return res, true
		}
		r.bridgeOK = true
	}
	phase.mark("bridge")

	// What changed since the last applied state.
	var ch changes
	if !res.Full && r.applied == nil {
		res.Full = true
	}
	// only names the local endpoints to plumb: all of them when asked to
	// look (a trigger, a full reconcile), else those that changed.
	var only map[string]bool
	if !res.Full {
		ch = diffDesired(r.applied, d)
		if !local && ch.local {
			only = map[string]bool{}
			for id := range ch.endpoints {
				only[id] = true
			}
		}
		local = local || ch.local
	}
	local = local || res.Full

	var hs *model.HostState
	var desiredPorts []flows.Port
	ofports := r.planned
	prevPorts := r.planned
	if local {
		hs = localState(d)
		desiredPorts = a.presentPorts(hs, flows.DesiredPorts(*hs, a.cfg.Pipeline))
		var err error
		if ofports, err = r.planOFPorts(ctx, desiredPorts, full); err != nil {
			res.Err = err
			return res, true
		}
	}
	phase.mark("plan")

	// Flows, computed before anything is sent.
	var diff flows.Diff
	var err error
	if res.Full {
		diff, err = r.fullDiff(ctx, d, ofports, &res)
		if err != nil {
			res.Err = err
			return res, true
		}
	} else {
		if local {
			ch.addLocal(d, prevPorts, ofports)
		}
		res.Owners = r.incremental(d, ch, ofports, &diff)
	}
	res.Flows = r.fs.count()
	res.Tables = r.fs.tables()
	phase.mark("compute")

	flowsDone := make(chan error, 1)
	go func() { flowsDone <- a.of.Apply(ctx, diff) }()

	var failed map[string]error
	again := false
	if local {
		var perr error
		failed, again, perr = a.syncPorts(ctx, hs, desiredPorts, ofports, full, only, r.internalDone, phase)
		res.Err = errors.Join(res.Err, perr)
	}
	phase.mark("ports")
	if err := <-flowsDone; err != nil {
		res.Err = errors.Join(res.Err, err)
		r.fs = nil // what OVS holds is unknown: the next reconcile is full
		return res, true
	}
	res.Added, res.Deleted = len(diff.Add), len(diff.Delete)+len(diff.Purge)
	r.applied = d
	phase.mark("flows")
	if res.Full && len(diff.Add) > 0 {
		// Flows were missing: OVS may have restarted, and lost its tunnel
		// neighbours with them.
		r.newPeers = r.newPeers[:0]
		for ip := range r.peers {
			r.newPeers = append(r.newPeers, ip)
		}
	}
	if len(r.newPeers) > 0 && a.peers != nil {
		pctx, cancel := context.WithTimeout(ctx, peerResolveTimeout)
		if err := a.peers.EnsurePeers(pctx, r.newPeers); err != nil {
			a.log.Warn("new tunnel peers not resolved yet; their first packets may be lost", "peers", r.newPeers, "err", err)
		}
		cancel()
		phase.mark("peers")
	}
	r.newPeers = r.newPeers[:0]

	if local {
		if err := a.report(ctx, hs, failed, ofports, desiredPorts); err != nil {
			res.Err = errors.Join(res.Err, err)
			again = true
		}
	}
	if err := r.reportApplied(ctx, d, res.Full); err != nil {
		res.Err = errors.Join(res.Err, err)
		again = true
	}
	phase.mark("report")
	return res, again || res.Err != nil
}

// peerResolveTimeout bounds the wait for a new tunnel peer's next hop.
const peerResolveTimeout = time.Second

// changes is what differs between two desired states.
type changes struct {
	// networks whose own flows must be recomputed (added, changed or gone).
	networks map[string]bool
	// endpoints to recompute, by id, with their network.
	endpoints map[string]string
	// local says something of this host's own changed (its endpoints or
	// its networks): ports and plumbing must be looked at.
	local bool
}

// diffDesired compares by pointer: an unchanged network keeps its inner
// endpoint map, an unchanged endpoint its record.
func diffDesired(prev, d *Desired) changes {
	ch := changes{networks: map[string]bool{}, endpoints: map[string]string{}}
	touch := func(netID string, ep *model.Endpoint) {
		ch.endpoints[ep.ID] = netID
		if ep.Host == d.Host {
			ch.local = true
		}
	}
	for id, n := range prev.Networks {
		if d.Networks[id] == nil {
			ch.networks[id] = true
			ch.local = ch.local || n.Host == d.Host
			for _, ep := range prev.Endpoints[id] {
				touch(id, ep)
			}
		}
	}
	for id, n := range d.Networks {
		old := prev.Networks[id]
		if old != n {
			ch.networks[id] = true
			ch.local = true // a new network may need a gateway port
			for _, ep := range d.Endpoints[id] {
				touch(id, ep)
			}
			for _, ep := range prev.Endpoints[id] {
				touch(id, ep)
			}
			continue
		}
		oldEps, newEps := prev.Endpoints[id], d.Endpoints[id]
		if sameMap(oldEps, newEps) {
			continue
		}
		for epID, ep := range newEps {
			if oldEps[epID] != ep {
				touch(id, ep)
			}
		}
		for epID, ep := range oldEps {
			if newEps[epID] == nil {
				touch(id, ep)
			}
		}
	}
	return ch
}

// sameMap says whether two maps are the same map (not merely equal).
func sameMap(a, b map[string]*model.Endpoint) bool {
	return reflect.ValueOf(a).UnsafePointer() == reflect.ValueOf(b).UnsafePointer()
}

// addLocal marks the local owners whose flows depend on port numbers that
// the local pass changed: the local endpoints whose port got another number
// (or none before), and this host's own bridge networks when any port that
// is not an endpoint's did. An endpoint whose port kept its number keeps
// its flows, so attaching one container costs the same with one or with a
// thousand others on the host.
func (ch *changes) addLocal(d *Desired, before, after flows.OFPorts) {
	changed := func(name string) bool {
		b, had := before[name]
		return !had || b != after[name]
	}
	endpointPorts := map[string]bool{}
	for id := range d.Networks {
		for _, ep := range d.local(id) {
			name := ep.PortName()
			endpointPorts[name] = true
			if changed(name) {
				ch.endpoints[ep.ID] = id
			}
		}
	}
	otherChanged := before == nil
	for name := range after {
		if !endpointPorts[name] && changed(name) {
			otherChanged = true
		}
	}
	for name := range before {
		if _, still := after[name]; !still && !endpointPorts[name] {
			otherChanged = true
		}
	}
	if otherChanged {
		for id, n := range d.Networks {
			if n.Host == d.Host {
				ch.networks[id] = true
			}
		}
	}
}

// incremental recomputes the flows of the changed owners into diff and
// returns how many owners it looked at.
func (r *reconciler) incremental(d *Desired, ch changes, ofports flows.OFPorts, diff *flows.Diff) int {
	cfg := r.a.cfg.Pipeline
	for id := range ch.networks {
		var fs []flows.Flow
		if n := d.Networks[id]; n != nil {
			fs = flows.NetworkFlows(d.Host, n, cfg, ofports)
		}
		r.fs.set(owner{kind: ownerNetwork, id: id, net: id}, fs, diff)
	}
	for epID, netID := range ch.endpoints {
		if ep := d.Endpoints[netID][epID]; ep == nil || ep.Host != d.Host {
			r.remoteChanged[netID] = true
		}
		o := owner{kind: ownerEndpoint, id: epID, net: netID}
		var prevEp *model.Endpoint
		if r.applied != nil {
			prevEp = r.applied.Endpoints[netID][epID]
		}
		n, ep := d.Networks[netID], d.Endpoints[netID][epID]
		var fs []flows.Flow
		if n != nil && ep != nil {
			fs = flows.EndpointFlows(d.Host, n, ep, ep.TunnelIP, cfg, ofports)
		}
		r.fs.set(o, fs, diff)
		r.peerRef(d.Host, prevEp, -1, diff)
		r.peerRef(d.Host, ep, +1, diff)
	}
	return len(ch.networks) + len(ch.endpoints)
}

// peerRef counts a remote endpoint for or against its tunnel peer; a peer
// gets its admission flow with its first endpoint and loses it with the
// last.
func (r *reconciler) peerRef(host string, ep *model.Endpoint, delta int, diff *flows.Diff) {
	if ep == nil || ep.Host == host || !ep.TunnelIP.Is4() {
		return
	}
	ip := ep.TunnelIP
	before := r.peers[ip]
	r.peers[ip] = before + delta
	after := r.peers[ip]
	if after <= 0 {
		delete(r.peers, ip)
	}
	o := owner{kind: ownerPeer, id: ip.String()}
	switch {
	case before <= 0 && after > 0:
		r.fs.set(o, flows.PeerFlows(ip, r.a.cfg.Pipeline), diff)
		r.newPeers = append(r.newPeers, ip)
	case before > 0 && after <= 0:
		r.fs.set(o, nil, diff)
	}
}

// fullDiff recomputes every owner's flows and diffs them against what OVS
// holds.
func (r *reconciler) fullDiff(ctx context.Context, d *Desired, ofports flows.OFPorts, res *ReconcileResult) (flows.Diff, error) {
	cfg := r.a.cfg.Pipeline
	fs := newFlowState()
	var scratch flows.Diff
	fs.set(owner{kind: ownerPipeline}, flows.PipelineFlows(cfg), &scratch)
	r.peers = map[netip.Addr]int{}
	for id, n := range d.Networks {
		fs.set(owner{kind: ownerNetwork, id: id, net: id}, flows.NetworkFlows(d.Host, n, cfg, ofports), &scratch)
		for epID, ep := range d.Endpoints[id] {
			fs.set(owner{kind: ownerEndpoint, id: epID, net: id}, flows.EndpointFlows(d.Host, n, ep, ep.TunnelIP, cfg, ofports), &scratch)
			if ep.Host != d.Host && ep.TunnelIP.Is4() {
				r.peers[ep.TunnelIP]++
			}
		}
	}
	for ip := range r.peers {
		fs.set(owner{kind: ownerPeer, id: ip.String()}, flows.PeerFlows(ip, cfg), &scratch)
	}
	res.Owners = len(fs.byOwner)
	want := fs.all()
	installed, err := r.a.of.Dump(ctx)
	if err != nil {
		return flows.Diff{}, err
	}
	r.fs = fs
	return flows.ComputeDiff(want, installed), nil
}

// planOFPorts reuses the last plan when every desired port has a number in
// it, and asks OVSDB otherwise and on full syncs.
func (r *reconciler) planOFPorts(ctx context.Context, desired []flows.Port, full bool) (flows.OFPorts, error) {
	if !full && r.planned != nil {
		reuse := flows.OFPorts{}
		for _, p := range desired {
			n, ok := r.planned[p.Name]
			if !ok {
				reuse = nil
				break
			}
			reuse[p.Name] = n
		}
		if reuse != nil {
			// Forget ports no longer desired: one that comes back is
			// re-created in OVSDB and may get another number.
			r.planned = reuse
			return reuse, nil
		}
	}
	ofports, err := r.a.sw.PlanOFPorts(ctx, desired)
	if err != nil {
		r.planned = nil
		return nil, err
	}
	r.planned = ofports
	return ofports, nil
}

// reportApplied tells the controller, per network, up to which index this
// host has applied its endpoints (connects of other hosts' endpoints wait
// on it), and now and then the host's stats. A change of this host's own
// endpoints needs no such report (its status is the answer): it waits for
// the next change of another host's, or the next full reconcile.
func (r *reconciler) reportApplied(ctx context.Context, d *Desired, full bool) error {
	cl := r.a.cl
	var errs []error
	for id, idx := range d.Index {
		a := store.Applied{Index: idx, Flows: r.fs.perNet[id]}
		prev, ok := r.appliedSent[id]
		if ok && (prev.Index == a.Index || !(full || r.remoteChanged[id])) && (!full || prev.Flows == a.Flows) {
			continue
		}
		if err := cl.ReportApplied(ctx, id, a); err != nil {
			errs = append(errs, err)
			continue
		}
		r.appliedSent[id] = a
		delete(r.remoteChanged, id)
	}
	for id := range r.appliedSent {
		if _, ok := d.Index[id]; !ok {
			if err := cl.DeleteApplied(ctx, id); err != nil {
				errs = append(errs, err)
				continue
			}
			delete(r.appliedSent, id)
		}
	}
	if full {
		s := store.HostStats{LastSync: time.Now().UTC(), Flows: r.fs.count(), Networks: len(d.Networks)}
		if s.Flows != r.statsSent.Flows || s.Networks != r.statsSent.Networks || s.LastSync.Sub(r.statsSent.LastSync) > time.Minute {
			if err := cl.ReportStats(ctx, s); err != nil {
				errs = append(errs, err)
			} else {
				r.statsSent = s
			}
		}
	}
	return errors.Join(errs...)
}

// localState is the host state of what is local: every network present and
// only the local endpoints (ports, plumbing, kernel rules need no more).
func localState(d *Desired) *model.HostState {
	st := &model.HostState{Host: d.Host}
	for id, n := range d.Networks {
		st.Networks = append(st.Networks, *n)
		for _, ep := range d.local(id) {
			st.Endpoints = append(st.Endpoints, *ep)
		}
	}
	model.SortNetworks(st.Networks)
	model.SortEndpoints(st.Endpoints)
	return st
}
