package controller

import (
	"context"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/ovsnet/ovsnet/internal/store"
	"github.com/ovsnet/ovsnet/model"
)

// Driver options for the Docker plugin path: the agent's plugin creates
// endpoints on behalf of a Docker engine, which plumbs them itself later
// (Join), so the controller must not wait for the agent.
const (
	optDockerContainerID = "ovsnet.docker.container-id"
	optDocker            = "ovsnet.docker"
	// optReserved says the requested addresses were reserved beforehand
	// (Docker's IPAM call) and the endpoint takes the reservations over.
	optReserved = "ovsnet.reserved"
)

// container identifies the container a connect request is about.
type container struct {
	id, name, host, netns string
	docker                bool
}

// resolveContainer finds where the container runs: from the request's
// driver options, else from another endpoint of the same container.
func (s *state) resolveContainer(ref string, opts map[string]string) (container, error) {
	ct := container{host: opts[model.OptEndpointHost], netns: opts[model.OptEndpointNetns], docker: opts[optDocker] == "true"}
	if ct.host != "" {
		if model.IsID(ref) {
			ct.id, ct.name = ref, model.ShortID(ref)
		} else {
			ct.name = ref
		}
		if id := opts[optDockerContainerID]; id != "" {
			ct.id = id
		}
		if err := model.ValidateName("container", ct.name); err != nil {
			return ct, invalid(err)
		}
		for _, ep := range s.endpointsOfContainer(ct.name) {
			if ep.Host == ct.host && (ct.id == "" || ct.id == ep.ContainerID) {
				ct.id = ep.ContainerID
				if ct.netns == "" {
					ct.netns = ep.Netns
				}
				break
			}
		}
		if ct.id == "" {
			ct.id = model.ContainerIDFor(ct.host, ct.name)
		}
		if ct.netns == "" && !ct.docker {
			return ct, errorf(ErrInvalid, "container %s on host %s: its network namespace is unknown (pass --netns PATH)", ct.name, ct.host)
		}
		return ct, nil
	}
	eps := s.endpointsOfContainer(ref)
	if len(eps) == 0 && len(ref) >= 12 {
		for _, rec := range s.eps {
			if strings.HasPrefix(rec.Value.ContainerID, ref) {
				eps = append(eps, rec.Value)
				break
			}
		}
	}
	if len(eps) > 0 {
		ep := eps[0]
		return container{id: ep.ContainerID, name: ep.ContainerName, host: ep.Host, netns: ep.Netns, docker: ep.Docker}, nil
	}
	return ct, errorf(ErrNotFound, "No such container: %s (ovsnet knows a container once it is connected to a network; for the first network pass its host and namespace: --host NAME --netns PATH)", ref)
}

// connectRequest is a connect's input, read and checked.
type connectRequest struct {
	container  string
	ipv4, ipv6 netip.Addr
	mac        model.HardwareAddr
	links      []model.Link
	cfg        *model.EndpointSettings
	id         string
	now        time.Time
}

// parseConnect reads and checks what does not depend on the state.
func parseConnect(req model.NetworkConnectRequest) (connectRequest, error) {
	in := connectRequest{container: req.Container, cfg: req.EndpointConfig, id: newID(), now: time.Now().UTC()}
	if req.Container == "" {
		return in, errorf(ErrInvalid, "a container is required")
	}
	if in.cfg == nil {
		in.cfg = &model.EndpointSettings{}
	}
	cfg := in.cfg
	if cfg.IPAMConfig != nil {
		var err error
		if s := cfg.IPAMConfig.IPv4Address; s != "" {
			if in.ipv4, err = netip.ParseAddr(s); err != nil || !in.ipv4.Is4() {
				return in, errorf(ErrInvalid, "invalid IPv4 address %q", s)
			}
		}
		if s := cfg.IPAMConfig.IPv6Address; s != "" {
			if in.ipv6, err = netip.ParseAddr(s); err != nil || !in.ipv6.Is6() || in.ipv6.Is4In6() {
				return in, errorf(ErrInvalid, "invalid IPv6 address %q", s)
			}
		}
		if len(cfg.IPAMConfig.LinkLocalIPs) > 0 {
			return in, errorf(ErrInvalid, "link-local addresses are not supported: an endpoint has its IPv4 and IPv6 addresses (and the IPv6 link-local address of its MAC)")
		}
	}
	if cfg.MacAddress != "" {
		var err error
		if in.mac, err = model.ParseMAC(cfg.MacAddress); err != nil {
			return in, invalid(err)
		}
	}
	for _, l := range cfg.Links {
		link, err := model.ParseLink(l)
		if err != nil {
			return in, invalid(err)
		}
		in.links = append(in.links, link)
	}
	if cfg.EndpointID != "" {
		if !model.IsID(cfg.EndpointID) {
			return in, errorf(ErrInvalid, "invalid endpoint id %q", cfg.EndpointID)
		}
		in.id = cfg.EndpointID
	}
	return in, nil
}

// connectPlan is a planned endpoint: the record and, for addresses
// reserved beforehand, the reservations it takes over.
type connectPlan struct {
	ep      model.Endpoint
	net     model.Network
	netIdx  uint64
	claimed map[netip.Addr]store.Holder
}

// planConnect decides the endpoint: its host and namespace, addresses,
// MAC and interface name.
func (s *state) planConnect(ref string, in connectRequest) (connectPlan, error) {
	ns, err := s.network(ref)
	if err != nil {
		return connectPlan{}, err
	}
	n := ns.Value
	cfg := in.cfg
	ct, err := s.resolveContainer(in.container, cfg.DriverOpts)
	if err != nil {
		return connectPlan{}, err
	}
	ifnames := map[string]bool{}
	for _, other := range s.endpointsOfContainer(ct.id) {
		if other.Host != ct.host {
			continue
		}
		if other.NetworkID == n.ID {
			return connectPlan{}, errorf(ErrForbidden, "endpoint with name %s already exists in network %s", ct.name, n.Name)
		}
		ifnames[other.IfName] = true
	}
	h, ok := s.hosts[ct.host]
	switch {
	case !ok:
		return connectPlan{}, errorf(ErrInvalid, "host %s is not known: no ovsnet agent has registered it", ct.host)
	case !h.Alive && !ct.docker:
		return connectPlan{}, errorf(ErrUnavailable, "the ovsnet agent on host %s is down; try again when it is back", ct.host)
	}
	if _, exists := s.eps[in.id]; exists {
		return connectPlan{}, errorf(ErrConflict, "endpoint %s already exists", model.ShortID(in.id))
	}

	v4, v6 := in.ipv4, in.ipv6
	if err := model.CheckPreferred(&n, v4); err != nil {
		return connectPlan{}, invalid(err)
	}
	if err := model.CheckPreferred(&n, v6); err != nil {
		return connectPlan{}, invalid(err)
	}
	claim := cfg.DriverOpts[optReserved] == "true"
	p := connectPlan{net: n, netIdx: ns.Index, claimed: map[netip.Addr]store.Holder{}}
	for _, a := range []netip.Addr{v4, v6} {
		if !a.IsValid() {
			continue
		}
		h, taken := ns.ipam[a]
		if claim {
			if _, _, ok := store.ParseReservation(h.Value); !taken || !ok {
				return connectPlan{}, errorf(ErrConflict, "address %s on network %s is not reserved (reserve it first)", a, n.Name)
			}
			p.claimed[a] = h
			continue
		}
		if taken {
			return connectPlan{}, errorf(ErrConflict, "Address already in use: %s is taken on network %s", a, n.Name)
		}
	}
	used := ns.used()
	if !v4.IsValid() {
		if v4, err = model.AllocateLowest(n.Subnet, n.IPRange, n.Gateway, used); err != nil {
			return connectPlan{}, errorf(ErrConflict, "network %s: %v", n.Name, err)
		}
	}
	if n.EnableIPv6 && !v6.IsValid() {
		if v6, err = model.AllocateLowest(n.Subnet6, netip.Prefix{}, n.Gateway6, used); err != nil {
			return connectPlan{}, errorf(ErrConflict, "network %s: %v", n.Name, err)
		}
	}
	ep := model.Endpoint{
		ID: in.id, NetworkID: n.ID, Host: ct.host, TunnelIP: h.TunnelIP, ContainerID: ct.id, ContainerName: ct.name,
		Netns: ct.netns, IfName: cfg.DriverOpts[model.OptEndpointIfName], MAC: in.mac,
		IPv4: netip.PrefixFrom(v4, n.Subnet.Bits()), Aliases: cfg.Aliases, Links: in.links,
		Docker: ct.docker, Created: in.now,
	}
	if v6.IsValid() {
		ep.IPv6 = netip.PrefixFrom(v6, n.Subnet6.Bits())
	}
	if ep.MAC == nil {
		ep.MAC = model.MACFromIPv4(v4)
	}
	if ep.IfName == "" && !ct.docker {
		for i := 0; ; i++ {
			if name := "eth" + strconv.Itoa(i); !ifnames[name] {
				ep.IfName = name
				break
			}
		}
	}
	if err := ep.Validate(&n); err != nil {
		return connectPlan{}, invalid(err)
	}
	p.ep = ep
	return p, nil
}

// connectTxn adds a planned endpoint's records and guards to t.
func connectTxn(t *writes, s *state, p connectPlan) {
	k := t.st.K
	ep := p.ep
	t.CheckIndex(k.Network(ep.NetworkID), p.netIdx)
	t.MustNotExist(k.Attach(ep.NetworkID, ep.ContainerID))
	for _, a := range endpointAddrs(ep) {
		if r, ok := p.claimed[a]; ok {
			t.CheckIndex(k.IPAM(ep.NetworkID, a), r.Index)
		} else {
			t.MustNotExist(k.IPAM(ep.NetworkID, a))
		}
		t.PutRaw(k.IPAM(ep.NetworkID, a), ep.ID)
	}
	t.PutRaw(k.Attach(ep.NetworkID, ep.ContainerID), ep.ID)
	t.CAS(k.Endpoint(ep.NetworkID, ep.ID), ep, 0)
	t.PutRaw(k.Placement(ep.Host, ep.NetworkID, ep.ID), "")
	t.endpointChanged(s, ep.NetworkID, ep.ID, false)
}

// applyEndpoint records a committed endpoint and what it holds.
func (s *state) applyEndpoint(ep model.Endpoint, index uint64) {
	s.putEndpoint(ep, index)
	ns := s.networks[ep.NetworkID]
	for _, a := range endpointAddrs(ep) {
		ns.ipam[a] = store.Holder{Value: ep.ID, Index: index}
	}
	ns.attach[ep.ContainerID] = store.Holder{Value: ep.ID, Index: index}
}

func endpointAddrs(ep model.Endpoint) []netip.Addr {
	out := []netip.Addr{ep.IPv4.Addr()}
	if ep.IPv6.IsValid() {
		out = append(out, ep.IPv6.Addr())
	}
	return out
}

// Connect attaches a container to a network: it allocates addresses, stores
// the endpoint in one guarded transaction and waits until the container's
// agent reports the endpoint plumbed. If the agent reports an error or does
// not answer in time, the endpoint is removed again: nothing is left half
// done.
func (c *Controller) Connect(ctx context.Context, ref string, req model.NetworkConnectRequest) (*model.EndpointView, error) {
	in, err := parseConnect(req)
	if err != nil {
		return nil, err
	}
	var p connectPlan
	index, err := c.change(ctx, func(s *state, t *writes) (func(*state, uint64), error) {
		if p, err = s.planConnect(ref, in); err != nil {
			return nil, err
		}
		connectTxn(t, s, p)
		ep := p.ep
		return func(s *state, index uint64) { s.applyEndpoint(ep, index) }, nil
	})
	if err != nil {
		return nil, err
	}
	ep := p.ep
	c.log.Info("endpoint created", "network", p.net.Name, "container", ep.ContainerName, "host", ep.Host,
		"ipv4", ep.IPv4, "endpoint", model.ShortID(ep.ID))
	view := &model.EndpointView{Endpoint: ep, NetworkName: p.net.Name}
	if ep.Docker {
		return view, nil // Docker plumbs it at Join, after this call returns
	}
	st, err := c.waitPlumbed(ctx, ep)
	if err != nil {
		if rerr := c.rollback(context.WithoutCancel(ctx), ep.ID, index); rerr != nil {
			c.log.Error("rollback of endpoint failed", "endpoint", ep.ID, "err", rerr)
		}
		return nil, err
	}
	view.Status = st
	// Give the endpoint's peers a moment to learn it, so the first packet
	// it sends gets its answer; a slow peer does not fail the connect.
	rctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	if err := c.waitReachable(rctx, ep, index); err != nil {
		c.log.Warn("endpoint ready, but not every peer host has applied it yet", "endpoint", model.ShortID(ep.ID), "err", err)
	}
	return view, nil
}

// waitPlumbed waits for the agent's report on a new endpoint (a blocking
// read of that one status key).
func (c *Controller) waitPlumbed(ctx context.Context, ep model.Endpoint) (*model.EndpointStatus, error) {
	ctx, cancel := context.WithTimeout(ctx, c.readyTimeout)
	defer cancel()
	var st model.EndpointStatus
	found := false
	store.Watch{Key: c.st.K.Status(ep.Host, ep.ID)}.Run(ctx, c.st.B, func(pairs []store.Pair, _ uint64) {
		if len(pairs) == 1 && store.Decode(pairs[0], &st) == nil && (st.State == model.EndpointReady || st.State == model.EndpointError) {
			found = true
			cancel()
		}
	})
	if !found {
		return nil, errorf(ErrTimeout, "the ovsnet agent on host %s did not report endpoint %s within %s; it was removed again", ep.Host, model.ShortID(ep.ID), c.readyTimeout)
	}
	if st.State == model.EndpointError {
		return nil, errorf(ErrInvalid, "host %s could not plumb the endpoint: %s", ep.Host, st.Error)
	}
	return &st, nil
}

// rollback removes an endpoint this replica created at index, if it still
// exists as created: a disconnect racing with the connect has already
// released it, and what it held may belong to someone else by now.
func (c *Controller) rollback(ctx context.Context, id string, index uint64) error {
	_, err := c.change(ctx, func(s *state, t *writes) (func(*state, uint64), error) {
		rec := s.eps[id]
		if rec == nil || rec.Index != index {
			return nil, nil
		}
		releaseTxn(t, s, rec)
		return func(s *state, _ uint64) { s.removeEndpoint(id) }, nil
	})
	return err
}

// releaseTxn removes an endpoint and what it holds, each guarded by the
// modify index the state knows: an address is released only while this
// endpoint holds it.
func releaseTxn(t *writes, s *state, rec *store.Versioned[model.Endpoint]) {
	k := t.st.K
	ep := rec.Value
	t.DeleteCAS(k.Endpoint(ep.NetworkID, ep.ID), rec.Index)
	if ns := s.networks[ep.NetworkID]; ns != nil {
		for _, a := range endpointAddrs(ep) {
			if h, ok := ns.ipam[a]; ok && h.Value == ep.ID {
				t.DeleteCAS(k.IPAM(ep.NetworkID, a), h.Index)
			}
		}
		if h, ok := ns.attach[ep.ContainerID]; ok && h.Value == ep.ID {
			t.DeleteCAS(k.Attach(ep.NetworkID, ep.ContainerID), h.Index)
		}
	}
	t.Delete(k.Placement(ep.Host, ep.NetworkID, ep.ID))
	t.Delete(k.Status(ep.Host, ep.ID))
	t.endpointChanged(s, ep.NetworkID, ep.ID, true)
}

// Disconnect removes a container's endpoint from a network.
func (c *Controller) Disconnect(ctx context.Context, ref string, req model.NetworkDisconnectRequest) error {
	if req.Container == "" {
		return errorf(ErrInvalid, "a container is required")
	}
	var gone model.Endpoint
	var netName string
	_, err := c.change(ctx, func(s *state, t *writes) (func(*state, uint64), error) {
		ns, err := s.network(ref)
		if err != nil {
			return nil, err
		}
		netName = ns.Value.Name
		for _, ep := range s.endpointsOf(ns.Value.ID) {
			if ep.ContainerName == req.Container || ep.ContainerID == req.Container ||
				(len(req.Container) >= 12 && strings.HasPrefix(ep.ContainerID, req.Container)) || ep.ID == req.Container {
				releaseTxn(t, s, s.eps[ep.ID])
				gone = ep
				return func(s *state, _ uint64) { s.removeEndpoint(ep.ID) }, nil
			}
		}
		return nil, errorf(ErrNotFound, "container %s is not connected to network %s", req.Container, ns.Value.Name)
	})
	if err != nil {
		return err
	}
	c.log.Info("endpoint removed", "network", netName, "container", gone.ContainerName, "host", gone.Host)
	return nil
}

// EndpointByID finds an endpoint, with its agent's report.
func (c *Controller) EndpointByID(ctx context.Context, id string) (*model.EndpointView, error) {
	var v *model.EndpointView
	err := c.read(func(s *state) error {
		if rec := s.eps[id]; rec != nil {
			v = s.view(rec.Value)
			return nil
		}
		if len(id) >= 12 {
			for _, rec := range s.eps {
				if strings.HasPrefix(rec.Value.ID, id) {
					v = s.view(rec.Value)
					return nil
				}
			}
		}
		return errorf(ErrNotFound, "endpoint %s not found", id)
	})
	if err != nil {
		return nil, err
	}
	var st model.EndpointStatus
	if found, err := c.st.GetRecord(ctx, c.st.K.Status(v.Host, v.ID), &st); err == nil && found {
		v.Status = &st
	}
	return v, nil
}

// view renders an endpoint for the API (without its status).
func (s *state) view(ep model.Endpoint) *model.EndpointView {
	v := &model.EndpointView{Endpoint: ep}
	if ns := s.networks[ep.NetworkID]; ns != nil {
		v.NetworkName = ns.Value.Name
	}
	return v
}
