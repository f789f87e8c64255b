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
}

// NewConsulSource returns the source of host's desired state. catalog says
// whether to follow every network (for Docker and DNS).
func NewConsulSource(st *store.Store, host string, catalog bool, log *slog.Logger) Source {
	return &consulSource{st: st, host: host, catalog: catalog, log: log.With("part", "source"),
		raw: map[string]map[string]store.DecodedEndpoint{}, watches: map[string]context.CancelFunc{}}
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
			gone = append(gone, id)
		}
	}
	for id := range pl {
		if _, ok := s.watches[id]; ok {
			continue
		}
		nctx, cancel := context.WithCancel(ctx)
		s.watches[id] = cancel
		wg.Add(1)
		go func() { defer wg.Done(); s.watchNetwork(nctx, id) }()
	}
	if len(gone) > 0 {
		d := s.cur.clone()
		for _, id := range gone {
			delete(d.Networks, id)
			delete(d.Endpoints, id)
			delete(d.Index, id)
		}
		s.setLocked(d)
	}
}

// watchNetwork reads one network's record, then follows its endpoints.
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
	store.Watch{Prefix: s.st.K.NetworkEndpoints(id),
		OnError: func(err error) {
			s.log.Warn("cannot read a network's endpoints from Consul", "network", n.Name, "err", err)
		},
	}.Run(ctx, s.st.B, func(pairs []store.Pair, index uint64) {
		s.mu.Lock()
		defer s.mu.Unlock()
		if _, ok := s.watches[id]; !ok || ctx.Err() != nil {
			return // left meanwhile
		}
		prev := s.raw[id]
		dec := store.DecodeEndpoints(pairs, prev)
		s.raw[id] = dec
		d := s.cur.clone()
		if d.Networks[id] == nil {
			nn := n
			d.Networks[id] = &nn
		}
		eps := make(map[string]*model.Endpoint, len(dec))
		old := s.cur.Endpoints[id]
		for epID, rec := range dec {
			if p, ok := prev[epID]; ok && p.Index == rec.Index && old[epID] != nil {
				eps[epID] = old[epID] // unchanged: same pointer
				continue
			}
			ep := rec.Value
			eps[epID] = &ep
		}
		d.Endpoints[id] = eps
		d.Index[id] = index
		s.setLocked(d)
	})
}

// followCatalog keeps d.Catalog: every global network and this host's own
// bridge networks.
func (s *consulSource) followCatalog(ctx context.Context) {
	var last uint64
	reload := true
	store.Watch{Prefix: s.st.K.Catalog(),
		OnError: func(err error) { s.log.Warn("cannot follow the network catalog", "err", err) },
	}.Run(ctx, s.st.B, func(pairs []store.Pair, _ uint64) {
		events := store.DecodeCatalog(pairs)
		if !reload && len(events) > 0 && events[0].Seq > last+1 {
			reload = true // fell behind the ring
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

func (s *consulSource) setLocked(d *Desired) {
	s.cur = d
	s.publish(d)
}
