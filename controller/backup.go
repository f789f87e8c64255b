package controller

import (
	"context"
	"net/http"
	"net/netip"
	"reflect"
	"sort"
	"strings"
	"time"

	"github.com/ovsnet/ovsnet/internal/store"
	"github.com/ovsnet/ovsnet/model"
)

// Backup and restore of the intent: networks with their ids, VNIs and
// subnets, endpoints with their addresses, and the addresses held by
// reservations and auxiliary addresses. A restore writes back what is
// missing, one guarded transaction per network and per few endpoints;
// what is there already, exactly as saved, is skipped, so a restore that
// was interrupted can simply be run again. Anything in the way (a name, a
// VNI or an address taken by something else) is refused before anything
// is written.

// Backup returns the intent as the leader holds it.
func (c *Controller) Backup(ctx context.Context) (*model.Backup, error) {
	b := &model.Backup{Version: model.BackupVersion, Created: time.Now().UTC(), Pools: map[string]netip.Prefix{}}
	err := c.read(func(s *state) error {
		b.Networks = s.sortedNetworks()
		b.Endpoints = s.allEndpoints()
		for p, id := range s.pools {
			b.Pools[id] = p
		}
		for id, ns := range s.networks {
			for a, h := range ns.ipam {
				if s.eps[h.Value] == nil {
					b.Addresses = append(b.Addresses, model.HeldAddress{Network: id, Address: a, Holder: h.Value})
				}
			}
		}
		return nil
	})
	sort.Slice(b.Addresses, func(i, j int) bool {
		if b.Addresses[i].Network != b.Addresses[j].Network {
			return b.Addresses[i].Network < b.Addresses[j].Network
		}
		return b.Addresses[i].Address.Less(b.Addresses[j].Address)
	})
	return b, err
}

// Restore writes a backup back.
func (c *Controller) Restore(ctx context.Context, b *model.Backup) (*model.RestoreResult, error) {
	if b.Version != model.BackupVersion {
		return nil, errorf(ErrInvalid, "backup version %d: this controller reads version %d", b.Version, model.BackupVersion)
	}
	nets := map[string]*model.Network{}
	for i := range b.Networks {
		n := &b.Networks[i]
		if err := n.Validate(); err != nil || !model.IsID(n.ID) {
			return nil, errorf(ErrInvalid, "backup: network %s: %v", n.Name, orInvalidID(err, n.ID))
		}
		if nets[n.ID] != nil {
			return nil, errorf(ErrInvalid, "backup: network %s twice", n.ID)
		}
		nets[n.ID] = n
	}
	for i := range b.Endpoints {
		ep := &b.Endpoints[i]
		n := nets[ep.NetworkID]
		if n == nil {
			return nil, errorf(ErrInvalid, "backup: endpoint %s of a network not in the backup", model.ShortID(ep.ID))
		}
		if err := ep.Validate(n); err != nil {
			return nil, errorf(ErrInvalid, "backup: endpoint %s: %v", model.ShortID(ep.ID), err)
		}
	}
	for _, h := range b.Addresses {
		if nets[h.Network] == nil || !h.Address.IsValid() || h.Holder == "" {
			return nil, errorf(ErrInvalid, "backup: held address %s of network %s is not valid", h.Address, model.ShortID(h.Network))
		}
	}

	// Read what the store holds now: a restore usually follows a wipe the
	// leader did not see.
	c.writeMu.Lock()
	err := c.reloadLocked(ctx)
	c.writeMu.Unlock()
	if err != nil {
		return nil, c.unavailable(err)
	}
	res := &model.RestoreResult{}
	// Check everything first: nothing is written if anything is in the way.
	err = c.read(func(s *state) error {
		for _, n := range b.Networks {
			if ns := s.networks[n.ID]; ns != nil {
				if !reflect.DeepEqual(normalizeNetwork(ns.Value), normalizeNetwork(n)) {
					return errorf(ErrConflict, "network %s (%s) exists with other settings", n.Name, model.ShortID(n.ID))
				}
				continue
			}
			if id, ok := s.byName[n.Name]; ok {
				return errorf(ErrConflict, "network name %s is taken by network %s", n.Name, model.ShortID(id))
			}
			if id := s.vnis[n.VNI]; id != "" {
				return errorf(ErrConflict, "VNI %d of network %s is taken by network %s", n.VNI, n.Name, model.ShortID(id))
			}
		}
		var restored []model.Endpoint
		for _, ep := range b.Endpoints {
			if rec := s.eps[ep.ID]; rec != nil {
				continue
			}
			if ns := s.networks[ep.NetworkID]; ns != nil {
				for _, a := range endpointAddrs(ep) {
					if h, taken := ns.ipam[a]; taken && h.Value != ep.ID {
						return errorf(ErrConflict, "address %s of %s on network %s is taken (%s)", a, ep.ContainerName, ns.Value.Name, h.Value)
					}
				}
			}
			// A host port has one publisher per host, among the endpoints
			// there and those restored before this one.
			if len(ep.Published) > 0 {
				others := s.endpointsOn(ep.Host)
				for _, o := range restored {
					if o.Host == ep.Host {
						others = append(others, o)
					}
				}
				if err := s.publishConflict(ep, others); err != nil {
					return err
				}
			}
			restored = append(restored, ep)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}

	for i := range b.Networks {
		n := b.Networks[i]
		pool, defaultPool := b.Pools[n.ID]
		_, err := c.change(ctx, func(s *state, t *writes) (func(*state, uint64), error) {
			if s.networks[n.ID] != nil {
				res.Skipped++
				return nil, nil
			}
			seq := s.catalogSeq + 1
			networkTxn(c.st, t.Txn, n, !defaultPool || pool != n.Subnet, seq)
			res.Networks++
			return func(s *state, index uint64) {
				s.putNetwork(n, index)
				if defaultPool {
					s.pools[pool] = n.ID
				}
				for a, holder := range auxAddresses(n) {
					s.networks[n.ID].ipam[a] = store.Holder{Value: holder, Index: index}
				}
				s.catalogSeq = seq
			}, nil
		})
		if err != nil {
			return res, err
		}
	}
	for start := 0; start < len(b.Endpoints); start += releaseBatch {
		batch := b.Endpoints[start:min(start+releaseBatch, len(b.Endpoints))]
		_, err := c.change(ctx, func(s *state, t *writes) (func(*state, uint64), error) {
			var todo []model.Endpoint
			for _, ep := range batch {
				if s.eps[ep.ID] != nil {
					res.Skipped++
					continue
				}
				if h, ok := s.hosts[ep.Host]; ok && h.TunnelIP.IsValid() {
					ep.TunnelIP = h.TunnelIP
				}
				ns := s.networks[ep.NetworkID]
				connectTxn(t, s, connectPlan{ep: ep, net: ns.Value, netIdx: ns.Index, claimed: map[netip.Addr]store.Holder{}})
				todo = append(todo, ep)
			}
			res.Endpoints += len(todo)
			return func(s *state, index uint64) {
				for _, ep := range todo {
					s.applyEndpoint(ep, index)
				}
			}, nil
		})
		if err != nil {
			return res, err
		}
	}
	for _, h := range b.Addresses {
		if strings.HasPrefix(h.Holder, store.AuxHolder("")) {
			continue // written with its network
		}
		_, err := c.change(ctx, func(s *state, t *writes) (func(*state, uint64), error) {
			ns := s.networks[h.Network]
			if cur, taken := ns.ipam[h.Address]; taken {
				if cur.Value == h.Holder {
					res.Skipped++
				}
				return nil, nil
			}
			t.MustNotExist(c.st.K.IPAM(h.Network, h.Address))
			t.PutRaw(c.st.K.IPAM(h.Network, h.Address), h.Holder)
			res.Addresses++
			return func(s *state, index uint64) {
				s.networks[h.Network].ipam[h.Address] = store.Holder{Value: h.Holder, Index: index}
			}, nil
		})
		if err != nil {
			return res, err
		}
	}
	c.log.Warn("restored a backup", "networks", res.Networks, "endpoints", res.Endpoints, "addresses", res.Addresses,
		"skipped", res.Skipped, "saved", b.Created)
	return res, nil
}

// normalizeNetwork drops what JSON does not keep apart (nil and empty maps).
func normalizeNetwork(n model.Network) model.Network {
	if len(n.Labels) == 0 {
		n.Labels = nil
	}
	if len(n.Options) == 0 {
		n.Options = nil
	}
	n.Created = n.Created.UTC()
	return n
}

func orInvalidID(err error, id string) error {
	if err != nil {
		return err
	}
	return errorf(ErrInvalid, "invalid network id %q", id)
}

func (c *Controller) backupHandler(w http.ResponseWriter, r *http.Request) {
	b, err := c.Backup(r.Context())
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, b)
}

func (c *Controller) restoreHandler(w http.ResponseWriter, r *http.Request) {
	var b model.Backup
	if err := decodeLimit(r, &b, maxBackup); err != nil {
		writeError(w, err)
		return
	}
	res, err := c.Restore(r.Context(), &b)
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, res)
}
