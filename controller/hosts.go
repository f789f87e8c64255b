package controller

import (
	"context"
	"net/http"
	"time"

	"github.com/gorilla/mux"

	"github.com/ovsnet/ovsnet/model"
)

// Hosts that die. A host whose agent is gone (its session ended) is down;
// gone for longer than the grace period, it is dead. A dead host's
// endpoints keep their addresses until someone removes the host
// (`ovsnetctl host rm`), or, with Config.ReapDeadHosts, until the leader
// does it by itself. Removing a host releases its endpoints (its peers drop
// their flows as the records go) and its reports; an agent that comes back
// afterwards finds nothing of its old endpoints in its desired state and
// unplugs them.

// releaseBatch is how many endpoints one transaction releases (each takes
// up to six operations; a transaction holds 64).
const releaseBatch = 9

// liveness fills a host's state from its agent's session and how long it
// has been gone.
func (c *Controller) liveness(h *model.Host) {
	switch {
	case h.Alive:
		h.State = model.HostAlive
	case !h.DownSince.IsZero() && time.Since(h.DownSince) >= c.hostGrace:
		h.State = model.HostDead
	default:
		h.State = model.HostDown
	}
}

// noteDownLocked records since when each host is down; mu must be held.
func (c *Controller) noteDownLocked(hosts map[string]model.Host) {
	now := time.Now()
	for name, h := range hosts {
		if h.Alive {
			delete(c.downSince, name)
			continue
		}
		if _, ok := c.downSince[name]; !ok {
			c.downSince[name] = now
		}
		h.DownSince = c.downSince[name]
		hosts[name] = h
	}
	for name := range c.downSince {
		if _, ok := hosts[name]; !ok {
			delete(c.downSince, name)
		}
	}
}

// RemoveHost removes a host: its endpoints (their addresses released), its
// record and its reports. A host whose agent is alive is refused unless
// force is set.
func (c *Controller) RemoveHost(ctx context.Context, name string, force bool) (int, error) {
	if err := model.ValidateName("host", name); err != nil {
		return 0, invalid(err)
	}
	var h model.Host
	known := false
	if err := c.read(func(s *state) error {
		h, known = s.hosts[name]
		if !known && len(s.byHost[name]) > 0 {
			known = true
		}
		return nil
	}); err != nil {
		return 0, err
	}
	if !known {
		return 0, errorf(ErrNotFound, "host %s not found", name)
	}
	if h.Alive && !force {
		return 0, errorf(ErrConflict, "host %s is alive (its agent holds its record): stop its agent first, or remove it anyway with --force", name)
	}
	removed := 0
	for {
		n := 0
		_, err := c.change(ctx, func(s *state, t *writes) (func(*state, uint64), error) {
			var ids []string
			for id := range s.byHost[name] {
				if len(ids) == releaseBatch {
					break
				}
				ids = append(ids, id)
				releaseTxn(t, s, s.eps[id])
			}
			n = len(ids)
			return func(s *state, _ uint64) {
				for _, id := range ids {
					s.removeEndpoint(id)
				}
			}, nil
		})
		if err != nil {
			return removed, err
		}
		removed += n
		if n < releaseBatch {
			break
		}
	}
	_, err := c.change(ctx, func(s *state, t *writes) (func(*state, uint64), error) {
		k := c.st.K
		t.Delete(k.Host(name))
		t.Delete(k.HostStats(name))
		t.DeleteTree(k.StatusesOf(name))
		t.DeleteTree(k.AppliedOf(name))
		return func(s *state, _ uint64) { delete(s.hosts, name) }, nil
	})
	if err != nil {
		return removed, err
	}
	c.mu.Lock()
	delete(c.downSince, name)
	c.mu.Unlock()
	c.log.Warn("host removed", "host", name, "endpoints", removed, "forced", force && h.Alive)
	return removed, nil
}

// reapDead removes the hosts dead for longer than the grace period (with
// Config.ReapDeadHosts).
func (c *Controller) reapDead(ctx context.Context) {
	var dead []string
	_ = c.read(func(s *state) error {
		for name, h := range s.hosts {
			c.liveness(&h)
			if h.State == model.HostDead {
				dead = append(dead, name)
			}
		}
		return nil
	})
	for _, name := range dead {
		n, err := c.RemoveHost(ctx, name, false)
		if err != nil {
			c.log.Warn("reaping a dead host", "host", name, "err", err)
			continue
		}
		c.log.Warn("reaped a dead host: its agent has been gone longer than the grace period", "host", name,
			"grace", c.hostGrace, "endpoints", n)
	}
}

func (c *Controller) removeHostHandler(w http.ResponseWriter, r *http.Request) {
	n, err := c.RemoveHost(r.Context(), mux.Vars(r)["name"], r.URL.Query().Get("force") == "true")
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]int{"endpointsRemoved": n})
}
