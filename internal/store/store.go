package store

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strings"

	"github.com/ovsnet/ovsnet/model"
)

// Store is the contract bound to a backend and a key prefix.
type Store struct {
	B Backend
	K Keys
}

// New returns the store rooted at prefix on backend b.
func New(b Backend, prefix string) *Store { return &Store{B: b, K: NewKeys(prefix)} }

// Commit runs a transaction. A guard that fails comes back as
// *ConflictError; the backend being away as *UnavailableError.
func (s *Store) Commit(ctx context.Context, t *Txn) (uint64, error) {
	if err := t.Err(); err != nil {
		return 0, err
	}
	if t.Len() == 0 {
		return 0, nil
	}
	return s.B.Txn(ctx, t.Ops)
}

// Put writes one record outside any transaction.
func (s *Store) Put(ctx context.Context, key string, v any) error {
	var t Txn
	t.Put(key, v)
	_, err := s.Commit(ctx, &t)
	return err
}

// Delete removes one key.
func (s *Store) Delete(ctx context.Context, key string) error {
	var t Txn
	t.Delete(key)
	_, err := s.Commit(ctx, &t)
	return err
}

// GetRecord reads key into v; found is false when it does not exist.
func (s *Store) GetRecord(ctx context.Context, key string, v any) (found bool, err error) {
	p, _, err := s.B.Get(ctx, key, Query{})
	if err != nil || p == nil {
		return false, err
	}
	return true, Decode(*p, v)
}

// Versioned is a record with the modify index its guards check.
type Versioned[T any] struct {
	Value T
	Index uint64
}

// Holder is who holds an address: an endpoint id, a reservation or an
// auxiliary address (see ReservedHolder, AuxHolder).
type Holder = Versioned[string]

// Snapshot is the whole intent and the hosts, as the leader loads it when
// it takes over (and now and then to catch changes made behind its back).
type Snapshot struct {
	Index     uint64
	Networks  map[string]Versioned[model.Network]
	Endpoints map[string]Versioned[model.Endpoint]
	// IPAM is every taken address per network; Attach the endpoint of
	// each container per network; Pools the default pools handed out.
	IPAM   map[string]map[netip.Addr]Holder
	Attach map[string]map[string]Holder
	Pools  map[netip.Prefix]string
	Hosts  map[string]model.Host
	// CatalogSeq is the newest sequence number in the catalog ring;
	// ChangeSeq the newest in each network's change ring.
	CatalogSeq uint64
	ChangeSeq  map[string]uint64
	// Skipped are keys under the prefix that could not be read: logged,
	// counted and left alone, never fatal.
	Skipped []SkippedKey
}

// SkippedKey is a record that could not be decoded.
type SkippedKey struct {
	Key string
	Err error
}

// Load reads the intent, the allocations, the hosts and the catalog ring.
// Records that cannot be decoded are skipped and listed.
func (s *Store) Load(ctx context.Context) (*Snapshot, error) {
	sn := &Snapshot{Networks: map[string]Versioned[model.Network]{}, Endpoints: map[string]Versioned[model.Endpoint]{},
		IPAM: map[string]map[netip.Addr]Holder{}, Attach: map[string]map[string]Holder{}, Pools: map[netip.Prefix]string{},
		Hosts: map[string]model.Host{}, ChangeSeq: map[string]uint64{}}
	skip := func(key string, err error) { sn.Skipped = append(sn.Skipped, SkippedKey{Key: key, Err: err}) }
	list := func(prefix string) ([]Pair, error) {
		pairs, idx, err := s.B.List(ctx, prefix, Query{})
		sn.Index = max(sn.Index, idx)
		return pairs, err
	}

	pairs, err := list(s.K.Networks())
	if err != nil {
		return nil, err
	}
	for _, p := range pairs {
		var n model.Network
		if err := Decode(p, &n); err != nil {
			skip(p.Key, err)
			continue
		}
		if n.ID == "" || s.K.Network(n.ID) != p.Key {
			skip(p.Key, errors.New("network id does not match its key"))
			continue
		}
		sn.Networks[n.ID] = Versioned[model.Network]{n, p.ModifyIndex}
	}

	if pairs, err = list(s.K.Endpoints()); err != nil {
		return nil, err
	}
	for _, p := range pairs {
		var ep model.Endpoint
		if err := Decode(p, &ep); err != nil {
			skip(p.Key, err)
			continue
		}
		if ep.ID == "" || s.K.Endpoint(ep.NetworkID, ep.ID) != p.Key {
			skip(p.Key, errors.New("endpoint id or network does not match its key"))
			continue
		}
		sn.Endpoints[ep.ID] = Versioned[model.Endpoint]{ep, p.ModifyIndex}
	}

	if pairs, err = list(s.K.Alloc()); err != nil {
		return nil, err
	}
	for _, p := range pairs {
		if pool, ok := s.K.PoolFromKey(p.Key); ok {
			sn.Pools[pool] = string(p.Value)
			continue
		}
		parts := Tail(p.Key, s.K.Alloc())
		switch {
		case len(parts) == 3 && parts[0] == "ipam":
			a, err := netip.ParseAddr(parts[2])
			if err != nil {
				skip(p.Key, fmt.Errorf("not an address: %w", err))
				continue
			}
			if sn.IPAM[parts[1]] == nil {
				sn.IPAM[parts[1]] = map[netip.Addr]Holder{}
			}
			sn.IPAM[parts[1]][a] = Holder{string(p.Value), p.ModifyIndex}
		case len(parts) == 3 && parts[0] == "attach":
			if sn.Attach[parts[1]] == nil {
				sn.Attach[parts[1]] = map[string]Holder{}
			}
			sn.Attach[parts[1]][parts[2]] = Holder{string(p.Value), p.ModifyIndex}
		case len(parts) == 2 && (parts[0] == "names" || parts[0] == "vnis"):
			// Guards only: the network records say the same.
		default:
			skip(p.Key, errors.New("not a key of ovsnet's layout"))
		}
	}

	if pairs, err = list(s.K.Hosts()); err != nil {
		return nil, err
	}
	for _, p := range pairs {
		var h model.Host
		if err := Decode(p, &h); err != nil {
			skip(p.Key, err)
			continue
		}
		if h.Name == "" || s.K.Host(h.Name) != p.Key {
			skip(p.Key, errors.New("host name does not match its key"))
			continue
		}
		h.Alive = p.Session != ""
		sn.Hosts[h.Name] = h
	}

	if pairs, err = list(s.K.Changes()); err != nil {
		return nil, err
	}
	for _, p := range pairs {
		parts := Tail(p.Key, s.K.Changes())
		var ev EndpointChange
		if len(parts) != 2 || Decode(p, &ev) != nil {
			skip(p.Key, errors.New("not a change record"))
			continue
		}
		sn.ChangeSeq[parts[0]] = max(sn.ChangeSeq[parts[0]], ev.Seq)
	}

	ring, err := s.ReadCatalog(ctx)
	if err != nil {
		return nil, err
	}
	for _, ev := range ring {
		sn.CatalogSeq = max(sn.CatalogSeq, ev.Seq)
	}
	return sn, nil
}

// ReadCatalog reads the catalog ring, oldest first.
func (s *Store) ReadCatalog(ctx context.Context) ([]CatalogEvent, error) {
	pairs, _, err := s.B.List(ctx, s.K.Catalog(), Query{})
	if err != nil {
		return nil, err
	}
	return DecodeCatalog(pairs), nil
}

// DecodeCatalog reads the ring's slots, oldest first; unreadable slots are
// skipped (a reader then sees a gap and reloads).
func DecodeCatalog(pairs []Pair) []CatalogEvent {
	var out []CatalogEvent
	for _, p := range pairs {
		var ev CatalogEvent
		if Decode(p, &ev) == nil && ev.Seq > 0 {
			out = append(out, ev)
		}
	}
	sortCatalog(out)
	return out
}

func sortCatalog(evs []CatalogEvent) {
	for i := 1; i < len(evs); i++ {
		for j := i; j > 0 && evs[j].Seq < evs[j-1].Seq; j-- {
			evs[j], evs[j-1] = evs[j-1], evs[j]
		}
	}
}

// CatalogPut adds the ring slot of event seq to t.
func (s *Store) CatalogPut(t *Txn, ev CatalogEvent) {
	t.Put(s.K.CatalogSlot(int(ev.Seq%CatalogSlots)), ev)
}

// ChangePut adds the ring slot of one endpoint change of netID to t.
func (s *Store) ChangePut(t *Txn, netID string, ev EndpointChange) {
	t.Put(s.K.Change(netID, int(ev.Seq%ChangeSlots)), ev)
}

// DecodeChanges reads a network's change ring, oldest first; unreadable
// slots are skipped (a reader then sees a gap and reloads).
func DecodeChanges(pairs []Pair) []EndpointChange {
	var out []EndpointChange
	for _, p := range pairs {
		var ev EndpointChange
		if Decode(p, &ev) == nil && ev.Seq > 0 {
			out = append(out, ev)
		}
	}
	for i := 1; i < len(out); i++ {
		for j := i; j > 0 && out[j].Seq < out[j-1].Seq; j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	return out
}

// Networks reads every network record (the catalog), skipping unreadable
// ones.
func (s *Store) Networks(ctx context.Context) (map[string]model.Network, uint64, error) {
	pairs, idx, err := s.B.List(ctx, s.K.Networks(), Query{})
	if err != nil {
		return nil, 0, err
	}
	out := make(map[string]model.Network, len(pairs))
	for _, p := range pairs {
		var n model.Network
		if Decode(p, &n) == nil && n.ID != "" {
			out[n.ID] = n
		}
	}
	return out, idx, nil
}

// Placement is what placement/<host>/ says: for each network present on
// the host, its local endpoints and whether the host owns it (bridge).
type Placement map[string]*PlacedNetwork

// PlacedNetwork is one network of a host's placement.
type PlacedNetwork struct {
	Endpoints map[string]bool
	Owner     bool
}

// DecodePlacement reads the pairs of placement/<host>/.
func (s *Store) DecodePlacement(host string, pairs []Pair) Placement {
	out := Placement{}
	for _, p := range pairs {
		parts := Tail(p.Key, s.K.PlacementOf(host))
		if len(parts) != 2 || parts[0] == "" || parts[1] == "" {
			continue
		}
		pn := out[parts[0]]
		if pn == nil {
			pn = &PlacedNetwork{Endpoints: map[string]bool{}}
			out[parts[0]] = pn
		}
		if parts[1] == OwnerLeaf {
			pn.Owner = true
		} else {
			pn.Endpoints[parts[1]] = true
		}
	}
	return out
}

// DecodedEndpoint is an endpoint record with its modify index.
type DecodedEndpoint = Versioned[model.Endpoint]

// DecodeEndpoints reads the pairs of one network's endpoints/<net>/,
// reusing the decoded records of prev whose modify index did not change
// (only what changed is decoded again). Unreadable records are skipped.
func DecodeEndpoints(pairs []Pair, prev map[string]DecodedEndpoint) map[string]DecodedEndpoint {
	out := make(map[string]DecodedEndpoint, len(pairs))
	for _, p := range pairs {
		id := p.Key[strings.LastIndexByte(p.Key, '/')+1:]
		if old, ok := prev[id]; ok && old.Index == p.ModifyIndex {
			out[id] = old
			continue
		}
		var ep model.Endpoint
		if Decode(p, &ep) != nil || ep.ID != id {
			continue
		}
		out[id] = DecodedEndpoint{ep, p.ModifyIndex}
	}
	return out
}
