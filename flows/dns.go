package flows

import (
	"github.com/digitalocean/go-openvswitch/ovs"
	"github.com/ovsnet/ovsnet/model"
)

// DNS steering (docs/dns.md). With Config.DNS set, every network present on
// the host gets, in table DNS, a flow per address family that takes UDP to
// port 53 sent to the network's gateway MAC — a query to the gateway's
// address, or to any off-link resolver through the default route (that is
// how Docker's embedded resolver forwards) — rewrites its destination MAC to
// DNSMAC(VNI), so the resolver knows the network the query came from, and
// outputs it to the DNS port. The resolver answers through the same port
// with DNSMAC(VNI) as source MAC; Classify admits exactly those answers
// (UDP from port 53), restores the gateway MAC as source and delivers them
// in the network. Queries to other containers' addresses are not touched.
//
// Internal networks get ARP/ND answers for their gateway address so their
// endpoints reach the resolver on-link; nothing else of theirs is steered,
// and Forward still has no way out for them.

// dnsPort is DNS's UDP port.
const dnsPort = 53

// DefaultDNSPortName and DefaultDNSOFPort place the DNS port on br-int.
const (
	DefaultDNSPortName = "ovsnet-dns"
	DefaultDNSOFPort   = 3
)

// DefaultDNSConfig is the DNS port the agent uses unless told otherwise.
func DefaultDNSConfig() *DNSConfig {
	return &DNSConfig{PortName: DefaultDNSPortName, OFPort: DefaultDNSOFPort}
}

// dnsMACPrefix starts every VNI-encoded MAC: locally administered unicast,
// "n" (0x6e) for name, then a zero byte and the 24-bit VNI.
var dnsMACPrefix = [3]byte{0x02, 0x6e, 0x00}

// DNSMAC is the MAC that carries network vni between table DNS and the
// agent's resolver: 02:6e:00 followed by the VNI's 24 bits.
func DNSMAC(vni uint32) model.HardwareAddr {
	return model.HardwareAddr{dnsMACPrefix[0], dnsMACPrefix[1], dnsMACPrefix[2], byte(vni >> 16), byte(vni >> 8), byte(vni)}
}

// DNSNetwork decodes a MAC made by DNSMAC; ok is false for any other MAC.
func DNSNetwork(mac []byte) (vni uint32, ok bool) {
	if len(mac) != 6 || mac[0] != dnsMACPrefix[0] || mac[1] != dnsMACPrefix[1] || mac[2] != dnsMACPrefix[2] {
		return 0, false
	}
	return uint32(mac[3])<<16 | uint32(mac[4])<<8 | uint32(mac[5]), true
}

// dnsPorts is the DNS port when DNS is enabled: internal, no addresses (the
// agent brings it up and reads it with a packet socket).
func dnsPorts(cfg Config) []Port {
	if cfg.DNS == nil {
		return nil
	}
	return []Port{{Name: cfg.DNS.PortName, Kind: PortDNS, Type: "internal", OFPort: cfg.DNS.OFPort,
		ExternalIDs: ownerIDs(PortDNS)}}
}

// dnsNetwork steers network n's DNS queries to the resolver and admits its
// answers.
func (b *builder) dnsNetwork(n *model.Network) {
	d := b.cfg.DNS
	if d == nil || !n.Gateway.IsValid() {
		return
	}
	c := NewCookie(CategoryNetwork, n.VNI)
	gwMAC := n.GatewayMAC()
	if !n.HasGateway() {
		// network() answers neighbour discovery for the gateway only on
		// networks that have one; an internal network's endpoints need it to
		// reach the resolver, which is all the gateway MAC leads to there.
		b.add(arpReply(Neighbor, PriorityNormal, c, []Match{matchNetwork(n.VNI)}, n.Gateway, gwMAC))
		if n.EnableIPv6 && n.Gateway6.IsValid() {
			b.add(ndReply(c, n.VNI, n.Gateway6, gwMAC, b.cfg.NDZone))
		}
	}
	mac := DNSMAC(n.VNI)
	protos := []ovs.Protocol{ovs.ProtocolUDPv4}
	if n.EnableIPv6 {
		protos = append(protos, ovs.ProtocolUDPv6)
	}
	for _, p := range protos {
		b.add(Flow{Table: DNS, Priority: PriorityNormal, Cookie: c, Protocol: p,
			Match:   []Match{matchNetwork(n.VNI), matchMAC(FieldEthDst, gwMAC), matchUint(FieldTPDst, dnsPort)},
			Actions: []Action{setMAC(FieldEthDst, mac), output(d.OFPort)}})
		b.add(Flow{Table: Classify, Priority: PriorityNormal, Cookie: c, Protocol: p,
			Match:   []Match{inPortMatch(d.OFPort), matchMAC(FieldEthSrc, mac), matchUint(FieldTPSrc, dnsPort)},
			Actions: []Action{setNetwork(n.VNI), setMAC(FieldEthSrc, gwMAC), gotoTable(LocalDeliver)}})
	}
}
