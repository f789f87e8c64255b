package controller

import (
	"context"
	"net/http"

	"github.com/gorilla/mux"

	"github.com/ovsnet/ovsnet/internal/store"
	"github.com/ovsnet/ovsnet/model"
)

// UpdateEndpoint applies u to an endpoint in one guarded transaction; a
// changed container id moves the endpoint's attach key with it.
func (c *Controller) UpdateEndpoint(ctx context.Context, id string, u model.EndpointUpdate) (*model.EndpointView, error) {
	var view *model.EndpointView
	_, err := c.change(ctx, func(s *state, t *writes) (func(*state, uint64), error) {
		rec := s.eps[id]
		if rec == nil {
			return nil, errorf(ErrNotFound, "endpoint %s not found", id)
		}
		ns := s.networks[rec.Value.NetworkID]
		n := ns.Value
		old, ep := rec.Value, rec.Value
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
		if err := ep.Validate(&n); err != nil {
			return nil, invalid(err)
		}
		if u.Published != nil {
			if err := s.hostPortsFree(ep); err != nil {
				return nil, err
			}
		}
		k := c.st.K
		t.CAS(k.Endpoint(n.ID, id), ep, rec.Index)
		t.endpointChanged(s, n.ID, id, false)
		moved := ep.ContainerID != old.ContainerID
		if moved {
			if _, taken := ns.attach[ep.ContainerID]; taken {
				return nil, errorf(ErrForbidden, "container %s already has an endpoint on network %s", ep.ContainerName, n.Name)
			}
			if h, ok := ns.attach[old.ContainerID]; ok && h.Value == id {
				t.DeleteCAS(k.Attach(n.ID, old.ContainerID), h.Index)
			}
			t.MustNotExist(k.Attach(n.ID, ep.ContainerID))
			t.PutRaw(k.Attach(n.ID, ep.ContainerID), id)
		}
		view = s.view(ep)
		return func(s *state, index uint64) {
			s.putEndpoint(ep, index)
			if ns := s.networks[n.ID]; ns != nil && moved {
				delete(ns.attach, old.ContainerID)
				ns.attach[ep.ContainerID] = store.Holder{Value: id, Index: index}
			}
		}, nil
	})
	if err != nil {
		return nil, err
	}
	return view, nil
}

// hostPortsFree refuses to publish a host port that another endpoint on
// the same host publishes already: both would claim the host's traffic to
// it. It reads only the endpoints of ep's host, and only when ports change.
func (s *state) hostPortsFree(ep model.Endpoint) error {
	if len(ep.Published) == 0 {
		return nil
	}
	return s.publishConflict(ep, s.endpointsOn(ep.Host))
}

// publishConflict says which of others (endpoints of ep's host, in order)
// publishes one of ep's host ports already. The same container may
// publish the same mapping on several of its endpoints: Podman hands a
// container's ports to each of its networks, and any of them reaches it.
func (s *state) publishConflict(ep model.Endpoint, others []model.Endpoint) error {
	type hostPort struct {
		proto string
		port  uint16
	}
	want := map[hostPort]uint16{}
	for _, p := range ep.Published {
		want[hostPort{p.Proto, p.HostPort}] = p.Port
	}
	for _, other := range others {
		if other.ID == ep.ID {
			continue
		}
		for _, p := range other.Published {
			port, ok := want[hostPort{p.Proto, p.HostPort}]
			if !ok || (other.ContainerID == ep.ContainerID && port == p.Port) {
				continue
			}
			name := other.ContainerName
			if name == "" {
				name = model.ShortID(other.ContainerID)
			}
			network := model.ShortID(other.NetworkID)
			if ns := s.networks[other.NetworkID]; ns != nil {
				network = ns.Value.Name
			}
			return errorf(ErrConflict, "host port %s/%d on %s is already published by container %s on network %s",
				p.Proto, p.HostPort, ep.Host, name, network)
		}
	}
	return nil
}

// retunnel rewrites the endpoints of a host whose tunnel address changed,
// so that its peers follow; a change proportional to that host.
func (c *Controller) retunnel(ctx context.Context, h model.Host) error {
	for {
		var batch []model.Endpoint
		_, err := c.change(ctx, func(s *state, t *writes) (func(*state, uint64), error) {
			batch = batch[:0]
			for _, ep := range s.endpointsOn(h.Name) {
				if ep.TunnelIP == h.TunnelIP {
					continue
				}
				if t.Len() >= store.MaxTxnOps-3 {
					break
				}
				ep.TunnelIP = h.TunnelIP
				t.CAS(c.st.K.Endpoint(ep.NetworkID, ep.ID), ep, s.eps[ep.ID].Index)
				t.endpointChanged(s, ep.NetworkID, ep.ID, false)
				batch = append(batch, ep)
			}
			eps := append([]model.Endpoint(nil), batch...)
			return func(s *state, index uint64) {
				for _, ep := range eps {
					s.putEndpoint(ep, index)
				}
			}, nil
		})
		if err != nil || len(batch) == 0 {
			return err
		}
		c.log.Info("endpoints follow their host's new tunnel address", "host", h.Name, "tunnel_ip", h.TunnelIP, "endpoints", len(batch))
	}
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
