package ovsagent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/ovsnet/ovsnet/flows"
	"github.com/ovsnet/ovsnet/model"
	"github.com/ovsnet/ovsnet/ovsagent/vswitch"
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
	// StateDir keeps the last desired state, so a restarted agent can
	// reconcile even while Consul is unreachable ("": no cache).
	StateDir string
	// Pipeline is the host-level flow configuration.
	Pipeline flows.Config
	// Resync is the anti-entropy period: a full reconcile (the flow table
	// read back from OVS and diffed) runs at least this often.
	Resync  time.Duration
	Version string
	Logger  *slog.Logger
	// WrapCluster, when set, wraps the agent's link to Consul (features
	// count its errors).
	WrapCluster func(Cluster) Cluster
}

// Agent makes one host's OVS match its desired state: the reconcile loop
// and the parts it drives, each behind a small interface —
//
//	Source     desired state from the cluster (scoped Consul watches)
//	Switch     OVSDB: the bridge and its ports (libovsdb)
//	FlowTable  OpenFlow: the flow table, changed by bundles
//	Plumber    kernel: container veths and internal ports (netlink)
//	Kernel     kernel: NAT and filtering (nftables)
//	Cluster    reports: host record, endpoint status, applied indexes
//
// — and the extensions beside it (DNS, the Docker plugin, traces,
// metrics, tunnel neighbours), which see the desired state through
// OnState and the reconciles through OnReconciled.
type Agent struct {
	cfg  Config
	src  Source
	sw   Switch
	of   FlowTable
	pl   Plumber
	kern Kernel
	cl   Cluster
	log  *slog.Logger

	trigger chan struct{}
	started time.Time
	bootID  string

	mu       sync.Mutex
	desired  *Desired
	local    bool // the local side (ports, plumbing) must be looked at
	full     bool // a full reconcile was asked for
	state    *model.HostState
	flat     flattener                       // renders state, reusing unchanged networks
	reported map[string]model.EndpointStatus // last written per endpoint
	watchers []func(*model.HostState)
	saved    chan struct{}

	rec   *reconciler
	peers PeerResolver

	// Reconciled, when set, is called after every reconcile (tests), and
	// so is every function registered with OnReconciled (metrics).
	Reconciled func(ReconcileResult)
	reconciled []func(ReconcileResult)

	extensions []Extension
}

// Extension is a feature that runs beside the reconciler (the Docker
// plugin, the DNS resolver, trace requests, metrics, tunnel neighbours).
// Run blocks until ctx ends; an error ends the agent.
type Extension interface {
	Name() string
	Run(ctx context.Context) error
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

// State is the current desired state in flat form, nil before any is
// known. The value is never modified after it is published: callers may
// keep it.
func (a *Agent) State() *model.HostState {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.state == nil && a.desired != nil {
		a.state = a.flat.hostState(a.desired)
	}
	return a.state
}

// HostName is this host's name in the cluster.
func (a *Agent) HostName() string { return a.cfg.Host }

// Config returns the agent's configuration.
func (a *Agent) Config() Config { return a.cfg }

// WaitReady waits until this agent has reported endpoint id ready, or ctx
// ends.
func (a *Agent) WaitReady(ctx context.Context, id string) error {
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
	// Generation is the newest Consul index of the state applied.
	Generation uint64
	// Full says the flow table was read back from OVS and diffed whole.
	Full    bool
	Flows   int
	Added   int
	Deleted int
	// Owners is how many owners' flows were recomputed.
	Owners   int
	Duration time.Duration
	Err      error
	// Tables counts the desired flows by table name.
	Tables map[string]int
}

// New assembles an agent from its parts.
func New(cfg Config, src Source, sw Switch, of FlowTable, pl Plumber, kern Kernel, cl Cluster) *Agent {
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
	a := &Agent{cfg: cfg, src: src, sw: sw, of: of, pl: pl, kern: kern, cl: cl, log: cfg.Logger,
		trigger: make(chan struct{}, 1), reported: map[string]model.EndpointStatus{},
		saved: make(chan struct{}, 1), started: time.Now().UTC(), bootID: BootID()}
	a.rec = newReconciler(a)
	if l, ok := of.(interface{ OnLost(func()) }); ok {
		l.OnLost(a.Resync) // OVS went away: read its table back at once
	}
	return a
}

// ResolvePeersWith sets what resolves new tunnel peers before their
// endpoints are reported applied. Call before Run.
func (a *Agent) ResolvePeersWith(p PeerResolver) { a.peers = p }

// Resync asks for a full reconcile soon: the flow table read back and
// everything checked.
func (a *Agent) Resync() {
	a.mu.Lock()
	a.full = true
	a.mu.Unlock()
	a.kick()
}

// Trigger asks for a reconcile soon that also looks at the local side
// (ports and plumbing); requests coalesce.
func (a *Agent) Trigger() {
	a.mu.Lock()
	a.local = true
	a.mu.Unlock()
	a.kick()
}

func (a *Agent) kick() {
	select {
	case a.trigger <- struct{}{}:
	default:
	}
}

// SetDesired installs a new desired state and triggers a reconcile.
func (a *Agent) SetDesired(d *Desired) {
	a.mu.Lock()
	a.desired = d
	a.state = nil
	ws := len(a.watchers) > 0
	a.mu.Unlock()
	if ws {
		a.notify()
	}
	a.kick()
	select {
	case a.saved <- struct{}{}:
	default:
	}
}

// SetState installs a desired state given in flat form (tests, cache).
func (a *Agent) SetState(st *model.HostState) { a.SetDesired(DesiredFromHostState(st)) }

func (a *Agent) notify() {
	st := a.State()
	a.mu.Lock()
	ws := append([]func(*model.HostState){}, a.watchers...)
	a.mu.Unlock()
	for _, f := range ws {
		f(st)
	}
}

func (a *Agent) statePath() string { return filepath.Join(a.cfg.StateDir, "state.json") }

// loadCachedState reads the state saved by a previous run.
func (a *Agent) loadCachedState() {
	if a.cfg.StateDir == "" {
		return
	}
	b, err := os.ReadFile(a.statePath())
	if err != nil {
		return
	}
	var st model.HostState
	if err := json.Unmarshal(b, &st); err != nil || st.Host != a.cfg.Host {
		a.log.Warn("ignoring unreadable cached state", "path", a.statePath(), "err", err)
		return
	}
	a.SetState(&st)
	a.log.Info("loaded cached state", "networks", len(st.Networks), "endpoints", len(st.Endpoints))
}

// saveLoop writes the desired state to disk, at most once a second: a
// restarted agent starts from it while Consul is unreachable.
func (a *Agent) saveLoop(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-a.saved:
		}
		st := a.State()
		if st != nil {
			a.saveState(st)
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(time.Second):
		}
	}
}

func (a *Agent) saveState(st *model.HostState) {
	if a.cfg.StateDir == "" {
		return
	}
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
		if err := os.Rename(tmp, a.statePath()); err != nil {
			a.log.Warn("saving state", "err", err)
		}
	}
}

// Run reconciles until ctx ends. It starts from the cached state, so the
// data plane is right before Consul answers, and never wipes the bridge.
func (a *Agent) Run(ctx context.Context) error {
	// Another live agent with this host's name: refuse before touching
	// anything. Consul not answering is no reason to wait: the cached
	// state keeps the data plane right meanwhile.
	rctx, rcancel := context.WithTimeout(ctx, 5*time.Second)
	err := a.cl.Register(rctx, a.hostRecord())
	rcancel()
	var inUse *ErrHostInUse
	if errors.As(err, &inUse) {
		return err
	}
	a.loadCachedState()
	if err := a.sw.EnsureBridge(ctx, vswitch.BridgeConfig{Name: a.cfg.Bridge, DatapathType: a.cfg.DatapathType}); err != nil {
		return fmt.Errorf("integration bridge: %w", err)
	}
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var wg sync.WaitGroup
	run := func(f func()) {
		wg.Add(1)
		go func() { defer wg.Done(); f() }()
	}
	run(func() { a.src.Run(ctx, a.SetDesired) })
	run(func() {
		if err := a.registerLoop(ctx); err != nil {
			cancel(err)
		}
	})
	run(func() { a.saveLoop(ctx) })
	run(func() {
		if err := a.pl.WatchEndpointPorts(ctx, a.Trigger); err != nil && ctx.Err() == nil {
			a.log.Warn("not watching container interfaces; relying on resyncs", "err", err)
		}
	})
	for _, e := range a.extensions {
		run(func() {
			if err := e.Run(ctx); err != nil && ctx.Err() == nil {
				a.log.Error("extension failed", "extension", e.Name(), "err", err)
				cancel(fmt.Errorf("%s: %w", e.Name(), err))
			}
		})
	}
	a.Trigger()
	a.reconcileLoop(ctx)
	wg.Wait()
	if st := a.State(); st != nil {
		a.saveState(st)
	}
	if err := context.Cause(ctx); err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	return nil
}

func (a *Agent) reconcileLoop(ctx context.Context) {
	resync := time.NewTimer(0) // the first reconcile is a full one
	defer resync.Stop()
	retry := time.NewTimer(time.Hour)
	retry.Stop()
	defer retry.Stop()
	full := false
	for {
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
		d, local := a.desired, a.local
		full = full || a.full
		a.local, a.full = false, false
		a.mu.Unlock()
		if d == nil {
			resync.Reset(a.cfg.Resync)
			continue // nothing known yet: leave OVS exactly as it is
		}
		start := time.Now()
		res, again := a.rec.reconcile(ctx, d, full, local)
		res.Duration = time.Since(start)
		if res.Err != nil && ctx.Err() == nil {
			a.log.Warn("reconcile failed; retrying", "err", res.Err, "generation", res.Generation)
		} else if res.Added+res.Deleted > 0 {
			a.log.Info("reconciled", "generation", res.Generation, "full", res.Full, "flows", res.Flows, "added", res.Added,
				"deleted", res.Deleted, "owners", res.Owners, "took", res.Duration.Round(time.Microsecond))
		}
		if a.Reconciled != nil {
			a.Reconciled(res)
		}
		for _, f := range a.reconciled {
			f(res)
		}
		if full {
			resync.Reset(a.cfg.Resync)
		}
		full = false
		if res.Err != nil || again {
			if res.Err != nil {
				full = true // what OVS holds is uncertain: read it back
			}
			a.mu.Lock()
			a.local = a.local || again
			a.mu.Unlock()
			retry.Reset(200 * time.Millisecond)
		}
	}
}

// registerLoop keeps the host registered (alive): again after the session
// is lost, and when the record was removed behind the agent's back (a
// wipe, a restore). It ends the agent when another live agent holds the
// host's name.
func (a *Agent) registerLoop(ctx context.Context) error {
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
	registered := false
	check := time.NewTicker(recordCheck)
	defer check.Stop()
	for ctx.Err() == nil {
		if err := a.cl.Register(ctx, a.hostRecord()); err != nil {
			var inUse *ErrHostInUse
			if errors.As(err, &inUse) {
				a.log.Error("refusing to run", "err", err)
				return err
			}
			if registered || ctx.Err() == nil {
				a.log.Warn("registering host failed; retrying", "err", err)
			}
			registered = false
			select {
			case <-time.After(time.Second):
			case <-ctx.Done():
				return nil
			}
			continue
		}
		if !registered {
			a.log.Info("host registered", "host", a.cfg.Host, "tunnel_ip", a.cfg.TunnelIP)
			registered = true
		}
		if !a.waitRegistration(ctx, check.C) {
			a.cl.Close()
			return nil
		}
		registered = false
	}
	return nil
}

// waitRegistration returns when the host must register again (true), or
// when ctx ends (false).
func (a *Agent) waitRegistration(ctx context.Context, check <-chan time.Time) bool {
	for {
		select {
		case <-ctx.Done():
			return false
		case <-a.cl.SessionLost():
			return true
		case <-check:
			if held, err := a.cl.Holds(ctx); err == nil && !held {
				a.log.Warn("the host record is gone (removed behind the agent's back); registering again")
				return true
			}
		}
	}
}

// recordCheck is how often the agent checks it still holds its record.
const recordCheck = 15 * time.Second

// hostRecord is the host's identity: it changes when the agent restarts or
// its configuration does, never with its traffic, so the controller's
// watch of host records stays quiet.
func (a *Agent) hostRecord() model.Host {
	return model.Host{Name: a.cfg.Host, TunnelIP: a.cfg.TunnelIP, UnderlayMTU: a.cfg.UnderlayMTU,
		Version: a.cfg.Version, Started: a.started, BootID: a.bootID, PID: os.Getpid()}
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

// ReconcileNow runs one reconcile of the current desired state at once
// (full: the flow table read back and diffed whole). For benchmarks and
// tools; it must not be called while Run is running.
func (a *Agent) ReconcileNow(ctx context.Context, full bool) ReconcileResult {
	a.mu.Lock()
	d := a.desired
	a.mu.Unlock()
	if d == nil {
		return ReconcileResult{Err: errors.New("no desired state")}
	}
	start := time.Now()
	res, _ := a.rec.reconcile(ctx, d, full, full)
	res.Duration = time.Since(start)
	return res
}
