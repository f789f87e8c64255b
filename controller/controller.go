package controller

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"reflect"
	"sync"
	"time"

	"github.com/hashicorp/consul/api"
	"github.com/ovsnet/ovsnet/internal/version"
	"github.com/ovsnet/ovsnet/model"
)

// Version of ovsnet (see internal/version).
var Version = version.Version

// Config configures a controller replica.
type Config struct {
	// ConsulAddr is Consul's HTTP address (host:port).
	ConsulAddr string
	// Prefix roots ovsnet's keys in Consul.
	Prefix string
	// ID names this replica in the leader lock; defaults to host name + pid.
	ID string
	// ReadyTimeout bounds how long a connect waits for the agent.
	ReadyTimeout time.Duration
	// Token, when set, is required (as a bearer token) for every write.
	Token  string
	Logger *slog.Logger
}

// Controller is one replica of the control plane.
type Controller struct {
	store        *Store
	client       *api.Client
	watch        *watcher
	log          *slog.Logger
	id           string
	readyTimeout time.Duration
	token        string

	kickCh chan struct{}

	mu        sync.Mutex
	session   string // leader session while this replica leads
	published map[string]model.HostState
	netLocks  map[string]*sync.Mutex
	createMu  sync.Mutex
}

// New connects a replica to Consul (lazily: nothing is read yet).
func New(cfg Config) (*Controller, error) {
	if cfg.ConsulAddr == "" {
		cfg.ConsulAddr = "127.0.0.1:8500"
	}
	if cfg.Prefix == "" {
		cfg.Prefix = "ovsnet"
	}
	if cfg.ReadyTimeout == 0 {
		cfg.ReadyTimeout = 20 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.ID == "" {
		h, _ := os.Hostname()
		cfg.ID = fmt.Sprintf("%s-%d", h, os.Getpid())
	}
	ccfg := api.DefaultConfig()
	ccfg.Address = cfg.ConsulAddr
	client, err := api.NewClient(ccfg)
	if err != nil {
		return nil, fmt.Errorf("consul client: %w", err)
	}
	store := NewStore(client, cfg.ConsulAddr, cfg.Prefix)
	return &Controller{
		store: store, client: client, watch: newWatcher(store, cfg.Logger), log: cfg.Logger,
		id: cfg.ID, readyTimeout: cfg.ReadyTimeout, token: cfg.Token,
		kickCh: make(chan struct{}, 1), published: map[string]model.HostState{}, netLocks: map[string]*sync.Mutex{},
	}, nil
}

// Run follows the cluster, takes part in leader election and, while
// leading, publishes each host's compiled state. It returns when ctx ends.
func (c *Controller) Run(ctx context.Context) {
	var wg sync.WaitGroup
	wg.Add(3)
	go func() { defer wg.Done(); c.watch.run(ctx) }()
	go func() { defer wg.Done(); c.runElection(ctx) }()
	go func() { defer wg.Done(); c.runPublisher(ctx) }()
	wg.Wait()
}

// kick asks the publisher to publish now rather than on the next change.
func (c *Controller) kick() {
	select {
	case c.kickCh <- struct{}{}:
	default:
	}
}

// IsLeader says whether this replica currently publishes.
func (c *Controller) IsLeader() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.session != ""
}

func (c *Controller) leaderSession() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.session
}

// runElection competes for the leader lock for as long as ctx lives. The
// lock's session has a TTL, so a dead leader's lock is released within
// about twice the TTL and another replica takes over.
func (c *Controller) runElection(ctx context.Context) {
	backoff := 200 * time.Millisecond
	for ctx.Err() == nil {
		err := c.leadOnce(ctx)
		if ctx.Err() != nil {
			return
		}
		if err != nil {
			c.log.Warn("leader election", "err", err)
		}
		select {
		case <-time.After(backoff):
		case <-ctx.Done():
			return
		}
		backoff = min(backoff*2, 3*time.Second)
	}
}

func (c *Controller) leadOnce(ctx context.Context) error {
	sessions := c.client.Session()
	sid, _, err := sessions.Create(&api.SessionEntry{
		Name: "ovsnet-controller " + c.id, TTL: "10s", Behavior: api.SessionBehaviorRelease, LockDelay: time.Second,
	}, (&api.WriteOptions{}).WithContext(ctx))
	if err != nil {
		return fmt.Errorf("create session: %w", err)
	}
	done := make(chan struct{})
	defer close(done)
	go func() { _ = sessions.RenewPeriodic("10s", sid, nil, done) }()
	defer func() { _, _ = sessions.Destroy(sid, nil) }()

	lock, err := c.client.LockOpts(&api.LockOptions{Key: c.store.LeaderKey(), Value: []byte(c.id), Session: sid, MonitorRetries: 3,
		// Short waits, so a standby notices shutdown quickly.
		LockWaitTime: 2 * time.Second})
	if err != nil {
		return fmt.Errorf("lock: %w", err)
	}
	lost, err := lock.Lock(ctx.Done())
	if err != nil {
		return fmt.Errorf("acquire leader lock: %w", err)
	}
	if lost == nil {
		return nil // ctx ended while waiting
	}
	c.log.Info("leading: publishing compiled host state", "replica", c.id)
	c.mu.Lock()
	c.session = sid
	c.published = map[string]model.HostState{}
	c.mu.Unlock()
	c.kick()
	select {
	case <-lost:
		c.log.Warn("lost leadership")
	case <-ctx.Done():
	}
	c.mu.Lock()
	c.session = ""
	c.mu.Unlock()
	_ = lock.Unlock()
	return nil
}

// runPublisher compiles and publishes host state whenever the cluster
// changes, when kicked, and every 30 s as anti-entropy.
func (c *Controller) runPublisher(ctx context.Context) {
	tick := time.NewTicker(30 * time.Second)
	defer tick.Stop()
	for {
		_, changed := c.watch.latest()
		fresh := false
		select {
		case <-ctx.Done():
			return
		case <-changed:
		case <-c.kickCh:
			fresh = true
		case <-tick.C:
			fresh = true
		}
		if !c.IsLeader() {
			continue
		}
		sn, _ := c.watch.latest()
		if fresh {
			if s, err := c.store.Load(ctx, 0); err == nil {
				c.watch.set(s)
				sn = s
			}
		}
		if sn == nil {
			continue
		}
		if err := c.publish(ctx, sn); err != nil && ctx.Err() == nil {
			c.log.Warn("publishing host state failed", "err", err)
		}
		c.expireReservations(ctx, sn)
	}
}

// publish writes each host's compiled state where it changed, in
// transactions fenced by the leader session: a replica that lost the lock
// cannot overwrite its successor's output.
func (c *Controller) publish(ctx context.Context, sn *Snapshot) error {
	sid := c.leaderSession()
	if sid == "" {
		return nil
	}
	c.mu.Lock()
	if len(c.published) == 0 {
		c.mu.Unlock()
		if err := c.loadPublished(ctx); err != nil {
			return err
		}
		c.mu.Lock()
	}
	hosts := map[string]bool{}
	for _, h := range sn.Hosts {
		hosts[h.Name] = true
	}
	for _, ep := range sn.Endpoints {
		hosts[ep.Host] = true
	}
	for _, n := range sn.Networks {
		if n.Host != "" {
			hosts[n.Host] = true
		}
	}
	var changed []model.HostState
	for h := range hosts {
		st := model.Compile(h, sn.Networks, sn.Endpoints, sn.Hosts)
		prev, ok := c.published[h]
		st.Generation = prev.Generation
		if ok && reflect.DeepEqual(normalize(prev), normalize(st)) {
			continue
		}
		st.Generation = max(prev.Generation+1, sn.Index)
		changed = append(changed, st)
	}
	c.mu.Unlock()
	for start := 0; start < len(changed); start += maxTxnOps - 1 {
		batch := changed[start:min(start+maxTxnOps-1, len(changed))]
		var ops txnOps
		ops.checkSession(c.store.LeaderKey(), sid)
		for _, st := range batch {
			if err := ops.set(c.store.CompiledKey(st.Host), st); err != nil {
				return err
			}
		}
		if _, err := c.store.commit(ctx, ops); err != nil {
			return fmt.Errorf("publish: %w", err)
		}
		c.mu.Lock()
		for _, st := range batch {
			c.published[st.Host] = st
		}
		c.mu.Unlock()
		for _, st := range batch {
			c.log.Debug("published host state", "host", st.Host, "generation", st.Generation,
				"networks", len(st.Networks), "endpoints", len(st.Endpoints))
		}
	}
	return nil
}

// normalize makes two states comparable: JSON round trip erases the
// differences between nil and empty and between time zones.
func normalize(st model.HostState) model.HostState {
	st.Generation = 0
	b, _ := json.Marshal(st)
	var out model.HostState
	_ = json.Unmarshal(b, &out)
	return out
}

// loadPublished reads what a previous leader published, so that taking over
// does not rewrite every host's state.
func (c *Controller) loadPublished(ctx context.Context) error {
	pairs, _, err := c.store.kv.List(c.store.prefix+"/compiled/", (&api.QueryOptions{}).WithContext(ctx))
	if err != nil {
		return c.store.unavailable(err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, p := range pairs {
		var st model.HostState
		if json.Unmarshal(p.Value, &st) == nil {
			c.published[st.Host] = st
		}
	}
	if len(c.published) == 0 {
		c.published[""] = model.HostState{} // loaded: nothing was published yet
	}
	return nil
}

// snapshot reads the cluster state for an API read: fresh from Consul, or
// the last known state when Consul is away (reads keep working; writes fail).
func (c *Controller) snapshot(ctx context.Context) (*Snapshot, error) {
	sn, err := c.store.Load(ctx, 0)
	if err == nil {
		return sn, nil
	}
	if errors.Is(err, ErrUnavailable) {
		if last, _ := c.watch.latest(); last != nil {
			return last, nil
		}
	}
	return nil, err
}
