package ovsagent

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/ovsnet/ovsnet/internal/store"
	"github.com/ovsnet/ovsnet/model"
)

// The source on the in-memory store, written the way the controller
// writes: it follows the host's placement, one watch per network present,
// and the catalog ring.

type published struct {
	mu sync.Mutex
	d  *Desired
	ch chan struct{}
}

func (p *published) set(d *Desired) {
	p.mu.Lock()
	p.d = d
	p.mu.Unlock()
	select {
	case p.ch <- struct{}{}:
	default:
	}
}

func (p *published) waitFor(t *testing.T, what string, cond func(d *Desired) bool) *Desired {
	t.Helper()
	deadline := time.After(5 * time.Second)
	for {
		p.mu.Lock()
		d := p.d
		p.mu.Unlock()
		if d != nil && cond(d) {
			return d
		}
		select {
		case <-p.ch:
		case <-deadline:
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

func putNetwork(t *testing.T, st *store.Store, n *model.Network, seq uint64) {
	var tx store.Txn
	tx.Put(st.K.Network(n.ID), n)
	st.CatalogPut(&tx, store.CatalogEvent{Seq: seq, NetworkID: n.ID})
	if _, err := st.Commit(context.Background(), &tx); err != nil {
		t.Fatal(err)
	}
}

// seqs numbers the endpoint changes of each network, as the leader does.
var seqs = map[string]uint64{}

func putEndpoint(t *testing.T, st *store.Store, ep *model.Endpoint) {
	var tx store.Txn
	tx.Put(st.K.Endpoint(ep.NetworkID, ep.ID), ep)
	tx.PutRaw(st.K.Placement(ep.Host, ep.NetworkID, ep.ID), "")
	seqs[ep.NetworkID]++
	st.ChangePut(&tx, ep.NetworkID, store.EndpointChange{Seq: seqs[ep.NetworkID], Endpoint: ep.ID})
	if _, err := st.Commit(context.Background(), &tx); err != nil {
		t.Fatal(err)
	}
}

func removeEndpoint(t *testing.T, st *store.Store, ep *model.Endpoint) {
	var tx store.Txn
	tx.Delete(st.K.Endpoint(ep.NetworkID, ep.ID))
	tx.Delete(st.K.Placement(ep.Host, ep.NetworkID, ep.ID))
	seqs[ep.NetworkID]++
	st.ChangePut(&tx, ep.NetworkID, store.EndpointChange{Seq: seqs[ep.NetworkID], Endpoint: ep.ID, Removed: true})
	if _, err := st.Commit(context.Background(), &tx); err != nil {
		t.Fatal(err)
	}
}

func TestConsulSourceFollowsWhatConcernsTheHost(t *testing.T) {
	mem := store.NewMemory()
	st := store.New(mem, "ovsnet")
	other := &model.Network{ID: fmt.Sprintf("%064d", 7), Name: "other", Driver: model.DriverOverlay, Scope: model.ScopeGlobal, VNI: 4100}
	putNetwork(t, st, overlayNet, 1)
	putNetwork(t, st, other, 2)
	c1 := endpoint('1', overlayNet, "h1", "192.0.2.1", "10.0.0.2")
	c2 := endpoint('2', overlayNet, "h2", "192.0.2.2", "10.0.0.3")
	oe := endpoint('9', other, "h2", "192.0.2.2", "10.0.0.9")
	putEndpoint(t, st, c2)
	putEndpoint(t, st, oe)

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	p := &published{ch: make(chan struct{}, 1)}
	done := make(chan struct{})
	go func() { NewConsulSource(st, "h1", true, quietLog()).Run(ctx, p.set); close(done) }()
	defer func() { cancel(); <-done }()

	d := p.waitFor(t, "the catalog", func(d *Desired) bool { return len(d.Catalog) == 2 })
	if len(d.Networks) != 0 {
		t.Fatalf("networks without local endpoints: %v", d.Networks)
	}

	// A local endpoint brings its network, with the remote endpoints.
	putEndpoint(t, st, c1)
	d = p.waitFor(t, "overlay with both endpoints", func(d *Desired) bool { return len(d.Endpoints[overlayNet.ID]) == 2 })
	if d.Networks[other.ID] != nil {
		t.Fatal("a network with no local endpoint is followed")
	}
	if d.Endpoints[overlayNet.ID][c2.ID].TunnelIP.String() != "192.0.2.2" {
		t.Fatalf("remote endpoint %+v", d.Endpoints[overlayNet.ID][c2.ID])
	}
	before := d

	// A change elsewhere (another network) does not touch this host.
	writes := mem.Writes
	putEndpoint(t, st, endpoint('8', other, "h3", "192.0.2.3", "10.0.0.8"))
	time.Sleep(50 * time.Millisecond)
	p.mu.Lock()
	same := p.d == before
	p.mu.Unlock()
	if !same || mem.Writes == writes {
		t.Fatal("a change in a network this host does not hold produced a new desired state")
	}

	// A new remote endpoint: a new inner map, the old records kept.
	c5 := endpoint('5', overlayNet, "h2", "192.0.2.2", "10.0.0.5")
	putEndpoint(t, st, c5)
	d = p.waitFor(t, "c5", func(d *Desired) bool { return d.Endpoints[overlayNet.ID][c5.ID] != nil })
	if d.Endpoints[overlayNet.ID][c2.ID] != before.Endpoints[overlayNet.ID][c2.ID] {
		t.Error("an unchanged endpoint record was decoded again")
	}
	if d.Index[overlayNet.ID] <= before.Index[overlayNet.ID] {
		t.Errorf("index %d after %d", d.Index[overlayNet.ID], before.Index[overlayNet.ID])
	}

	// A remote endpoint leaves: only it goes.
	removeEndpoint(t, st, c5)
	d = p.waitFor(t, "c5 gone", func(d *Desired) bool { return d.Endpoints[overlayNet.ID][c5.ID] == nil })
	if d.Endpoints[overlayNet.ID][c2.ID] != before.Endpoints[overlayNet.ID][c2.ID] {
		t.Error("an unchanged endpoint record was decoded again")
	}

	// More changes than the ring holds while the source is not looking
	// (simulated: the ring rewritten past it): it reads everything again.
	for i := 0; i < store.ChangeSlots+2; i++ {
		putEndpoint(t, st, endpoint(byte('A'+i%26), overlayNet, "h3", "192.0.2.3", fmt.Sprintf("10.0.1.%d", i+1)))
	}
	p.waitFor(t, "every endpoint after the ring wrapped", func(d *Desired) bool { return len(d.Endpoints[overlayNet.ID]) == 2+26 })

	// The last local endpoint leaves: the network goes.
	removeEndpoint(t, st, c1)
	p.waitFor(t, "the network to go", func(d *Desired) bool { return d.Networks[overlayNet.ID] == nil && d.Endpoints[overlayNet.ID] == nil })

	// The catalog follows the ring; falling behind reads it all again.
	for i := 0; i < store.CatalogSlots+3; i++ {
		putNetwork(t, st, &model.Network{ID: fmt.Sprintf("%064x", 1000+i), Name: fmt.Sprintf("n%d", i), Driver: model.DriverOverlay,
			Scope: model.ScopeGlobal, VNI: uint32(5000 + i)}, uint64(3+i))
	}
	p.waitFor(t, "every network in the catalog", func(d *Desired) bool { return len(d.Catalog) == 2+store.CatalogSlots+3 })
}

// The catalog's pace: at once when half the ring is new, a short probe
// after a quiet spell, about catalogBatch events per read in a burst,
// bounded both ways.
func TestCatalogPace(t *testing.T) {
	ms := time.Millisecond
	for _, tc := range []struct {
		fresh int
		gap   time.Duration
		want  time.Duration
	}{
		{store.CatalogSlots / 2, 20 * ms, 0},
		{1, time.Second, catalogProbe},
		{10, 25 * ms, 20 * ms}, // 400 creates a second: 8 per read
		{1, 25 * ms, catalogMaxInterval},
		{15, 2 * ms, catalogMinInterval},
		{0, 50 * ms, catalogMaxInterval},
	} {
		if got := catalogPace(tc.fresh, tc.gap); got != tc.want {
			t.Errorf("catalogPace(%d, %v) = %v, want %v", tc.fresh, tc.gap, got, tc.want)
		}
	}
	// A burst at a steady rate, from a quiet start: no read finds more
	// than the ring holds, and reads stay few when the rate is low.
	for _, rate := range []float64{5, 50, 400, 1200, 2500} {
		gap, reads, maxFresh := time.Second, 0, 0
		pace := catalogPace(1, gap)
		between := time.Duration(float64(time.Second) / rate)
		for elapsed := time.Duration(0); elapsed < 3*time.Second; elapsed += gap {
			// The next read waits for the pace, and for a change (a
			// blocking query); it takes about a millisecond.
			gap = max(pace, between) + ms
			fresh := max(1, int(rate*gap.Seconds()))
			maxFresh = max(maxFresh, fresh)
			pace = catalogPace(fresh, gap)
			reads++
		}
		if maxFresh >= store.CatalogSlots {
			t.Errorf("%.0f creates a second: a read found %d new events, more than the ring holds", rate, maxFresh)
		}
		if perSecond := float64(reads) / 3; rate <= 50 && perSecond > 11 {
			t.Errorf("%.0f creates a second: %.0f reads a second", rate, perSecond)
		}
	}
}
