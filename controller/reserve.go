package controller

import (
	"context"
	"fmt"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/gorilla/mux"

	"github.com/ovsnet/ovsnet/model"
)

// Address reservations serve Docker's IPAM protocol: Docker asks for an
// address (RequestAddress) before it creates the endpoint, so the agent's
// IPAM driver reserves one here, centrally, and the endpoint created next
// takes the reservation over. A reservation is an ipam key whose value is
// "reserved:<host>:<unix time>"; reservations no endpoint took within
// reservationGrace are released by the leader.

const reservationPrefix = "reserved:"

// reservationGrace is how long an unclaimed reservation lives: Docker
// creates the endpoint within seconds of reserving its address.
const reservationGrace = 10 * time.Minute

func init() {
	routeRegistrars = append(routeRegistrars, func(c *Controller, root, o *mux.Router) {
		o.HandleFunc("/networks/{id}/addresses", c.write(c.reserveHandler)).Methods(http.MethodPost)
		o.HandleFunc("/networks/{id}/addresses/{addr}", c.write(c.releaseHandler)).Methods(http.MethodDelete)
		o.HandleFunc("/pools/next", c.nextPoolHandler).Methods(http.MethodGet)
	})
}

func reservationValue(host string) string {
	return fmt.Sprintf("%s%s:%d", reservationPrefix, host, time.Now().Unix())
}

// Reserve takes an address on a network for a Docker endpoint to come.
func (c *Controller) Reserve(ctx context.Context, ref string, req model.ReserveRequest) (netip.Prefix, error) {
	if err := model.ValidateName("host", req.Host); err != nil {
		return netip.Prefix{}, errorf(ErrInvalid, "%v", err)
	}
	var preferred netip.Addr
	if req.Address != "" {
		var err error
		if preferred, err = netip.ParseAddr(req.Address); err != nil {
			return netip.Prefix{}, errorf(ErrInvalid, "invalid address %q", req.Address)
		}
	}
	unlock := c.lockNetwork(ref)
	defer unlock()
	for attempt := 0; attempt < allocRetries; attempt++ {
		if attempt > 0 {
			backoffJitter(ctx, attempt)
		}
		sn, err := c.store.Load(ctx, 0)
		if err != nil {
			return netip.Prefix{}, err
		}
		n, err := sn.Network(ref)
		if err != nil {
			return netip.Prefix{}, err
		}
		if n.Removing {
			return netip.Prefix{}, errorf(ErrForbidden, "network %s is being removed", n.Name)
		}
		used := sn.used[n.ID]
		subnet, bits := n.Subnet, n.Subnet.Bits()
		a := preferred
		switch {
		case a.IsValid():
			if err := model.CheckPreferred(n, a); err != nil {
				return netip.Prefix{}, errorf(ErrInvalid, "%v", err)
			}
			if used[a] {
				return netip.Prefix{}, errorf(ErrConflict, "Address already in use: %s is taken on network %s", a, n.Name)
			}
			if a.Is6() {
				bits = n.Subnet6.Bits()
			}
		case req.IPv6:
			if !n.EnableIPv6 {
				return netip.Prefix{}, errorf(ErrInvalid, "network %s has no IPv6", n.Name)
			}
			subnet, bits = n.Subnet6, n.Subnet6.Bits()
			if a, err = model.AllocateLowest(subnet, netip.Prefix{}, n.Gateway6, used); err != nil {
				return netip.Prefix{}, errorf(ErrConflict, "network %s: %v", n.Name, err)
			}
		default:
			if a, err = model.AllocateLowest(subnet, n.IPRange, n.Gateway, used); err != nil {
				return netip.Prefix{}, errorf(ErrConflict, "network %s: %v", n.Name, err)
			}
		}
		var ops txnOps
		ops.checkIndex(c.store.networkKey(n.ID), sn.netIndex[n.ID])
		ops.mustNotExist(c.store.ipamKey(n.ID, a))
		ops.setRaw(c.store.ipamKey(n.ID, a), reservationValue(req.Host))
		_, err = c.store.commit(ctx, ops)
		switch {
		case err == nil:
			return netip.PrefixFrom(a, bits), nil
		case preferred.IsValid() && conflictOn(err, c.store.ipamKey(n.ID, a)):
			return netip.Prefix{}, errorf(ErrConflict, "Address already in use: %s is taken on network %s", a, n.Name)
		case isConflict(err):
			continue
		default:
			return netip.Prefix{}, err
		}
	}
	return netip.Prefix{}, errorf(ErrConflict, "could not reserve an address: too many concurrent changes, try again")
}

// Release frees a reservation no endpoint has taken. Releasing an address an
// endpoint holds, or one that is free, changes nothing and succeeds
// (Docker releases addresses after deleting their endpoints).
func (c *Controller) Release(ctx context.Context, ref string, addr netip.Addr) error {
	sn, err := c.store.Load(ctx, 0)
	if err != nil {
		return err
	}
	n, err := sn.Network(ref)
	if err != nil {
		return err
	}
	key := c.store.ipamKey(n.ID, addr)
	kv, _, err := c.store.kv.Get(key, nil)
	if err != nil {
		return c.store.unavailable(err)
	}
	if kv == nil || !strings.HasPrefix(string(kv.Value), reservationPrefix) {
		return nil
	}
	var ops txnOps
	ops.deleteCAS(key, kv.ModifyIndex)
	if _, err := c.store.commit(ctx, ops); err != nil && !isConflict(err) {
		return err
	}
	return nil
}

// expireReservations releases reservations older than reservationGrace;
// the leader runs it with every publish.
func (c *Controller) expireReservations(ctx context.Context, sn *Snapshot) {
	for key, v := range sn.reservations {
		parts := strings.Split(strings.TrimPrefix(v.value, reservationPrefix), ":")
		if len(parts) != 2 {
			continue
		}
		ts, err := strconv.ParseInt(parts[1], 10, 64)
		if err != nil || time.Since(time.Unix(ts, 0)) < reservationGrace {
			continue
		}
		var ops txnOps
		ops.deleteCAS(key, v.index)
		if _, err := c.store.commit(ctx, ops); err == nil {
			c.log.Info("released an unclaimed address reservation", "key", key, "host", parts[0])
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

// NextPool says which default subnet a new network of a driver would get.
func (c *Controller) NextPool(ctx context.Context, driver model.Driver) (netip.Prefix, error) {
	sn, err := c.snapshot(ctx)
	if err != nil {
		return netip.Prefix{}, err
	}
	var taken []netip.Prefix
	for _, n := range sn.Networks {
		taken = append(taken, n.Subnet)
	}
	p, err := model.DefaultSubnet(driver, append(taken, sn.pools...))
	if err != nil {
		return netip.Prefix{}, errorf(ErrConflict, "%v", err)
	}
	return p, nil
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
	p, err := c.NextPool(r.Context(), d)
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"pool": p.String()})
}
