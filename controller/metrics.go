package controller

import (
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/gorilla/mux"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/ovsnet/ovsnet/model"
)

// Process-wide counters: a controller process runs one replica, and the
// places that count (the store, traces) have no handle on a registry.
var (
	consulErrors = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "ovsnet_controller_consul_errors_total",
		Help: "Consul requests that failed (Consul unreachable or erroring).",
	})
	traces = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "ovsnet_controller_traces_total",
		Help: "Path traces run, by verdict (delivered, dropped, left, incomplete).",
	}, []string{"verdict"})
	traceDuration = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "ovsnet_controller_trace_duration_seconds",
		Help:    "Time to run a path trace on the hosts, through Consul.",
		Buckets: []float64{.01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 20},
	})
)

func init() {
	routeRegistrars = append(routeRegistrars, func(c *Controller, root, o *mux.Router) {
		m := newHTTPMetrics(c)
		root.Use(m.middleware)
		root.Handle("/metrics", promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})).Methods(http.MethodGet)
	})
}

// httpMetrics is one Handler's registry: request counts and durations by
// route template (never by raw path: ids would explode the label space),
// plus the cluster's state as this replica sees it.
type httpMetrics struct {
	reg      *prometheus.Registry
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
	log      *slog.Logger
}

func newHTTPMetrics(c *Controller) *httpMetrics {
	m := &httpMetrics{
		reg: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ovsnet_controller_requests_total",
			Help: "API requests, by route template and status code.",
		}, []string{"route", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "ovsnet_controller_request_duration_seconds",
			Help:    "API request durations by route template (event streams excluded).",
			Buckets: prometheus.DefBuckets,
		}, []string{"route"}),
		log: c.log,
	}
	m.reg.MustRegister(m.requests, m.duration, consulErrors, traces, traceDuration, &stateCollector{c: c},
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// middleware counts and logs every routed request.
func (m *httpMetrics) middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		route := "unknown"
		if cur := mux.CurrentRoute(r); cur != nil {
			if tpl, err := cur.GetPathTemplate(); err == nil {
				route = tpl
			}
		}
		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		start := time.Now()
		next.ServeHTTP(rec, r)
		d := time.Since(start)
		m.requests.WithLabelValues(route, strconv.Itoa(rec.status)).Inc()
		if route != eventsRoute {
			m.duration.WithLabelValues(route).Observe(d.Seconds())
		}
		level := slog.LevelDebug
		if rec.status >= 500 {
			level = slog.LevelWarn
		}
		m.log.Log(r.Context(), level, "http request", "method", r.Method, "route", route, "path", r.URL.Path,
			"status", rec.status, "took", d.Round(time.Microsecond))
	})
}

// statusRecorder remembers the status code; Unwrap lets
// http.ResponseController reach the connection's Flusher (event streams).
type statusRecorder struct {
	http.ResponseWriter
	status      int
	wroteHeader bool
}

func (s *statusRecorder) WriteHeader(code int) {
	if !s.wroteHeader {
		s.status, s.wroteHeader = code, true
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Write(b []byte) (int, error) {
	s.wroteHeader = true
	return s.ResponseWriter.Write(b)
}

func (s *statusRecorder) Unwrap() http.ResponseWriter { return s.ResponseWriter }

// stateCollector reports the cluster as this replica last read it, at
// scrape time: no bookkeeping between scrapes.
type stateCollector struct{ c *Controller }

var (
	descLeader    = prometheus.NewDesc("ovsnet_controller_leader", "1 while this replica leads (compiles and publishes host state).", nil, nil)
	descConsulUp  = prometheus.NewDesc("ovsnet_controller_consul_up", "1 when the last read of the cluster state from Consul succeeded.", nil, nil)
	descNetworks  = prometheus.NewDesc("ovsnet_controller_networks", "Networks defined.", nil, nil)
	descEndpoints = prometheus.NewDesc("ovsnet_controller_endpoints", "Endpoints, by what their agent reports (ready, error, pending).", []string{"state"}, nil)
	descHosts     = prometheus.NewDesc("ovsnet_controller_hosts", "Registered hosts, by liveness.", []string{"state"}, nil)
	descHostFlows = prometheus.NewDesc("ovsnet_controller_host_flows", "OpenFlow flows each host's agent reports holding.", []string{"host"}, nil)
)

func (s *stateCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descLeader, descConsulUp, descNetworks, descEndpoints, descHosts, descHostFlows} {
		ch <- d
	}
}

func (s *stateCollector) Collect(ch chan<- prometheus.Metric) {
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	gauge(descLeader, boolValue(s.c.IsLeader()))
	gauge(descConsulUp, boolValue(s.c.watch.healthy() == nil))
	sn, _ := s.c.watch.latest()
	if sn == nil {
		return
	}
	gauge(descNetworks, float64(len(sn.Networks)))
	states := map[string]int{string(model.EndpointReady): 0, string(model.EndpointError): 0, "pending": 0}
	for _, ep := range sn.Endpoints {
		st, ok := sn.Statuses[ep.ID]
		if !ok || st.State == "" {
			states["pending"]++
		} else {
			states[string(st.State)]++
		}
	}
	for state, n := range states {
		gauge(descEndpoints, float64(n), state)
	}
	alive, down := 0, 0
	for _, h := range sn.Hosts {
		if h.Alive {
			alive++
		} else {
			down++
		}
		total := 0
		for _, n := range h.Flows {
			total += n
		}
		gauge(descHostFlows, float64(total), h.Name)
	}
	gauge(descHosts, float64(alive), "alive")
	gauge(descHosts, float64(down), "down")
}

func boolValue(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
