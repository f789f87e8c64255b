package controller

import (
	"context"
	"encoding/json"
	"net/http"
	"time"

	"github.com/gorilla/mux"

	"github.com/ovsnet/ovsnet/model"
)

// An endpoint is ready when its own host has plumbed it; it is reachable
// from everywhere when, in addition, every other host holding endpoints of
// its network has applied the state the controller published to it (which
// names the new endpoint): until then a reply from such a host may find no
// flow back. Hosts report the generation they applied in their records.

func init() {
	routeRegistrars = append(routeRegistrars, func(c *Controller, root, o *mux.Router) {
		o.HandleFunc("/endpoints/{id}/reachable", c.reachableHandler).Methods(http.MethodGet)
	})
}

// peersOf lists the other hosts with endpoints on ep's network.
func peersOf(sn *Snapshot, ep model.Endpoint) map[string]bool {
	peers := map[string]bool{}
	for _, o := range sn.EndpointsOf(ep.NetworkID) {
		if o.Host != ep.Host {
			peers[o.Host] = true
		}
	}
	return peers
}

// waitReachable waits until every peer host of ep has applied its
// published state. Peers that are down are not waited for.
func (c *Controller) waitReachable(ctx context.Context, ep model.Endpoint) error {
	sn, _ := c.watch.latest()
	if sn == nil {
		return errNoSnapshot
	}
	targets := map[string]uint64{}
	for h := range peersOf(sn, ep) {
		kv, _, err := c.store.kv.Get(c.store.CompiledKey(h), nil)
		if err != nil {
			return c.store.unavailable(err)
		}
		if kv == nil {
			continue
		}
		var st model.HostState
		if json.Unmarshal(kv.Value, &st) == nil {
			targets[h] = st.Generation
		}
	}
	return c.watch.waitFor(ctx, func(sn *Snapshot) bool {
		for h, gen := range targets {
			host, ok := sn.Host(h)
			if ok && host.Alive && host.Generation < gen {
				return false
			}
		}
		return true
	})
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
	ctx, cancel := context.WithTimeout(r.Context(), timeout)
	defer cancel()
	if err := c.waitReachable(ctx, v.Endpoint); err != nil {
		writeError(w, errorf(ErrTimeout, "endpoint %s is not yet reachable from every host of its network (waited %s)", model.ShortID(v.ID), timeout))
		return
	}
	writeJSON(w, http.StatusOK, map[string]bool{"reachable": true})
}
