package controller

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/ovsnet/ovsnet/flows"
	"github.com/ovsnet/ovsnet/model"
)

func (c *Controller) traceHandler(w http.ResponseWriter, r *http.Request) {
	var req model.TraceRequest
	if err := decode(r, &req); err != nil {
		writeError(w, err)
		return
	}
	tr, err := c.Trace(r.Context(), req)
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, tr)
}

// Trace follows the first packet from one endpoint to another through the
// OpenFlow pipeline of the source's host and, when it enters the tunnel,
// of the host at the other end, with OVS's own ofproto/trace run by the
// agents. The verdict says whether it is delivered, and if not, which
// table stopped it and why.
func (c *Controller) Trace(ctx context.Context, req model.TraceRequest) (*model.Trace, error) {
	start := time.Now()
	if strings.TrimSpace(req.Source) == "" || strings.TrimSpace(req.Destination) == "" {
		return nil, errorf(ErrInvalid, "a trace needs a source and a destination endpoint (container@network or endpoint id)")
	}
	sn, err := c.snapshot(ctx, viewStatuses)
	if err != nil {
		return nil, err
	}
	src, srcNet, err := resolveTraceEnd(sn, req.Source)
	if err != nil {
		return nil, err
	}
	dst, dstNet, err := resolveTraceEnd(sn, req.Destination)
	if err != nil {
		return nil, err
	}
	if src.ID == dst.ID {
		return nil, errorf(ErrInvalid, "source and destination are the same endpoint (%s)", endName(src, srcNet))
	}
	pkt, err := planPacket(req, src, srcNet, dst, dstNet)
	if err != nil {
		return nil, err
	}
	st, ok := sn.Statuses[src.ID]
	if !ok || st.State != model.EndpointReady || st.OFPort == 0 {
		state := "no report from its agent yet"
		if ok {
			state = string(st.State) + " " + st.Error
		}
		return nil, errorf(ErrConflict, "endpoint %s is not plumbed on host %s (%s): there is no port to trace from", endName(src, srcNet), src.Host, strings.TrimSpace(state))
	}
	srcHost, ok := sn.Host(src.Host)
	if !ok || !srcHost.Alive {
		return nil, errorf(ErrUnavailable, "the ovsnet agent on host %s is down: nothing can trace there", src.Host)
	}

	tr := &model.Trace{
		Source: traceEnd(sn, src, srcNet, pkt.src), Destination: traceEnd(sn, dst, dstNet, pkt.dst),
		Protocol: pkt.proto, Packet: pkt.describe(), Hops: []model.TraceHop{},
	}
	cfg := flows.DefaultConfig()
	res, err := c.hostTrace(ctx, src.Host, fmt.Sprintf("in_port=%d,%s", st.OFPort, pkt.headers()))
	if err != nil {
		return nil, err
	}
	exit := analyzeHop(res)
	tr.Hops = append(tr.Hops, model.TraceHop{Host: src.Host, Result: res, Outcome: describeExit(sn, src.Host, exit),
		Ingress: fmt.Sprintf("port %d (%s, %s)", st.OFPort, src.ContainerName, src.PortName())})

	if exit.kind == exitTunnel {
		peer := hostByTunnelIP(sn, exit.tunDst.String())
		if peer == nil {
			tr.Verdict = model.TraceVerdict{Kind: model.TraceIncomplete, Host: src.Host,
				Summary: fmt.Sprintf("sent into the tunnel to %s, which is no registered host", exit.tunDst)}
			return c.finishTrace(tr, start), nil
		}
		flow := fmt.Sprintf("in_port=%d,tun_id=%#x,tun_src=%s,tun_dst=%s,%s", cfg.TunnelOFPort, exit.tunID, srcHost.TunnelIP, exit.tunDst, pkt.headers())
		res2, err := c.hostTrace(ctx, peer.Name, flow)
		if err != nil {
			tr.Verdict = model.TraceVerdict{Kind: model.TraceIncomplete, Host: peer.Name,
				Summary: fmt.Sprintf("sent through the tunnel to %s, but it could not be traced there: %v", peer.Name, err)}
			return c.finishTrace(tr, start), nil
		}
		vni := exit.tunID
		exit = analyzeHop(res2)
		tr.Hops = append(tr.Hops, model.TraceHop{Host: peer.Name, Result: res2, Outcome: describeExit(sn, peer.Name, exit),
			Ingress: fmt.Sprintf("tunnel from %s (%s), VNI %d", src.Host, srcHost.TunnelIP, vni)})
	}
	tr.Verdict = verdict(sn, tr.Hops[len(tr.Hops)-1].Host, exit, src, srcNet, dst, dstNet)
	return c.finishTrace(tr, start), nil
}

func (c *Controller) finishTrace(tr *model.Trace, start time.Time) *model.Trace {
	d := time.Since(start)
	tr.Duration = d.Round(time.Millisecond).String()
	traces.WithLabelValues(tr.Verdict.Kind).Inc()
	traceDuration.Observe(d.Seconds())
	c.log.Info("traced", "source", tr.Source.Description, "destination", tr.Destination.Description,
		"verdict", tr.Verdict.Kind, "summary", tr.Verdict.Summary, "took", d.Round(time.Millisecond))
	return tr
}

// verdict turns how the packet left the last host into an answer.
func verdict(sn *Snapshot, host string, exit hopExit, src *model.Endpoint, srcNet *model.Network, dst *model.Endpoint, dstNet *model.Network) model.TraceVerdict {
	v := model.TraceVerdict{Host: host}
	if exit.step != nil {
		v.Table, v.Priority = exit.step.TableName, exit.step.Priority
	}
	apart := ""
	if src.NetworkID != dst.NetworkID {
		apart = fmt.Sprintf(" %s and %s are in different networks (%s, %s): ovsnet keeps networks apart and does not route between them.",
			src.ContainerName, dst.ContainerName, srcNet.Name, dstNet.Name)
		if !srcNet.HasGateway() {
			apart += fmt.Sprintf(" %s is internal: it has no gateway, so nothing leaves it.", srcNet.Name)
		}
	}
	cfg := flows.DefaultConfig()
	switch exit.kind {
	case exitDrop:
		v.Kind = model.TraceDropped
		v.Summary = "on " + host + ": " + dropReason(exit) + "." + apart
	case exitPort:
		dstSt := sn.Statuses[dst.ID]
		switch {
		case host == dst.Host && dstSt.OFPort != 0 && exit.port == dstSt.OFPort:
			v.Kind = model.TraceDelivered
			v.Summary = fmt.Sprintf("delivered to %s on %s (port %d) by %s.", dst.ContainerName, host, exit.port, stepName(exit.step))
		case exit.port == cfg.EgressOFPort && src.NetworkID != dst.NetworkID:
			// To another network the packet takes the way out of its own,
			// as to any foreign address, and never comes back in: for the
			// question "why can't A reach B" that is a drop, at Egress.
			v.Kind = model.TraceDropped
			v.Summary = fmt.Sprintf("never reaches %s: on %s it leaves network %s through its gateway in %s, SNATed to the host's address into the host's kernel, which routes no overlay addresses.",
				dst.ContainerName, host, srcNet.Name, stepName(exit.step)) + apart
		case exit.port == cfg.EgressOFPort:
			v.Kind = model.TraceLeft
			v.Summary = fmt.Sprintf("left ovsnet on %s through the egress port %s (%s): SNAT to the host's address, on into the host's kernel; it does not reach %s.",
				host, cfg.EgressPortName, stepName(exit.step), dst.ContainerName) + apart
		default:
			v.Kind = model.TraceLeft
			v.Summary = fmt.Sprintf("output on %s to %s, not to %s.", host, portName(sn, host, exit.port), dst.ContainerName) + apart
		}
	case exitInPort:
		v.Kind = model.TraceLeft
		v.Summary = fmt.Sprintf("sent back out of the port it came in on by %s (an answer to the sender), not to %s.", stepName(exit.step), dst.ContainerName)
	case exitTunnel:
		v.Kind = model.TraceIncomplete
		v.Summary = fmt.Sprintf("%s sent it back into the tunnel (to %s); ovsnet traces at most two hosts.", host, exit.tunDst)
	default:
		v.Kind = model.TraceIncomplete
		v.Summary = fmt.Sprintf("the pipeline on %s ended after %s without an output or a drop.", host, stepName(exit.step))
	}
	return v
}

// describeExit says how a packet left one host's pipeline.
func describeExit(sn *Snapshot, host string, exit hopExit) string {
	switch exit.kind {
	case exitDrop:
		return dropReason(exit)
	case exitTunnel:
		peer := exit.tunDst.String()
		if h := hostByTunnelIP(sn, peer); h != nil {
			peer = fmt.Sprintf("%s (%s)", h.Name, peer)
		}
		return fmt.Sprintf("into the VXLAN tunnel to %s, VNI %d, by %s", peer, exit.tunID, stepName(exit.step))
	case exitPort:
		return fmt.Sprintf("output to %s by %s", portName(sn, host, exit.port), stepName(exit.step))
	case exitInPort:
		return "sent back out of its ingress port by " + stepName(exit.step)
	}
	return "no output and no drop after " + stepName(exit.step)
}

// portName names an OpenFlow port of host's br-int for people.
func portName(sn *Snapshot, host string, port int) string {
	cfg := flows.DefaultConfig()
	switch port {
	case cfg.TunnelOFPort:
		return fmt.Sprintf("port %d (the tunnel)", port)
	case cfg.EgressOFPort:
		return fmt.Sprintf("port %d (%s)", port, cfg.EgressPortName)
	}
	for id, st := range sn.Statuses {
		if st.Host == host && st.OFPort == port {
			for _, ep := range sn.Endpoints {
				if ep.ID == id {
					return fmt.Sprintf("port %d (%s, %s)", port, ep.ContainerName, st.Port)
				}
			}
		}
	}
	return fmt.Sprintf("port %d", port)
}

func hostByTunnelIP(sn *Snapshot, ip string) *model.Host {
	for i := range sn.Hosts {
		if sn.Hosts[i].TunnelIP.String() == ip {
			return &sn.Hosts[i]
		}
	}
	return nil
}

func traceEnd(sn *Snapshot, ep *model.Endpoint, n *model.Network, addr interface{ String() string }) model.TraceEnd {
	end := model.TraceEnd{EndpointID: ep.ID, Container: ep.ContainerName, Network: n.Name, NetworkID: n.ID,
		Host: ep.Host, Address: addr.String(), MAC: ep.MAC.String()}
	if st, ok := sn.Statuses[ep.ID]; ok {
		end.OFPort = st.OFPort
	}
	end.Description = fmt.Sprintf("%s (%s on %s)", endName(ep, n), end.Address, ep.Host)
	return end
}

// resolveTraceEnd finds an endpoint by id (or a 12+ character prefix),
// container@network, or a container name with a single endpoint.
func resolveTraceEnd(sn *Snapshot, ref string) (*model.Endpoint, *model.Network, error) {
	ref = strings.TrimSpace(ref)
	withNet := func(ep *model.Endpoint) (*model.Endpoint, *model.Network, error) {
		n, err := sn.Network(ep.NetworkID)
		if err != nil {
			return nil, nil, err
		}
		return ep, n, nil
	}
	if ctr, netRef, ok := strings.Cut(ref, "@"); ok {
		n, err := sn.Network(netRef)
		if err != nil {
			return nil, nil, err
		}
		for i := range sn.Endpoints {
			ep := &sn.Endpoints[i]
			if ep.NetworkID == n.ID && (ep.ContainerName == ctr || ep.ContainerID == ctr || (len(ctr) >= 12 && strings.HasPrefix(ep.ContainerID, ctr))) {
				return ep, n, nil
			}
		}
		return nil, nil, errorf(ErrNotFound, "container %s is not connected to network %s", ctr, n.Name)
	}
	for i := range sn.Endpoints {
		if ep := &sn.Endpoints[i]; ep.ID == ref || (len(ref) >= 12 && strings.HasPrefix(ep.ID, ref)) {
			return withNet(ep)
		}
	}
	var found []*model.Endpoint
	for i := range sn.Endpoints {
		if sn.Endpoints[i].ContainerName == ref {
			found = append(found, &sn.Endpoints[i])
		}
	}
	switch len(found) {
	case 0:
		return nil, nil, errorf(ErrNotFound, "no endpoint %s: name one as container@network or by endpoint id", ref)
	case 1:
		return withNet(found[0])
	}
	var names []string
	for _, ep := range found {
		if n, err := sn.Network(ep.NetworkID); err == nil {
			names = append(names, endName(ep, n))
		}
	}
	return nil, nil, errorf(ErrInvalid, "container %s has %d endpoints: say which one (%s)", ref, len(found), strings.Join(names, ", "))
}
