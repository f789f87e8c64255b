package flows

import (
	"net/netip"
	"sort"

	"github.com/digitalocean/go-openvswitch/ovs"
	"github.com/ovsnet/ovsnet/model"
)

// OFPorts maps OVS port names to their OpenFlow port numbers.
type OFPorts map[string]int

// Build compiles the complete flow table of st's host. Ports missing from
// ofports (not yet created) get no flows; the next reconcile adds them.
func Build(st model.HostState, cfg Config, ofports OFPorts) []Flow {
	b := &builder{st: st, cfg: cfg, ofports: ofports, nets: map[string]*model.Network{}}
	b.pipeline()
	for i := range st.Networks {
		n := &st.Networks[i]
		b.nets[n.ID] = n
		b.network(n)
		b.dnsNetwork(n)
	}
	peers := map[string]netip.Addr{}
	for _, h := range st.Hosts {
		if h.Name != st.Host && h.TunnelIP.Is4() {
			peers[h.Name] = h.TunnelIP
			b.peer(h.TunnelIP)
		}
	}
	for i := range st.Endpoints {
		ep := &st.Endpoints[i]
		n := b.nets[ep.NetworkID]
		if n == nil {
			continue
		}
		b.neighbor(n, ep)
		if ep.Host == st.Host {
			b.localEndpoint(n, ep)
		} else if ip, ok := peers[ep.Host]; ok && n.Driver == model.DriverOverlay {
			b.remoteEndpoint(n, ep, ip)
		}
	}
	sort.SliceStable(b.flows, func(i, j int) bool {
		a, c := b.flows[i], b.flows[j]
		if a.Table.ID != c.Table.ID {
			return a.Table.ID < c.Table.ID
		}
		return a.Priority > c.Priority
	})
	return b.flows
}

type builder struct {
	st      model.HostState
	cfg     Config
	ofports OFPorts
	nets    map[string]*model.Network
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
	for _, typ := range []string{"133", "134", "135", "136", "137"} {
		b.add(Flow{Table: Neighbor, Priority: PriorityLow, Cookie: c, Protocol: ovs.ProtocolICMPv6,
			Match: []Match{field("icmp_type", typ)}, Actions: []Action{dropAction()}})
	}

	b.add(Flow{Table: NeighborReply, Priority: PriorityNormal, Cookie: c, Protocol: ovs.ProtocolICMPv6,
		Match: []Match{field("icmp_type", "135")},
		Actions: []Action{
			setField("136", "icmpv6_type"),
			setField("2", "nd_options_type"),
			setField(ndFlagsSolicitedOverride, "nd_reserved"),
			inPort(),
		}})

	// Duplicate address detection (source ::) must not be answered: the
	// answer would tell the container its own address is taken.
	b.add(Flow{Table: Neighbor, Priority: PriorityHigh, Cookie: c, Protocol: ovs.ProtocolICMPv6,
		Match: []Match{field("icmp_type", "135"), field("ipv6_src", "::")}, Actions: []Action{dropAction()}})

	// Egress port: the kernel asks for the transit address OVS SNATs to;
	// replies to SNATed connections go through conntrack to NATReturn.
	egress := b.cfg.EgressOFPort
	b.add(arpReply(Classify, PriorityHigh, c, []Match{inPortMatch(egress)}, b.cfg.EgressOVS, b.cfg.EgressOVSMAC))
	unNAT := ""
	b.add(Flow{Table: Classify, Priority: PriorityNormal, Cookie: c, Protocol: ovs.ProtocolIPv4,
		Match:   []Match{inPortMatch(egress)},
		Actions: []Action{conntrack{Table: &NATReturn, Zone: b.cfg.NATZone, NAT: &unNAT}}})
	// Invalid or new connections from outside never reach a container.
	b.add(Flow{Table: NATReturn, Priority: PriorityHigh, Cookie: c, Match: []Match{field("ct_state", "+inv+trk")}, Actions: []Action{dropAction()}})
}

// peer admits tunnel traffic from one known host.
func (b *builder) peer(ip netip.Addr) {
	b.add(Flow{Table: Classify, Priority: PriorityNormal, Cookie: NewCookie(CategoryPeer, ipv4Object(ip)),
		Match:   []Match{inPortMatch(b.cfg.TunnelOFPort), field("tun_src", ip.String())},
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
			Match:   []Match{field("tun_id", hex(uint64(n.VNI)))},
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
		Match: []Match{matchNetwork(n.VNI), macMatch("dl_dst", gwMAC)}, Actions: []Action{gotoTable(Egress)}}
	switch n.Driver {
	case model.DriverOverlay:
		b.add(toGateway)
		snat := b.cfg.EgressOVS.String()
		b.add(Flow{Table: Egress, Priority: PriorityNormal, Cookie: c, Protocol: ovs.ProtocolIPv4,
			Match: []Match{matchNetwork(n.VNI)},
			Actions: []Action{
				conntrack{Commit: true, Zone: b.cfg.NATZone, NAT: &snat, Mark: n.VNI},
				setField(b.cfg.EgressOVSMAC.String(), "eth_src"),
				setField(b.cfg.EgressKernelMAC.String(), "eth_dst"),
				output(b.cfg.EgressOFPort),
			}})
	case model.DriverBridge:
		gw, ok := b.ofports[GatewayPortName(n.VNI)]
		if !ok || n.Host != b.st.Host {
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
	if ep.Host == b.st.Host {
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
	src := macMatch("dl_src", ep.MAC)
	b.add(Flow{Table: Classify, Priority: PriorityNormal, Cookie: c, Match: []Match{in},
		Actions: []Action{setNetwork(n.VNI), gotoTable(SpoofGuard)}})

	next := []Action{gotoTable(Neighbor)}
	guard := func(proto ovs.Protocol, m ...Match) {
		b.add(Flow{Table: SpoofGuard, Priority: PriorityNormal, Cookie: c, Protocol: proto,
			Match: append([]Match{in, src}, m...), Actions: next})
	}
	guard(ovs.ProtocolIPv4, field("nw_src", ep.IPv4.Addr().String()))
	guard(ovs.ProtocolARP, field("arp_spa", ep.IPv4.Addr().String()), macMatch("arp_sha", ep.MAC))
	if ep.IPv6.IsValid() {
		guard(ovs.ProtocolIPv6, field("ipv6_src", ep.IPv6.Addr().String()))
		guard(ovs.ProtocolIPv6, field("ipv6_src", model.LinkLocal(ep.MAC).String()))
	}

	b.add(Flow{Table: LocalDeliver, Priority: PriorityNormal, Cookie: c,
		Match: []Match{matchNetwork(n.VNI), macMatch("dl_dst", ep.MAC)}, Actions: []Action{output(port)}})

	if n.Driver == model.DriverOverlay && n.HasGateway() {
		b.add(Flow{Table: NATReturn, Priority: PriorityNormal, Cookie: c, Protocol: ovs.ProtocolIPv4,
			Match: []Match{field("ct_state", "-new+trk"), field("ct_mark", hex(uint64(n.VNI))), field("nw_dst", ep.IPv4.Addr().String())},
			Actions: []Action{
				setNetwork(n.VNI),
				setField(n.GatewayMAC().String(), "eth_src"),
				setField(ep.MAC.String(), "eth_dst"),
				gotoTable(LocalDeliver),
			}})
	}
}

// remoteEndpoint sends traffic for an endpoint on another host through the
// tunnel, with the network's VNI.
func (b *builder) remoteEndpoint(n *model.Network, ep *model.Endpoint, host netip.Addr) {
	b.add(Flow{Table: Forward, Priority: PriorityNormal, Cookie: NewCookie(CategoryRemote, n.VNI),
		Match: []Match{matchNetwork(n.VNI), macMatch("dl_dst", ep.MAC)},
		Actions: []Action{
			setField(hex(uint64(n.VNI)), "tun_id"),
			setField(host.String(), "tun_dst"),
			output(b.cfg.TunnelOFPort),
		}})
}

// arpReply turns an ARP request for ip into the reply from mac, sent back
// out of the port it came in on.
func arpReply(t Table, prio uint16, c Cookie, m []Match, ip netip.Addr, mac model.HardwareAddr) Flow {
	return Flow{Table: t, Priority: prio, Cookie: c, Protocol: ovs.ProtocolARP,
		Match: append(m, field("arp_op", "1"), field("arp_tpa", ip.String())),
		Actions: []Action{
			move("NXM_OF_ETH_SRC[]", "NXM_OF_ETH_DST[]"),
			setField(mac.String(), "eth_src"),
			setField("2", "arp_op"),
			move("NXM_NX_ARP_SHA[]", "NXM_NX_ARP_THA[]"),
			setField(mac.String(), "arp_sha"),
			move("NXM_OF_ARP_SPA[]", "NXM_OF_ARP_TPA[]"),
			setField(ip.String(), "arp_spa"),
			inPort(),
		}}
}

// ndFlagsSolicitedOverride is the NA flags word with Solicited and Override
// set (RFC 4861 4.4), as OVS prints nd_reserved.
const ndFlagsSolicitedOverride = "1610612736"

// ndReply starts the answer to a neighbour solicitation for ip: addresses
// are turned around and the solicitation's source link-layer option gets
// mac; NeighborReply then retypes the packet into an advertisement.
func ndReply(c Cookie, vni uint32, ip netip.Addr, mac model.HardwareAddr, zone uint16) Flow {
	return Flow{Table: Neighbor, Priority: PriorityNormal, Cookie: c, Protocol: ovs.ProtocolICMPv6,
		Match: []Match{matchNetwork(vni), field("icmp_type", "135"), field("nd_target", ip.String())},
		Actions: []Action{
			move("NXM_OF_ETH_SRC[]", "NXM_OF_ETH_DST[]"),
			setField(mac.String(), "eth_src"),
			move("NXM_NX_IPV6_SRC[]", "NXM_NX_IPV6_DST[]"),
			setField(ip.String(), "ipv6_src"),
			setField(mac.String(), "nd_sll"),
			conntrack{Table: &NeighborReply, Zone: zone},
		}}
}
