// Package ovsagent is the per-host agent: it makes the host's Open vSwitch
// match the state the controller compiled for it, plumbs containers into
// their networks and reports endpoints and its own liveness through Consul.
//
// This package is the reconcile loop (agent.go, reconcile.go) and the small
// interfaces of the parts it drives (parts.go, source.go, cluster.go). The
// decisions — which ports, which flows — come from the pure packages model
// and flows; this package reads actual state and applies the difference.
//
// The parts and the extensions live in subpackages:
//
//	vswitch          OVS: the database (libovsdb), the flow table over OpenFlow, ovs-appctl
//	hostnet          the kernel: container veths and internal ports (netlink), nftables, tunnel neighbours
//	openflow         the OpenFlow 1.4 codec: typed flows to wire messages and back
//	openflow/ofconn  a persistent OpenFlow connection to a bridge: bundles, dumps, reconnects
//	fake             in-memory parts, for the reconciler's tests and the scale benchmark
//	dns              extension: the resolver answering containers' DNS queries
//	docker           extension: Docker's network and IPAM plugin
//	tracer           extension: path traces (ofproto/trace) requested through Consul
//	metrics          extension: Prometheus metrics and health
//
// Extensions run beside the reconciler (Agent.AddExtension). Each declares
// the little it needs of the agent as an interface of its own and is wired
// in cmd/ovsnet-agent; this package imports none of them.
package ovsagent
