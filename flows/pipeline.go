package flows

import (
	"net/netip"
	"sort"

	"github.com/digitalocean/go-openvswitch/ovs"
	"github.com/ovsnet/ovsnet/model"
)

// OFPorts maps OVS port names to their OpenFlow port numbers.
type OFPorts map[string]int

// Build compiles the complete flow table of st's host: the pipeline, and
// the flows of every network, tunnel peer and endpoint (see the per-owner
// functions below, which the agent uses to recompute only what a change
// touches). Ports missing from ofports (not yet created) get no flows; the
// next reconcile adds them.
func Build(st model.HostState, cfg Config, ofports OFPorts) []Flow {
	out := PipelineFlows(cfg)
	nets := map[string]*model.Network{}
	for i := range st.Networks {
		n := &st.Networks[i]
		nets[n.ID] = n
		out = append(out, NetworkFlows(st.Host, n, cfg, ofports)...)
	}
	peers := map[string]netip.Addr{}
	for _, h := range st.Hosts {
		if h.Name != st.Host && h.TunnelIP.Is4() {
			peers[h.Name] = h.TunnelIP
			out = append(out, PeerFlows(h.TunnelIP, cfg)...)
		}
	}
	for i := range st.Endpoints {
		ep := &st.Endpoints[i]
		if n := nets[ep.NetworkID]; n != nil {
			tunnel := ep.TunnelIP
			if !tunnel.IsValid() {
				tunnel = peers[ep.Host]
			}
			out = append(out, EndpointFlows(st.Host, n, ep, tunnel, cfg, ofports)...)
		}
	}
	SortFlows(out)
	return out
}

// SortFlows orders flows by table, then by falling priority, keeping the
// order of equals: the order `ovs-ofctl dump-flows` prints and the goldens
// use.
func SortFlows(fs []Flow) {
	sort.SliceStable(fs, func(i, j int) bool {
		a, c := fs[i], fs[j]
		if a.Table.ID != c.Table.ID {
			return a.Table.ID < c.Table.ID
		}
		return a.Priority > c.Priority
	})
}

// PipelineFlows are the flows every host has, whatever the cluster holds:
// table misses, neighbour discovery defaults and the egress port.
func PipelineFlows(cfg Config) []Flow {
	b := &builder{cfg: cfg}
	b.pipeline()
	return b.flows
}

// NetworkFlows are what network n needs on host, whatever its endpoints:
// tunnel ingress by VNI, the gateway's neighbour answers, egress and DNS
// steering. ofports must hold the gateway port of a bridge network owned
// by host.
func NetworkFlows(host string, n *model.Network, cfg Config, ofports OFPorts) []Flow {
	b := &builder{host: host, cfg: cfg, ofports: ofports}
	b.network(n)
	b.dnsNetwork(n)
	return b.flows
}

// PeerFlows admit tunnel traffic from one other host.
func PeerFlows(ip netip.Addr, cfg Config) []Flow {
	b := &builder{cfg: cfg}
	b.peer(ip)
	return b.flows
}

// EndpointFlows are one endpoint's flows on host: neighbour answers for its
// addresses everywhere; on its own host admission, spoof guard, delivery
// and published ports (ofports must hold its port, or it gets none of
// these); elsewhere forwarding through the tunnel to tunnelIP (its host's
// underlay address; none when unknown).
func EndpointFlows(host string, n *model.Network, ep *model.Endpoint, tunnelIP netip.Addr, cfg Config, ofports OFPorts) []Flow {
	b := &builder{host: host, cfg: cfg, ofports: ofports}
	b.neighbor(n, ep)
	if ep.Host == host {
		b.localEndpoint(n, ep)
	} else if tunnelIP.Is4() && n.Driver == model.DriverOverlay {
		b.remoteEndpoint(n, ep, tunnelIP)
	}
	return b.flows
}

type builder struct {
	host    string
	cfg     Config
	ofports OFPorts
	flows   []Flow
}

func (b *builder) add(f Flow) { b.flows = append(b.flows, f) }

// pipeline adds the flows every host has: table misses and the egress port.
func (b *builder) pipeline() {
	c := NewCookie(CategoryPipeline, 0)
	miss := func(t Table, a Action) {
		b.add(Flow{Table: t, Priority: PriorityMiss, Cookie: c, Actions: []Action{a}})
	}
	miss(Classify, dropAction())
	miss(TunnelIngress, dropAction())
	miss(SpoofGuard, dropAction())
	miss(Neighbor, gotoTable(DNS))
	miss(NeighborReply, dropAction())
	miss(DNS, gotoTable(Forward))
	miss(Forward, gotoTable(LocalDeliver))
	miss(Egress, dropAction())
	miss(NATReturn, dropAction())
	miss(LocalDeliver, dropAction())

	// ARP and neighbour discovery never pass Neighbor: what it cannot answer
	// is dropped rather than flooded.
	b.add(Flow{Table: Neighbor, Priority: PriorityLow, Cookie: c, Protocol: ovs.ProtocolARP, Actions: []Action{dropAction()}})
	for _, typ := range []uint64{icmp6RouterSolicit, icmp6RouterAdvert, icmp6NeighborSolicit, icmp6NeighborAdvert, icmp6Redirect} {
		b.add(Flow{Table: Neighbor, Priority: PriorityLow, Cookie: c, Protocol: ovs.ProtocolICMPv6,
			Match: []Match{matchUint(FieldICMPv6Type, typ)}, Actions: []Action{dropAction()}})
	}

	b.add(Flow{Table: NeighborReply, Priority: PriorityNormal, Cookie: c, Protocol: ovs.ProtocolICMPv6,
		Match: []Match{matchUint(FieldICMPv6Type, icmp6NeighborSolicit)},
		Actions: []Action{
			setUint(FieldICMPv6Type, icmp6NeighborAdvert),
			setUint(FieldNDOptionsType, ndOptTargetLinkAddr),
			setUint(FieldNDReserved, ndFlagsSolicitedOverride),
			inPort(),
		}})

	// Duplicate address detection (source ::) must not be answered: the
	// answer would tell the container its own address is taken.
	b.add(Flow{Table: Neighbor, Priority: PriorityHigh, Cookie: c, Protocol: ovs.ProtocolICMPv6,
		Match: []Match{matchUint(FieldICMPv6Type, icmp6NeighborSolicit), matchAddr(FieldIPv6Src, netip.IPv6Unspecified())}, Actions: []Action{dropAction()}})

	// Egress port: the kernel asks for the transit address OVS SNATs to;
	// replies to SNATed connections go through conntrack to NATReturn.
	egress := b.cfg.EgressOFPort
	b.add(arpReply(Classify, PriorityHigh, c, []Match{inPortMatch(egress)}, b.cfg.EgressOVS, b.cfg.EgressOVSMAC))
	b.add(Flow{Table: Classify, Priority: PriorityNormal, Cookie: c, Protocol: ovs.ProtocolIPv4,
		Match:   []Match{inPortMatch(egress)},
		Actions: []Action{CT{Table: &NATReturn, Zone: b.cfg.NATZone, NAT: &NAT{Kind: NATUndo}}}})
	// Invalid or new connections from outside never reach a container.
	b.add(Flow{Table: NATReturn, Priority: PriorityHigh, Cookie: c, Match: []Match{matchCTState(ctInv|ctTrk, 0)}, Actions: []Action{dropAction()}})
}

// peer admits tunnel traffic from one known host.
func (b *builder) peer(ip netip.Addr) {
	b.add(Flow{Table: Classify, Priority: PriorityNormal, Cookie: NewCookie(CategoryPeer, ipv4Object(ip)),
		Match:   []Match{inPortMatch(b.cfg.TunnelOFPort), matchAddr(FieldTunSrc, ip)},
		Actions: []Action{gotoTable(TunnelIngress)}})
}

func ipv4Object(ip netip.Addr) uint32 {
	a := ip.As4()
	return uint32(a[0])<<24 | uint32(a[1])<<16 | uint32(a[2])<<8 | uint32(a[3])
}

// network adds what a network needs on this host, whatever its endpoints.
func (b *builder) network(n *model.Network) {
	c := NewCookie(CategoryNetwork, n.VNI)
	if n.Driver == model.DriverOverlay {
		b.add(Flow{Table: TunnelIngress, Priority: PriorityNormal, Cookie: c,
			Match:   []Match{matchUint(FieldTunID, uint64(n.VNI))},
			Actions: []Action{setNetwork(n.VNI), gotoTable(LocalDeliver)}})
	}
	if !n.HasGateway() {
		return // internal: no gateway to answer for, nothing leaves
	}
	gwMAC := n.GatewayMAC()
	b.add(arpReply(Neighbor, PriorityNormal, c, []Match{matchNetwork(n.VNI)}, n.Gateway, gwMAC))
	if n.EnableIPv6 && n.Gateway6.IsValid() {
		b.add(ndReply(c, n.VNI, n.Gateway6, gwMAC, b.cfg.NDZone))
	}
	toGateway := Flow{Table: Forward, Priority: PriorityNormal, Cookie: c,
		Match: []Match{matchNetwork(n.VNI), matchMAC(FieldEthDst, gwMAC)}, Actions: []Action{gotoTable(Egress)}}
	switch n.Driver {
	case model.DriverOverlay:
		b.add(toGateway)
		b.add(Flow{Table: Egress, Priority: PriorityNormal, Cookie: c, Protocol: ovs.ProtocolIPv4,
			Match: []Match{matchNetwork(n.VNI)},
			Actions: []Action{
				CT{Commit: true, Zone: b.cfg.NATZone, NAT: &NAT{Kind: NATSource, Addr: b.cfg.EgressOVS}, Mark: n.VNI},
				setMAC(FieldEthSrc, b.cfg.EgressOVSMAC),
				setMAC(FieldEthDst, b.cfg.EgressKernelMAC),
				output(b.cfg.EgressOFPort),
			}})
	case model.DriverBridge:
		gw, ok := b.ofports[GatewayPortName(n.VNI)]
		if !ok || n.Host != b.host {
			return
		}
		b.add(toGateway)
		b.add(Flow{Table: Classify, Priority: PriorityNormal, Cookie: c,
			Match: []Match{inPortMatch(gw)}, Actions: []Action{setNetwork(n.VNI), gotoTable(Neighbor)}})
		b.add(Flow{Table: Egress, Priority: PriorityNormal, Cookie: c,
			Match: []Match{matchNetwork(n.VNI)}, Actions: []Action{output(gw)}})
	}
}

// neighbor answers ARP and ND for an endpoint's addresses, wherever it is.
func (b *builder) neighbor(n *model.Network, ep *model.Endpoint) {
	c := NewCookie(CategoryRemote, n.VNI)
	if ep.Host == b.host {
		c = NewCookie(CategoryEndpoint, n.VNI)
	}
	b.add(arpReply(Neighbor, PriorityNormal, c, []Match{matchNetwork(n.VNI)}, ep.IPv4.Addr(), ep.MAC))
	if ep.IPv6.IsValid() {
		b.add(ndReply(c, n.VNI, ep.IPv6.Addr(), ep.MAC, b.cfg.NDZone))
	}
}

// localEndpoint admits, checks and delivers a local container's traffic.
func (b *builder) localEndpoint(n *model.Network, ep *model.Endpoint) {
	port, ok := b.ofports[ep.PortName()]
	if !ok {
		return
	}
	b.published(n, ep, port)
	c := NewCookie(CategoryEndpoint, n.VNI)
	in := inPortMatch(port)
	src := matchMAC(FieldEthSrc, ep.MAC)
	b.add(Flow{Table: Classify, Priority: PriorityNormal, Cookie: c, Match: []Match{in},
		Actions: []Action{setNetwork(n.VNI), gotoTable(SpoofGuard)}})

	next := []Action{gotoTable(Neighbor)}
	guard := func(proto ovs.Protocol, m ...Match) {
		b.add(Flow{Table: SpoofGuard, Priority: PriorityNormal, Cookie: c, Protocol: proto,
			Match: append([]Match{in, src}, m...), Actions: next})
	}
	guard(ovs.ProtocolIPv4, matchAddr(FieldIPv4Src, ep.IPv4.Addr()))
	guard(ovs.ProtocolARP, matchAddr(FieldARPSPA, ep.IPv4.Addr()), matchMAC(FieldARPSHA, ep.MAC))
	if ep.IPv6.IsValid() {
		guard(ovs.ProtocolIPv6, matchAddr(FieldIPv6Src, ep.IPv6.Addr()))
		guard(ovs.ProtocolIPv6, matchAddr(FieldIPv6Src, model.LinkLocal(ep.MAC)))
	}

	b.add(Flow{Table: LocalDeliver, Priority: PriorityNormal, Cookie: c,
		Match: []Match{matchNetwork(n.VNI), matchMAC(FieldEthDst, ep.MAC)}, Actions: []Action{output(port)}})

	if n.Driver == model.DriverOverlay && n.HasGateway() {
		b.add(Flow{Table: NATReturn, Priority: PriorityNormal, Cookie: c, Protocol: ovs.ProtocolIPv4,
			Match: []Match{matchCTState(ctTrk, ctNew), matchUint(FieldCTMark, uint64(n.VNI)), matchAddr(FieldIPv4Dst, ep.IPv4.Addr())},
			Actions: []Action{
				setNetwork(n.VNI),
				setMAC(FieldEthSrc, n.GatewayMAC()),
				setMAC(FieldEthDst, ep.MAC),
				gotoTable(LocalDeliver),
			}})
	}
}

// remoteEndpoint sends traffic for an endpoint on another host through the
// tunnel, with the network's VNI.
func (b *builder) remoteEndpoint(n *model.Network, ep *model.Endpoint, host netip.Addr) {
	b.add(Flow{Table: Forward, Priority: PriorityNormal, Cookie: NewCookie(CategoryRemote, n.VNI),
		Match: []Match{matchNetwork(n.VNI), matchMAC(FieldEthDst, ep.MAC)},
		Actions: []Action{
			setUint(FieldTunID, uint64(n.VNI)),
			setAddr(FieldTunDst, host),
			output(b.cfg.TunnelOFPort),
		}})
}

// arpReply turns an ARP request for ip into the reply from mac, sent back
// out of the port it came in on.
func arpReply(t Table, prio uint16, c Cookie, m []Match, ip netip.Addr, mac model.HardwareAddr) Flow {
	return Flow{Table: t, Priority: prio, Cookie: c, Protocol: ovs.ProtocolARP,
		Match: append(m, matchUint(FieldARPOp, arpRequest), matchAddr(FieldARPTPA, ip)),
		Actions: []Action{
			move(FieldEthSrc, FieldEthDst),
			setMAC(FieldEthSrc, mac),
			setUint(FieldARPOp, arpReplyOp),
			move(FieldARPSHA, FieldARPTHA),
			setMAC(FieldARPSHA, mac),
			move(FieldARPSPA, FieldARPTPA),
			setAddr(FieldARPSPA, ip),
			inPort(),
		}}
}

// Protocol constants the pipeline writes or matches.
const (
	arpRequest = 1
	arpReplyOp = 2

	icmp6RouterSolicit   = 133
	icmp6RouterAdvert    = 134
	icmp6NeighborSolicit = 135
	icmp6NeighborAdvert  = 136
	icmp6Redirect        = 137

	// ndOptTargetLinkAddr is the target link-layer address option (RFC 4861 4.6.1).
	ndOptTargetLinkAddr = 2
	// ndFlagsSolicitedOverride is the NA flags word with Solicited and
	// Override set (RFC 4861 4.4).
	ndFlagsSolicitedOverride = 0x60000000
)

// ndReply starts the answer to a neighbour solicitation for ip: addresses
// are turned around and the solicitation's source link-layer option gets
// mac; NeighborReply then retypes the packet into an advertisement.
func ndReply(c Cookie, vni uint32, ip netip.Addr, mac model.HardwareAddr, zone uint16) Flow {
	return Flow{Table: Neighbor, Priority: PriorityNormal, Cookie: c, Protocol: ovs.ProtocolICMPv6,
		Match: []Match{matchNetwork(vni), matchUint(FieldICMPv6Type, icmp6NeighborSolicit), matchAddr(FieldNDTarget, ip)},
		Actions: []Action{
			move(FieldEthSrc, FieldEthDst),
			setMAC(FieldEthSrc, mac),
			move(FieldIPv6Src, FieldIPv6Dst),
			setAddr(FieldIPv6Src, ip),
			setMAC(FieldNDSLL, mac),
			CT{Table: &NeighborReply, Zone: zone},
		}}
}
