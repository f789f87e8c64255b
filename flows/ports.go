package flows

import (
	"net/netip"
	"strconv"
	"strings"

	"github.com/ovsnet/ovsnet/model"
)

// PortKind says what an OVS port of br-int is for.
type PortKind string

const (
	// PortTunnel is the one flow-based VXLAN port: remote host and VNI are
	// chosen per packet by flows (remote_ip=flow, key=flow).
	PortTunnel PortKind = "tunnel"
	// PortEgress is an internal port into the host's kernel through which
	// overlay networks reach the outside, SNATed to a transit address.
	PortEgress PortKind = "egress"
	// PortGateway is an internal port holding a bridge network's gateway
	// address in the host's kernel.
	PortGateway PortKind = "gateway"
	// PortEndpoint is the host side of a container's veth.
	PortEndpoint PortKind = "endpoint"
	// PortDNS is an internal port without addresses through which DNS
	// queries reach the agent's resolver and its answers come back (dns.go).
	PortDNS PortKind = "dns"
)

// External-id keys ovsnet writes on Port and Interface rows. iface-id and
// attached-mac follow the Open vSwitch integration guide.
const (
	ExtOwner         = "owner"
	OwnerValue       = "ovsnet"
	ExtKind          = "ovsnet-kind"
	ExtIfaceID       = "iface-id"
	ExtAttachedMAC   = "attached-mac"
	ExtIPAddresses   = "ip-addresses"
	ExtContainerID   = "container-id"
	ExtContainerName = "container-name"
	ExtNetworkID     = "ovsnet-network-id"
	ExtNetworkName   = "ovsnet-network"
	ExtEndpointID    = "ovsnet-endpoint"
)

// Port is one desired OVS port (with its single interface).
type Port struct {
	Name string
	Kind PortKind
	// Type is the OVSDB Interface type: "vxlan", "internal" or "" (system).
	Type string
	// OFPort is the ofport_request; 0 lets the agent pick a free one.
	OFPort int
	// MAC of internal ports.
	MAC model.HardwareAddr
	// MTU requested for internal ports; 0 leaves it alone.
	MTU         int
	Options     map[string]string
	ExternalIDs map[string]string
	// Addrs are the addresses an internal port carries in the host kernel,
	// Routes the kernel routes through it.
	Addrs  []netip.Prefix
	Routes []Route
	// Network is the VNI of the network the port belongs to (0 for shared ports).
	Network uint32
}

// Route is a kernel route through an internal port.
type Route struct {
	Dst netip.Prefix
	Via netip.Addr
}

// Config is the host-level part of the pipeline that does not come from the
// cluster's intent.
type Config struct {
	TunnelPortName string
	TunnelOFPort   int
	EgressPortName string
	EgressOFPort   int
	// EgressKernel is the kernel side of the egress transit link (address
	// with prefix length); EgressOVS is the address OVS SNATs to.
	EgressKernel netip.Prefix
	EgressOVS    netip.Addr
	// EgressKernelMAC is the egress internal port's MAC; EgressOVSMAC is the
	// MAC OVS answers for EgressOVS.
	EgressKernelMAC model.HardwareAddr
	EgressOVSMAC    model.HardwareAddr
	// NATZone is the conntrack zone of egress SNAT.
	NATZone uint16
	// NDZone is the conntrack zone neighbour answers recirculate through
	// (nothing is committed there).
	NDZone uint16
	// PublishPrefix holds the transit addresses through which the host's
	// kernel reaches overlay endpoints' published ports (one per port
	// number of br-int), routed to EgressOVS.
	PublishPrefix netip.Prefix
	// UnderlayMTU of the host.
	UnderlayMTU int
	// DNS, when set, steers DNS queries of containers to the agent's
	// resolver (issue: names across hosts).
	DNS *DNSConfig
}

// DNSConfig places the agent's resolver: the internal port DNS queries are
// steered to (see dns.go and docs/dns.md).
type DNSConfig struct {
	PortName string
	OFPort   int
}

// DefaultConfig is the configuration the agent uses unless told otherwise.
func DefaultConfig() Config {
	kmac, _ := model.ParseMAC("02:6f:76:00:00:01")
	omac, _ := model.ParseMAC("02:6f:76:00:00:02")
	return Config{
		TunnelPortName:  "vxlan0",
		TunnelOFPort:    1,
		EgressPortName:  "ovsnet-egress",
		EgressOFPort:    2,
		EgressKernel:    netip.MustParsePrefix("100.127.255.1/30"),
		EgressOVS:       netip.MustParseAddr("100.127.255.2"),
		EgressKernelMAC: kmac,
		EgressOVSMAC:    omac,
		NATZone:         64000,
		NDZone:          64001,
		PublishPrefix:   netip.MustParsePrefix("100.127.0.0/17"),
		UnderlayMTU:     model.DefaultUnderlayMTU,
	}
}

// FirstDynamicOFPort is where ofports for gateway and endpoint ports start.
const FirstDynamicOFPort = 10

// GatewayPortName is the kernel-side port of a bridge network.
func GatewayPortName(vni uint32) string { return "ovsgw" + strconv.FormatUint(uint64(vni), 10) }

// HasGatewayPort says whether the network gets a gateway port on its host:
// bridge networks that are not internal.
func HasGatewayPort(n *model.Network) bool { return n.Driver == model.DriverBridge && !n.Internal }

// DesiredPorts lists the ports br-int must have on st's host.
func DesiredPorts(st model.HostState, cfg Config) []Port {
	ports := []Port{
		{
			Name: cfg.TunnelPortName, Kind: PortTunnel, Type: "vxlan", OFPort: cfg.TunnelOFPort,
			Options:     map[string]string{"remote_ip": "flow", "key": "flow", "dst_port": "4789"},
			ExternalIDs: ownerIDs(PortTunnel),
		},
		{
			Name: cfg.EgressPortName, Kind: PortEgress, Type: "internal", OFPort: cfg.EgressOFPort,
			MAC: cfg.EgressKernelMAC, ExternalIDs: ownerIDs(PortEgress), Addrs: []netip.Prefix{cfg.EgressKernel},
			Routes: []Route{{Dst: cfg.PublishPrefix, Via: cfg.EgressOVS}},
		},
	}
	ports = append(ports, dnsPorts(cfg)...)
	nets := map[string]*model.Network{}
	for i := range st.Networks {
		n := &st.Networks[i]
		nets[n.ID] = n
		if !HasGatewayPort(n) || n.Host != st.Host {
			continue
		}
		ids := ownerIDs(PortGateway)
		ids[ExtNetworkID] = n.ID
		ids[ExtNetworkName] = n.Name
		addrs := []netip.Prefix{netip.PrefixFrom(n.Gateway, n.Subnet.Bits())}
		if n.EnableIPv6 {
			addrs = append(addrs, netip.PrefixFrom(n.Gateway6, n.Subnet6.Bits()))
		}
		ports = append(ports, Port{
			Name: GatewayPortName(n.VNI), Kind: PortGateway, Type: "internal", MAC: n.GatewayMAC(),
			MTU: n.EndpointMTU(cfg.UnderlayMTU), ExternalIDs: ids, Addrs: addrs, Network: n.VNI,
		})
	}
	for _, ep := range st.Endpoints {
		n := nets[ep.NetworkID]
		if ep.Host != st.Host || n == nil {
			continue
		}
		ids := ownerIDs(PortEndpoint)
		ids[ExtIfaceID] = ep.ID
		ids[ExtEndpointID] = ep.ID
		ids[ExtAttachedMAC] = ep.MAC.String()
		ids[ExtContainerID] = ep.ContainerID
		ids[ExtContainerName] = ep.ContainerName
		ids[ExtNetworkID] = n.ID
		ids[ExtNetworkName] = n.Name
		addrs := []string{ep.IPv4.String()}
		if ep.IPv6.IsValid() {
			addrs = append(addrs, ep.IPv6.String())
		}
		ids[ExtIPAddresses] = strings.Join(addrs, ",")
		ports = append(ports, Port{Name: ep.PortName(), Kind: PortEndpoint, ExternalIDs: ids, Network: n.VNI})
	}
	return ports
}

func ownerIDs(k PortKind) map[string]string {
	return map[string]string{ExtOwner: OwnerValue, ExtKind: string(k)}
}
