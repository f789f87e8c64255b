package model

import (
	"fmt"
	"net/netip"
	"regexp"
	"sort"
	"time"
)

// Driver says how a network reaches its endpoints.
type Driver string

const (
	// DriverOverlay networks span hosts over VXLAN, like Docker's overlay driver.
	DriverOverlay Driver = "overlay"
	// DriverBridge networks live on one host; the host itself has an address
	// on them (the gateway), like Docker's bridge driver.
	DriverBridge Driver = "bridge"
)

// Scope is Docker's network scope: where the network exists.
type Scope string

const (
	ScopeGlobal Scope = "global"
	ScopeLocal  Scope = "local"
)

// Network is a virtual network as the user defined it.
type Network struct {
	ID     string `json:"id"`
	Name   string `json:"name"`
	Driver Driver `json:"driver"`
	Scope  Scope  `json:"scope"`
	// Host owns a local-scope (bridge) network; empty for global networks.
	Host string `json:"host,omitempty"`

	Subnet  netip.Prefix `json:"subnet"`
	Gateway netip.Addr   `json:"gateway"`
	// IPRange narrows dynamic allocation to part of Subnet; static addresses
	// may still be anywhere in Subnet, as in Docker.
	IPRange netip.Prefix `json:"ipRange,omitzero"`

	EnableIPv6 bool         `json:"enableIPv6,omitempty"`
	Subnet6    netip.Prefix `json:"subnet6,omitzero"`
	Gateway6   netip.Addr   `json:"gateway6,omitzero"`

	// Internal networks reach nothing but their own endpoints.
	Internal bool `json:"internal,omitempty"`
	// VNI is the VXLAN network identifier; on bridge networks it only names
	// the network inside OVS (registers, cookies) and never goes on the wire.
	VNI uint32 `json:"vni"`
	// MTU of the endpoints' interfaces; 0 means the host's underlay MTU
	// minus the VXLAN overhead (50 bytes).
	MTU int `json:"mtu,omitempty"`

	Labels  map[string]string `json:"labels,omitempty"`
	Options map[string]string `json:"options,omitempty"`
	Created time.Time         `json:"created"`
}

// VXLANOverhead is what VXLAN over IPv4 adds to every frame: outer IPv4 (20),
// UDP (8), VXLAN (8) and the inner Ethernet header (14).
const VXLANOverhead = 50

// DefaultUnderlayMTU is assumed when a host does not report its own.
const DefaultUnderlayMTU = 1500

// MinVNI and MaxVNI bound the VXLAN identifiers ovsnet hands out. Docker's
// overlay driver starts at 4096 too; 24 bits is the VXLAN limit.
const (
	MinVNI = 4096
	MaxVNI = 1<<24 - 1
)

var nameRE = regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9_.-]*$`)

// ValidateName checks a network or container name the way Docker does.
func ValidateName(kind, name string) error {
	field := ""
	switch kind {
	case "network":
		field = FieldName
	case "host":
		field = FieldHost
	}
	if name == "" {
		return FieldErrorf(field, "%s name must not be empty", kind)
	}
	if len(name) > 64 {
		return FieldErrorf(field, "%s name %q is too long (at most 64 characters)", kind, name)
	}
	if !nameRE.MatchString(name) {
		return FieldErrorf(field, "invalid %s name %q: only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed", kind, name)
	}
	return nil
}

// EndpointMTU is the MTU endpoints of n get on a host whose underlay MTU is
// underlayMTU.
func (n *Network) EndpointMTU(underlayMTU int) int {
	if n.MTU > 0 {
		return n.MTU
	}
	if underlayMTU <= 0 {
		underlayMTU = DefaultUnderlayMTU
	}
	if n.Driver == DriverBridge {
		return underlayMTU
	}
	return underlayMTU - VXLANOverhead
}

// HasGateway says whether endpoints of n get a default route: internal
// networks reach nothing outside, so they have none, as in Docker.
func (n *Network) HasGateway() bool { return !n.Internal }

// GatewayMAC is the MAC address ovsnet answers for the network's gateway.
func (n *Network) GatewayMAC() HardwareAddr {
	return MACFromIPv4(n.Gateway)
}

// Limits on what a user may attach to a network or an endpoint: enough
// for any real use, small enough that no record grows past a few KB.
const (
	MaxLabels     = 64   // labels, and options, per network
	MaxKeyLen     = 256  // of a label or option key
	MaxValueLen   = 1024 // of a label or option value
	MaxAliases    = 32   // per endpoint
	MaxLinks      = 32   // per endpoint
	MaxPublished  = 64   // published ports per endpoint
	MaxNetnsPath  = 256  // length of a namespace path
	maxAliasBytes = 255
)

// validateMap checks a label or option map against the limits.
func validateMap(kind string, m map[string]string) error {
	if len(m) > MaxLabels {
		return fmt.Errorf("too many %ss: %d (at most %d)", kind, len(m), MaxLabels)
	}
	for k, v := range m {
		if k == "" || len(k) > MaxKeyLen {
			return fmt.Errorf("%s key %.40q: must be 1 to %d bytes", kind, k, MaxKeyLen)
		}
		if len(v) > MaxValueLen {
			return fmt.Errorf("%s %.40q: value longer than %d bytes", kind, k, MaxValueLen)
		}
	}
	return nil
}

// Validate checks a complete network record (after defaults were filled).
func (n *Network) Validate() error {
	if err := ValidateName("network", n.Name); err != nil {
		return err
	}
	if err := validateMap("label", n.Labels); err != nil {
		return err
	}
	if err := validateMap("option", n.Options); err != nil {
		return err
	}
	switch n.Driver {
	case DriverOverlay:
		if n.Scope != ScopeGlobal {
			return FieldErrorf(FieldDriver, "overlay networks have global scope, not %q", n.Scope)
		}
		if n.Host != "" {
			return FieldErrorf(FieldHost, "overlay networks span all hosts: --host does not apply")
		}
	case DriverBridge:
		if n.Scope != ScopeLocal {
			return FieldErrorf(FieldDriver, "bridge networks have local scope, not %q", n.Scope)
		}
		if n.Host == "" {
			return FieldErrorf(FieldHost, "a bridge network lives on one host: name it (ovsnetctl --host, or driver option %s)", OptHost)
		}
	default:
		return FieldErrorf(FieldDriver, "unknown driver %q: ovsnet offers %q and %q", n.Driver, DriverOverlay, DriverBridge)
	}
	if err := validateSubnet(n.Subnet, n.Gateway, n.IPRange, false); err != nil {
		return err
	}
	if n.EnableIPv6 {
		if err := validateSubnet(n.Subnet6, n.Gateway6, netip.Prefix{}, true); err != nil {
			return err
		}
	} else if n.Subnet6.IsValid() {
		return FieldErrorf(FieldSubnet6, "IPv6 subnet %s given but IPv6 is not enabled (--ipv6)", n.Subnet6)
	}
	if n.VNI < MinVNI || n.VNI > MaxVNI {
		return fmt.Errorf("VNI %d out of range %d-%d", n.VNI, MinVNI, MaxVNI)
	}
	if n.MTU != 0 && (n.MTU < 1280 || n.MTU > 9000) {
		return FieldErrorf(FieldMTU, "MTU %d out of range 1280-9000", n.MTU)
	}
	return nil
}

func validateSubnet(subnet netip.Prefix, gw netip.Addr, ipRange netip.Prefix, v6 bool) error {
	family, fSubnet, fGateway := "IPv4", FieldSubnet, FieldGateway
	if v6 {
		family, fSubnet, fGateway = "IPv6", FieldSubnet6, FieldGateway6
	}
	if !subnet.IsValid() {
		return FieldErrorf(fSubnet, "an %s subnet is required", family)
	}
	if subnet.Addr().Is6() != v6 || subnet.Addr().Is4In6() {
		return FieldErrorf(fSubnet, "subnet %s is not an %s subnet", subnet, family)
	}
	if subnet.Masked() != subnet {
		return FieldErrorf(fSubnet, "invalid subnet %s: host bits are set (did you mean %s?)", subnet, subnet.Masked())
	}
	maxBits := 30
	if v6 {
		maxBits = 126
	}
	if subnet.Bits() > maxBits {
		return FieldErrorf(fSubnet, "subnet %s is too small: at most /%d", subnet, maxBits)
	}
	if !gw.IsValid() {
		return FieldErrorf(fSubnet, "subnet %s has no gateway", subnet)
	}
	if !subnet.Contains(gw) {
		return FieldErrorf(fGateway, "gateway %s is not in subnet %s", gw, subnet)
	}
	if gw == subnet.Addr() || (!v6 && gw == lastAddr(subnet)) {
		return FieldErrorf(fGateway, "gateway %s is the network or broadcast address of %s", gw, subnet)
	}
	if ipRange.IsValid() {
		if ipRange.Addr().Is6() != v6 {
			return FieldErrorf(FieldIPRange, "ip-range %s is not an %s range", ipRange, family)
		}
		if ipRange.Masked() != ipRange {
			return FieldErrorf(FieldIPRange, "invalid ip-range %s: host bits are set", ipRange)
		}
		if !subnet.Contains(ipRange.Addr()) || ipRange.Bits() < subnet.Bits() {
			return FieldErrorf(FieldIPRange, "ip-range %s is not inside subnet %s", ipRange, subnet)
		}
	}
	return nil
}

// SortNetworks orders networks by name, for stable output.
func SortNetworks(ns []Network) {
	sort.Slice(ns, func(i, j int) bool { return ns[i].Name < ns[j].Name })
}
