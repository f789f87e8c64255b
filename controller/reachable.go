package controller

import (
	"context"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/mux"

	"github.com/ovsnet/ovsnet/internal/store"
	"github.com/ovsnet/ovsnet/model"
)

// An endpoint is ready when its own host has plumbed it; it is reachable
// from everywhere when, in addition, every other host holding endpoints of
// its network has applied the network's records up to the commit that
// created it: until then a reply from such a host may find no flow back.
// Hosts report, per network, the Consul index they have applied.

// waitReachable waits until every live peer host of ep's network has
// applied the network's state at index (the commit that created ep), each
// followed with a blocking read of its one applied key.
func (c *Controller) waitReachable(ctx context.Context, ep model.Endpoint, index uint64) error {
	var peers []string
	if err := c.read(func(s *state) error {
		for _, h := range s.peerHosts(ep.NetworkID, ep.Host) {
			if s.hosts[h].Alive {
				peers = append(peers, h)
			}
		}
		return nil
	}); err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	var mu sync.Mutex
	var late []string
	for _, h := range peers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			wctx, done := context.WithCancel(ctx)
			defer done()
			ok := false
			store.Watch{Key: c.st.K.Applied(h, ep.NetworkID)}.Run(wctx, c.st.B, func(pairs []store.Pair, _ uint64) {
				var a store.Applied
				if len(pairs) == 1 && store.Decode(pairs[0], &a) == nil && a.Index >= index {
					ok = true
					done()
				}
			})
			if !ok {
				mu.Lock()
				late = append(late, h)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if len(late) > 0 {
		sort.Strings(late)
		return fmt.Errorf("not yet applied on %s", strings.Join(late, ", "))
	}
	return nil
}

func (c *Controller) reachableHandler(w http.ResponseWriter, r *http.Request) {
	timeout := 5 * time.Second
	if s := r.URL.Query().Get("timeout"); s != "" {
		d, err := time.ParseDuration(s)
		if err != nil || d <= 0 || d > time.Minute {
			writeError(w, errorf(ErrInvalid, "invalid timeout %q (a duration up to 1m)", s))
			return
		}
		timeout = d
	}
	v, err := c.EndpointByID(r.Context(), mux.Vars(r)["id"])
	if err != nil {
		writeError(w, err)
		return
	}
	var index uint64
	_ = c.read(func(s *state) error {
		if rec := s.eps[v.ID]; rec != nil {
			index = rec.Index
		}
		return nil
	})
	ctx, cancel := context.WithTimeout(r.Context(), timeout)
	defer cancel()
	if err := c.waitReachable(ctx, v.Endpoint, index); err != nil {
		writeError(w, errorf(ErrTimeout, "endpoint %s is not yet reachable from every host of its network (waited %s)", model.ShortID(v.ID), timeout))
		return
	}
	writeJSON(w, http.StatusOK, map[string]bool{"reachable": true})
}
