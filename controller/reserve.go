package controller

import (
	"context"
	"net/http"
	"net/netip"
	"strings"
	"time"

	"github.com/gorilla/mux"

	"github.com/ovsnet/ovsnet/internal/store"
	"github.com/ovsnet/ovsnet/model"
)

// Address reservations serve Docker's IPAM protocol: Docker asks for an
// address (RequestAddress) before it creates the endpoint, so the agent's
// IPAM driver reserves one here, centrally, and the endpoint created next
// takes the reservation over. A reservation is an ipam key whose value is
// "reserved:<host>:<unix time>" (store.ReservedHolder); reservations no
// endpoint took within reservationGrace are released by the leader.

// reservationGrace is how long an unclaimed reservation lives: Docker
// creates the endpoint within seconds of reserving its address.
const reservationGrace = 10 * time.Minute

// Reserve takes an address on a network for a Docker endpoint to come.
func (c *Controller) Reserve(ctx context.Context, ref string, req model.ReserveRequest) (netip.Prefix, error) {
	if err := model.ValidateName("host", req.Host); err != nil {
		return netip.Prefix{}, invalid(err)
	}
	var preferred netip.Addr
	if req.Address != "" {
		var err error
		if preferred, err = netip.ParseAddr(req.Address); err != nil {
			return netip.Prefix{}, errorf(ErrInvalid, "invalid address %q", req.Address)
		}
	}
	holder := store.ReservedHolder(req.Host, time.Now())
	var out netip.Prefix
	_, err := c.change(ctx, func(s *state, t *writes) (func(*state, uint64), error) {
		ns, err := s.network(ref)
		if err != nil {
			return nil, err
		}
		n := ns.Value
		subnet, bits := n.Subnet, n.Subnet.Bits()
		a := preferred
		switch {
		case a.IsValid():
			if err := model.CheckPreferred(&n, a); err != nil {
				return nil, invalid(err)
			}
			if _, taken := ns.ipam[a]; taken {
				return nil, errorf(ErrConflict, "Address already in use: %s is taken on network %s", a, n.Name)
			}
			if a.Is6() {
				bits = n.Subnet6.Bits()
			}
		case req.IPv6:
			if !n.EnableIPv6 {
				return nil, errorf(ErrInvalid, "network %s has no IPv6", n.Name)
			}
			subnet, bits = n.Subnet6, n.Subnet6.Bits()
			if a, err = model.AllocateLowest(subnet, netip.Prefix{}, n.Gateway6, ns.used()); err != nil {
				return nil, errorf(ErrConflict, "network %s: %v", n.Name, err)
			}
		default:
			if a, err = model.AllocateLowest(subnet, n.IPRange, n.Gateway, ns.used()); err != nil {
				return nil, errorf(ErrConflict, "network %s: %v", n.Name, err)
			}
		}
		t.CheckIndex(c.st.K.Network(n.ID), ns.Index)
		t.MustNotExist(c.st.K.IPAM(n.ID, a))
		t.PutRaw(c.st.K.IPAM(n.ID, a), holder)
		out = netip.PrefixFrom(a, bits)
		return func(s *state, index uint64) {
			if ns := s.networks[n.ID]; ns != nil {
				ns.ipam[a] = store.Holder{Value: holder, Index: index}
			}
		}, nil
	})
	return out, err
}

// Release frees a reservation no endpoint has taken. Releasing an address an
// endpoint holds, or one that is free, changes nothing and succeeds
// (Docker releases addresses after deleting their endpoints).
func (c *Controller) Release(ctx context.Context, ref string, addr netip.Addr) error {
	_, err := c.change(ctx, func(s *state, t *writes) (func(*state, uint64), error) {
		ns, err := s.network(ref)
		if err != nil {
			return nil, err
		}
		h, ok := ns.ipam[addr]
		if _, _, reserved := store.ParseReservation(h.Value); !ok || !reserved {
			return nil, nil
		}
		netID := ns.Value.ID
		t.DeleteCAS(c.st.K.IPAM(netID, addr), h.Index)
		return func(s *state, _ uint64) {
			if ns := s.networks[netID]; ns != nil {
				delete(ns.ipam, addr)
			}
		}, nil
	})
	return err
}

// expireReservations releases reservations older than reservationGrace.
func (c *Controller) expireReservations(ctx context.Context) {
	type stale struct {
		netID string
		addr  netip.Addr
		host  string
	}
	var old []stale
	_ = c.read(func(s *state) error {
		for id, ns := range s.networks {
			for a, h := range ns.ipam {
				if host, at, ok := store.ParseReservation(h.Value); ok && time.Since(at) >= reservationGrace {
					old = append(old, stale{id, a, host})
				}
			}
		}
		return nil
	})
	for _, r := range old {
		if err := c.Release(ctx, r.netID, r.addr); err == nil {
			c.log.Info("released an unclaimed address reservation", "network", model.ShortID(r.netID), "address", r.addr, "host", r.host)
		}
	}
}

func (c *Controller) reserveHandler(w http.ResponseWriter, r *http.Request) {
	var req model.ReserveRequest
	if err := decode(r, &req); err != nil {
		writeError(w, err)
		return
	}
	p, err := c.Reserve(r.Context(), mux.Vars(r)["id"], req)
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusCreated, model.ReserveResponse{Address: p.String()})
}

func (c *Controller) releaseHandler(w http.ResponseWriter, r *http.Request) {
	a, err := netip.ParseAddr(mux.Vars(r)["addr"])
	if err != nil {
		writeError(w, errorf(ErrInvalid, "invalid address %q", mux.Vars(r)["addr"]))
		return
	}
	if err := c.Release(r.Context(), mux.Vars(r)["id"], a); err != nil {
		writeError(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// NextPool says which default subnet a new network of a driver would get,
// also avoiding exclude: subnets the asker holds for networks not created
// yet (a Docker engine's networks waiting to be registered).
func (c *Controller) NextPool(ctx context.Context, driver model.Driver, exclude ...netip.Prefix) (netip.Prefix, error) {
	var p netip.Prefix
	err := c.read(func(s *state) error {
		var err error
		if p, err = model.DefaultSubnet(driver, append(s.takenSubnets(), exclude...)); err != nil {
			return errorf(ErrConflict, "%v", err)
		}
		return nil
	})
	return p, err
}

func (c *Controller) nextPoolHandler(w http.ResponseWriter, r *http.Request) {
	d := model.Driver(r.URL.Query().Get("driver"))
	if d == "" {
		d = model.DriverOverlay
	}
	if d != model.DriverOverlay && d != model.DriverBridge {
		writeError(w, errorf(ErrInvalid, "unknown driver %q", d))
		return
	}
	var exclude []netip.Prefix
	if ex := r.URL.Query().Get("exclude"); ex != "" {
		parts := strings.Split(ex, ",")
		if len(parts) > 256 {
			writeError(w, errorf(ErrInvalid, "exclude: at most 256 subnets"))
			return
		}
		for _, f := range parts {
			pfx, err := netip.ParsePrefix(strings.TrimSpace(f))
			if err != nil {
				writeError(w, errorf(ErrInvalid, "exclude: %q is not a subnet", f))
				return
			}
			exclude = append(exclude, pfx.Masked())
		}
	}
	p, err := c.NextPool(r.Context(), d, exclude...)
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"pool": p.String()})
}
