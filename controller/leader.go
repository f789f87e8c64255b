package controller

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/ovsnet/ovsnet/internal/store"
	"github.com/ovsnet/ovsnet/model"
)

// Leadership. Replicas compete for the leader lock with a Consul session;
// the holder loads the intent into memory and is its only writer, every
// write fenced by a check of its session on the lock, so a deposed leader
// cannot write. Losing the session (or the lock) ends the lead; a replica
// keeps its last state to answer reads while no leader is reachable.

// sessionTTL is the leader session's backstop; heartbeatTTL is what really
// bounds how long a crashed leader holds the lock: its session is bound to
// a heartbeat check it passes every heartbeatEvery, and ends as soon as
// the check is not passed within heartbeatTTL. No lock delay: every write
// of a leader is fenced by its session, so a successor can take over at
// once.
const (
	sessionTTL     = 10 * time.Second
	heartbeatTTL   = 2 * time.Second
	heartbeatEvery = heartbeatTTL / 4
)

// runElection competes for the lock for as long as ctx lives.
func (c *Controller) runElection(ctx context.Context) {
	backoff := 200 * time.Millisecond
	for ctx.Err() == nil {
		err := c.campaign(ctx)
		if ctx.Err() != nil {
			return
		}
		if err != nil {
			c.log.Warn("leader election", "err", err)
			c.setHealth(err)
		} else {
			backoff = 200 * time.Millisecond
		}
		select {
		case <-time.After(backoff):
		case <-ctx.Done():
			return
		}
		backoff = min(backoff*2, 3*time.Second)
	}
}

// campaign opens a session, waits for the lock and leads until the
// session is lost or ctx ends.
func (c *Controller) campaign(ctx context.Context) error {
	hb := "ovsnet-controller-" + c.id
	if err := c.st.B.RegisterHeartbeat(ctx, hb, "ovsnet controller "+c.id, heartbeatTTL); err != nil {
		return err
	}
	defer func() {
		dctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = c.st.B.DeregisterHeartbeat(dctx, hb)
	}()
	sid, err := c.st.B.CreateSession(ctx, store.SessionSpec{Name: "ovsnet-controller " + c.id, TTL: sessionTTL, Heartbeat: hb})
	if err != nil {
		return err
	}
	defer func() {
		// Ending the session releases the lock at once: a standby takes
		// over without waiting for the TTL.
		dctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = c.st.B.DestroySession(dctx, sid)
	}()
	lost := make(chan struct{})
	sessCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	go c.renew(sessCtx, sid, hb, lost)
	go func() {
		select {
		case <-lost:
			cancel()
		case <-sessCtx.Done():
		}
	}()
	me := store.Leader{ID: c.id, URL: c.url}
	b, err := json.Marshal(me)
	if err != nil {
		return err
	}
	for sessCtx.Err() == nil {
		ok, err := c.st.B.Acquire(sessCtx, c.st.K.Leader(), b, sid)
		if errors.Is(err, store.ErrSessionGone) {
			return nil
		}
		if err != nil {
			return err
		}
		if ok {
			return c.lead(sessCtx, sid)
		}
		// Held by another replica: wait until it is free.
		var index uint64
		for sessCtx.Err() == nil {
			p, idx, err := c.st.B.Get(sessCtx, c.st.K.Leader(), store.Query{WaitIndex: index, WaitTime: time.Minute})
			if err != nil {
				return err
			}
			if p == nil || p.Session == "" {
				break
			}
			index = idx
		}
	}
	return nil
}

// renew keeps the session alive (its heartbeat often, the session itself
// now and then); lost is closed when it has ended. Consul being away does
// not end the lead by itself: writes fail anyway, and when Consul is back
// the session is either still there or gone.
func (c *Controller) renew(ctx context.Context, sid, hb string, lost chan struct{}) {
	tick := time.NewTicker(heartbeatEvery)
	defer tick.Stop()
	lastRenew := time.Now()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		if err := c.st.B.PassHeartbeat(ctx, hb); err != nil && ctx.Err() == nil {
			c.setHealth(err)
		}
		if time.Since(lastRenew) < sessionTTL/3 {
			continue
		}
		lastRenew = time.Now()
		err := c.st.B.RenewSession(ctx, sid)
		switch {
		case errors.Is(err, store.ErrSessionGone):
			c.log.Warn("leader session ended", "replica", c.id)
			close(lost)
			return
		case err != nil && ctx.Err() == nil:
			c.setHealth(err)
		case err == nil:
			c.setHealth(nil)
		}
	}
}

// lead loads the intent and keeps it until ctx ends (the session is lost
// or the replica stops).
func (c *Controller) lead(ctx context.Context, sid string) error {
	sn, err := c.st.Load(ctx)
	if err != nil {
		return err
	}
	s := stateFrom(sn)
	for _, k := range s.skipped {
		c.log.Warn("skipping a record that cannot be read", "key", k.Key, "err", k.Err)
	}
	c.log.Info("leading", "replica", c.id, "networks", len(s.networks), "endpoints", len(s.eps), "hosts", len(s.hosts))
	c.mu.Lock()
	c.noteDownLocked(s.hosts)
	c.state, c.stale, c.session, c.lastErr = s, false, sid, nil
	c.notifyLocked()
	c.leaderChangedLocked()
	c.mu.Unlock()

	// The lead ends when the session does (ctx), and also when the lock is
	// no longer ours: someone deleted it (a wipe) or took it over.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	done := make(chan struct{}, 3)
	go func() { c.watchHosts(ctx); done <- struct{}{} }()
	go func() { c.housekeeping(ctx); done <- struct{}{} }()
	go func() {
		store.Watch{Key: c.st.K.Leader()}.Run(ctx, c.st.B, func(pairs []store.Pair, _ uint64) {
			if len(pairs) == 0 || pairs[0].Session != sid {
				c.log.Warn("the leader lock is no longer this replica's", "replica", c.id)
				cancel()
			}
		})
		done <- struct{}{}
	}()
	<-ctx.Done()
	<-done
	<-done
	<-done
	c.mu.Lock()
	c.session, c.stale = "", true
	c.leaderChangedLocked()
	c.mu.Unlock()
	c.log.Warn("no longer leading", "replica", c.id)
	return nil
}

// leaderChangedLocked wakes requests waiting for a leader; mu must be held.
func (c *Controller) leaderChangedLocked() {
	close(c.leaderCh)
	c.leaderCh = make(chan struct{})
}

// followLeader keeps track of who holds the lock, for forwarding.
func (c *Controller) followLeader(ctx context.Context) {
	store.Watch{Key: c.st.K.Leader(),
		OnError:   func(err error) { c.setHealth(err) },
		OnRecover: func() { c.setHealth(nil) },
	}.Run(ctx, c.st.B, func(pairs []store.Pair, _ uint64) {
		var l store.Leader
		if len(pairs) == 1 && pairs[0].Session != "" {
			_ = store.Decode(pairs[0], &l)
		}
		c.mu.Lock()
		if l != c.leader {
			c.leader = l
			c.leaderChangedLocked()
		}
		c.mu.Unlock()
	})
}

// watchHosts follows the host records: liveness (the agent's session) and
// identity. Host records change when agents come and go, not with their
// traffic, so this watch is quiet.
func (c *Controller) watchHosts(ctx context.Context) {
	store.Watch{Prefix: c.st.K.Hosts(),
		OnError: func(err error) {
			c.log.Warn("watching hosts failed; keeping the last known", "err", err)
			c.setHealth(err)
		},
		OnRecover: func() { c.setHealth(nil) },
	}.Run(ctx, c.st.B, func(pairs []store.Pair, _ uint64) {
		hosts := map[string]model.Host{}
		for _, p := range pairs {
			var h model.Host
			if err := store.Decode(p, &h); err != nil || h.Name == "" || c.st.K.Host(h.Name) != p.Key {
				continue
			}
			h.Alive = p.Session != ""
			hosts[h.Name] = h
		}
		var moved []model.Host
		c.mu.Lock()
		c.noteDownLocked(hosts)
		if c.state != nil {
			for name, h := range hosts {
				if old, ok := c.state.hosts[name]; ok && old.TunnelIP != h.TunnelIP && h.TunnelIP.IsValid() {
					moved = append(moved, h)
				}
			}
			c.state.hosts = hosts
			c.notifyLocked()
		}
		c.mu.Unlock()
		for _, h := range moved {
			if err := c.retunnel(ctx, h); err != nil && ctx.Err() == nil {
				c.log.Warn("updating the endpoints of a host whose tunnel address changed", "host", h.Name, "err", err)
			}
		}
	})
}

// housekeeping releases stale reservations and re-reads the intent now
// and then, while leading.
func (c *Controller) housekeeping(ctx context.Context) {
	expire := time.NewTicker(30 * time.Second)
	defer expire.Stop()
	reload := time.NewTicker(c.resync)
	defer reload.Stop()
	reap := time.NewTicker(min(c.hostGrace/4, 10*time.Second))
	defer reap.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-reap.C:
			if c.reap {
				c.reapDead(ctx)
			}
		case <-expire.C:
			c.expireReservations(ctx)
		case <-reload.C:
			if err := c.reload(ctx); err != nil && ctx.Err() == nil {
				c.log.Warn("re-reading the intent failed", "err", err)
			}
		}
	}
}

// reload replaces the state with what Consul holds: anti-entropy against
// changes made behind the leader's back, and the repair after a commit
// whose outcome is unknown.
func (c *Controller) reload(ctx context.Context) error {
	c.writeMu.Lock()
	defer c.writeMu.Unlock()
	return c.reloadLocked(ctx)
}

// reloadLocked is reload with writeMu held.
func (c *Controller) reloadLocked(ctx context.Context) error {
	sn, err := c.st.Load(ctx)
	if err != nil {
		return err
	}
	s := stateFrom(sn)
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.state == nil || c.session == "" {
		return nil
	}
	c.state = s
	c.dirty = false
	c.notifyLocked()
	return nil
}
