package controller

import (
	"context"
	"encoding/json"
	"net/http"

	"github.com/gorilla/mux"

	"github.com/ovsnet/ovsnet/model"
)

func init() {
	routeRegistrars = append(routeRegistrars, func(c *Controller, root, o *mux.Router) {
		o.HandleFunc("/endpoints/{id}", c.write(c.updateEndpointHandler)).Methods(http.MethodPatch)
	})
}

// UpdateEndpoint applies u to an endpoint in one guarded transaction; a
// changed container id moves the endpoint's attach key with it.
func (c *Controller) UpdateEndpoint(ctx context.Context, id string, u model.EndpointUpdate) (*model.EndpointView, error) {
	for attempt := 0; attempt < allocRetries; attempt++ {
		if attempt > 0 {
			backoffJitter(ctx, attempt)
		}
		kv, _, err := c.store.kv.Get(c.store.endpointKey(id), nil)
		if err != nil {
			return nil, c.store.unavailable(err)
		}
		if kv == nil {
			return nil, errorf(ErrNotFound, "endpoint %s not found", id)
		}
		var ep model.Endpoint
		if err := json.Unmarshal(kv.Value, &ep); err != nil {
			return nil, err
		}
		sn, err := c.store.Load(ctx, 0)
		if err != nil {
			return nil, err
		}
		n, err := sn.Network(ep.NetworkID)
		if err != nil {
			return nil, err
		}
		old := ep
		if u.ContainerID != nil {
			ep.ContainerID = *u.ContainerID
		}
		if u.ContainerName != nil {
			ep.ContainerName = *u.ContainerName
		}
		if u.Aliases != nil {
			ep.Aliases = *u.Aliases
		}
		if u.Links != nil {
			ep.Links = *u.Links
		}
		if u.Published != nil {
			ep.Published = *u.Published
		}
		if !model.IsID(ep.ContainerID) {
			return nil, errorf(ErrInvalid, "invalid container id %q", ep.ContainerID)
		}
		if err := ep.Validate(n); err != nil {
			return nil, errorf(ErrInvalid, "%v", err)
		}
		var ops txnOps
		if err := ops.cas(c.store.endpointKey(id), ep, kv.ModifyIndex); err != nil {
			return nil, err
		}
		if ep.ContainerID != old.ContainerID {
			ops.del(c.store.attachKey(n.ID, old.ContainerID))
			ops.mustNotExist(c.store.attachKey(n.ID, ep.ContainerID))
			ops.setRaw(c.store.attachKey(n.ID, ep.ContainerID), ep.ID)
		}
		_, err = c.store.commit(ctx, ops)
		switch {
		case err == nil:
			c.kick()
			return c.view(sn, ep), nil
		case conflictOn(err, c.store.attachKey(n.ID, ep.ContainerID)):
			return nil, errorf(ErrForbidden, "container %s already has an endpoint on network %s", ep.ContainerName, n.Name)
		case isConflict(err):
			continue
		default:
			return nil, err
		}
	}
	return nil, errorf(ErrConflict, "could not update endpoint %s: too many concurrent changes", id)
}

func (c *Controller) updateEndpointHandler(w http.ResponseWriter, r *http.Request) {
	var u model.EndpointUpdate
	if err := decode(r, &u); err != nil {
		writeError(w, err)
		return
	}
	v, err := c.UpdateEndpoint(r.Context(), mux.Vars(r)["id"], u)
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, v)
}
