package flows

import (
	"net/netip"
	"strings"

	"github.com/ovsnet/ovsnet/model"
)

// sampleState is a host h1 with an overlay network (one local, one remote
// endpoint, IPv6 on), an internal overlay network and a bridge network.
func sampleState() (model.HostState, OFPorts) {
	id := func(c string) string { return strings.Repeat(c, 64) }
	pfx := netip.MustParsePrefix
	addr := netip.MustParseAddr
	over := model.Network{ID: id("a"), Name: "testnet02", Driver: model.DriverOverlay, Scope: model.ScopeGlobal,
		Subnet: pfx("10.0.0.0/24"), Gateway: addr("10.0.0.1"), VNI: 4097,
		EnableIPv6: true, Subnet6: pfx("fd00:2::/64"), Gateway6: addr("fd00:2::1")}
	internal := model.Network{ID: id("b"), Name: "testnet03", Driver: model.DriverOverlay, Scope: model.ScopeGlobal,
		Subnet: pfx("10.0.1.0/24"), Gateway: addr("10.0.1.1"), VNI: 4098, Internal: true}
	bridge := model.Network{ID: id("c"), Name: "testnet01", Driver: model.DriverBridge, Scope: model.ScopeLocal, Host: "h1",
		Subnet: pfx("172.18.0.0/16"), Gateway: addr("172.18.0.1"), VNI: 4099}
	ep := func(c, net, host, name, ip, ip6 string) model.Endpoint {
		e := model.Endpoint{ID: id(c), NetworkID: net, Host: host, ContainerID: id(c + "f")[:64], ContainerName: name,
			IPv4: pfx(ip), MAC: model.MACFromIPv4(pfx(ip).Addr())}
		if ip6 != "" {
			e.IPv6 = pfx(ip6)
		}
		return e
	}
	st := model.HostState{Host: "h1", Networks: []model.Network{bridge, over, internal},
		Endpoints: []model.Endpoint{
			ep("1", over.ID, "h1", "c1", "10.0.0.2/24", "fd00:2::2/64"),
			ep("2", over.ID, "h2", "c2", "10.0.0.3/24", "fd00:2::3/64"),
			ep("3", internal.ID, "h1", "c1", "10.0.1.2/24", ""),
			ep("4", internal.ID, "h2", "c2", "10.0.1.3/24", ""),
			ep("5", bridge.ID, "h1", "c5", "172.18.0.2/16", ""),
		},
		Hosts: []model.Host{{Name: "h2", TunnelIP: addr("192.0.2.2")}},
	}
	ports := OFPorts{"ovs11111111111": 10, "ovs33333333333": 11, "ovs55555555555": 12, GatewayPortName(4099): 13}
	return st, ports
}

func netipMust(s string) netip.Addr { return netip.MustParseAddr(s) }
