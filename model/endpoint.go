package model

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net"
	"net/netip"
	"regexp"
	"sort"
	"strings"
	"time"
)

// Endpoint is one container's attachment to one network.
type Endpoint struct {
	ID        string `json:"id"`
	NetworkID string `json:"networkId"`
	// Host is where the container runs; its agent plumbs the endpoint.
	Host string `json:"host"`
	// TunnelIP is Host's underlay address, copied from its host record so
	// that peers build their tunnels from the endpoint alone.
	TunnelIP      netip.Addr `json:"tunnelIP,omitzero"`
	ContainerID   string     `json:"containerId"`
	ContainerName string     `json:"containerName"`
	// Netns is the path of the container's network namespace on Host. Empty
	// for endpoints that Docker plumbs itself (the agent's plugin hands Docker
	// the interface and Docker moves it).
	Netns string `json:"netns,omitempty"`
	// IfName is the interface's name inside the container (eth0, eth1, ...).
	IfName string `json:"ifName,omitempty"`

	MAC  HardwareAddr `json:"mac"`
	IPv4 netip.Prefix `json:"ipv4"`
	IPv6 netip.Prefix `json:"ipv6,omitzero"`

	// Aliases are extra names the endpoint answers to on its network.
	Aliases []string `json:"aliases,omitempty"`
	// Links are the container's --link entries: names that resolve only for
	// this container.
	Links []Link `json:"links,omitempty"`
	// Docker is set when a Docker engine owns the container (plugin path).
	// The endpoint's id is then Docker's endpoint id.
	Docker bool `json:"docker,omitempty"`
	// Published are the container's published ports (docker run -p).
	Published []PortMapping `json:"published,omitempty"`

	Created time.Time `json:"created"`
}

// PortMapping is one published port: HostPort on the host's address
// forwards to Port of the container.
type PortMapping struct {
	Proto    string `json:"proto"` // "tcp" or "udp"
	Port     uint16 `json:"port"`
	HostPort uint16 `json:"hostPort"`
}

// Link is Docker's --link NAME:ALIAS.
type Link struct {
	Name  string `json:"name"`
	Alias string `json:"alias"`
}

// PortName is the name of the endpoint's host-side interface and OVS port.
// Linux allows 15 characters; "ovs" plus 11 hex digits of the endpoint id
// keeps names unique in practice and recognisable in `ovs-vsctl show`.
func (e *Endpoint) PortName() string { return "ovs" + e.ID[:11] }

// AwaitingDockerName says whether Docker created this endpoint and the
// plugin has not yet told which container it belongs to (its name,
// aliases and links): until then its container id is its own id.
func (e *Endpoint) AwaitingDockerName() bool { return e.Docker && e.ContainerID == e.ID }

// ShortID is Docker's 12-character form of an id.
func ShortID(id string) string {
	if len(id) > 12 {
		return id[:12]
	}
	return id
}

var hexIDRE = regexp.MustCompile(`^[0-9a-f]{64}$`)

// IsID says whether s looks like a full ovsnet/Docker object id.
func IsID(s string) bool { return hexIDRE.MatchString(s) }

// ContainerIDFor gives a stable container id for a container ovsnet knows
// only by host and name (a network namespace started outside Docker).
func ContainerIDFor(host, name string) string {
	sum := sha256.Sum256([]byte("ovsnet-container\x00" + host + "\x00" + name))
	return hex.EncodeToString(sum[:])
}

var aliasRE = regexp.MustCompile(`^[a-zA-Z0-9]([a-zA-Z0-9_.-]*[a-zA-Z0-9])?$`)

// Validate checks an endpoint record against its network.
func (e *Endpoint) Validate(n *Network) error {
	if !IsID(e.ID) {
		return fmt.Errorf("invalid endpoint id %q", e.ID)
	}
	if e.NetworkID != n.ID {
		return fmt.Errorf("endpoint %s belongs to network %s, not %s", ShortID(e.ID), ShortID(e.NetworkID), n.Name)
	}
	if e.Host == "" {
		return fmt.Errorf("endpoint needs a host")
	}
	if err := ValidateName("host", e.Host); err != nil {
		return err
	}
	if err := ValidateName("container", e.ContainerName); err != nil {
		return err
	}
	if n.Scope == ScopeLocal && e.Host != n.Host {
		return fmt.Errorf("network %s is local to host %s: containers on %s cannot join it", n.Name, n.Host, e.Host)
	}
	if e.Netns != "" {
		if err := CheckNetnsPath(e.Netns); err != nil {
			return err
		}
	}
	if len(e.Aliases) > MaxAliases || len(e.Links) > MaxLinks || len(e.Published) > MaxPublished {
		return fmt.Errorf("too many aliases (%d), links (%d) or published ports (%d): at most %d, %d and %d",
			len(e.Aliases), len(e.Links), len(e.Published), MaxAliases, MaxLinks, MaxPublished)
	}
	if e.IfName != "" && (len(e.IfName) > 15 || strings.ContainsAny(e.IfName, "/ \t")) {
		return fmt.Errorf("invalid interface name %q", e.IfName)
	}
	if len(e.MAC) != 6 {
		return fmt.Errorf("endpoint needs a MAC address")
	}
	if e.MAC[0]&1 == 1 {
		return fmt.Errorf("MAC address %s is a multicast address", e.MAC)
	}
	if !e.IPv4.IsValid() || !n.Subnet.Contains(e.IPv4.Addr()) || e.IPv4.Bits() != n.Subnet.Bits() {
		return fmt.Errorf("address %s does not belong to network %s (%s)", e.IPv4, n.Name, n.Subnet)
	}
	if e.IPv6.IsValid() && (!n.EnableIPv6 || !n.Subnet6.Contains(e.IPv6.Addr())) {
		return fmt.Errorf("IPv6 address %s does not belong to network %s", e.IPv6, n.Name)
	}
	for _, a := range e.Aliases {
		if len(a) > maxAliasBytes || !aliasRE.MatchString(a) {
			return fmt.Errorf("invalid alias %q", a)
		}
	}
	for _, l := range e.Links {
		if ValidateName("container", l.Name) != nil || !aliasRE.MatchString(l.Alias) {
			return fmt.Errorf("invalid link %s:%s", l.Name, l.Alias)
		}
	}
	seen := map[string]bool{}
	for _, p := range e.Published {
		if (p.Proto != "tcp" && p.Proto != "udp") || p.Port == 0 || p.HostPort == 0 {
			return fmt.Errorf("invalid published port %s %d:%d", p.Proto, p.HostPort, p.Port)
		}
		key := fmt.Sprintf("%s/%d", p.Proto, p.HostPort)
		if seen[key] {
			return fmt.Errorf("host port %s published twice", key)
		}
		seen[key] = true
	}
	return nil
}

// ParseLink parses Docker's NAME[:ALIAS] link syntax.
func ParseLink(s string) (Link, error) {
	name, alias, found := strings.Cut(strings.TrimPrefix(s, "/"), ":")
	if !found {
		alias = name
	}
	if ValidateName("container", name) != nil || !aliasRE.MatchString(alias) {
		return Link{}, fmt.Errorf("invalid link %q: want NAME or NAME:ALIAS", s)
	}
	return Link{Name: name, Alias: alias}, nil
}

// SortEndpoints orders endpoints by network, host and container, for stable
// output and compilation.
func SortEndpoints(eps []Endpoint) {
	sort.Slice(eps, func(i, j int) bool { return EndpointLess(&eps[i], &eps[j]) })
}

// EndpointLess is SortEndpoints' order. It takes pointers: an endpoint is a
// few hundred bytes, and a sort of thousands compares them often.
func EndpointLess(a, b *Endpoint) bool {
	if a.NetworkID != b.NetworkID {
		return a.NetworkID < b.NetworkID
	}
	if a.Host != b.Host {
		return a.Host < b.Host
	}
	if a.ContainerName != b.ContainerName {
		return a.ContainerName < b.ContainerName
	}
	return a.ID < b.ID
}

// HardwareAddr is a MAC address that marshals as the usual colon form.
type HardwareAddr net.HardwareAddr

func (m HardwareAddr) String() string { return net.HardwareAddr(m).String() }

// MarshalText implements encoding.TextMarshaler.
func (m HardwareAddr) MarshalText() ([]byte, error) { return []byte(m.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (m *HardwareAddr) UnmarshalText(b []byte) error {
	if len(b) == 0 {
		*m = nil
		return nil
	}
	hw, err := ParseMAC(string(b))
	if err != nil {
		return err
	}
	*m = hw
	return nil
}

// ParseMAC parses a 6-byte Ethernet address.
func ParseMAC(s string) (HardwareAddr, error) {
	hw, err := net.ParseMAC(s)
	if err != nil || len(hw) != 6 {
		return nil, fmt.Errorf("invalid MAC address %q", s)
	}
	return HardwareAddr(hw), nil
}

// MACFromIPv4 derives a locally administered MAC from an IPv4 address the way
// Docker does (02:42 followed by the address), so a MAC tells its address.
func MACFromIPv4(a netip.Addr) HardwareAddr {
	b := a.As4()
	return HardwareAddr{0x02, 0x42, b[0], b[1], b[2], b[3]}
}

// LinkLocal is the EUI-64 IPv6 link-local address a kernel derives from mac.
func LinkLocal(mac HardwareAddr) netip.Addr {
	var b [16]byte
	b[0], b[1] = 0xfe, 0x80
	b[8] = mac[0] ^ 0x02
	b[9], b[10] = mac[1], mac[2]
	b[11], b[12] = 0xff, 0xfe
	b[13], b[14], b[15] = mac[3], mac[4], mac[5]
	return netip.AddrFrom16(b)
}
