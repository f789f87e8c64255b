package ovsagent

import (
	"context"
	"net/netip"

	"github.com/ovsnet/ovsnet/flows"
	"github.com/ovsnet/ovsnet/model"
	"github.com/ovsnet/ovsnet/ovsagent/hostnet"
	"github.com/ovsnet/ovsnet/ovsagent/vswitch"
)

// The reconciler's parts, as the reconciler needs them. vswitch and
// hostnet hold the real ones; the tests' fakes (fakes_test.go) and the
// scale benchmark's in-memory ones implement them too.

// Switch is the agent's view of its host's OVS database.
type Switch interface {
	// EnsureBridge creates or corrects the integration bridge (secure fail
	// mode, OpenFlow 1.3/1.4, named pipeline tables). It never deletes the
	// bridge or its flows.
	EnsureBridge(ctx context.Context, cfg vswitch.BridgeConfig) error
	// Ports lists the ovsnet-owned ports of the bridge.
	Ports(ctx context.Context) (map[string]vswitch.ActualPort, error)
	// PlanOFPorts gives every desired port its OpenFlow port number without
	// changing anything: ports without a fixed number keep the one they
	// have, or get the lowest free one. Flows can be installed with these
	// numbers before the ports exist.
	PlanOFPorts(ctx context.Context, desired []flows.Port) (flows.OFPorts, error)
	// SyncPorts makes the owned ports equal desired, with the planned port
	// numbers, in one transaction.
	SyncPorts(ctx context.Context, bridge string, desired []flows.Port, ofports flows.OFPorts) error
	Close()
}

// FlowTable is the agent's view of the bridge's OpenFlow table.
type FlowTable interface {
	// Dump returns the ovsnet-owned flows installed on the bridge.
	Dump(ctx context.Context) ([]flows.InstalledFlow, error)
	// Apply makes one atomic change (an OpenFlow 1.4 bundle): every packet
	// sees the table either before or after it, never in between.
	Apply(ctx context.Context, d flows.Diff) error
	// Target is the ovs-ofctl target of the bridge.
	Target() string
}

// Plumber wires containers and internal ports into the host's kernel.
type Plumber interface {
	// EnsureEndpoint makes the endpoint's veth exist and its container side
	// configured (name, MAC, MTU, addresses, routes). It is idempotent, and
	// all-or-nothing: on failure it removes what it created.
	EnsureEndpoint(ep *model.Endpoint, n *model.Network, mtu int) error
	// RemoveEndpoint deletes the veth behind an OVS port name (both ends go);
	// a missing veth is not an error.
	RemoveEndpoint(portName string) error
	// EndpointPorts lists the host-side veths ovsnet created.
	EndpointPorts() ([]hostnet.EndpointPort, error)
	// SetUp brings a device up.
	SetUp(name string) error
	// WatchEndpointPorts calls changed whenever a host-side endpoint veth
	// goes down, until ctx ends.
	WatchEndpointPorts(ctx context.Context, changed func()) error
	// EnsureDockerVeth creates a Docker endpoint's veth in the host's
	// namespace (Docker moves the peer into the container and configures
	// it) and returns the peer's name. Idempotent.
	EnsureDockerVeth(ep *model.Endpoint, mtu int) (string, error)
	// Exists says whether a network device of that name exists here.
	Exists(name string) bool
	// ConfigureInternal brings an OVS internal port up in the kernel with
	// these addresses and routes. It reports false while OVS has not created
	// it yet.
	ConfigureInternal(name string, addrs []netip.Prefix, routes []flows.Route, mtu int) (bool, error)
}

// Kernel is the host kernel's part of egress: forwarding, NAT and the
// firewall that keeps networks apart where they meet in the host.
type Kernel interface {
	// Apply installs the ruleset for these egress rules, replacing the
	// previous one atomically. It does nothing if nothing changed.
	Apply(ctx context.Context, r hostnet.KernelRules) error
}

// PeerResolver makes sure the datapath can reach new tunnel peers before
// their endpoints are reported applied (hostnet.TunnelNeighbors, for the
// userspace datapath, which drops the packet that makes it resolve one).
type PeerResolver interface {
	EnsurePeers(ctx context.Context, peers []netip.Addr) error
}
