package ovsagent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/ovsnet/ovsnet/internal/store"
	"github.com/ovsnet/ovsnet/model"
)

// Cluster is how the agent reports to the cluster: its host record (held
// by a session: alive while the agent lives) and what it did, all under
// its own host's keys.
type Cluster interface {
	// Register holds the host's record under a session with a TTL. It
	// must be called again after the session is lost (Consul restarted,
	// or unreachable for longer than the TTL).
	Register(ctx context.Context, h model.Host) error
	// SessionLost is closed when the registration's session ends.
	SessionLost() <-chan struct{}
	// Holds says whether the host's record exists, held by this agent.
	Holds(ctx context.Context) (bool, error)
	// ReportStatus writes an endpoint's status; DeleteStatus removes it.
	ReportStatus(ctx context.Context, st model.EndpointStatus) error
	DeleteStatus(ctx context.Context, host, endpointID string) error
	// Statuses lists the statuses this host has written.
	Statuses(ctx context.Context, host string) (map[string]model.EndpointStatus, error)
	// ReportApplied says up to which index this host has applied a
	// network's endpoints; DeleteApplied forgets a network it left.
	ReportApplied(ctx context.Context, netID string, a store.Applied) error
	DeleteApplied(ctx context.Context, netID string) error
	// Applied lists what this host reported per network.
	Applied(ctx context.Context) (map[string]store.Applied, error)
	// ReportStats writes the host's stats (read by the UI on demand).
	ReportStats(ctx context.Context, s store.HostStats) error
	Close()
}

// consulCluster implements Cluster on the store.
type consulCluster struct {
	st   *store.Store
	host string
	log  *slog.Logger

	mu      sync.Mutex
	session string
	lost    chan struct{}
	stop    chan struct{}
}

// NewCluster returns host's link to the store.
func NewCluster(st *store.Store, host string, log *slog.Logger) Cluster {
	lost := make(chan struct{})
	close(lost)
	return &consulCluster{st: st, host: host, log: log, lost: lost}
}

// sessionTTL bounds how long a dead agent's host still shows as alive
// (Consul may take up to twice the TTL).
const sessionTTL = 10 * time.Second

func (c *consulCluster) Register(ctx context.Context, h model.Host) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	value, err := json.Marshal(h)
	if err != nil {
		return err
	}
	key := c.st.K.Host(c.host)
	b := c.st.B
	if c.session != "" {
		// Refresh the record under the session we hold.
		ok, err := b.Acquire(ctx, key, value, c.session)
		if err == nil && ok {
			return nil
		}
	}
	sid, err := b.CreateSession(ctx, store.SessionSpec{Name: "ovsnet-agent " + c.host, TTL: sessionTTL})
	if err != nil {
		return fmt.Errorf("create session: %w", err)
	}
	// A previous agent process of this host may still hold the record;
	// its session is ours to end. Another agent, alive, with the same host
	// name must not be displaced: the two would take the record from each
	// other forever. The record itself stays (release, not delete), so no
	// other host sees this one vanish during a restart.
	if err := c.takeOver(ctx, key, h, sid); err != nil {
		_ = b.DestroySession(context.WithoutCancel(ctx), sid)
		return err
	}
	ok := false
	for attempt := 0; attempt < 20 && !ok; attempt++ {
		ok, err = b.Acquire(ctx, key, value, sid)
		if err != nil {
			_ = b.DestroySession(context.WithoutCancel(ctx), sid)
			return fmt.Errorf("register host: %w", err)
		}
		if !ok {
			time.Sleep(50 * time.Millisecond) // lock-delay after the old session ended
		}
	}
	if !ok {
		_ = b.DestroySession(context.WithoutCancel(ctx), sid)
		return fmt.Errorf("register host: %s is held by another agent", key)
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

// ErrHostInUse says another live agent holds this host's name.
type ErrHostInUse struct {
	Host, Holder string
}

func (e *ErrHostInUse) Error() string {
	return fmt.Sprintf("host name %s is held by another ovsnet agent that is alive (%s): stop it, or give this one another -host", e.Host, e.Holder)
}

// takeOverWait bounds how long a record held by an agent of another boot
// (another machine, or this one before a quick reboot) is waited for: its
// session ends within twice its TTL if that agent is gone.
var takeOverWait = 2*sessionTTL + 5*time.Second

// takeOver ends the session of a previous agent of this host holding the
// record, and refuses when that agent is alive.
func (c *consulCluster) takeOver(ctx context.Context, key string, me model.Host, mine string) error {
	deadline := time.Now().Add(takeOverWait)
	for {
		cur, _, err := c.st.B.Get(ctx, key, store.Query{})
		if err != nil || cur == nil || cur.Session == "" || cur.Session == mine {
			return nil
		}
		var other model.Host
		_ = store.Decode(*cur, &other)
		holder := fmt.Sprintf("pid %d, boot %s, started %s", other.PID, shortBoot(other.BootID), other.Started.Format(time.RFC3339))
		switch {
		case other.BootID == "" || (other.BootID == me.BootID && (other.PID == me.PID || !agentAlive(other.PID))):
			// An older agent, this very process (a session it lost track of,
			// say across a Consul outage), or an agent of this boot that is
			// gone: take over.
			_ = c.st.B.DestroySession(ctx, cur.Session)
			return nil
		case other.BootID == me.BootID:
			return &ErrHostInUse{Host: c.host, Holder: holder}
		case time.Now().After(deadline):
			return &ErrHostInUse{Host: c.host, Holder: holder + ", on another machine or boot"}
		}
		c.log.Info("the host record is held by an agent of another boot; waiting for its session to end", "holder", holder)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Second):
		}
	}
}

// agentAlive says whether pid is a running ovsnet agent on this machine.
func agentAlive(pid int) bool {
	if pid <= 0 {
		return false
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid))
	return err == nil && strings.HasPrefix(strings.TrimSpace(string(b)), "ovsnet-agent")
}

// BootID identifies this boot of this machine.
func BootID() string {
	b, err := os.ReadFile("/proc/sys/kernel/random/boot_id")
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}

func shortBoot(id string) string {
	if len(id) > 8 {
		return id[:8]
	}
	return id
}

// renew keeps the session alive; lost is closed when that fails for good.
func (c *consulCluster) renew(sid string, stop, lost chan struct{}) {
	tick := time.NewTicker(sessionTTL / 3)
	defer tick.Stop()
	failingSince := time.Time{}
	for {
		select {
		case <-stop:
			return
		case <-tick.C:
		}
		ctx, cancel := context.WithTimeout(context.Background(), sessionTTL/2)
		err := c.st.B.RenewSession(ctx, sid)
		cancel()
		switch {
		case err == nil:
			failingSince = time.Time{}
			continue
		case errors.Is(err, store.ErrSessionGone):
		case failingSince.IsZero():
			failingSince = time.Now()
			continue
		case time.Since(failingSince) < sessionTTL:
			continue
		}
		c.log.Warn("host registration lost; re-registering", "err", err)
		c.mu.Lock()
		if c.session == sid {
			c.session = ""
		}
		c.mu.Unlock()
		close(lost)
		return
	}
}

func (c *consulCluster) Holds(ctx context.Context) (bool, error) {
	c.mu.Lock()
	sid := c.session
	c.mu.Unlock()
	p, _, err := c.st.B.Get(ctx, c.st.K.Host(c.host), store.Query{})
	if err != nil {
		return false, err
	}
	return p != nil && sid != "" && p.Session == sid, nil
}

func (c *consulCluster) SessionLost() <-chan struct{} {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.lost
}

func (c *consulCluster) ReportStatus(ctx context.Context, st model.EndpointStatus) error {
	if err := c.st.Put(ctx, c.st.K.Status(st.Host, st.EndpointID), st); err != nil {
		return fmt.Errorf("report endpoint %s: %w", model.ShortID(st.EndpointID), err)
	}
	return nil
}

func (c *consulCluster) DeleteStatus(ctx context.Context, host, ep string) error {
	return c.st.Delete(ctx, c.st.K.Status(host, ep))
}

func (c *consulCluster) Statuses(ctx context.Context, host string) (map[string]model.EndpointStatus, error) {
	pairs, _, err := c.st.B.List(ctx, c.st.K.StatusesOf(host), store.Query{})
	if err != nil {
		return nil, err
	}
	out := map[string]model.EndpointStatus{}
	for _, p := range pairs {
		var st model.EndpointStatus
		if store.Decode(p, &st) == nil {
			out[st.EndpointID] = st
		}
	}
	return out, nil
}

func (c *consulCluster) ReportApplied(ctx context.Context, netID string, a store.Applied) error {
	return c.st.Put(ctx, c.st.K.Applied(c.host, netID), a)
}

func (c *consulCluster) DeleteApplied(ctx context.Context, netID string) error {
	return c.st.Delete(ctx, c.st.K.Applied(c.host, netID))
}

func (c *consulCluster) Applied(ctx context.Context) (map[string]store.Applied, error) {
	pairs, _, err := c.st.B.List(ctx, c.st.K.AppliedOf(c.host), store.Query{})
	if err != nil {
		return nil, err
	}
	out := map[string]store.Applied{}
	for _, p := range pairs {
		var a store.Applied
		if parts := store.Tail(p.Key, c.st.K.AppliedOf(c.host)); len(parts) == 1 && store.Decode(p, &a) == nil {
			out[parts[0]] = a
		}
	}
	return out, nil
}

func (c *consulCluster) ReportStats(ctx context.Context, s store.HostStats) error {
	return c.st.Put(ctx, c.st.K.HostStats(c.host), s)
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
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = c.st.B.DestroySession(ctx, c.session)
		c.session = ""
	}
}
