package store

import (
	"net/netip"
	"strconv"
	"strings"
)

// Keys spells every key of ovsnet's layout under one prefix. The layout
// puts each record where the few parties that need it can watch it alone,
// so a change wakes and transfers only what it touches:
//
//	networks/<net>                  model.Network            controller   the intent; the catalog of all networks
//	endpoints/<net>/<ep>            model.Endpoint           controller   agents watch one network's prefix
//	placement/<host>/<net>/<ep>     ""                       controller   which endpoints live on a host: the one
//	placement/<host>/<net>/owner    ""                       controller   prefix an agent watches to learn its networks
//	changes/<net>/<slot>            EndpointChange           controller   ring of a network's last endpoint changes:
//	                                                                      what agents watch, instead of the endpoints
//	catalog/<slot>                  CatalogEvent             controller   ring of the last network changes
//	alloc/names/<name>              network id               controller   uniqueness guards
//	alloc/vnis/<vni>                network id               controller
//	alloc/pools/<cidr>              network id               controller
//	alloc/ipam/<net>/<addr>         holder                   controller   an address is taken
//	alloc/attach/<net>/<ctr>        endpoint id              controller   one endpoint per container and network
//	hosts/<host>                    model.Host               agent        identity, held by the agent's session
//	stats/<host>                    HostStats                agent        last sync, flow counts (read on demand)
//	status/<host>/<ep>              model.EndpointStatus     agent        plumbed or failed
//	applied/<host>/<net>            Applied                  agent        the network's state the host has applied
//	trace/requests/<host>/<id>      model.TraceSpec          controller
//	trace/results/<host>/<id>       model.HostTrace          agent
//	leader                          Leader                   controllers  the leader lock
//
// Everything an agent writes is under its own host's name, so a Consul ACL
// policy can limit an agent to its own records (docs/security.md).
type Keys struct{ prefix string }

// NewKeys roots the layout at prefix (no trailing slash).
func NewKeys(prefix string) Keys { return Keys{prefix: strings.TrimSuffix(prefix, "/")} }

// Prefix is the root of every key.
func (k Keys) Prefix() string { return k.prefix }

func (k Keys) path(parts ...string) string { return k.prefix + "/" + strings.Join(parts, "/") }

// Networks is the prefix of all network records.
func (k Keys) Networks() string         { return k.path("networks") + "/" }
func (k Keys) Network(id string) string { return k.path("networks", id) }

// Endpoints is the prefix of all endpoint records; NetworkEndpoints of one
// network's.
func (k Keys) Endpoints() string                    { return k.path("endpoints") + "/" }
func (k Keys) NetworkEndpoints(netID string) string { return k.path("endpoints", netID) + "/" }
func (k Keys) Endpoint(netID, epID string) string   { return k.path("endpoints", netID, epID) }

// PlacementOf is the prefix an agent watches; Placement marks endpoint ep
// of net as living on host; Owner marks host as the owner of a bridge
// network.
func (k Keys) Placements() string             { return k.path("placement") + "/" }
func (k Keys) PlacementOf(host string) string { return k.path("placement", host) + "/" }
func (k Keys) Placement(host, netID, epID string) string {
	return k.path("placement", host, netID, epID)
}
func (k Keys) Owner(host, netID string) string { return k.path("placement", host, netID, OwnerLeaf) }

// OwnerLeaf is the last element of a bridge network's owner marker.
const OwnerLeaf = "owner"

// Changes is the prefix of every network's change ring; NetworkChanges one
// network's; Change one of its slots.
func (k Keys) Changes() string                    { return k.path("changes") + "/" }
func (k Keys) NetworkChanges(netID string) string { return k.path("changes", netID) + "/" }
func (k Keys) Change(netID string, slot int) string {
	return k.path("changes", netID, strconv.Itoa(slot))
}

// Catalog is the ring of network changes; CatalogSlot one of its slots.
func (k Keys) Catalog() string             { return k.path("catalog") + "/" }
func (k Keys) CatalogSlot(slot int) string { return k.path("catalog", strconv.Itoa(slot)) }

// Allocation guards.
func (k Keys) Alloc() string              { return k.path("alloc") + "/" }
func (k Keys) NetName(name string) string { return k.path("alloc", "names", name) }
func (k Keys) VNI(vni uint32) string {
	return k.path("alloc", "vnis", strconv.FormatUint(uint64(vni), 10))
}
func (k Keys) Pools() string { return k.path("alloc", "pools") + "/" }
func (k Keys) Pool(p netip.Prefix) string {
	return k.path("alloc", "pools", strings.ReplaceAll(p.String(), "/", "_"))
}
func (k Keys) IPAMOf(netID string) string { return k.path("alloc", "ipam", netID) + "/" }
func (k Keys) IPAM(netID string, a netip.Addr) string {
	return k.path("alloc", "ipam", netID, a.String())
}
func (k Keys) AttachOf(netID string) string { return k.path("alloc", "attach", netID) + "/" }
func (k Keys) Attach(netID, containerID string) string {
	return k.path("alloc", "attach", netID, containerID)
}

// PoolFromKey reads the pool a pool guard key holds.
func (k Keys) PoolFromKey(key string) (netip.Prefix, bool) {
	rest, ok := strings.CutPrefix(key, k.Pools())
	if !ok {
		return netip.Prefix{}, false
	}
	p, err := netip.ParsePrefix(strings.ReplaceAll(rest, "_", "/"))
	return p, err == nil
}

// Agent records.
func (k Keys) Hosts() string                       { return k.path("hosts") + "/" }
func (k Keys) Host(name string) string             { return k.path("hosts", name) }
func (k Keys) Stats() string                       { return k.path("stats") + "/" }
func (k Keys) HostStats(name string) string        { return k.path("stats", name) }
func (k Keys) Statuses() string                    { return k.path("status") + "/" }
func (k Keys) StatusesOf(host string) string       { return k.path("status", host) + "/" }
func (k Keys) Status(host, epID string) string     { return k.path("status", host, epID) }
func (k Keys) AppliedPrefix() string               { return k.path("applied") + "/" }
func (k Keys) AppliedOf(host string) string        { return k.path("applied", host) + "/" }
func (k Keys) Applied(host, netID string) string   { return k.path("applied", host, netID) }
func (k Keys) TraceRequests(host string) string    { return k.path("trace", "requests", host) + "/" }
func (k Keys) TraceResults(host string) string     { return k.path("trace", "results", host) + "/" }
func (k Keys) TraceRequest(host, id string) string { return k.path("trace", "requests", host, id) }
func (k Keys) TraceResult(host, id string) string  { return k.path("trace", "results", host, id) }
func (k Keys) Leader() string                      { return k.path("leader") }

// Tail returns the parts of key after prefix p, split at "/".
func Tail(key, p string) []string {
	rest, ok := strings.CutPrefix(key, p)
	if !ok || rest == "" {
		return nil
	}
	return strings.Split(rest, "/")
}
