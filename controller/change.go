package controller

import (
	"context"
	"errors"

	"github.com/ovsnet/ovsnet/internal/store"
)

// plan builds one change against the state: it checks the request, adds
// the writes and their guards to t, and returns how to apply the change to
// the state once committed at index. It must not modify s.
type plan func(s *state, t *writes) (apply func(s *state, index uint64), err error)

// writes is one transaction under construction, with the endpoint changes
// it makes numbered per network for the networks' change rings (which the
// agents follow).
type writes struct {
	*store.Txn
	st  *store.Store
	seq map[string]uint64
}

func newWrites(st *store.Store) *writes {
	return &writes{Txn: &store.Txn{}, st: st, seq: map[string]uint64{}}
}

// endpointChanged records a change of endpoint epID of network netID in
// the network's change ring.
func (w *writes) endpointChanged(s *state, netID, epID string, removed bool) {
	n, ok := w.seq[netID]
	if !ok {
		if ns := s.networks[netID]; ns != nil {
			n = ns.seq
		}
	}
	n++
	w.seq[netID] = n
	w.st.ChangePut(w.Txn, netID, store.EndpointChange{Seq: n, Endpoint: epID, Removed: removed})
}

// applySeq records the rings' new sequence numbers in the state.
func (w *writes) applySeq(s *state) {
	for id, n := range w.seq {
		if ns := s.networks[id]; ns != nil {
			ns.seq = max(ns.seq, n)
		}
	}
}

// change plans, commits and applies one write. Writers run one at a time
// on the leader; the transaction is fenced by the leader's session and
// guarded by the modify indexes the plan read, so if Consul ever differs
// from the state (a change made behind the leader's back) the commit fails,
// the state is re-read and the plan is made once more.
func (c *Controller) change(ctx context.Context, p plan) (uint64, error) {
	c.writeMu.Lock()
	defer c.writeMu.Unlock()
	for attempt := 0; ; attempt++ {
		if c.dirty {
			if err := c.reloadLocked(ctx); err != nil {
				return 0, c.unavailable(err)
			}
		}
		c.mu.RLock()
		s, sid := c.state, c.session
		if s == nil || sid == "" {
			c.mu.RUnlock()
			return 0, errNotLeader
		}
		t := newWrites(c.st)
		t.CheckSession(c.st.K.Leader(), sid)
		apply, err := p(s, t)
		c.mu.RUnlock()
		if err != nil {
			return 0, err
		}
		if t.Len() > store.MaxTxnOps {
			return 0, errorf(ErrInvalid, "this change needs %d writes, more than one Consul transaction holds (%d)", t.Len(), store.MaxTxnOps)
		}
		index, err := c.st.Commit(ctx, t.Txn)
		switch {
		case err == nil:
			c.mu.Lock()
			if apply != nil {
				apply(c.state, index)
			}
			t.applySeq(c.state)
			c.state.index = max(c.state.index, index)
			c.notifyLocked()
			c.mu.Unlock()
			consulTxnBytes.Observe(float64(t.Bytes()))
			return index, nil
		case store.ConflictOn(err, c.st.K.Leader()):
			return 0, errNotLeader
		case store.IsConflict(err) && attempt == 0:
			c.log.Warn("the intent in Consul differs from the leader's copy; re-reading it", "err", err)
			c.dirty = true
			continue
		case store.IsConflict(err):
			return 0, errorf(ErrConflict, "the change conflicts with the stored state (%v); try again", err)
		default:
			// The outcome is unknown: read the truth before the next write.
			c.dirty = true
			return 0, c.unavailable(err)
		}
	}
}

// errNotLeader answers a write that reached a replica which does not (or
// no longer) lead.
var errNotLeader = &apiError{kind: ErrUnavailable, msg: "this controller replica is not the leader (leadership is changing); try again"}

// isAPIError says whether err already carries an API kind.
func isAPIError(err error) bool {
	var a *apiError
	return errors.As(err, &a)
}
