package controller

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"
)

// watcher follows the cluster state with Consul blocking queries and hands
// the latest snapshot to whoever waits: the compiler, connects waiting for
// their agent, the UI's live updates.
type watcher struct {
	store *Store
	log   *slog.Logger

	mu      sync.Mutex
	cur     *Snapshot
	changed chan struct{} // closed and replaced whenever cur changes
	lastErr error
}

func newWatcher(store *Store, log *slog.Logger) *watcher {
	return &watcher{store: store, log: log, changed: make(chan struct{})}
}

// latest returns the newest snapshot (nil before the first) and a channel
// closed when a newer one arrives.
func (w *watcher) latest() (*Snapshot, <-chan struct{}) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.cur, w.changed
}

func (w *watcher) set(sn *Snapshot) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.cur != nil && sn.Index != 0 && sn.Index < w.cur.Index && w.lastErr == nil {
		return // an older read finishing late
	}
	w.cur = sn
	w.lastErr = nil
	close(w.changed)
	w.changed = make(chan struct{})
}

func (w *watcher) fail(err error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.lastErr = err
}

// healthy says whether the last read from Consul succeeded.
func (w *watcher) healthy() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.lastErr
}

// waitFor blocks until pred holds for a snapshot, or ctx ends.
func (w *watcher) waitFor(ctx context.Context, pred func(*Snapshot) bool) error {
	for {
		sn, ch := w.latest()
		if sn != nil && pred(sn) {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// run keeps the snapshot current until ctx ends. Consul being away is
// survived with bounded back-off; the last snapshot stays available.
func (w *watcher) run(ctx context.Context) {
	var index uint64
	backoff := 100 * time.Millisecond
	for ctx.Err() == nil {
		sn, err := w.store.Load(ctx, index)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			if w.healthy() == nil {
				w.log.Warn("watching Consul failed; serving the last known state", "err", err)
			}
			w.fail(err)
			index = 0
			select {
			case <-time.After(backoff):
			case <-ctx.Done():
				return
			}
			backoff = min(backoff*2, 2*time.Second)
			continue
		}
		if w.healthy() != nil {
			w.log.Info("Consul is back")
		}
		backoff = 100 * time.Millisecond
		// Consul's index can go backwards (snapshot restore, new cluster):
		// start over rather than block forever on a future index.
		if sn.Index < index || sn.Index == 0 {
			index = 0
		} else {
			index = sn.Index
		}
		w.set(sn)
	}
}

var errNoSnapshot = errors.New("no cluster state read yet")
