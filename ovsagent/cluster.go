package ovsagent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/consul/api"

	"github.com/ovsnet/ovsnet/model"
)

// Cluster is the agent's link to the cluster store.
type Cluster interface {
	// Register holds the host's record under a session with a TTL: while
	// the agent lives, the host shows as alive. It must be called again
	// after the session is lost (Consul restarted, or unreachable > TTL).
	Register(ctx context.Context, h model.Host) error
	// WatchState blocks until the compiled state changes after index (or a
	// wait time passes) and returns it with its new index. A host with no
	// state yet gets (nil, index, nil).
	WatchState(ctx context.Context, index uint64) (*model.HostState, uint64, error)
	// ReportStatus writes an endpoint's status; DeleteStatus removes it.
	ReportStatus(ctx context.Context, st model.EndpointStatus) error
	DeleteStatus(ctx context.Context, host, endpointID string) error
	// Statuses lists the statuses this host has written.
	Statuses(ctx context.Context, host string) (map[string]model.EndpointStatus, error)
	// SessionLost is closed when the registration's session ends.
	SessionLost() <-chan struct{}
	Close()
}

type consulCluster struct {
	client *api.Client
	prefix string
	host   string
	log    *slog.Logger

	mu      sync.Mutex
	session string
	lost    chan struct{}
	stop    chan struct{}
}

// NewCluster connects to Consul (lazily) for host.
func NewCluster(addr, prefix, host string, log *slog.Logger) (Cluster, error) {
	cfg := api.DefaultConfig()
	cfg.Address = addr
	c, err := api.NewClient(cfg)
	if err != nil {
		return nil, fmt.Errorf("consul client: %w", err)
	}
	lost := make(chan struct{})
	close(lost)
	return &consulCluster{client: c, prefix: strings.TrimSuffix(prefix, "/"), host: host, log: log, lost: lost}, nil
}

func (c *consulCluster) hostKey() string     { return c.prefix + "/cluster/hosts/" + c.host }
func (c *consulCluster) compiledKey() string { return c.prefix + "/compiled/" + c.host }
func (c *consulCluster) statusKey(host, ep string) string {
	return c.prefix + "/cluster/status/" + host + "/" + ep
}

// sessionTTL bounds how long a dead agent's host still shows as alive
// (Consul may take up to twice the TTL).
const sessionTTL = "10s"

func (c *consulCluster) Register(ctx context.Context, h model.Host) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	value, err := json.Marshal(h)
	if err != nil {
		return err
	}
	sessions := c.client.Session()
	wo := (&api.WriteOptions{}).WithContext(ctx)
	if c.session != "" {
		// Refresh the record under the session we hold.
		ok, _, err := c.client.KV().Acquire(&api.KVPair{Key: c.hostKey(), Value: value, Session: c.session}, wo)
		if err == nil && ok {
			return nil
		}
	}
	sid, _, err := sessions.Create(&api.SessionEntry{Name: "ovsnet-agent " + c.host, TTL: sessionTTL,
		Behavior: api.SessionBehaviorRelease, LockDelay: time.Millisecond}, wo)
	if err != nil {
		return fmt.Errorf("create session: %w", err)
	}
	// A previous agent process of this host may still hold the record; its
	// session is ours to end. The record itself stays (release, not delete),
	// so no other host sees this one vanish during a restart.
	if cur, _, err := c.client.KV().Get(c.hostKey(), (&api.QueryOptions{}).WithContext(ctx)); err == nil && cur != nil && cur.Session != "" && cur.Session != sid {
		_, _ = sessions.Destroy(cur.Session, wo)
	}
	ok := false
	for attempt := 0; attempt < 20 && !ok; attempt++ {
		ok, _, err = c.client.KV().Acquire(&api.KVPair{Key: c.hostKey(), Value: value, Session: sid}, wo)
		if err != nil {
			_, _ = sessions.Destroy(sid, nil)
			return fmt.Errorf("register host: %w", err)
		}
		if !ok {
			time.Sleep(50 * time.Millisecond) // lock-delay after the old session ended
		}
	}
	if !ok {
		_, _ = sessions.Destroy(sid, nil)
		return fmt.Errorf("register host: %s is held by another agent", c.hostKey())
	}
	if c.stop != nil {
		close(c.stop)
	}
	c.session = sid
	c.stop = make(chan struct{})
	c.lost = make(chan struct{})
	go c.renew(sid, c.stop, c.lost)
	return nil
}

// renew keeps the session alive; lost is closed when that fails for good.
func (c *consulCluster) renew(sid string, stop, lost chan struct{}) {
	err := c.client.Session().RenewPeriodic(sessionTTL, sid, nil, stop)
	select {
	case <-stop:
		return
	default:
	}
	c.log.Warn("host registration lost; re-registering", "err", err)
	c.mu.Lock()
	if c.session == sid {
		c.session = ""
	}
	c.mu.Unlock()
	close(lost)
}

func (c *consulCluster) SessionLost() <-chan struct{} {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.lost
}

func (c *consulCluster) WatchState(ctx context.Context, index uint64) (*model.HostState, uint64, error) {
	q := (&api.QueryOptions{WaitIndex: index, WaitTime: 5 * time.Minute}).WithContext(ctx)
	kv, meta, err := c.client.KV().Get(c.compiledKey(), q)
	if err != nil {
		return nil, 0, fmt.Errorf("watch %s: %w", c.compiledKey(), err)
	}
	if kv == nil {
		return nil, meta.LastIndex, nil
	}
	var st model.HostState
	if err := json.Unmarshal(kv.Value, &st); err != nil {
		return nil, 0, fmt.Errorf("decode %s: %w", c.compiledKey(), err)
	}
	return &st, meta.LastIndex, nil
}

func (c *consulCluster) ReportStatus(ctx context.Context, st model.EndpointStatus) error {
	b, err := json.Marshal(st)
	if err != nil {
		return err
	}
	_, err = c.client.KV().Put(&api.KVPair{Key: c.statusKey(st.Host, st.EndpointID), Value: b}, (&api.WriteOptions{}).WithContext(ctx))
	if err != nil {
		return fmt.Errorf("report endpoint %s: %w", model.ShortID(st.EndpointID), err)
	}
	return nil
}

func (c *consulCluster) DeleteStatus(ctx context.Context, host, ep string) error {
	_, err := c.client.KV().Delete(c.statusKey(host, ep), (&api.WriteOptions{}).WithContext(ctx))
	return err
}

func (c *consulCluster) Statuses(ctx context.Context, host string) (map[string]model.EndpointStatus, error) {
	pairs, _, err := c.client.KV().List(c.prefix+"/cluster/status/"+host+"/", (&api.QueryOptions{}).WithContext(ctx))
	if err != nil {
		return nil, err
	}
	out := map[string]model.EndpointStatus{}
	for _, p := range pairs {
		var st model.EndpointStatus
		if json.Unmarshal(p.Value, &st) == nil {
			out[st.EndpointID] = st
		}
	}
	return out, nil
}

func (c *consulCluster) Close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.stop != nil {
		close(c.stop)
		c.stop = nil
	}
	if c.session != "" {
		// Release rather than delete: the host stays known, shown down.
		_, _ = c.client.Session().Destroy(c.session, nil)
		c.session = ""
	}
}

var errNoState = errors.New("no compiled state yet")
