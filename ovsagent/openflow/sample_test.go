package openflow_test

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"strings"

	"github.com/digitalocean/go-openvswitch/ovs"

	"github.com/ovsnet/ovsnet/flows"
	"github.com/ovsnet/ovsnet/model"
)

// sampleState is a host h1 with an overlay network (IPv6 on; a local
// endpoint with a published port, a remote one), an internal overlay
// network and a bridge network, with DNS steering on: every field and
// action the pipeline uses.
func sampleState() (model.HostState, flows.Config, flows.OFPorts) {
	id := func(c string) string { return strings.Repeat(c, 64) }
	pfx := netip.MustParsePrefix
	addr := netip.MustParseAddr
	over := model.Network{ID: id("a"), Name: "over", Driver: model.DriverOverlay, Scope: model.ScopeGlobal,
		Subnet: pfx("10.0.0.0/24"), Gateway: addr("10.0.0.1"), VNI: 4097,
		EnableIPv6: true, Subnet6: pfx("fd00:2::/64"), Gateway6: addr("fd00:2::1")}
	internal := model.Network{ID: id("b"), Name: "internal", Driver: model.DriverOverlay, Scope: model.ScopeGlobal,
		Subnet: pfx("10.0.1.0/24"), Gateway: addr("10.0.1.1"), VNI: 4098, Internal: true}
	bridge := model.Network{ID: id("c"), Name: "bridge", Driver: model.DriverBridge, Scope: model.ScopeLocal, Host: "h1",
		Subnet: pfx("172.18.0.0/16"), Gateway: addr("172.18.0.1"), VNI: 4099}
	ep := func(c, net, host, name, ip, ip6 string) model.Endpoint {
		e := model.Endpoint{ID: id(c), NetworkID: net, Host: host, ContainerID: id(c + "f")[:64], ContainerName: name,
			IPv4: pfx(ip), MAC: model.MACFromIPv4(pfx(ip).Addr())}
		if ip6 != "" {
			e.IPv6 = pfx(ip6)
		}
		return e
	}
	local := ep("1", over.ID, "h1", "c1", "10.0.0.2/24", "fd00:2::2/64")
	local.Published = []model.PortMapping{{Proto: "tcp", Port: 80, HostPort: 8080}, {Proto: "udp", Port: 53, HostPort: 5353}}
	st := model.HostState{Host: "h1", Networks: []model.Network{bridge, over, internal},
		Endpoints: []model.Endpoint{
			local,
			ep("2", over.ID, "h2", "c2", "10.0.0.3/24", "fd00:2::3/64"),
			ep("3", internal.ID, "h1", "c3", "10.0.1.2/24", ""),
			ep("4", internal.ID, "h2", "c4", "10.0.1.3/24", ""),
			ep("5", bridge.ID, "h1", "c5", "172.18.0.2/16", ""),
		},
		Hosts: []model.Host{{Name: "h2", TunnelIP: addr("192.0.2.2")}},
	}
	cfg := flows.DefaultConfig()
	cfg.DNS = flows.DefaultDNSConfig()
	ports := flows.OFPorts{"ovs11111111111": 10, "ovs33333333333": 11, "ovs55555555555": 12, flows.GatewayPortName(4099): 13}
	return st, cfg, ports
}

// samplePipeline is the whole flow table of the sample host.
func samplePipeline() []flows.Flow {
	st, cfg, ports := sampleState()
	return flows.Build(st, cfg, ports)
}

// Hand-built flows for the golden files: independent of flows.Build, so a
// change to the pipeline does not move the fixtures, yet together they use
// every field and action of the codec.
func u(f flows.FieldID, v uint64) []byte {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], v)
	return b[8-flows.Fields[f].Bytes:]
}

func mac(s string) []byte {
	m, err := model.ParseMAC(s)
	if err != nil {
		panic(err)
	}
	return m
}

func ip(s string) []byte { return netip.MustParseAddr(s).AsSlice() }

func mu(f flows.FieldID, v uint64) flows.Match { return flows.Match{Field: f, Value: u(f, v)} }
func mb(f flows.FieldID, v []byte) flows.Match { return flows.Match{Field: f, Value: v} }
func su(f flows.FieldID, v uint64) flows.Action {
	return flows.SetField{Field: f, Value: u(f, v)}
}
func sb(f flows.FieldID, v []byte) flows.Action { return flows.SetField{Field: f, Value: v} }

func tablePtr(t flows.Table) *flows.Table { return &t }

// goldenFlows are named flows whose FLOW_MODs are pinned in testdata.
func goldenFlows() []struct {
	Name string
	Flow flows.Flow
} {
	c := flows.NewCookie(flows.CategoryPipeline, 0)
	ce := flows.NewCookie(flows.CategoryEndpoint, 4097)
	arpReply := []flows.Action{
		flows.Move{Src: flows.FieldEthSrc, Dst: flows.FieldEthDst},
		sb(flows.FieldEthSrc, mac("02:6f:76:00:00:02")),
		su(flows.FieldARPOp, 2),
		flows.Move{Src: flows.FieldARPSHA, Dst: flows.FieldARPTHA},
		sb(flows.FieldARPSHA, mac("02:6f:76:00:00:02")),
		flows.Move{Src: flows.FieldARPSPA, Dst: flows.FieldARPTPA},
		sb(flows.FieldARPSPA, ip("100.127.255.2")),
		flows.OutputInPort{},
	}
	return []struct {
		Name string
		Flow flows.Flow
	}{
		{"add_drop", flows.Flow{Table: flows.Classify, Cookie: c, Actions: []flows.Action{flows.Drop{}}}},
		{"add_goto", flows.Flow{Table: flows.Neighbor, Cookie: c, Actions: []flows.Action{flows.GotoTable{Table: flows.DNS}}}},
		{"add_arp_reply", flows.Flow{Table: flows.Classify, Priority: 300, Cookie: c, Protocol: ovs.ProtocolARP,
			Match: []flows.Match{mu(flows.FieldInPort, 2), mu(flows.FieldARPOp, 1), mb(flows.FieldARPTPA, ip("100.127.255.2"))}, Actions: arpReply}},
		{"add_ct_nat_undo", flows.Flow{Table: flows.Classify, Priority: 200, Cookie: c, Protocol: ovs.ProtocolIPv4,
			Match:   []flows.Match{mu(flows.FieldInPort, 2)},
			Actions: []flows.Action{flows.CT{Table: tablePtr(flows.NATReturn), Zone: 64000, NAT: &flows.NAT{Kind: flows.NATUndo}}}}},
		{"add_tun_src", flows.Flow{Table: flows.Classify, Priority: 200, Cookie: flows.NewCookie(flows.CategoryPeer, 0xc0000202),
			Match:   []flows.Match{mu(flows.FieldInPort, 1), mb(flows.FieldTunSrc, ip("192.0.2.2"))},
			Actions: []flows.Action{flows.GotoTable{Table: flows.TunnelIngress}}}},
		{"add_tun_id", flows.Flow{Table: flows.TunnelIngress, Priority: 200, Cookie: flows.NewCookie(flows.CategoryNetwork, 4097),
			Match:   []flows.Match{mu(flows.FieldTunID, 4097)},
			Actions: []flows.Action{su(flows.FieldReg0, 4097), flows.GotoTable{Table: flows.LocalDeliver}}}},
		{"add_spoof_arp", flows.Flow{Table: flows.SpoofGuard, Priority: 200, Cookie: ce, Protocol: ovs.ProtocolARP,
			Match: []flows.Match{mu(flows.FieldInPort, 10), mb(flows.FieldEthSrc, mac("02:42:0a:00:00:02")),
				mb(flows.FieldARPSPA, ip("10.0.0.2")), mb(flows.FieldARPSHA, mac("02:42:0a:00:00:02"))},
			Actions: []flows.Action{flows.GotoTable{Table: flows.Neighbor}}}},
		{"add_spoof_ip", flows.Flow{Table: flows.SpoofGuard, Priority: 200, Cookie: ce, Protocol: ovs.ProtocolIPv4,
			Match:   []flows.Match{mu(flows.FieldInPort, 10), mb(flows.FieldEthSrc, mac("02:42:0a:00:00:02")), mb(flows.FieldIPv4Src, ip("10.0.0.2"))},
			Actions: []flows.Action{flows.GotoTable{Table: flows.Neighbor}}}},
		{"add_spoof_ipv6", flows.Flow{Table: flows.SpoofGuard, Priority: 200, Cookie: ce, Protocol: ovs.ProtocolIPv6,
			Match:   []flows.Match{mu(flows.FieldInPort, 10), mb(flows.FieldEthSrc, mac("02:42:0a:00:00:02")), mb(flows.FieldIPv6Src, ip("fd00:2::2"))},
			Actions: []flows.Action{flows.GotoTable{Table: flows.Neighbor}}}},
		{"add_dad_drop", flows.Flow{Table: flows.Neighbor, Priority: 300, Cookie: c, Protocol: ovs.ProtocolICMPv6,
			Match:   []flows.Match{mu(flows.FieldICMPv6Type, 135), mb(flows.FieldIPv6Src, ip("::"))},
			Actions: []flows.Action{flows.Drop{}}}},
		{"add_nd_reply", flows.Flow{Table: flows.Neighbor, Priority: 200, Cookie: ce, Protocol: ovs.ProtocolICMPv6,
			Match: []flows.Match{mu(flows.FieldReg0, 4097), mu(flows.FieldICMPv6Type, 135), mb(flows.FieldNDTarget, ip("fd00:2::2"))},
			Actions: []flows.Action{
				flows.Move{Src: flows.FieldEthSrc, Dst: flows.FieldEthDst},
				sb(flows.FieldEthSrc, mac("02:42:0a:00:00:02")),
				flows.Move{Src: flows.FieldIPv6Src, Dst: flows.FieldIPv6Dst},
				sb(flows.FieldIPv6Src, ip("fd00:2::2")),
				sb(flows.FieldNDSLL, mac("02:42:0a:00:00:02")),
				flows.CT{Table: tablePtr(flows.NeighborReply), Zone: 64001},
			}}},
		{"add_nd_advert", flows.Flow{Table: flows.NeighborReply, Priority: 200, Cookie: c, Protocol: ovs.ProtocolICMPv6,
			Match: []flows.Match{mu(flows.FieldICMPv6Type, 135)},
			Actions: []flows.Action{su(flows.FieldICMPv6Type, 136), su(flows.FieldNDOptionsType, 2),
				su(flows.FieldNDReserved, 0x60000000), flows.OutputInPort{}}}},
		{"add_dns_reply", flows.Flow{Table: flows.Classify, Priority: 200, Cookie: flows.NewCookie(flows.CategoryNetwork, 4097), Protocol: ovs.ProtocolUDPv6,
			Match:   []flows.Match{mu(flows.FieldInPort, 3), mb(flows.FieldEthSrc, mac("02:6e:00:00:10:01")), mu(flows.FieldTPSrc, 53)},
			Actions: []flows.Action{su(flows.FieldReg0, 4097), sb(flows.FieldEthSrc, mac("02:42:0a:00:00:01")), flows.GotoTable{Table: flows.LocalDeliver}}}},
		{"add_dns_query", flows.Flow{Table: flows.DNS, Priority: 200, Cookie: flows.NewCookie(flows.CategoryNetwork, 4097), Protocol: ovs.ProtocolUDPv4,
			Match:   []flows.Match{mu(flows.FieldReg0, 4097), mb(flows.FieldEthDst, mac("02:42:0a:00:00:01")), mu(flows.FieldTPDst, 53)},
			Actions: []flows.Action{sb(flows.FieldEthDst, mac("02:6e:00:00:10:01")), flows.Output{Port: 3}}}},
		{"add_tunnel_out", flows.Flow{Table: flows.Forward, Priority: 200, Cookie: flows.NewCookie(flows.CategoryRemote, 4097),
			Match:   []flows.Match{mu(flows.FieldReg0, 4097), mb(flows.FieldEthDst, mac("02:42:0a:00:00:03"))},
			Actions: []flows.Action{su(flows.FieldTunID, 4097), sb(flows.FieldTunDst, ip("192.0.2.2")), flows.Output{Port: 1}}}},
		{"add_snat", flows.Flow{Table: flows.Egress, Priority: 200, Cookie: flows.NewCookie(flows.CategoryNetwork, 4097), Protocol: ovs.ProtocolIPv4,
			Match: []flows.Match{mu(flows.FieldReg0, 4097)},
			Actions: []flows.Action{
				flows.CT{Commit: true, Zone: 64000, NAT: &flows.NAT{Kind: flows.NATSource, Addr: netip.MustParseAddr("100.127.255.2")}, Mark: 4097},
				sb(flows.FieldEthSrc, mac("02:6f:76:00:00:02")), sb(flows.FieldEthDst, mac("02:6f:76:00:00:01")), flows.Output{Port: 2},
			}}},
		{"add_ct_invalid", flows.Flow{Table: flows.NATReturn, Priority: 300, Cookie: c,
			Match:   []flows.Match{{Field: flows.FieldCTState, Value: u(flows.FieldCTState, 0x30), Mask: u(flows.FieldCTState, 0x30)}},
			Actions: []flows.Action{flows.Drop{}}}},
		{"add_nat_return", flows.Flow{Table: flows.NATReturn, Priority: 200, Cookie: ce, Protocol: ovs.ProtocolIPv4,
			Match: []flows.Match{{Field: flows.FieldCTState, Value: u(flows.FieldCTState, 0x20), Mask: u(flows.FieldCTState, 0x21)},
				mu(flows.FieldCTMark, 4097), mb(flows.FieldIPv4Dst, ip("10.0.0.2"))},
			Actions: []flows.Action{su(flows.FieldReg0, 4097), sb(flows.FieldEthSrc, mac("02:42:0a:00:00:01")),
				sb(flows.FieldEthDst, mac("02:42:0a:00:00:02")), flows.GotoTable{Table: flows.LocalDeliver}}}},
		{"add_publish_dnat", flows.Flow{Table: flows.NATReturn, Priority: 200, Cookie: ce, Protocol: ovs.ProtocolTCPv4,
			Match: []flows.Match{{Field: flows.FieldCTState, Value: u(flows.FieldCTState, 0x21), Mask: u(flows.FieldCTState, 0x21)},
				mb(flows.FieldIPv4Dst, ip("100.127.0.10")), mu(flows.FieldTPDst, 80)},
			Actions: []flows.Action{
				flows.CT{Commit: true, Zone: 64000, NAT: &flows.NAT{Kind: flows.NATDest, Addr: netip.MustParseAddr("10.0.0.2"), Port: 80}, Mark: 4097},
				su(flows.FieldReg0, 4097), flows.GotoTable{Table: flows.LocalDeliver},
			}}},
		{"add_local_deliver", flows.Flow{Table: flows.LocalDeliver, Priority: 200, Cookie: ce,
			Match:   []flows.Match{mu(flows.FieldReg0, 4097), mb(flows.FieldEthDst, mac("02:42:0a:00:00:02"))},
			Actions: []flows.Action{flows.Output{Port: 10}}}},
	}
}

// manyFlows is exactly n flows of one host's pipeline: one overlay network
// with IPv6 and as many local endpoints as it takes.
func manyFlows(n int) []flows.Flow {
	nw := model.Network{ID: strings.Repeat("a", 64), Name: "big", Driver: model.DriverOverlay, Scope: model.ScopeGlobal,
		Subnet: netip.MustParsePrefix("10.0.0.0/8"), Gateway: netip.MustParseAddr("10.0.0.1"), VNI: 4097,
		EnableIPv6: true, Subnet6: netip.MustParsePrefix("fd00::/64"), Gateway6: netip.MustParseAddr("fd00::1")}
	st := model.HostState{Host: "h1", Networks: []model.Network{nw}}
	ports := flows.OFPorts{}
	for i := 0; i < n/8; i++ {
		v := uint32(i + 2)
		ip := netip.AddrFrom4([4]byte{10, byte(v >> 16), byte(v >> 8), byte(v)})
		ip6 := netip.AddrFrom16([16]byte{0: 0xfd, 12: byte(v >> 24), 13: byte(v >> 16), 14: byte(v >> 8), 15: byte(v)})
		ep := model.Endpoint{ID: fmt.Sprintf("%011x", i+1) + strings.Repeat("e", 53), NetworkID: nw.ID, Host: "h1",
			IPv4: netip.PrefixFrom(ip, 8), IPv6: netip.PrefixFrom(ip6, 64), MAC: model.MACFromIPv4(ip)}
		st.Endpoints = append(st.Endpoints, ep)
		ports[ep.PortName()] = flows.FirstDynamicOFPort + i
	}
	fs := flows.Build(st, flows.DefaultConfig(), ports)
	if len(fs) < n {
		panic(fmt.Sprintf("only %d flows", len(fs)))
	}
	return fs[:n]
}
