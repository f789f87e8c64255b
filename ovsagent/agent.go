package ovsagent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"time"

	"github.com/ovsnet/ovsnet/flows"
	"github.com/ovsnet/ovsnet/model"
)

// Config configures an agent.
type Config struct {
	// Host is this host's name in the cluster.
	Host string
	// TunnelIP is this host's underlay address (its VXLAN endpoint).
	TunnelIP    netip.Addr
	UnderlayMTU int
	// Bridge is the integration bridge, DatapathType its OVS datapath
	// ("system", or "netdev" for the userspace datapath).
	Bridge       string
	DatapathType string
	// StateDir keeps the last compiled state, so a restarted agent can
	// reconcile even while Consul is unreachable.
	StateDir string
	// Pipeline is the host-level flow configuration.
	Pipeline flows.Config
	// Resync is the anti-entropy period: a full reconcile runs at least this
	// often even when nothing was announced.
	Resync  time.Duration
	Version string
	Logger  *slog.Logger
	// WrapCluster, when set, wraps the agent's link to Consul (features
	// count its errors).
	WrapCluster func(Cluster) Cluster
}

// Agent makes one host's OVS match the controller's compiled state.
type Agent struct {
	cfg  Config
	sw   Switch
	of   FlowTable
	pl   Plumber
	kern Kernel
	cl   Cluster
	log  *slog.Logger

	trigger chan struct{}
	started time.Time

	mu       sync.Mutex
	state    *model.HostState
	reported map[string]model.EndpointStatus // last written per endpoint
	synced   time.Time
	flowsPer map[string]int

	// bridgeOK says the last bridge check passed; planned is the last
	// OpenFlow port plan; internalDone what each internal port was last
	// configured with. All three are only touched by the reconcile loop.
	bridgeOK     bool
	planned      flows.OFPorts
	internalDone map[string]string

	// installed is what the flow table holds, as far as the agent knows:
	// the last dump plus the diffs applied since; nil when unknown.
	installed []flows.InstalledFlow

	// Reconciled, when set, is called after every reconcile (tests), and
	// so is every function registered with OnReconciled (metrics).
	Reconciled func(ReconcileResult)
	reconciled []func(ReconcileResult)
	// hostChanged asks registerLoop to rewrite the host record now (its
	// flow counts or applied generation changed) rather than at the next
	// refresh.
	hostChanged chan struct{}
	// applied is the generation of the last state fully applied.
	applied uint64

	extensions []Extension
	watchers   []func(*model.HostState)
}

// Extension is a feature that runs beside the reconciler with access to the
// agent (the Docker plugin, the DNS resolver, trace requests, metrics).
// Run blocks until ctx ends; an error ends the agent.
type Extension interface {
	Name() string
	Run(ctx context.Context, a *Agent) error
}

// AddExtension registers an extension; call before Run. An extension that
// also has a method OnState(*model.HostState) is registered as a state
// watcher too (see OnState), so features built before the agent get every
// state, the cached one included.
func (a *Agent) AddExtension(e Extension) {
	a.extensions = append(a.extensions, e)
	if w, ok := e.(interface{ OnState(*model.HostState) }); ok {
		a.OnState(w.OnState)
	}
	if r, ok := e.(interface{ OnReconciled(ReconcileResult) }); ok {
		a.OnReconciled(r.OnReconciled)
	}
}

// OnReconciled registers f to be called after every reconcile, from the
// reconcile loop (f must not block). Call before Run.
func (a *Agent) OnReconciled(f func(ReconcileResult)) { a.reconciled = append(a.reconciled, f) }

// OnState registers f to be called with every new desired state (and the
// cached one at start, when registered before Run). f must not block.
func (a *Agent) OnState(f func(*model.HostState)) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.watchers = append(a.watchers, f)
}

// State is the current desired state, nil before any is known. The value is
// never modified after it is published: callers may keep it.
func (a *Agent) State() *model.HostState {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.state
}

// HostName is this host's name in the cluster.
func (a *Agent) HostName() string { return a.cfg.Host }

// Config returns the agent's configuration.
func (a *Agent) Config() Config { return a.cfg }

func (a *Agent) notify(st *model.HostState) {
	a.mu.Lock()
	ws := append([]func(*model.HostState){}, a.watchers...)
	a.mu.Unlock()
	for _, f := range ws {
		f(st)
	}
}

// waitReady waits until this agent has reported endpoint id ready, or ctx
// ends.
func (a *Agent) waitReady(ctx context.Context, id string) error {
	for {
		a.mu.Lock()
		st, ok := a.reported[id]
		a.mu.Unlock()
		if ok && st.State == model.EndpointReady {
			return nil
		}
		if ok && st.State == model.EndpointError {
			return errors.New(st.Error)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(2 * time.Millisecond):
		}
	}
}

// ReconcileResult describes one reconcile.
type ReconcileResult struct {
	Generation uint64
	Flows      int
	Added      int
	Deleted    int
	Duration   time.Duration
	Err        error
	// Tables counts the desired flows by table name.
	Tables map[string]int
}

// New assembles an agent from its edges.
func New(cfg Config, sw Switch, of FlowTable, pl Plumber, kern Kernel, cl Cluster) *Agent {
	if cfg.Resync == 0 {
		cfg.Resync = 10 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	cfg.Pipeline.UnderlayMTU = cfg.UnderlayMTU
	if cfg.WrapCluster != nil {
		cl = cfg.WrapCluster(cl)
	}
	return &Agent{cfg: cfg, sw: sw, of: of, pl: pl, kern: kern, cl: cl, log: cfg.Logger,
		trigger: make(chan struct{}, 1), hostChanged: make(chan struct{}, 1), reported: map[string]model.EndpointStatus{}, internalDone: map[string]string{}, started: time.Now().UTC()}
}

// Trigger asks for a reconcile soon; requests coalesce.
func (a *Agent) Trigger() {
	select {
	case a.trigger <- struct{}{}:
	default:
	}
}

func (a *Agent) statePath() string { return filepath.Join(a.cfg.StateDir, "state.json") }

// loadCachedState reads the state saved by a previous run.
func (a *Agent) loadCachedState() {
	b, err := os.ReadFile(a.statePath())
	if err != nil {
		return
	}
	var st model.HostState
	if err := json.Unmarshal(b, &st); err != nil || st.Host != a.cfg.Host {
		a.log.Warn("ignoring unreadable cached state", "path", a.statePath(), "err", err)
		return
	}
	a.mu.Lock()
	a.state = &st
	a.mu.Unlock()
	a.notify(&st)
	a.log.Info("loaded cached state", "generation", st.Generation, "endpoints", len(st.Endpoints))
}

func (a *Agent) saveState(st *model.HostState) {
	b, err := json.Marshal(st)
	if err != nil {
		return
	}
	if err := os.MkdirAll(a.cfg.StateDir, 0o700); err != nil {
		a.log.Warn("saving state", "err", err)
		return
	}
	tmp := a.statePath() + ".tmp"
	if err := os.WriteFile(tmp, b, 0o600); err == nil {
		err = os.Rename(tmp, a.statePath())
		if err != nil {
			a.log.Warn("saving state", "err", err)
		}
	}
}

// SetState installs a new desired state (from Consul) and triggers a
// reconcile.
func (a *Agent) SetState(st *model.HostState) {
	a.mu.Lock()
	same := a.state != nil && reflect.DeepEqual(*a.state, *st)
	if !same {
		a.state = st
	}
	a.mu.Unlock()
	if !same {
		a.notify(st)
		a.Trigger()
		a.saveState(st)
	}
}

// Run reconciles until ctx ends. It starts from the cached state, so the
// data plane is right before Consul answers, and never wipes the bridge.
func (a *Agent) Run(ctx context.Context) error {
	a.loadCachedState()
	if err := a.sw.EnsureBridge(ctx, BridgeConfig{Name: a.cfg.Bridge, DatapathType: a.cfg.DatapathType}); err != nil {
		return fmt.Errorf("integration bridge: %w", err)
	}
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); a.watchLoop(ctx) }()
	go func() { defer wg.Done(); a.registerLoop(ctx) }()
	wg.Add(1)
	go func() {
		defer wg.Done()
		if err := a.pl.WatchEndpointPorts(ctx, a.Trigger); err != nil && ctx.Err() == nil {
			a.log.Warn("not watching container interfaces; relying on resyncs", "err", err)
		}
	}()
	for _, e := range a.extensions {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := e.Run(ctx, a); err != nil && ctx.Err() == nil {
				a.log.Error("extension failed", "extension", e.Name(), "err", err)
				cancel(fmt.Errorf("%s: %w", e.Name(), err))
			}
		}()
	}
	a.Trigger()
	a.reconcileLoop(ctx)
	wg.Wait()
	if err := context.Cause(ctx); err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	return nil
}

func (a *Agent) reconcileLoop(ctx context.Context) {
	resync := time.NewTimer(a.cfg.Resync)
	defer resync.Stop()
	retry := time.NewTimer(time.Hour)
	retry.Stop()
	defer retry.Stop()
	for {
		full := false
		select {
		case <-ctx.Done():
			return
		case <-a.trigger:
		case <-resync.C:
			full = true
		case <-retry.C:
			full = true
		}
		a.mu.Lock()
		st := a.state
		a.mu.Unlock()
		if st == nil {
			resync.Reset(a.cfg.Resync)
			continue // nothing known yet: leave OVS exactly as it is
		}
		start := time.Now()
		res, again := a.reconcile(ctx, st, full)
		res.Duration = time.Since(start)
		if res.Err != nil && ctx.Err() == nil {
			a.log.Warn("reconcile failed; retrying", "err", res.Err, "generation", st.Generation)
		} else if res.Added+res.Deleted > 0 {
			a.log.Info("reconciled", "generation", st.Generation, "flows", res.Flows, "added", res.Added,
				"deleted", res.Deleted, "took", res.Duration.Round(time.Microsecond))
		}
		if a.Reconciled != nil {
			a.Reconciled(res)
		}
		for _, f := range a.reconciled {
			f(res)
		}
		if res.Err != nil || again {
			retry.Reset(200 * time.Millisecond)
		}
		resync.Reset(a.cfg.Resync)
	}
}

// reconcile makes OVS and the kernel match st. It returns whether it should
// run again soon (something was not ready yet).
//
// Flows and ports are independent once port numbers are planned, so the
// flow bundle (one ovs-ofctl run, the slowest step) goes out while
// containers are plumbed and OVSDB is updated: flows may name ports that
// appear a few milliseconds later.
func (a *Agent) reconcile(ctx context.Context, st *model.HostState, full bool) (ReconcileResult, bool) {
	res := ReconcileResult{Generation: st.Generation}
	phase := newPhases()
	defer func() { a.log.Debug("reconcile phases", "took", phase.String()) }()
	// The bridge is checked on full syncs (start, anti-entropy, retries):
	// someone changing it by hand is repaired within the resync period, and
	// the reconciles that follow a state change stay short.
	if full || !a.bridgeOK {
		if err := a.sw.EnsureBridge(ctx, BridgeConfig{Name: a.cfg.Bridge, DatapathType: a.cfg.DatapathType}); err != nil {
			a.bridgeOK = false
			res.Err = err
			return res, true
		}
		a.bridgeOK = true
	}
	phase.mark("bridge")
	desired := a.presentPorts(st, flows.DesiredPorts(*st, a.cfg.Pipeline))
	ofports, err := a.planOFPorts(ctx, desired, full)
	if err != nil {
		res.Err = err
		return res, true
	}
	phase.mark("plan")

	want := flows.Build(*st, a.cfg.Pipeline, ofports)
	res.Flows = len(want)
	res.Tables = map[string]int{}
	for _, f := range want {
		res.Tables[f.Table.Name]++
	}
	flowsDone := make(chan error, 1)
	go func() { flowsDone <- a.syncFlows(ctx, want, full, &res) }()

	failed, again, err := a.syncPorts(ctx, st, desired, ofports, full, phase)
	res.Err = errors.Join(res.Err, err)
	phase.mark("ports")
	if err := <-flowsDone; err != nil {
		res.Err = errors.Join(res.Err, err)
		again = true
	}
	phase.mark("flows")

	a.mu.Lock()
	a.synced = time.Now().UTC()
	per := flowsPerNetwork(want, st)
	changed := !maps.Equal(per, a.flowsPer)
	a.flowsPer = per
	if res.Err == nil && st.Generation != a.applied {
		// Controllers wait for peers to have applied a generation before
		// they call an endpoint reachable from everywhere.
		a.applied = st.Generation
		changed = true
	}
	a.mu.Unlock()
	if changed {
		select { // the UI shows flow counts, connects wait on generations: publish now
		case a.hostChanged <- struct{}{}:
		default:
		}
	}
	if err := a.report(ctx, st, failed, ofports, desired); err != nil {
		res.Err = errors.Join(res.Err, err)
		again = true
	}
	phase.mark("report")
	return res, again || res.Err != nil
}

// publishRules lists the kernel DNATs of this host's published ports:
// overlay endpoints through their transit address, bridge endpoints
// directly (the kernel routes to them).
func (a *Agent) publishRules(st *model.HostState, ofports flows.OFPorts) []PublishRule {
	nets := map[string]*model.Network{}
	for i := range st.Networks {
		nets[st.Networks[i].ID] = &st.Networks[i]
	}
	var out []PublishRule
	for _, ep := range st.Endpoints {
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
			out = append(out, PublishRule{Proto: p.Proto, HostPort: p.HostPort, To: netip.AddrPortFrom(to, p.Port)})
		}
	}
	return out
}

// planOFPorts reuses the last plan when every desired port has a number in
// it (a change elsewhere in the cluster adds no port here), and asks OVSDB
// otherwise and on full syncs.
func (a *Agent) planOFPorts(ctx context.Context, desired []flows.Port, full bool) (flows.OFPorts, error) {
	if !full && a.planned != nil {
		reuse := flows.OFPorts{}
		for _, p := range desired {
			n, ok := a.planned[p.Name]
			if !ok {
				reuse = nil
				break
			}
			reuse[p.Name] = n
		}
		if reuse != nil {
			// Forget ports no longer desired: one that comes back is
			// re-created in OVSDB and may get another number.
			a.planned = reuse
			return reuse, nil
		}
	}
	ofports, err := a.sw.PlanOFPorts(ctx, desired)
	if err != nil {
		a.planned = nil
		return nil, err
	}
	a.planned = ofports
	return ofports, nil
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

// syncFlows applies the difference between want and the flow table.
func (a *Agent) syncFlows(ctx context.Context, want []flows.Flow, full bool, res *ReconcileResult) error {
	// Each ovs-ofctl run costs 15-25 ms here, so the table is read back only
	// on full syncs (start, anti-entropy, after a failure); in between, the
	// agent diffs against what it last applied.
	installed := a.installed
	if full || installed == nil {
		var err error
		if installed, err = a.of.Dump(ctx); err != nil {
			a.installed = nil
			return err
		}
	}
	d := flows.ComputeDiff(want, installed)
	if err := a.of.Apply(ctx, d); err != nil {
		a.installed = nil
		return err
	}
	a.installed = asInstalled(want)
	res.Added, res.Deleted = len(d.Add), len(d.Delete)
	return nil
}

// syncPorts plumbs local containers, removes stale ones, makes OVSDB's ports
// match and configures the kernel side. It returns the endpoints that could
// not be plumbed and whether something was not ready yet.
func (a *Agent) syncPorts(ctx context.Context, st *model.HostState, desired []flows.Port, ofports flows.OFPorts, full bool, phase *phases) (map[string]error, bool, error) {
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
				a.log.Warn("removing stale container interface", "port", p.Name, "err", err)
			} else {
				a.log.Info("removed container interface", "port", p.Name)
			}
		}
	}

	var ports []flows.Port
	rules := KernelRules{EgressPort: a.cfg.Pipeline.EgressPortName, EgressSource: a.cfg.Pipeline.EgressOVS}
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
		if full || a.internalDone[p.Name] != key {
			ready, err := a.pl.ConfigureInternal(p.Name, p.Addrs, p.Routes, p.MTU)
			if err != nil {
				errs = append(errs, err)
			}
			if !ready {
				again = true
			}
			if ready && err == nil {
				a.internalDone[p.Name] = key
			} else {
				delete(a.internalDone, p.Name)
			}
		}
		if p.Kind == flows.PortGateway {
			rules.Gateways = append(rules.Gateways, GatewayRule{Port: p.Name, Subnet: p.Addrs[0].Masked()})
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

// asInstalled is how OVS reads back flows the agent installed.
func asInstalled(fs []flows.Flow) []flows.InstalledFlow {
	out := make([]flows.InstalledFlow, 0, len(fs))
	for _, f := range fs {
		if in, err := flows.ParseDumpLine(f.String()); err == nil {
			out = append(out, in)
		}
	}
	return out
}

// flowsPerNetwork counts desired flows by network id ("" for shared ones).
func flowsPerNetwork(fs []flows.Flow, st *model.HostState) map[string]int {
	byVNI := map[uint32]string{}
	for _, n := range st.Networks {
		byVNI[n.VNI] = n.ID
	}
	out := map[string]int{}
	for _, f := range fs {
		out[byVNI[f.Cookie.Object()]]++
	}
	return out
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

// watchLoop follows the compiled state in Consul.
func (a *Agent) watchLoop(ctx context.Context) {
	var index uint64
	backoff := 100 * time.Millisecond
	failing := false
	for ctx.Err() == nil {
		st, idx, err := a.cl.WatchState(ctx, index)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			if !failing {
				a.log.Warn("cannot read state from Consul; keeping the data plane as it is", "err", err)
				failing = true
			}
			index = 0
			select {
			case <-time.After(backoff):
			case <-ctx.Done():
				return
			}
			backoff = min(backoff*2, 2*time.Second)
			continue
		}
		if failing {
			a.log.Info("Consul is back")
			failing = false
		}
		backoff = 100 * time.Millisecond
		if idx < index || idx == 0 {
			index = 0
		} else {
			index = idx
		}
		if st != nil && st.Host == a.cfg.Host {
			a.SetState(st)
		}
	}
}

// registerLoop keeps the host registered (alive) and its record current.
func (a *Agent) registerLoop(ctx context.Context) {
	// Statuses written by a previous process are ours to keep in sync.
	if prev, err := a.cl.Statuses(ctx, a.cfg.Host); err == nil {
		a.mu.Lock()
		for id, s := range prev {
			if _, ok := a.reported[id]; !ok {
				a.reported[id] = s
			}
		}
		a.mu.Unlock()
		a.Trigger()
	}
	refresh := time.NewTicker(15 * time.Second)
	defer refresh.Stop()
	registered := false
	for ctx.Err() == nil {
		if err := a.cl.Register(ctx, a.hostRecord()); err != nil {
			if registered || ctx.Err() == nil {
				a.log.Warn("registering host failed; retrying", "err", err)
			}
			registered = false
			select {
			case <-time.After(time.Second):
			case <-ctx.Done():
				return
			}
			continue
		}
		if !registered {
			a.log.Info("host registered", "host", a.cfg.Host, "tunnel_ip", a.cfg.TunnelIP)
			registered = true
		}
		select {
		case <-ctx.Done():
			a.cl.Close()
			return
		case <-a.cl.SessionLost():
			registered = false
		case <-refresh.C:
		case <-a.hostChanged:
		}
	}
}

func (a *Agent) hostRecord() model.Host {
	a.mu.Lock()
	defer a.mu.Unlock()
	h := model.Host{Name: a.cfg.Host, TunnelIP: a.cfg.TunnelIP, UnderlayMTU: a.cfg.UnderlayMTU,
		Version: a.cfg.Version, Started: a.started, LastSync: a.synced, Flows: a.flowsPer}
	h.Generation = a.applied
	return h
}

// phases times the steps of a reconcile, for debug logs.
type phases struct {
	last  time.Time
	steps []string
}

func newPhases() *phases { return &phases{last: time.Now()} }

func (p *phases) mark(name string) {
	now := time.Now()
	p.steps = append(p.steps, fmt.Sprintf("%s=%s", name, now.Sub(p.last).Round(10*time.Microsecond)))
	p.last = now
}

func (p *phases) String() string { return strings.Join(p.steps, " ") }
