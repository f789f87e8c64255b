// Package tracer answers the controller's path traces for one host: an
// agent extension that runs OVS's ofproto/trace on the integration bridge.
package tracer

import (
	"context"
	"fmt"
	"log/slog"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/ovsnet/ovsnet/flows"
	"github.com/ovsnet/ovsnet/internal/store"
	"github.com/ovsnet/ovsnet/model"
	"github.com/ovsnet/ovsnet/ovsagent/vswitch"
)

// Tracer answers the controller's path-trace requests for this host: it
// runs OVS's own `ofproto/trace` on the integration bridge and writes the
// parsed result back. Requests and answers go through Consul because the
// controller may not reach the agent at all (see controller/trace_consul.go
// for the key layout).
type Tracer struct {
	st *store.Store
	// host is this host's name in the cluster, bridge the integration
	// bridge.
	host, bridge string
	// rundir is the OVS run directory ("" for OVS's default), where
	// ovs-vswitchd's pidfile and control socket are.
	rundir string
	log    *slog.Logger
	// appctl runs ovs-appctl; tests may replace it.
	appctl func(ctx context.Context, args ...string) ([]byte, error)
}

// Config configures a Tracer.
type Config struct {
	// Store is the agent's link to Consul, where requests and answers are.
	Store *store.Store
	// Host is this host's name in the cluster; Bridge the integration
	// bridge traces run on.
	Host, Bridge string
	// OVSRundir is the OVS run directory ("" for OVS's default).
	OVSRundir string
	Logger    *slog.Logger
}

// New returns the tracer.
func New(cfg Config) *Tracer {
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	return &Tracer{st: cfg.Store, host: cfg.Host, bridge: cfg.Bridge, rundir: cfg.OVSRundir, log: log, appctl: vswitch.Appctl}
}

// Bounds of the tracer's work.
const (
	// traceTimeout bounds one ovs-appctl run.
	traceTimeout = 10 * time.Second
	// traceMaxAge: requests older than this are stale (the controller has
	// given up) and answers older than this were never collected; both
	// are removed.
	traceMaxAge = 2 * time.Minute
	// traceMaxFlow bounds a request's flow text.
	traceMaxFlow = 1024
)

// traceFlowRE is what a traced flow may contain: ovs-ofctl match syntax
// (fields, addresses, hex). It never starts with '-', so it cannot be
// taken for an option.
var traceFlowRE = regexp.MustCompile(`^[a-z0-9_][a-zA-Z0-9_=,.:/]*$`)

// Name implements ovsagent.Extension.
func (t *Tracer) Name() string { return "trace" }

// Run serves requests until ctx ends. Consul being away is waited out
// with bounded back-off; a failing trace is answered with its error. It
// never ends the agent.
func (t *Tracer) Run(ctx context.Context) error {
	host, bridge := t.host, t.bridge
	lastSweep := time.Time{}
	store.Watch{Prefix: t.st.K.TraceRequests(host),
		OnError: func(err error) { t.log.Debug("trace requests: cannot read Consul", "err", err) },
	}.Run(ctx, t.st.B, func(pairs []store.Pair, _ uint64) {
		for _, p := range pairs {
			t.serve(ctx, host, bridge, p)
		}
		if time.Since(lastSweep) > traceMaxAge/2 {
			t.sweep(ctx, host)
			lastSweep = time.Now()
		}
	})
	return nil
}

// deleteIfUnchanged removes a key read as p, unless it changed since.
func (t *Tracer) deleteIfUnchanged(ctx context.Context, p store.Pair) {
	var tx store.Txn
	tx.DeleteCAS(p.Key, p.ModifyIndex)
	_, _ = t.st.Commit(ctx, &tx)
}

// serve answers one request and removes it.
func (t *Tracer) serve(ctx context.Context, host, bridge string, p store.Pair) {
	var spec model.TraceSpec
	if err := store.Decode(p, &spec); err != nil || spec.ID == "" {
		t.log.Warn("dropping unreadable trace request", "key", p.Key, "err", err)
		t.deleteIfUnchanged(ctx, p)
		return
	}
	if time.Since(spec.Created) > traceMaxAge {
		t.deleteIfUnchanged(ctx, p)
		return
	}
	start := time.Now()
	res := t.Trace(ctx, spec, bridge)
	res.Host = host
	if err := t.st.Put(ctx, t.st.K.TraceResult(host, spec.ID), res); err != nil {
		t.log.Warn("cannot write trace result", "id", spec.ID, "err", err)
		return
	}
	t.deleteIfUnchanged(ctx, p)
	t.log.Debug("traced", "id", spec.ID, "flow", spec.Flow, "steps", len(res.Steps), "datapath", res.DatapathActions,
		"err", res.Error, "took", time.Since(start).Round(time.Microsecond))
}

// Trace runs ofproto/trace for spec on bridge and parses its output.
func (t *Tracer) Trace(ctx context.Context, spec model.TraceSpec, bridge string) model.HostTrace {
	res := model.HostTrace{ID: spec.ID, Flow: spec.Flow, Steps: []model.TraceStep{}}
	defer func() { res.Finished = time.Now().UTC() }()
	if len(spec.Flow) > traceMaxFlow || !traceFlowRE.MatchString(spec.Flow) {
		res.Error = fmt.Sprintf("refusing to trace %q: not a flow in ovs-ofctl syntax", spec.Flow)
		return res
	}
	args := []string{"--timeout=" + strconv.Itoa(int(traceTimeout/time.Second))}
	if t.rundir != "" {
		ctl, err := vswitch.VswitchdControl(t.rundir)
		if err != nil {
			res.Error = err.Error()
			return res
		}
		args = append(args, "-t", ctl)
	}
	ctx, cancel := context.WithTimeout(ctx, traceTimeout+2*time.Second)
	defer cancel()
	out, err := t.appctl(ctx, append(args, "ofproto/trace", bridge, spec.Flow)...)
	res.Output = string(out)
	if err != nil {
		res.Error = err.Error()
		return res
	}
	res.Steps, res.DatapathActions = flows.ParseTrace(res.Output, bridge)
	if len(res.Steps) == 0 {
		res.Error = "ofproto/trace printed no table steps: " + firstLine(res.Output)
	}
	return res
}

// sweep removes this host's answers nobody collected and requests nobody
// answered in time (the agent was down when they came).
func (t *Tracer) sweep(ctx context.Context, host string) {
	if pairs, _, err := t.st.B.List(ctx, t.st.K.TraceResults(host), store.Query{}); err == nil {
		for _, p := range pairs {
			var res model.HostTrace
			if store.Decode(p, &res) != nil || time.Since(res.Finished) > traceMaxAge {
				t.deleteIfUnchanged(ctx, p)
			}
		}
	}
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(strings.TrimSpace(s), "\n")
	return line
}
