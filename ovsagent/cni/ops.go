package cni

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"time"

	"github.com/containernetworking/cni/pkg/types"
	current "github.com/containernetworking/cni/pkg/types/100"

	"github.com/ovsnet/ovsnet/client"
	"github.com/ovsnet/ovsnet/model"
)

// The CNI operations: ADD, DEL, CHECK, STATUS and GC.

// Add attaches the container's namespace to the network.
func (s *Server) Add(ctx context.Context, r *Request) (*current.Result, error) {
	at, err := s.parse(r, true)
	if err != nil {
		return nil, err
	}
	if err := s.ns.Check(r.Netns); err != nil {
		return nil, &types.Error{Code: types.ErrInvalidNetNS, Msg: "CNI_NETNS: " + err.Error()}
	}
	defer s.locks.lock(r.ContainerID + "/" + r.IfName)()
	n, err := s.network(ctx, r.Network)
	if err != nil {
		return nil, err
	}
	if len(at.published) > 0 && n.internal {
		return nil, Errorf(types.ErrInvalidNetworkConfig, "ovsnet network %s is internal: its containers reach nothing outside, so they cannot publish ports", n.name)
	}
	existing, err := s.endpoint(ctx, n, at)
	if err != nil {
		return nil, err
	}
	if existing != nil {
		// The spec: an interface of that name must not exist already.
		// Nothing changes; the runtime DELs it first.
		return nil, Errorf(ErrAttached, "container %s already has interface %s on ovsnet network %s (address %s, netns %s): DEL it first",
			at.name, r.IfName, n.name, existing.IPv4.Addr(), existing.Netns)
	}
	rec := record{ContainerID: r.ContainerID, IfName: r.IfName, NetworkID: n.id, Network: n.name, Netns: r.Netns, Created: time.Now().UTC()}
	if err := s.recs.put(rec); err != nil {
		return nil, &types.Error{Code: types.ErrIOFailure, Msg: "recording the attachment", Details: err.Error()}
	}
	settings := &model.EndpointSettings{
		Aliases: r.Aliases,
		DriverOpts: map[string]string{
			model.OptEndpointHost: s.a.HostName(), model.OptEndpointNetns: r.Netns, model.OptEndpointIfName: r.IfName,
			optContainerID: at.id,
		},
	}
	if at.mac != nil {
		settings.MacAddress = at.mac.String()
	}
	if at.v4.IsValid() || at.v6.IsValid() {
		settings.IPAMConfig = &model.EndpointIPAMConfig{}
		if at.v4.IsValid() {
			settings.IPAMConfig.IPv4Address = at.v4.String()
		}
		if at.v6.IsValid() {
			settings.IPAMConfig.IPv6Address = at.v6.String()
		}
	}
	// The controller allocates the addresses, stores the endpoint and
	// waits until this agent has plumbed it; on any failure it removes
	// the endpoint again, so nothing is left half made.
	view, err := s.ctl.Connect(ctx, n.id, model.NetworkConnectRequest{Container: at.name, EndpointConfig: settings})
	if err != nil {
		if rerr := s.recs.remove(rec.key()); rerr != nil {
			s.log.Error("forgetting a failed attachment", "err", rerr)
		}
		return nil, controllerError(err, "connecting the container")
	}
	rec.EndpointID = view.ID
	if err := s.recs.put(rec); err != nil {
		s.log.Error("recording an attachment", "endpoint", model.ShortID(view.ID), "err", err)
	}
	if len(at.published) > 0 {
		// As Docker does: the endpoint first, then its ports. A refusal
		// (a host port taken on this host) undoes the attachment.
		if _, err := s.ctl.UpdateEndpoint(ctx, view.ID, model.EndpointUpdate{Published: &at.published}); err != nil {
			// Undone even when the request's time ran out; if the undo
			// fails too, the record stays for DEL or GC to finish it.
			uctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
			derr := s.detach(uctx, n, &view.Endpoint)
			cancel()
			if derr != nil {
				s.log.Error("undoing an attachment whose ports were refused", "endpoint", model.ShortID(view.ID), "err", derr)
			} else if rerr := s.recs.remove(rec.key()); rerr != nil {
				s.log.Error("forgetting an attachment whose ports were refused", "err", rerr)
			}
			return nil, controllerError(err, "publishing the container's ports")
		}
	}
	link, err := s.ns.Link(r.Netns, r.IfName)
	if err != nil {
		// Plumbed a moment ago; the result then says what was asked for.
		s.log.Warn("reading back a new endpoint's interface", "endpoint", model.ShortID(view.ID), "err", err)
		link = Link{MAC: view.MAC}
		if !n.internal && n.gw4.IsValid() {
			link.Gateways = []netip.Addr{n.gw4}
		}
	}
	return buildResult(&view.Endpoint, n, link), nil
}

// buildResult is ADD's answer: the container's interface, its addresses
// with the network's gateway, the default routes that go through it and
// the resolver (the agent answers DNS at the gateway address, internal
// networks included).
func buildResult(ep *model.Endpoint, n *network, link Link) *current.Result {
	r := &current.Result{
		CNIVersion: current.ImplementedSpecVersion,
		Interfaces: []*current.Interface{{Name: ep.IfName, Mac: ep.MAC.String(), Mtu: link.MTU, Sandbox: ep.Netns}},
	}
	add := func(p netip.Prefix, gw netip.Addr) {
		ipc := &current.IPConfig{Interface: current.Int(0), Address: *prefixNet(p)}
		if gw.IsValid() && !n.internal {
			ipc.Gateway = net.IP(gw.AsSlice())
		}
		r.IPs = append(r.IPs, ipc)
	}
	add(ep.IPv4, n.gw4)
	if ep.IPv6.IsValid() {
		add(ep.IPv6, n.gw6)
	}
	for _, gw := range link.Gateways {
		dst := netip.PrefixFrom(netip.IPv4Unspecified(), 0)
		if gw.Is6() {
			dst = netip.PrefixFrom(netip.IPv6Unspecified(), 0)
		}
		r.Routes = append(r.Routes, &types.Route{Dst: *prefixNet(dst), GW: net.IP(gw.AsSlice())})
	}
	for _, gw := range []netip.Addr{n.gw4, n.gw6} {
		if gw.IsValid() && (gw.Is4() || ep.IPv6.IsValid()) {
			r.DNS.Nameservers = append(r.DNS.Nameservers, gw.String())
		}
	}
	if len(r.DNS.Nameservers) > 0 {
		r.DNS.Options = []string{"ndots:0"}
	}
	return r
}

func prefixNet(p netip.Prefix) *net.IPNet {
	return &net.IPNet{IP: net.IP(p.Addr().AsSlice()), Mask: net.CIDRMask(p.Bits(), p.Addr().BitLen())}
}

// Del detaches the container: the endpoint goes, its addresses are free
// again. Whatever is already gone is no error.
func (s *Server) Del(ctx context.Context, r *Request) error {
	at, err := s.parse(r, false)
	if err != nil {
		return err
	}
	defer s.locks.lock(r.ContainerID + "/" + r.IfName)()
	n, err := s.network(ctx, r.Network)
	var nf *notFoundError
	if errors.As(err, &nf) {
		// The network is gone, and its endpoints with it.
		for _, rec := range s.recs.matching(func(rec record) bool {
			return rec.Network == r.Network && rec.ContainerID == r.ContainerID && rec.IfName == r.IfName
		}) {
			s.forget(rec)
		}
		return nil
	}
	if err != nil {
		return err
	}
	ep, err := s.endpoint(ctx, n, at)
	if err != nil {
		return err
	}
	if ep != nil {
		if err := s.detach(ctx, n, &ep.Endpoint); err != nil {
			return err
		}
	}
	if err := s.recs.remove(attachmentKey(n.id, r.ContainerID, r.IfName)); err != nil {
		return &types.Error{Code: types.ErrIOFailure, Msg: "forgetting the attachment", Details: err.Error()}
	}
	return nil
}

// detach removes an endpoint at the controller and its veth here at once
// (the reconciler would too, a moment later; the runtime may reuse the
// interface name as soon as DEL returns).
func (s *Server) detach(ctx context.Context, n *network, ep *model.Endpoint) error {
	err := s.ctl.Disconnect(ctx, n.id, model.NetworkDisconnectRequest{Container: ep.ID, Force: true})
	if err != nil && !client.IsNotFound(err) {
		return controllerError(err, "disconnecting the container")
	}
	if err := s.ns.RemoveEndpoint(ep.PortName()); err != nil {
		s.log.Warn("removing a detached endpoint's veth", "endpoint", model.ShortID(ep.ID), "err", err)
	}
	s.a.Trigger()
	return nil
}

// forget drops the record of an attachment whose network is gone, with
// its veth if one is left.
func (s *Server) forget(rec record) {
	if model.IsID(rec.EndpointID) {
		ep := model.Endpoint{ID: rec.EndpointID}
		if err := s.ns.RemoveEndpoint(ep.PortName()); err != nil {
			s.log.Warn("removing the veth of an endpoint whose network is gone", "endpoint", model.ShortID(rec.EndpointID), "err", err)
		}
	}
	if err := s.recs.remove(rec.key()); err != nil {
		s.log.Error("forgetting an attachment", "err", err)
	}
}

// Check compares the attachment with what ADD made and the runtime
// recorded (prevResult): the endpoint, its status on this host, the
// interface in the container and its addresses. Every difference found is
// reported at once.
func (s *Server) Check(ctx context.Context, r *Request) error {
	at, err := s.parse(r, true)
	if err != nil {
		return err
	}
	defer s.locks.lock(r.ContainerID + "/" + r.IfName)()
	n, err := s.network(ctx, r.Network)
	var nf *notFoundError
	if errors.As(err, &nf) {
		return Errorf(ErrDrift, "ovsnet network %s no longer exists", r.Network)
	}
	if err != nil {
		return err
	}
	ep, err := s.endpoint(ctx, n, at)
	if err != nil {
		return err
	}
	if ep == nil {
		return Errorf(ErrDrift, "container %s has no endpoint with interface %s on ovsnet network %s any more (removed outside the runtime?)", at.name, r.IfName, n.name)
	}
	var drift []string
	if ep.Netns != r.Netns {
		drift = append(drift, fmt.Sprintf("the endpoint is plumbed into %s, not %s", ep.Netns, r.Netns))
	}
	wctx, cancel := context.WithTimeout(ctx, s.checkWait)
	err = s.a.WaitReady(wctx, ep.ID)
	cancel()
	if err != nil {
		drift = append(drift, fmt.Sprintf("host %s does not report endpoint %s ready: %v", s.a.HostName(), model.ShortID(ep.ID), err))
	}
	link, err := s.ns.Link(r.Netns, r.IfName)
	if err != nil {
		drift = append(drift, fmt.Sprintf("interface %s: %v", r.IfName, err))
	} else {
		drift = append(drift, compareLink(&ep.Endpoint, link)...)
	}
	drift = append(drift, comparePrev(&ep.Endpoint, r.PrevResult)...)
	if r.PortMappings != nil && !samePorts(ep.Published, at.published) {
		drift = append(drift, fmt.Sprintf("the endpoint publishes %s, the runtime asks for %s", portList(ep.Published), portList(at.published)))
	}
	if len(drift) > 0 {
		return &types.Error{Code: ErrDrift, Msg: fmt.Sprintf("container %s on ovsnet network %s is not as ADD left it: %s", at.name, n.name, strings.Join(drift, "; "))}
	}
	return nil
}

// compareLink lists how the interface differs from the endpoint.
func compareLink(ep *model.Endpoint, l Link) []string {
	var out []string
	if l.MAC.String() != ep.MAC.String() {
		out = append(out, fmt.Sprintf("%s has MAC %s, ovsnet gave it %s", ep.IfName, l.MAC, ep.MAC))
	}
	if !l.Up {
		out = append(out, ep.IfName+" is down")
	}
	for _, want := range []netip.Prefix{ep.IPv4, ep.IPv6} {
		if !want.IsValid() {
			continue
		}
		found := false
		for _, a := range l.Addrs {
			if a == want {
				found = true
			}
		}
		if !found {
			out = append(out, fmt.Sprintf("%s lacks its address %s", ep.IfName, want))
		}
	}
	return out
}

// comparePrev lists how the runtime's record of the ADD differs from the
// endpoint ovsnet holds.
func comparePrev(ep *model.Endpoint, prev *current.Result) []string {
	if prev == nil {
		return nil
	}
	var out []string
	idx := -1
	for i, itf := range prev.Interfaces {
		if itf != nil && itf.Name == ep.IfName && (itf.Sandbox != "" || idx < 0) {
			idx = i
		}
	}
	if idx < 0 {
		return []string{fmt.Sprintf("the runtime's result has no interface %s", ep.IfName)}
	}
	if m := prev.Interfaces[idx].Mac; m != "" && !strings.EqualFold(m, ep.MAC.String()) {
		out = append(out, fmt.Sprintf("the runtime's result gives %s MAC %s, ovsnet holds %s", ep.IfName, m, ep.MAC))
	}
	for _, ipc := range prev.IPs {
		if ipc == nil || ipc.Interface == nil || *ipc.Interface != idx {
			continue
		}
		a, ok := netip.AddrFromSlice(ipc.Address.IP)
		if !ok {
			continue
		}
		a = a.Unmap()
		if a != ep.IPv4.Addr() && (!ep.IPv6.IsValid() || a != ep.IPv6.Addr()) {
			out = append(out, fmt.Sprintf("the runtime's result gives %s address %s, ovsnet holds %s for it", ep.IfName, a, ep.IPv4.Addr()))
		}
	}
	return out
}

// Status says whether an ADD on the network can succeed now.
func (s *Server) Status(ctx context.Context, r *Request) error {
	if err := checkNetwork(r.Network); err != nil {
		return err
	}
	if s.a.State() == nil {
		return Errorf(ErrNotAvailable, "the ovsnet agent on host %s has no state from the cluster yet (is Consul reachable?)", s.a.HostName())
	}
	_, err := s.network(ctx, r.Network)
	if err == nil {
		return nil
	}
	e := asCNIError(err, ErrNotAvailable)
	// Running containers keep their connectivity without the controller.
	return &types.Error{Code: ErrNotAvailable, Msg: e.Msg, Details: e.Details}
}

// GC removes the attachments to the network this host's runtime no longer
// has (Valid lists those it has). It goes on past errors and reports them
// together.
func (s *Server) GC(ctx context.Context, r *Request) error {
	if err := checkNetwork(r.Network); err != nil {
		return err
	}
	valid := map[string]bool{}
	for _, v := range r.Valid {
		valid[v.ContainerID+"/"+v.IfName] = true
	}
	n, err := s.network(ctx, r.Network)
	var nf *notFoundError
	gone := errors.As(err, &nf)
	if err != nil && !gone {
		return err
	}
	stale := s.recs.matching(func(rec record) bool {
		if valid[rec.ContainerID+"/"+rec.IfName] {
			return false
		}
		if gone {
			return rec.Network == r.Network
		}
		return rec.NetworkID == n.id
	})
	var failed []string
	for _, rec := range stale {
		if err := s.collect(ctx, n, rec); err != nil {
			failed = append(failed, fmt.Sprintf("%s/%s: %v", rec.ContainerID, rec.IfName, err))
		}
	}
	if len(stale) > 0 {
		s.log.Info("CNI garbage collection", "network", r.Network, "removed", len(stale)-len(failed), "failed", len(failed))
	}
	if len(failed) > 0 {
		return &types.Error{Code: types.ErrTryAgainLater, Msg: fmt.Sprintf("%d of %d stale attachments could not be removed", len(failed), len(stale)), Details: strings.Join(failed, "; ")}
	}
	return nil
}

// collect removes one stale attachment (n nil: its network is gone).
func (s *Server) collect(ctx context.Context, n *network, rec record) error {
	defer s.locks.lock(rec.ContainerID + "/" + rec.IfName)()
	if n == nil {
		s.forget(rec)
		return nil
	}
	at := &attachment{Request: &Request{ContainerID: rec.ContainerID, IfName: rec.IfName}, id: s.containerID(rec.ContainerID)}
	ep, err := s.endpoint(ctx, n, at)
	if err != nil {
		return err
	}
	if ep != nil {
		if err := s.detach(ctx, n, &ep.Endpoint); err != nil {
			return err
		}
	}
	return s.recs.remove(rec.key())
}

// samePorts says whether two sets of published ports are equal.
func samePorts(a, b []model.PortMapping) bool {
	if len(a) != len(b) {
		return false
	}
	set := map[model.PortMapping]bool{}
	for _, p := range a {
		set[p] = true
	}
	for _, p := range b {
		if !set[p] {
			return false
		}
	}
	return true
}

// portList renders published ports as podman run -p would take them.
func portList(ps []model.PortMapping) string {
	if len(ps) == 0 {
		return "no ports"
	}
	out := make([]string, 0, len(ps))
	for _, p := range ps {
		out = append(out, fmt.Sprintf("%d:%d/%s", p.HostPort, p.Port, p.Proto))
	}
	return strings.Join(out, ", ")
}
