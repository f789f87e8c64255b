// Package ovsagent is the per-host agent: it makes the host's Open vSwitch
// match the state the controller compiled for it, plumbs containers into
// their networks and reports endpoints and its own liveness through Consul.
//
// Its edges are small interfaces: the OVS database (libovsdb), OpenFlow
// (go-openvswitch bundles), the kernel (netlink, nftables) and Consul. The
// decisions — which ports, which flows — come from the pure packages model
// and flows; this package reads actual state and applies the difference.
package ovsagent
