package controller

import (
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/gorilla/mux"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// Process-wide counters: a controller process runs one replica, and the
// places that count (the store, traces) have no handle on a registry.
var (
	consulErrors = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "ovsnet_controller_consul_errors_total",
		Help: "Consul requests that failed (Consul unreachable or erroring).",
	})
	consulBytes = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "ovsnet_controller_consul_bytes_total",
		Help: "Bytes of keys and values written to and read from Consul, by direction.",
	}, []string{"direction"})
	consulRequests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "ovsnet_controller_consul_requests_total",
		Help: "Requests to Consul, by kind (get, list, txn, session).",
	}, []string{"kind"})
	consulTxnBytes = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "ovsnet_controller_consul_txn_bytes",
		Help:    "Size of each transaction the leader commits (keys and values).",
		Buckets: prometheus.ExponentialBuckets(256, 2, 12),
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
	m.reg.MustRegister(m.requests, m.duration, consulErrors, consulBytes, consulRequests, consulTxnBytes, traces, traceDuration, &stateCollector{c: c},
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
	descLeader    = prometheus.NewDesc("ovsnet_controller_leader", "1 while this replica leads (holds the intent and writes it).", nil, nil)
	descConsulUp  = prometheus.NewDesc("ovsnet_controller_consul_up", "1 while the last request to Consul succeeded.", nil, nil)
	descNetworks  = prometheus.NewDesc("ovsnet_controller_networks", "Networks defined.", nil, nil)
	descEndpoints = prometheus.NewDesc("ovsnet_controller_endpoints", "Endpoints defined.", nil, nil)
	descHosts     = prometheus.NewDesc("ovsnet_controller_hosts", "Registered hosts, by liveness.", []string{"state"}, nil)
	descSkipped   = prometheus.NewDesc("ovsnet_controller_skipped_records", "Records under ovsnet's prefix in Consul that could not be read and are ignored.", nil, nil)
)

func (s *stateCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descLeader, descConsulUp, descNetworks, descEndpoints, descHosts, descSkipped} {
		ch <- d
	}
}

func (s *stateCollector) Collect(ch chan<- prometheus.Metric) {
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	gauge(descLeader, boolValue(s.c.IsLeader()))
	gauge(descConsulUp, boolValue(s.c.healthy() == nil))
	// Only the leader's own state: scraping never reads Consul.
	_ = s.c.read(func(st *state) error {
		gauge(descNetworks, float64(len(st.networks)))
		gauge(descEndpoints, float64(len(st.eps)))
		alive, down := 0, 0
		for _, h := range st.hosts {
			if h.Alive {
				alive++
			} else {
				down++
			}
		}
		gauge(descHosts, float64(alive), "alive")
		gauge(descHosts, float64(down), "down")
		gauge(descSkipped, float64(len(st.skipped)))
		return nil
	})
}

func boolValue(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
