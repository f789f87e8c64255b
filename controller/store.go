package controller

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	"github.com/hashicorp/consul/api"
	"github.com/ovsnet/ovsnet/model"
)

// Store keeps ovsnet's state in Consul's KV store. Layout under the prefix:
//
//	cluster/networks/<id>          model.Network (intent)
//	cluster/netnames/<name>        network id (names are unique)
//	cluster/vnis/<vni>             network id (VNIs are unique)
//	cluster/pools/<cidr>           network id (default pools handed out)
//	cluster/ipam/<net>/<addr>      endpoint id (an address is taken)
//	cluster/attach/<net>/<ctr>     endpoint id (one endpoint per container and network)
//	cluster/endpoints/<id>         model.Endpoint (intent)
//	cluster/hosts/<name>           model.Host, held by the agent's session
//	cluster/status/<host>/<ep>     model.EndpointStatus, written by the agent
//	compiled/<host>                model.HostState, written by the leader
//	leader                         the controllers' leader lock
//
// Every multi-key change is one Consul transaction guarded by
// check-not-exists / check-index operations, so concurrent controllers can
// never hand out the same name, VNI or address, and a failure leaves nothing
// half written.
type Store struct {
	client *api.Client
	kv     *api.KV
	prefix string
	addr   string
}

// NewStore returns a store rooted at prefix (no trailing slash).
func NewStore(client *api.Client, addr, prefix string) *Store {
	return &Store{client: client, kv: client.KV(), prefix: strings.TrimSuffix(prefix, "/"), addr: addr}
}

// Key paths.
func (s *Store) clusterPrefix() string         { return s.prefix + "/cluster/" }
func (s *Store) networkKey(id string) string   { return s.prefix + "/cluster/networks/" + id }
func (s *Store) netNameKey(name string) string { return s.prefix + "/cluster/netnames/" + name }
func (s *Store) vniKey(vni uint32) string {
	return s.prefix + "/cluster/vnis/" + strconv.Itoa(int(vni))
}
func (s *Store) poolKey(p netip.Prefix) string {
	return s.prefix + "/cluster/pools/" + strings.ReplaceAll(p.String(), "/", "_")
}
func (s *Store) ipamPrefix(netID string) string   { return s.prefix + "/cluster/ipam/" + netID + "/" }
func (s *Store) attachPrefix(netID string) string { return s.prefix + "/cluster/attach/" + netID + "/" }
func (s *Store) endpointKey(id string) string     { return s.prefix + "/cluster/endpoints/" + id }
func (s *Store) statusKey(host, ep string) string {
	return s.prefix + "/cluster/status/" + host + "/" + ep
}

// HostKey is where an agent registers itself.
func (s *Store) HostKey(name string) string { return s.prefix + "/cluster/hosts/" + name }

// CompiledKey is where the leader publishes a host's state.
func (s *Store) CompiledKey(host string) string { return s.prefix + "/compiled/" + host }

// LeaderKey is the controllers' leader lock.
func (s *Store) LeaderKey() string { return s.prefix + "/leader" }

func (s *Store) ipamKey(netID string, a netip.Addr) string { return s.ipamPrefix(netID) + a.String() }
func (s *Store) attachKey(netID, containerID string) string {
	return s.attachPrefix(netID) + containerID
}

// unavailable wraps a Consul failure as ErrUnavailable, naming Consul.
func (s *Store) unavailable(err error) error {
	consulErrors.Inc()
	return &apiError{kind: ErrUnavailable, msg: fmt.Sprintf("cluster store unavailable (Consul at %s): %v", s.addr, err)}
}

// Snapshot is the cluster's whole state at one Consul index.
type Snapshot struct {
	Index     uint64
	Networks  []model.Network
	Endpoints []model.Endpoint
	Hosts     []model.Host
	Statuses  map[string]model.EndpointStatus
	// netIndex is each network key's ModifyIndex, for check-index guards.
	netIndex map[string]uint64
	// used addresses per network, from the ipam keys.
	used map[string]map[netip.Addr]bool
	// pools handed out from the default pools.
	pools []netip.Prefix
	// reservations are ipam keys held by a reservation, not an endpoint.
	reservations map[string]kvValue
}

type kvValue struct {
	value string
	index uint64
}

// Network finds a network by full id, name or unique id prefix (Docker's
// lookup rules: id, then name, then prefix).
func (sn *Snapshot) Network(ref string) (*model.Network, error) {
	for i := range sn.Networks {
		if sn.Networks[i].ID == ref {
			return &sn.Networks[i], nil
		}
	}
	for i := range sn.Networks {
		if sn.Networks[i].Name == ref {
			return &sn.Networks[i], nil
		}
	}
	var found *model.Network
	if ref != "" {
		for i := range sn.Networks {
			if strings.HasPrefix(sn.Networks[i].ID, ref) {
				if found != nil {
					return nil, errorf(ErrInvalid, "network %s is ambiguous (%s and %s)", ref, model.ShortID(found.ID), model.ShortID(sn.Networks[i].ID))
				}
				found = &sn.Networks[i]
			}
		}
	}
	if found == nil {
		return nil, errorf(ErrNotFound, "network %s not found", ref)
	}
	return found, nil
}

// EndpointsOf lists the endpoints of a network.
func (sn *Snapshot) EndpointsOf(netID string) []model.Endpoint {
	var out []model.Endpoint
	for _, ep := range sn.Endpoints {
		if ep.NetworkID == netID {
			out = append(out, ep)
		}
	}
	return out
}

// Host finds a registered host.
func (sn *Snapshot) Host(name string) (*model.Host, bool) {
	for i := range sn.Hosts {
		if sn.Hosts[i].Name == name {
			return &sn.Hosts[i], true
		}
	}
	return nil, false
}

// Load reads the whole cluster state. With waitIndex > 0 it is a Consul
// blocking query: it returns once something changed after waitIndex (or
// after Consul's wait time, possibly with nothing changed).
func (s *Store) Load(ctx context.Context, waitIndex uint64) (*Snapshot, error) {
	q := (&api.QueryOptions{WaitIndex: waitIndex}).WithContext(ctx)
	pairs, meta, err := s.kv.List(s.clusterPrefix(), q)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, s.unavailable(err)
	}
	return s.decode(pairs, meta.LastIndex)
}

func (s *Store) decode(pairs api.KVPairs, index uint64) (*Snapshot, error) {
	sn := &Snapshot{Index: index, Statuses: map[string]model.EndpointStatus{},
		netIndex: map[string]uint64{}, used: map[string]map[netip.Addr]bool{}, reservations: map[string]kvValue{}}
	base := s.clusterPrefix()
	for _, p := range pairs {
		rel := strings.TrimPrefix(p.Key, base)
		kind, rest, _ := strings.Cut(rel, "/")
		var err error
		switch kind {
		case "networks":
			var n model.Network
			if err = json.Unmarshal(p.Value, &n); err == nil {
				sn.Networks = append(sn.Networks, n)
				sn.netIndex[n.ID] = p.ModifyIndex
			}
		case "endpoints":
			var ep model.Endpoint
			if err = json.Unmarshal(p.Value, &ep); err == nil {
				sn.Endpoints = append(sn.Endpoints, ep)
			}
		case "hosts":
			var h model.Host
			if err = json.Unmarshal(p.Value, &h); err == nil {
				h.Alive = p.Session != ""
				sn.Hosts = append(sn.Hosts, h)
			}
		case "status":
			var st model.EndpointStatus
			if err = json.Unmarshal(p.Value, &st); err == nil {
				sn.Statuses[st.EndpointID] = st
			}
		case "ipam":
			netID, addr, _ := strings.Cut(rest, "/")
			if a, perr := netip.ParseAddr(addr); perr == nil {
				if sn.used[netID] == nil {
					sn.used[netID] = map[netip.Addr]bool{}
				}
				sn.used[netID][a] = true
				if v := string(p.Value); strings.HasPrefix(v, reservationPrefix) {
					sn.reservations[p.Key] = kvValue{value: v, index: p.ModifyIndex}
				}
			}
		case "pools":
			if pfx, perr := netip.ParsePrefix(strings.ReplaceAll(rest, "_", "/")); perr == nil {
				sn.pools = append(sn.pools, pfx)
			}
		}
		if err != nil {
			return nil, fmt.Errorf("corrupt record %s: %w", p.Key, err)
		}
	}
	model.SortNetworks(sn.Networks)
	model.SortEndpoints(sn.Endpoints)
	return sn, nil
}

// txnOps is a Consul transaction under construction.
type txnOps []*api.TxnOp

func (t *txnOps) set(key string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode %s: %w", key, err)
	}
	*t = append(*t, &api.TxnOp{KV: &api.KVTxnOp{Verb: api.KVSet, Key: key, Value: b}})
	return nil
}

func (t *txnOps) setRaw(key, v string) {
	*t = append(*t, &api.TxnOp{KV: &api.KVTxnOp{Verb: api.KVSet, Key: key, Value: []byte(v)}})
}

func (t *txnOps) cas(key string, v any, index uint64) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode %s: %w", key, err)
	}
	*t = append(*t, &api.TxnOp{KV: &api.KVTxnOp{Verb: api.KVCAS, Key: key, Value: b, Index: index}})
	return nil
}

func (t *txnOps) mustNotExist(key string) {
	*t = append(*t, &api.TxnOp{KV: &api.KVTxnOp{Verb: api.KVCheckNotExists, Key: key}})
}

func (t *txnOps) checkIndex(key string, index uint64) {
	*t = append(*t, &api.TxnOp{KV: &api.KVTxnOp{Verb: api.KVCheckIndex, Key: key, Index: index}})
}

func (t *txnOps) checkSession(key, session string) {
	*t = append(*t, &api.TxnOp{KV: &api.KVTxnOp{Verb: api.KVCheckSession, Key: key, Session: session}})
}

func (t *txnOps) del(key string) {
	*t = append(*t, &api.TxnOp{KV: &api.KVTxnOp{Verb: api.KVDelete, Key: key}})
}

func (t *txnOps) deleteCAS(key string, index uint64) {
	*t = append(*t, &api.TxnOp{KV: &api.KVTxnOp{Verb: api.KVDeleteCAS, Key: key, Index: index}})
}

func (t *txnOps) deleteTree(prefix string) {
	*t = append(*t, &api.TxnOp{KV: &api.KVTxnOp{Verb: api.KVDeleteTree, Key: prefix}})
}

// errTxnConflict reports which operation of a rolled-back transaction failed.
type errTxnConflict struct {
	OpIndex int
	Key     string
	What    string
}

func (e *errTxnConflict) Error() string {
	return fmt.Sprintf("transaction rolled back at %s: %s", e.Key, e.What)
}

// maxTxnOps is Consul's per-transaction limit on the versions we run.
const maxTxnOps = 64

// commit runs the transaction. A rollback (a guard failed) comes back as
// *errTxnConflict; Consul being unreachable as ErrUnavailable.
func (s *Store) commit(ctx context.Context, ops txnOps) (uint64, error) {
	if len(ops) > maxTxnOps {
		return 0, fmt.Errorf("transaction of %d operations exceeds Consul's limit of %d", len(ops), maxTxnOps)
	}
	ok, resp, meta, err := s.client.Txn().Txn(api.TxnOps(ops), (&api.QueryOptions{}).WithContext(ctx))
	if err != nil {
		if ctx.Err() != nil {
			return 0, ctx.Err()
		}
		return 0, s.unavailable(err)
	}
	if !ok {
		if resp != nil && len(resp.Errors) > 0 {
			e := resp.Errors[0]
			key := ""
			if e.OpIndex >= 0 && e.OpIndex < len(ops) && ops[e.OpIndex].KV != nil {
				key = ops[e.OpIndex].KV.Key
			}
			return 0, &errTxnConflict{OpIndex: e.OpIndex, Key: key, What: e.What}
		}
		return 0, &errTxnConflict{OpIndex: -1, What: "rolled back"}
	}
	return meta.LastIndex, nil
}

func conflictOn(err error, key string) bool {
	var c *errTxnConflict
	return errors.As(err, &c) && c.Key == key
}

func isConflict(err error) bool {
	var c *errTxnConflict
	return errors.As(err, &c)
}
