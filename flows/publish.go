package flows

import (
	"net/netip"

	"github.com/digitalocean/go-openvswitch/ovs"

	"github.com/ovsnet/ovsnet/model"
)

// Published ports (docker run -p HOSTPORT:PORT).
//
// Overlay addresses may repeat across networks, so the host's kernel never
// routes to them. Instead each overlay endpoint with published ports gets a
// transit address, derived from its br-int port number (unique on the
// host): the kernel DNATs HOSTPORT on the host's addresses to
// transit:PORT and routes the transit prefix into the egress port; OVS
// (NATReturn) DNATs again, in conntrack zone NATZone, to the endpoint's own
// address, marking the connection with the network. Replies leave through
// Egress, where conntrack undoes both translations in turn.
//
// Bridge networks' addresses are routed by the host's kernel already: their
// published ports are a single kernel DNAT to the container.

// PublishedAddress is the transit address of the endpoint on br-int port
// ofport.
func PublishedAddress(cfg Config, ofport int) (netip.Addr, bool) {
	base := cfg.PublishPrefix.Masked().Addr().As4()
	n := uint32(base[0])<<24 | uint32(base[1])<<16 | uint32(base[2])<<8 | uint32(base[3])
	n += uint32(ofport)
	a := netip.AddrFrom4([4]byte{byte(n >> 24), byte(n >> 16), byte(n >> 8), byte(n)})
	return a, ofport > 0 && cfg.PublishPrefix.Contains(a) && a != cfg.PublishPrefix.Masked().Addr()
}

// published adds the DNAT flows of a local overlay endpoint's published
// ports.
func (b *builder) published(n *model.Network, ep *model.Endpoint, ofport int) {
	if len(ep.Published) == 0 || n.Driver != model.DriverOverlay || !n.HasGateway() {
		return
	}
	transit, ok := PublishedAddress(b.cfg, ofport)
	if !ok {
		return
	}
	c := NewCookie(CategoryEndpoint, n.VNI)
	for _, p := range ep.Published {
		proto := ovs.ProtocolTCPv4
		if p.Proto == "udp" {
			proto = ovs.ProtocolUDPv4
		}
		b.add(Flow{Table: NATReturn, Priority: PriorityNormal, Cookie: c, Protocol: proto,
			Match: []Match{matchCTState(ctNew|ctTrk, 0), matchAddr(FieldIPv4Dst, transit), matchUint(FieldTPDst, uint64(p.Port))},
			Actions: []Action{
				CT{Commit: true, Zone: b.cfg.NATZone, NAT: &NAT{Kind: NATDest, Addr: ep.IPv4.Addr(), Port: p.Port}, Mark: n.VNI},
				setNetwork(n.VNI),
				setMAC(FieldEthSrc, n.GatewayMAC()),
				setMAC(FieldEthDst, ep.MAC),
				gotoTable(LocalDeliver),
			}})
	}
}
