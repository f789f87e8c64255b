// Package metrics serves an agent's Prometheus metrics and health: an agent
// extension that learns everything from the agent's hooks.
package metrics

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/ovsnet/ovsnet/flows"
	"github.com/ovsnet/ovsnet/internal/store"
	"github.com/ovsnet/ovsnet/model"
	"github.com/ovsnet/ovsnet/ovsagent"
)

// Metrics serves the agent's Prometheus metrics (/metrics) and health
// (/healthz) on its own listener. It learns everything from the agent's
// hooks (OnReconciled, OnState) and by wrapping its link to Consul
// (WrapCluster), so the reconciler does no bookkeeping for it. No metric
// has a per-endpoint label: a host's series stay few whatever it runs.
type Metrics struct {
	// Profiling also serves Go's profiles at /debug/pprof/ (set before Run).
	Profiling bool

	host string
	ln   net.Listener
	log  *slog.Logger
	reg  *prometheus.Registry

	reconciles   *prometheus.CounterVec
	duration     prometheus.Histogram
	flowChanges  *prometheus.CounterVec
	flowsByTable *prometheus.GaugeVec
	consulErrors *prometheus.CounterVec

	mu       sync.Mutex
	state    *model.HostState
	last     ovsagent.ReconcileResult
	lastAt   time.Time
	lastGood time.Time
}

// New listens on addr (host:port) at once, so a taken port fails the
// agent's start with a clear error rather than later. host is this host's
// name in the cluster.
func New(addr, host string, log *slog.Logger) (*Metrics, error) {
	if log == nil {
		log = slog.Default()
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("metrics listener: %w", err)
	}
	m := &Metrics{host: host, ln: ln, log: log, reg: prometheus.NewRegistry(),
		reconciles: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ovsnet_agent_reconciles_total",
			Help: "Reconciles of the host's OVS and kernel with the desired state, by result (ok, error).",
		}, []string{"result"}),
		duration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "ovsnet_agent_reconcile_duration_seconds",
			Help:    "Duration of one reconcile.",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}),
		flowChanges: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ovsnet_agent_flow_changes_total",
			Help: "OpenFlow flows added and deleted by reconciles.",
		}, []string{"op"}),
		flowsByTable: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "ovsnet_agent_flows",
			Help: "OpenFlow flows the agent holds on br-int, by pipeline table.",
		}, []string{"table"}),
		consulErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ovsnet_agent_consul_errors_total",
			Help: "Failed Consul requests, by operation (watch, register, report, statuses).",
		}, []string{"op"}),
	}
	for _, t := range flows.Pipeline {
		m.flowsByTable.WithLabelValues(t.Name).Set(0)
	}
	for _, op := range []string{"watch", "register", "report", "statuses"} {
		m.consulErrors.WithLabelValues(op)
	}
	m.reg.MustRegister(m.reconciles, m.duration, m.flowChanges, m.flowsByTable, m.consulErrors,
		&agentStateCollector{m: m, host: host},
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m, nil
}

// Addr is where the metrics are served.
func (m *Metrics) Addr() string { return m.ln.Addr().String() }

// Name implements ovsagent.Extension.
func (m *Metrics) Name() string { return "metrics" }

// OnReconciled records one reconcile (called from the reconcile loop).
func (m *Metrics) OnReconciled(res ovsagent.ReconcileResult) {
	result := "ok"
	if res.Err != nil {
		result = "error"
	}
	m.reconciles.WithLabelValues(result).Inc()
	m.duration.Observe(res.Duration.Seconds())
	m.flowChanges.WithLabelValues("add").Add(float64(res.Added))
	m.flowChanges.WithLabelValues("delete").Add(float64(res.Deleted))
	if res.Tables != nil {
		for _, t := range flows.Pipeline {
			m.flowsByTable.WithLabelValues(t.Name).Set(float64(res.Tables[t.Name]))
		}
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.last, m.lastAt = res, time.Now()
	if res.Err == nil {
		m.lastGood = m.lastAt
	}
}

// OnState records the desired state (called by the agent, must not block).
func (m *Metrics) OnState(st *model.HostState) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.state = st
}

// Run serves until ctx ends.
func (m *Metrics) Run(ctx context.Context) error {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{}))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) { m.health(w) })
	if m.Profiling {
		mux.HandleFunc("GET /debug/pprof/", pprof.Index)
		mux.HandleFunc("GET /debug/pprof/profile", pprof.Profile)
		mux.HandleFunc("GET /debug/pprof/trace", pprof.Trace)
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second,
		WriteTimeout: time.Minute, IdleTimeout: 2 * time.Minute} // a CPU profile takes up to its seconds
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}()
	m.log.Info("serving metrics", "addr", m.Addr())
	if err := srv.Serve(m.ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("metrics: %w", err)
	}
	return nil
}

// health is ok once a reconcile succeeded and the last one did.
func (m *Metrics) health(w http.ResponseWriter) {
	m.mu.Lock()
	last, lastAt, lastGood := m.last, m.lastAt, m.lastGood
	m.mu.Unlock()
	body := map[string]any{"host": m.host, "status": "ok", "generation": last.Generation}
	status := http.StatusOK
	switch {
	case lastAt.IsZero():
		body["status"], status = "starting", http.StatusServiceUnavailable
	case last.Err != nil:
		body["status"], body["error"], status = "failing", last.Err.Error(), http.StatusServiceUnavailable
	}
	if !lastGood.IsZero() {
		body["lastSync"] = lastGood.UTC().Format(time.RFC3339Nano)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(body)
}

// WrapCluster counts the failures of the agent's Consul link. A cancelled
// context is the agent stopping, not Consul failing.
func (m *Metrics) WrapCluster(c ovsagent.Cluster) ovsagent.Cluster {
	return &countingCluster{Cluster: c, m: m}
}

type countingCluster struct {
	ovsagent.Cluster
	m *Metrics
}

func (c *countingCluster) count(ctx context.Context, op string, err error) error {
	if err != nil && ctx.Err() == nil {
		c.m.consulErrors.WithLabelValues(op).Inc()
	}
	return err
}

func (c *countingCluster) Register(ctx context.Context, h model.Host) error {
	return c.count(ctx, "register", c.Cluster.Register(ctx, h))
}

func (c *countingCluster) ReportApplied(ctx context.Context, netID string, a store.Applied) error {
	return c.count(ctx, "report", c.Cluster.ReportApplied(ctx, netID, a))
}

func (c *countingCluster) ReportStatus(ctx context.Context, st model.EndpointStatus) error {
	return c.count(ctx, "report", c.Cluster.ReportStatus(ctx, st))
}

func (c *countingCluster) DeleteStatus(ctx context.Context, host, endpointID string) error {
	return c.count(ctx, "report", c.Cluster.DeleteStatus(ctx, host, endpointID))
}

func (c *countingCluster) Statuses(ctx context.Context, host string) (map[string]model.EndpointStatus, error) {
	st, err := c.Cluster.Statuses(ctx, host)
	return st, c.count(ctx, "statuses", err)
}

// agentStateCollector reports the desired state's size at scrape time.
type agentStateCollector struct {
	m    *Metrics
	host string
}

var (
	descAgentEndpoints = prometheus.NewDesc("ovsnet_agent_endpoints", "Endpoints in this host's desired state, by where they run (local, remote).", []string{"where"}, nil)
	descAgentNetworks  = prometheus.NewDesc("ovsnet_agent_networks", "Networks present on this host.", nil, nil)
	descAgentPeers     = prometheus.NewDesc("ovsnet_agent_tunnel_peers", "Other hosts this host has tunnels to.", nil, nil)
	descAgentGen       = prometheus.NewDesc("ovsnet_agent_generation", "Newest Consul index of the desired state last reconciled.", nil, nil)
	descAgentLastSync  = prometheus.NewDesc("ovsnet_agent_last_sync_timestamp_seconds", "When a reconcile last succeeded (Unix time).", nil, nil)
)

func (c *agentStateCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descAgentEndpoints, descAgentNetworks, descAgentPeers, descAgentGen, descAgentLastSync} {
		ch <- d
	}
}

func (c *agentStateCollector) Collect(ch chan<- prometheus.Metric) {
	c.m.mu.Lock()
	st, last, lastGood := c.m.state, c.m.last, c.m.lastGood
	c.m.mu.Unlock()
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	local, remote, networks, peers := 0, 0, 0, 0
	if st != nil {
		for _, ep := range st.Endpoints {
			if ep.Host == c.host {
				local++
			} else {
				remote++
			}
		}
		networks, peers = len(st.Networks), len(st.Hosts)
	}
	gauge(descAgentEndpoints, float64(local), "local")
	gauge(descAgentEndpoints, float64(remote), "remote")
	gauge(descAgentNetworks, float64(networks))
	gauge(descAgentPeers, float64(peers))
	gauge(descAgentGen, float64(last.Generation))
	if !lastGood.IsZero() {
		gauge(descAgentLastSync, float64(lastGood.UnixNano())/1e9)
	}
}
