package ovsagent

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/ovsnet/ovsnet/internal/store"
	"github.com/ovsnet/ovsnet/model"
)

// Source feeds the agent its desired state: publish is called with every
// new version, from any goroutine.
type Source interface {
	Run(ctx context.Context, publish func(*Desired))
}

// consulSource assembles the desired state from scoped watches, so that an
// agent reads only what concerns it:
//
//   - placement/<host>/ says which networks are present here (one
//     blocking query);
//   - endpoints/<net>/ of each of those networks (one blocking query per
//     network, started and stopped as the placement changes), decoding only
//     the records whose modify index changed;
//   - when asked (Docker, DNS), the catalog of all networks: read once, then
//     followed through the catalog ring, re-read only after falling more
//     than a ring's length behind.
type consulSource struct {
	st      *store.Store
	host    string
	catalog bool
	log     *slog.Logger

	mu      sync.Mutex
	cur     *Desired
	raw     map[string]map[string]store.DecodedEndpoint // per network, as decoded
	watches map[string]context.CancelFunc
	publish func(*Desired)
	// placed says the placement was read once; pending are the networks
	// placed whose endpoints were not read yet. Nothing is published until
	// the state is whole: a network missing because it is still loading
	// would look removed, and its flows would go.
	placed  bool
	pending map[string]bool
}

// NewConsulSource returns the source of host's desired state. catalog says
// whether to follow every network (for Docker and DNS).
func NewConsulSource(st *store.Store, host string, catalog bool, log *slog.Logger) Source {
	return &consulSource{st: st, host: host, catalog: catalog, log: log.With("part", "source"),
		raw: map[string]map[string]store.DecodedEndpoint{}, watches: map[string]context.CancelFunc{}, pending: map[string]bool{}}
}

func (s *consulSource) Run(ctx context.Context, publish func(*Desired)) {
	s.mu.Lock()
	s.cur = NewDesired(s.host)
	s.publish = publish
	s.mu.Unlock()
	var wg sync.WaitGroup
	if s.catalog {
		wg.Add(1)
		go func() { defer wg.Done(); s.followCatalog(ctx) }()
	}
	placement := store.Watch{Prefix: s.st.K.PlacementOf(s.host),
		OnError: func(err error) {
			s.log.Warn("cannot read placement from Consul; keeping the data plane as it is", "err", err)
		},
		OnRecover: func() { s.log.Info("Consul is back") },
	}
	placement.Run(ctx, s.st.B, func(pairs []store.Pair, _ uint64) {
		s.place(ctx, &wg, s.st.DecodePlacement(s.host, pairs))
	})
	s.mu.Lock()
	for _, cancel := range s.watches {
		cancel()
	}
	s.mu.Unlock()
	wg.Wait()
}

// place starts watching the networks newly present and drops the others.
func (s *consulSource) place(ctx context.Context, wg *sync.WaitGroup, pl store.Placement) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var gone []string
	for id, cancel := range s.watches {
		if pl[id] == nil {
			cancel()
			delete(s.watches, id)
			delete(s.raw, id)
			delete(s.pending, id)
			gone = append(gone, id)
		}
	}
	for id := range pl {
		if _, ok := s.watches[id]; ok {
			continue
		}
		nctx, cancel := context.WithCancel(ctx)
		s.watches[id] = cancel
		s.pending[id] = true
		wg.Add(1)
		go func() { defer wg.Done(); s.watchNetwork(nctx, id) }()
	}
	first := !s.placed
	s.placed = true
	if len(gone) > 0 || first {
		d := s.cur.clone()
		for _, id := range gone {
			delete(d.Networks, id)
			delete(d.Endpoints, id)
			delete(d.Index, id)
		}
		s.setLocked(d)
	}
}

// watchNetwork reads one network's record, then follows its endpoints:
// all of them once, then only those its change ring names.
func (s *consulSource) watchNetwork(ctx context.Context, id string) {
	var n model.Network
	backoff := 100 * time.Millisecond
	for {
		found, err := s.st.GetRecord(ctx, s.st.K.Network(id), &n)
		if err == nil && found {
			break
		}
		if ctx.Err() != nil {
			return
		}
		if err != nil {
			s.log.Warn("reading a network of this host", "network", model.ShortID(id), "err", err)
		}
		// Not found: placement and network are written together, so this
		// is a network being removed; its placement goes too.
		select {
		case <-time.After(backoff):
		case <-ctx.Done():
			return
		}
		backoff = min(backoff*2, 2*time.Second)
	}
	var last uint64 // the ring's newest sequence number applied
	full := true
	store.Watch{Prefix: s.st.K.NetworkChanges(id),
		OnError: func(err error) {
			s.log.Warn("cannot follow a network's changes in Consul", "network", n.Name, "err", err)
		},
	}.Run(ctx, s.st.B, func(pairs []store.Pair, index uint64) {
		events := store.DecodeChanges(pairs)
		newest := uint64(0)
		if len(events) > 0 {
			newest = events[len(events)-1].Seq
		}
		// Fell behind the ring, or the ring went away or back in time (a
		// wipe, a restore): read every endpoint again.
		if !full && (len(events) == 0 || events[0].Seq > last+1 || newest < last) {
			full = true
		}
		var changed []store.EndpointChange
		if !full {
			for _, ev := range events {
				if ev.Seq > last {
					changed = append(changed, ev)
				}
			}
			if len(changed) == 0 {
				return
			}
		}
		var eps map[string]*model.Endpoint
		var err error
		if full {
			eps, index, err = s.readEndpoints(ctx, id, index)
		} else {
			eps, err = s.readChanged(ctx, id, changed)
		}
		if err != nil {
			if ctx.Err() == nil {
				s.log.Warn("reading a network's endpoints", "network", n.Name, "err", err)
			}
			full = true
			return // the next change retries
		}
		full, last = false, newest
		s.mu.Lock()
		defer s.mu.Unlock()
		if _, ok := s.watches[id]; !ok || ctx.Err() != nil {
			return // left meanwhile
		}
		d := s.cur.clone()
		if d.Networks[id] == nil {
			nn := n
			d.Networks[id] = &nn
		}
		d.Endpoints[id] = eps
		d.Index[id] = index
		delete(s.pending, id)
		s.setLocked(d)
	})
}

// readEndpoints reads all of a network's endpoints, keeping the records of
// the current desired state that did not change (same pointer).
func (s *consulSource) readEndpoints(ctx context.Context, id string, ringIndex uint64) (map[string]*model.Endpoint, uint64, error) {
	pairs, index, err := s.st.B.List(ctx, s.st.K.NetworkEndpoints(id), store.Query{})
	if err != nil {
		return nil, 0, err
	}
	s.mu.Lock()
	prev := s.raw[id]
	old := s.cur.Endpoints[id]
	s.mu.Unlock()
	dec := store.DecodeEndpoints(pairs, prev)
	eps := make(map[string]*model.Endpoint, len(dec))
	for epID, rec := range dec {
		if rec.Value.NetworkID != id {
			continue // filed under another network: not this one's
		}
		if p, ok := prev[epID]; ok && p.Index == rec.Index && old[epID] != nil {
			eps[epID] = old[epID]
			continue
		}
		ep := rec.Value
		eps[epID] = &ep
	}
	s.mu.Lock()
	s.raw[id] = dec
	s.mu.Unlock()
	return eps, max(index, ringIndex), nil
}

// readChanged reads the endpoints a ring's events name, on top of the
// current ones.
func (s *consulSource) readChanged(ctx context.Context, id string, changed []store.EndpointChange) (map[string]*model.Endpoint, error) {
	s.mu.Lock()
	cur := s.cur.Endpoints[id]
	prev := s.raw[id]
	s.mu.Unlock()
	eps := make(map[string]*model.Endpoint, len(cur)+len(changed))
	for k, v := range cur {
		eps[k] = v
	}
	raw := make(map[string]store.DecodedEndpoint, len(prev)+len(changed))
	for k, v := range prev {
		raw[k] = v
	}
	seen := map[string]bool{}
	for i := len(changed) - 1; i >= 0; i-- { // newest first: one read per endpoint
		epID := changed[i].Endpoint
		if seen[epID] {
			continue
		}
		seen[epID] = true
		p, _, err := s.st.B.Get(ctx, s.st.K.Endpoint(id, epID), store.Query{})
		if err != nil {
			return nil, err
		}
		if p == nil {
			delete(eps, epID)
			delete(raw, epID)
			continue
		}
		if old, ok := raw[epID]; ok && old.Index == p.ModifyIndex && eps[epID] != nil {
			continue
		}
		var ep model.Endpoint
		if store.Decode(*p, &ep) != nil || ep.ID != epID || ep.NetworkID != id {
			continue
		}
		eps[epID] = &ep
		raw[epID] = store.DecodedEndpoint{Value: ep, Index: p.ModifyIndex}
	}
	s.mu.Lock()
	s.raw[id] = raw
	s.mu.Unlock()
	return eps, nil
}

// The catalog's reads in a burst of creates are paced by the rate seen:
// about catalogBatch new events per read, never more than
// catalogMaxInterval apart, never closer than catalogMinInterval unless a
// read found the ring half full. The first read after a quiet spell comes
// soon (catalogProbe), to learn the rate before the ring can fill.
const (
	catalogBatch       = store.CatalogSlots / 4
	catalogMinInterval = 5 * time.Millisecond
	catalogProbe       = 10 * time.Millisecond
	catalogMaxInterval = 100 * time.Millisecond
)

// catalogPace is the spacing before the next catalog read, given how many
// new events the last read found and how long before it the one before
// came.
func catalogPace(fresh int, gap time.Duration) time.Duration {
	switch {
	case fresh >= store.CatalogSlots/2:
		return 0 // falling behind: read again at once
	case gap > 2*catalogMaxInterval:
		return catalogProbe // after a quiet spell
	}
	return min(max(gap*catalogBatch/time.Duration(max(fresh, 1)), catalogMinInterval), catalogMaxInterval)
}

// followCatalog keeps d.Catalog: every global network and this host's own
// bridge networks.
func (s *consulSource) followCatalog(ctx context.Context) {
	var last uint64
	reload := true
	// The catalog only names networks (DNS zones, Docker's network list):
	// a burst of creates is taken in batches (catalogPace), so no host
	// pays a state rebuild per create, and no batch overflows the ring,
	// which would mean reading every network again.
	pace, lastRead := catalogProbe, time.Time{}
	store.Watch{Prefix: s.st.K.Catalog(), Pace: func() time.Duration { return pace },
		OnError: func(err error) { s.log.Warn("cannot follow the network catalog", "err", err) },
	}.Run(ctx, s.st.B, func(pairs []store.Pair, _ uint64) {
		events := store.DecodeCatalog(pairs)
		fresh := 0
		for _, ev := range events {
			if ev.Seq > last {
				fresh++
			}
		}
		now := time.Now()
		pace, lastRead = catalogPace(fresh, now.Sub(lastRead)), now
		if !reload && len(events) > 0 && events[0].Seq > last+1 {
			reload = true // fell behind the ring
			s.log.Debug("fell a whole catalog ring behind; reading every network", "last", last, "oldest", events[0].Seq)
		}
		if reload {
			all, _, err := s.st.Networks(ctx)
			if err != nil {
				s.log.Warn("reading the network catalog", "err", err)
				return // the next change retries
			}
			cat := map[string]*model.Network{}
			for id, n := range all {
				if n.Scope == model.ScopeGlobal || n.Host == s.host {
					nn := n
					cat[id] = &nn
				}
			}
			for _, ev := range events {
				last = max(last, ev.Seq)
			}
			reload = false
			s.setCatalog(cat)
			return
		}
		s.mu.Lock()
		cat := map[string]*model.Network{}
		for k, v := range s.cur.Catalog {
			cat[k] = v
		}
		s.mu.Unlock()
		changed := false
		for _, ev := range events {
			if ev.Seq <= last {
				continue
			}
			last = ev.Seq
			changed = true
			if ev.Removed {
				delete(cat, ev.NetworkID)
				continue
			}
			var n model.Network
			found, err := s.st.GetRecord(ctx, s.st.K.Network(ev.NetworkID), &n)
			switch {
			case err != nil:
				reload = true // read everything at the next change
			case found && (n.Scope == model.ScopeGlobal || n.Host == s.host):
				cat[n.ID] = &n
			case !found:
				delete(cat, ev.NetworkID)
			}
		}
		if changed {
			s.setCatalog(cat)
		}
	})
}

func (s *consulSource) setCatalog(cat map[string]*model.Network) {
	s.mu.Lock()
	defer s.mu.Unlock()
	d := s.cur.clone()
	d.Catalog = cat
	s.setLocked(d)
}

// setLocked makes d current, and publishes it once it is whole.
func (s *consulSource) setLocked(d *Desired) {
	s.cur = d
	if s.placed && len(s.pending) == 0 {
		s.publish(d)
	}
}
