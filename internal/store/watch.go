package store

import (
	"context"
	"time"
)

// Watch is the one watch loop of ovsnet: blocking queries on a key or a
// prefix, a call for every new index, bounded back-off while the backend
// is away, and a fresh start when Consul's index goes backwards (a restore
// or a new cluster).
type Watch struct {
	// Key or Prefix says what to follow (exactly one).
	Key, Prefix string
	// WaitTime bounds each blocking query (default 5 minutes).
	WaitTime time.Duration
	// OnError is told of a failure (only the first of a series, so logs
	// do not repeat); OnRecover when reads work again.
	OnError   func(err error)
	OnRecover func()
	// Pace, when set, spaces the calls of fn: asked after each call, it
	// says how long the next read waits after it; a change that comes
	// sooner waits that long and is coalesced with any others that came
	// meanwhile. A change after a quiet spell is seen at once. Nil: every
	// change at once. A follower of a ring paces itself by the rate it
	// sees, so that a burst is read in batches without ever falling a
	// whole ring behind.
	Pace func() time.Duration
}

// backoff bounds of every watch.
const (
	watchMinBackoff = 100 * time.Millisecond
	watchMaxBackoff = 2 * time.Second
)

// Run calls fn with what the key or prefix holds now and again after every
// change, until ctx ends. fn runs in Run's goroutine; a slow fn coalesces
// changes (the next read returns the latest state). For a Key watch the
// slice holds the pair, or nothing when the key does not exist.
func (w Watch) Run(ctx context.Context, b Backend, fn func(pairs []Pair, index uint64)) {
	wait := w.WaitTime
	if wait == 0 {
		wait = 5 * time.Minute
	}
	var index uint64
	backoff := watchMinBackoff
	failing := false
	called := false
	var lastCall time.Time
	for ctx.Err() == nil {
		if w.Pace != nil && called {
			// The blocking query returns at the first change; waiting
			// before it lets a burst of changes pile up into one read.
			if rest := w.Pace() - time.Since(lastCall); rest > 0 {
				select {
				case <-time.After(rest):
				case <-ctx.Done():
					return
				}
			}
		}
		q := Query{WaitIndex: index, WaitTime: wait}
		var pairs []Pair
		var idx uint64
		var err error
		if w.Key != "" {
			var p *Pair
			p, idx, err = b.Get(ctx, w.Key, q)
			if p != nil {
				pairs = []Pair{*p}
			}
		} else {
			pairs, idx, err = b.List(ctx, w.Prefix, q)
		}
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			if !failing && w.OnError != nil {
				w.OnError(err)
			}
			failing = true
			index = 0
			select {
			case <-time.After(backoff):
			case <-ctx.Done():
				return
			}
			backoff = min(backoff*2, watchMaxBackoff)
			continue
		}
		if failing && w.OnRecover != nil {
			w.OnRecover()
		}
		failing = false
		backoff = watchMinBackoff
		if idx == index && called {
			continue // the wait timed out with nothing new
		}
		if idx < index || idx == 0 {
			index = 0 // the index went backwards: read afresh next time
		} else {
			index = idx
		}
		called = true
		fn(pairs, idx)
		lastCall = time.Now()
	}
}
