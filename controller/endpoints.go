package controller

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"strings"
	"sync"
	"time"

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
func resolveContainer(sn *Snapshot, ref string, opts map[string]string) (container, error) {
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
			return ct, errorf(ErrInvalid, "%v", err)
		}
		for _, ep := range sn.Endpoints {
			if ep.Host == ct.host && ep.ContainerName == ct.name && (ct.id == "" || ct.id == ep.ContainerID) {
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
	for _, ep := range sn.Endpoints {
		if ep.ContainerName == ref || ep.ContainerID == ref || (len(ref) >= 12 && strings.HasPrefix(ep.ContainerID, ref)) {
			return container{id: ep.ContainerID, name: ep.ContainerName, host: ep.Host, netns: ep.Netns, docker: ep.Docker}, nil
		}
	}
	return ct, errorf(ErrNotFound, "No such container: %s (ovsnet knows a container once it is connected to a network; for the first network pass its host and namespace: --host NAME --netns PATH)", ref)
}

// Connect attaches a container to a network: it allocates addresses, stores
// the endpoint in one guarded transaction and waits until the container's
// agent reports the endpoint plumbed. If the agent reports an error or does
// not answer in time, the endpoint is removed again: nothing is left half
// done.
func (c *Controller) Connect(ctx context.Context, ref string, req model.NetworkConnectRequest) (*model.EndpointView, error) {
	if req.Container == "" {
		return nil, errorf(ErrInvalid, "a container is required")
	}
	cfg := req.EndpointConfig
	if cfg == nil {
		cfg = &model.EndpointSettings{}
	}
	var ipv4, ipv6 netip.Addr
	if cfg.IPAMConfig != nil {
		var err error
		if s := cfg.IPAMConfig.IPv4Address; s != "" {
			if ipv4, err = netip.ParseAddr(s); err != nil || !ipv4.Is4() {
				return nil, errorf(ErrInvalid, "invalid IPv4 address %q", s)
			}
		}
		if s := cfg.IPAMConfig.IPv6Address; s != "" {
			if ipv6, err = netip.ParseAddr(s); err != nil || !ipv6.Is6() || ipv6.Is4In6() {
				return nil, errorf(ErrInvalid, "invalid IPv6 address %q", s)
			}
		}
	}
	var mac model.HardwareAddr
	if cfg.MacAddress != "" {
		var err error
		if mac, err = model.ParseMAC(cfg.MacAddress); err != nil {
			return nil, errorf(ErrInvalid, "%v", err)
		}
	}
	var links []model.Link
	for _, l := range cfg.Links {
		link, err := model.ParseLink(l)
		if err != nil {
			return nil, errorf(ErrInvalid, "%v", err)
		}
		links = append(links, link)
	}

	var ep model.Endpoint
	var n *model.Network
	// Connects through this replica allocate one at a time per network (a
	// network lock); other replicas are kept apart by the transaction's
	// guards, and the loser of a race retries with a fresh read.
	unlock := c.lockNetwork(ref)
	defer unlock()
	for attempt := 0; ; attempt++ {
		if attempt == allocRetries {
			return nil, errorf(ErrConflict, "could not connect %s: too many concurrent changes, try again", req.Container)
		}
		if attempt > 0 {
			backoffJitter(ctx, attempt)
		}
		sn, err := c.store.Load(ctx, 0)
		if err != nil {
			return nil, err
		}
		if n, err = sn.Network(ref); err != nil {
			return nil, err
		}
		if n.Removing {
			return nil, errorf(ErrForbidden, "network %s is being removed", n.Name)
		}
		ct, err := resolveContainer(sn, req.Container, cfg.DriverOpts)
		if err != nil {
			return nil, err
		}
		ifnames := map[string]bool{}
		for _, other := range sn.Endpoints {
			if other.ContainerID != ct.id || other.Host != ct.host {
				continue
			}
			if other.NetworkID == n.ID {
				return nil, errorf(ErrForbidden, "endpoint with name %s already exists in network %s", ct.name, n.Name)
			}
			ifnames[other.IfName] = true
		}
		h, ok := sn.Host(ct.host)
		switch {
		case !ok:
			return nil, errorf(ErrInvalid, "host %s is not known: no ovsnet agent has registered it", ct.host)
		case !h.Alive && !ct.docker:
			return nil, errorf(ErrUnavailable, "the ovsnet agent on host %s is down; try again when it is back", ct.host)
		}

		used := sn.used[n.ID]
		v4, v6 := ipv4, ipv6
		if err := model.CheckPreferred(n, v4); err != nil {
			return nil, errorf(ErrInvalid, "%v", err)
		}
		if err := model.CheckPreferred(n, v6); err != nil {
			return nil, errorf(ErrInvalid, "%v", err)
		}
		claim := cfg.DriverOpts[optReserved] == "true"
		reserved := map[netip.Addr]kvValue{}
		for _, a := range []netip.Addr{v4, v6} {
			if !a.IsValid() {
				continue
			}
			if claim {
				r, ok := sn.reservations[c.store.ipamKey(n.ID, a)]
				if !ok {
					return nil, errorf(ErrConflict, "address %s on network %s is not reserved (reserve it first)", a, n.Name)
				}
				reserved[a] = r
				continue
			}
			if used[a] {
				return nil, errorf(ErrConflict, "Address already in use: %s is taken on network %s", a, n.Name)
			}
		}
		if !v4.IsValid() {
			if v4, err = model.AllocateLowest(n.Subnet, n.IPRange, n.Gateway, used); err != nil {
				return nil, errorf(ErrConflict, "network %s: %v", n.Name, err)
			}
		}
		if n.EnableIPv6 && !v6.IsValid() {
			if v6, err = model.AllocateLowest(n.Subnet6, netip.Prefix{}, n.Gateway6, used); err != nil {
				return nil, errorf(ErrConflict, "network %s: %v", n.Name, err)
			}
		}
		id := newID()
		if cfg.EndpointID != "" {
			if !model.IsID(cfg.EndpointID) {
				return nil, errorf(ErrInvalid, "invalid endpoint id %q", cfg.EndpointID)
			}
			id = cfg.EndpointID
		}
		ep = model.Endpoint{
			ID: id, NetworkID: n.ID, Host: ct.host, ContainerID: ct.id, ContainerName: ct.name,
			Netns: ct.netns, IfName: cfg.DriverOpts[model.OptEndpointIfName], MAC: mac,
			IPv4: netip.PrefixFrom(v4, n.Subnet.Bits()), Aliases: cfg.Aliases, Links: links,
			Docker: ct.docker, Created: time.Now().UTC(),
		}
		if v6.IsValid() {
			ep.IPv6 = netip.PrefixFrom(v6, n.Subnet6.Bits())
		}
		if ep.MAC == nil {
			ep.MAC = model.MACFromIPv4(v4)
		}
		if ep.IfName == "" && !ct.docker {
			for i := 0; ; i++ {
				if name := fmt.Sprintf("eth%d", i); !ifnames[name] {
					ep.IfName = name
					break
				}
			}
		}
		if err := ep.Validate(n); err != nil {
			return nil, errorf(ErrInvalid, "%v", err)
		}

		var ops txnOps
		ops.checkIndex(c.store.networkKey(n.ID), sn.netIndex[n.ID])
		ops.mustNotExist(c.store.endpointKey(ep.ID))
		ops.mustNotExist(c.store.attachKey(n.ID, ep.ContainerID))
		for _, a := range []netip.Addr{v4, v6} {
			if !a.IsValid() {
				continue
			}
			if r, ok := reserved[a]; ok {
				ops.checkIndex(c.store.ipamKey(n.ID, a), r.index)
			} else {
				ops.mustNotExist(c.store.ipamKey(n.ID, a))
			}
			ops.setRaw(c.store.ipamKey(n.ID, a), ep.ID)
		}
		ops.setRaw(c.store.attachKey(n.ID, ep.ContainerID), ep.ID)
		if err := ops.set(c.store.endpointKey(ep.ID), ep); err != nil {
			return nil, err
		}
		_, err = c.store.commit(ctx, ops)
		switch {
		case err == nil:
		case conflictOn(err, c.store.endpointKey(ep.ID)):
			return nil, errorf(ErrConflict, "endpoint %s already exists", model.ShortID(ep.ID))
		case conflictOn(err, c.store.attachKey(n.ID, ep.ContainerID)):
			return nil, errorf(ErrForbidden, "endpoint with name %s already exists in network %s", ep.ContainerName, n.Name)
		case ipv4.IsValid() && conflictOn(err, c.store.ipamKey(n.ID, ipv4)), ipv6.IsValid() && conflictOn(err, c.store.ipamKey(n.ID, ipv6)):
			return nil, errorf(ErrConflict, "Address already in use on network %s", n.Name)
		case isConflict(err):
			continue // another writer took the address or changed the network
		default:
			return nil, err
		}
		break
	}
	unlock()
	c.log.Info("endpoint created", "network", n.Name, "container", ep.ContainerName, "host", ep.Host,
		"ipv4", ep.IPv4, "endpoint", model.ShortID(ep.ID))
	c.kick()
	view := &model.EndpointView{Endpoint: ep, NetworkName: n.Name}
	if ep.Docker {
		return view, nil // Docker plumbs it at Join, after this call returns
	}
	st, err := c.waitPlumbed(ctx, ep)
	if err != nil {
		if rerr := c.deleteEndpoint(context.WithoutCancel(ctx), ep); rerr != nil {
			c.log.Error("rollback of endpoint failed", "endpoint", ep.ID, "err", rerr)
		}
		return nil, err
	}
	view.Status = st
	// Give the endpoint's peers a moment to learn it, so the first packet
	// it sends gets its answer; a slow peer does not fail the connect.
	rctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	if err := c.waitReachable(rctx, ep); err != nil {
		c.log.Warn("endpoint ready, but not every peer host has applied it yet", "endpoint", model.ShortID(ep.ID), "err", err)
	}
	return view, nil
}

// allocRetries bounds a connect's attempts when other replicas keep winning
// the race for the same addresses.
const allocRetries = 40

// backoffJitter sleeps a few random milliseconds, growing with attempt, so
// replicas racing for the same address do not stay in lockstep.
func backoffJitter(ctx context.Context, attempt int) {
	d := time.Duration(1+rand.IntN(4*min(attempt, 10))) * time.Millisecond
	select {
	case <-time.After(d):
	case <-ctx.Done():
	}
}

// lockNetwork serialises this replica's allocations on one network (by the
// reference the request used). The returned unlock may be called twice.
func (c *Controller) lockNetwork(ref string) func() {
	c.mu.Lock()
	l, ok := c.netLocks[ref]
	if !ok {
		l = &sync.Mutex{}
		c.netLocks[ref] = l
	}
	c.mu.Unlock()
	l.Lock()
	var once sync.Once
	return func() { once.Do(l.Unlock) }
}

// waitPlumbed waits for the agent's report on a new endpoint.
func (c *Controller) waitPlumbed(ctx context.Context, ep model.Endpoint) (*model.EndpointStatus, error) {
	ctx, cancel := context.WithTimeout(ctx, c.readyTimeout)
	defer cancel()
	var st model.EndpointStatus
	err := c.watch.waitFor(ctx, func(sn *Snapshot) bool {
		s, ok := sn.Statuses[ep.ID]
		if ok && (s.State == model.EndpointReady || s.State == model.EndpointError) {
			st = s
			return true
		}
		return false
	})
	if err != nil {
		return nil, errorf(ErrTimeout, "the ovsnet agent on host %s did not report endpoint %s within %s; it was removed again", ep.Host, model.ShortID(ep.ID), c.readyTimeout)
	}
	if st.State == model.EndpointError {
		return nil, errorf(ErrInvalid, "host %s could not plumb the endpoint: %s", ep.Host, st.Error)
	}
	return &st, nil
}

// Disconnect removes a container's endpoint from a network.
func (c *Controller) Disconnect(ctx context.Context, ref string, req model.NetworkDisconnectRequest) error {
	if req.Container == "" {
		return errorf(ErrInvalid, "a container is required")
	}
	sn, err := c.store.Load(ctx, 0)
	if err != nil {
		return err
	}
	n, err := sn.Network(ref)
	if err != nil {
		return err
	}
	for _, ep := range sn.EndpointsOf(n.ID) {
		if ep.ContainerName == req.Container || ep.ContainerID == req.Container ||
			(len(req.Container) >= 12 && strings.HasPrefix(ep.ContainerID, req.Container)) || ep.ID == req.Container {
			if err := c.deleteEndpoint(ctx, ep); err != nil {
				return err
			}
			c.log.Info("endpoint removed", "network", n.Name, "container", ep.ContainerName, "host", ep.Host)
			c.kick()
			return nil
		}
	}
	return errorf(ErrNotFound, "container %s is not connected to network %s", req.Container, n.Name)
}

// deleteEndpoint removes an endpoint and everything it holds in one
// transaction.
func (c *Controller) deleteEndpoint(ctx context.Context, ep model.Endpoint) error {
	var ops txnOps
	ops.del(c.store.endpointKey(ep.ID))
	ops.del(c.store.ipamKey(ep.NetworkID, ep.IPv4.Addr()))
	if ep.IPv6.IsValid() {
		ops.del(c.store.ipamKey(ep.NetworkID, ep.IPv6.Addr()))
	}
	ops.del(c.store.attachKey(ep.NetworkID, ep.ContainerID))
	ops.del(c.store.statusKey(ep.Host, ep.ID))
	_, err := c.store.commit(ctx, ops)
	return err
}

// EndpointByID finds an endpoint.
func (c *Controller) EndpointByID(ctx context.Context, id string) (*model.EndpointView, error) {
	sn, err := c.snapshot(ctx)
	if err != nil {
		return nil, err
	}
	for _, ep := range sn.Endpoints {
		if ep.ID == id || (len(id) >= 12 && strings.HasPrefix(ep.ID, id)) {
			return c.view(sn, ep), nil
		}
	}
	return nil, errorf(ErrNotFound, "endpoint %s not found", id)
}

func (c *Controller) view(sn *Snapshot, ep model.Endpoint) *model.EndpointView {
	v := &model.EndpointView{Endpoint: ep}
	if n, err := sn.Network(ep.NetworkID); err == nil {
		v.NetworkName = n.Name
	}
	if st, ok := sn.Statuses[ep.ID]; ok {
		v.Status = &st
	}
	return v
}
