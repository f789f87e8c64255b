package controller

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ovsnet/ovsnet/internal/store"
	"github.com/ovsnet/ovsnet/internal/version"
)

// Version of ovsnet (see internal/version).
var Version = version.Version

// Config configures a controller replica.
type Config struct {
	// ConsulAddr is Consul's HTTP address (host:port or unix:///path);
	// ignored when Backend is set.
	ConsulAddr string
	// Backend, when set, is the store to use instead of Consul (tests).
	Backend store.Backend
	// Prefix roots ovsnet's keys in Consul.
	Prefix string
	// ID names this replica in the leader lock; defaults to host name + pid.
	ID string
	// URL is where other replicas reach this one's API (they forward
	// requests to the leader): http://host:port or unix:/path.
	URL string
	// ReadyTimeout bounds how long a connect waits for the agent.
	ReadyTimeout time.Duration
	// Token, when set, is required (as a bearer token) for every request
	// but the public ones (auth.go).
	Token string
	// ReadToken, when set (only beside Token), is a second token that
	// may read everything and change nothing: for monitoring and for
	// people who look (auth.go).
	ReadToken string
	// ForwardTLS, when set, is how this replica dials https:// replicas
	// (the leader it forwards to): the CAs it trusts and the client
	// certificate it shows when they require one.
	ForwardTLS *tls.Config
	// TraceRate and TraceBurst bound the traces each client may ask for
	// (default one a second, ten at once).
	TraceRate  float64
	TraceBurst int
	Logger     *slog.Logger
	// Resync is how often the leader re-reads the whole intent from
	// Consul to catch changes made behind its back (default 5 minutes).
	Resync time.Duration
	// HostGrace is how long a host's agent may be gone before the host is
	// dead (default 2 minutes); with ReapDeadHosts the leader then removes
	// it with its endpoints.
	HostGrace     time.Duration
	ReapDeadHosts bool
}

// Controller is one replica of the control plane. Every replica serves the
// API; the leader (elected with a Consul lock) holds the intent in memory
// and is its only writer, and the others forward requests to it. A
// change is planned against the in-memory state and committed in one
// Consul transaction fenced by the leader's session, so its cost is what
// it touches, whatever the cluster's size.
type Controller struct {
	st           *store.Store
	log          *slog.Logger
	id, url      string
	readyTimeout time.Duration
	token        string
	readToken    string
	resync       time.Duration
	hostGrace    time.Duration
	reap         bool

	// writeMu serialises writers: plan, commit, apply.
	writeMu sync.Mutex
	// mu guards everything below; writers hold it only to apply.
	mu sync.RWMutex
	// state is the intent while leading; kept (stale) after losing the
	// lead so reads still work while Consul is away.
	state   *state
	stale   bool
	session string
	// leader is the lock holder as last seen; leaderCh is closed and
	// replaced when it changes.
	leader   store.Leader
	leaderCh chan struct{}
	// changed is closed and replaced whenever state changes (UI events).
	changed chan struct{}
	// dirty says the state may differ from Consul (a commit with an
	// unknown outcome): re-read before the next write. Guarded by writeMu.
	dirty bool
	// lastErr is the last Consul failure (nil while healthy).
	lastErr error
	// downSince says since when each host's agent is gone, as this leader
	// saw it (a new leader starts counting anew).
	downSince map[string]time.Time

	proxies    *proxyCache
	traceLimit *clientLimiter
	metrics    *httpMetrics
	// streams counts the event streams being served.
	streams atomic.Int32
}

// New returns a replica (nothing is read until Run).
func New(cfg Config) (*Controller, error) {
	switch {
	case cfg.ReadToken != "" && cfg.Token == "":
		return nil, errors.New("a read-only token needs the full token beside it: without one, writes would need no token at all")
	case cfg.ReadToken != "" && cfg.ReadToken == cfg.Token:
		return nil, errors.New("the read-only token is the full token: give each its own")
	}
	if cfg.ConsulAddr == "" {
		cfg.ConsulAddr = "127.0.0.1:8500"
	}
	if cfg.Prefix == "" {
		cfg.Prefix = "ovsnet"
	}
	if cfg.ReadyTimeout == 0 {
		cfg.ReadyTimeout = 20 * time.Second
	}
	if cfg.Resync == 0 {
		cfg.Resync = 5 * time.Minute
	}
	if cfg.HostGrace == 0 {
		cfg.HostGrace = 2 * time.Minute
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.ID == "" {
		h, _ := os.Hostname()
		cfg.ID = fmt.Sprintf("%s-%d", h, os.Getpid())
	}
	b := cfg.Backend
	if b == nil {
		cb, err := store.NewConsul(cfg.ConsulAddr, nil)
		if err != nil {
			return nil, err
		}
		b = cb
	}
	c := &Controller{
		st: store.New(countingBackend{b}, cfg.Prefix), log: cfg.Logger, id: cfg.ID, url: cfg.URL,
		readyTimeout: cfg.ReadyTimeout, token: cfg.Token, readToken: cfg.ReadToken, resync: cfg.Resync, hostGrace: cfg.HostGrace, reap: cfg.ReapDeadHosts,
		leaderCh: make(chan struct{}), changed: make(chan struct{}), proxies: newProxyCache(cfg.ForwardTLS), downSince: map[string]time.Time{},
	}
	c.traceLimit = newClientLimiter(cfg.TraceRate, cfg.TraceBurst)
	c.metrics = newHTTPMetrics(c)
	return c, nil
}

// Run takes part in leader election and, while leading, keeps the intent
// in memory. It returns when ctx ends.
func (c *Controller) Run(ctx context.Context) {
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); c.followLeader(ctx) }()
	go func() { defer wg.Done(); c.runElection(ctx) }()
	wg.Wait()
}

// IsLeader says whether this replica currently leads.
func (c *Controller) IsLeader() bool {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.session != ""
}

// notifyLocked tells event streams the state changed; mu must be held.
func (c *Controller) notifyLocked() {
	close(c.changed)
	c.changed = make(chan struct{})
}

// healthy is nil while Consul answers, else the last failure.
func (c *Controller) healthy() error {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.lastErr
}

func (c *Controller) setHealth(err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.lastErr = err
}

// unavailable wraps a store failure as ErrUnavailable, naming Consul.
func (c *Controller) unavailable(err error) error {
	if err == nil || isAPIError(err) {
		return err
	}
	if store.IsUnavailable(err) {
		consulErrors.Inc()
		return &apiError{kind: ErrUnavailable, msg: err.Error()}
	}
	return err
}

// read runs f on the state under the read lock: the leader's, or the last
// one known while no leader answers (Consul away).
func (c *Controller) read(f func(s *state) error) error {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if c.state == nil {
		return errorf(ErrUnavailable, "this replica holds no state yet (no leader elected; is Consul at %s reachable?)", c.st.B.Addr())
	}
	return f(c.state)
}
