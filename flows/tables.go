package flows

// The pipeline of br-int. A packet enters at Classify and only ever moves to
// a table with a higher number (goto_table), except that connection tracking
// recirculates packets from the egress port into NATReturn. Every table ends
// in an explicit lowest-priority flow (drop or goto), so `ovs-ofctl
// dump-flows` counters show where packets stop.
//
//	Classify ──▶ SpoofGuard ──▶ Neighbor ──▶ DNS ──▶ Forward ──▶ LocalDeliver ──▶ container port
//	   │                                               │ └──────▶ tunnel port (remote endpoint)
//	   │                                               └──▶ Egress ──▶ SNAT to the host (or bridge gateway port)
//	   ├─ tunnel port ──▶ TunnelIngress ──▶ LocalDeliver
//	   └─ egress port ──▶ ct(nat) ──▶ NATReturn ──▶ LocalDeliver

// Table is one OpenFlow table of the pipeline.
type Table struct {
	// ID is the OpenFlow table number.
	ID uint8
	// Name is what `ovs-ofctl --names` shows (OVSDB Flow_Table.name).
	Name string
	// Doc says in one sentence what the table decides.
	Doc string
}

var (
	// Classify tags a packet with its network (reg0) by where it came from:
	// a container port, a bridge network's gateway port, the tunnel (only
	// from known hosts) or the egress port. Anything else is dropped.
	Classify = Table{0, "Classify", "in_port → network (reg0); tunnel traffic only from known hosts"}
	// TunnelIngress maps a VXLAN VNI to the network it carries.
	TunnelIngress = Table{5, "TunnelIngress", "VNI → network (reg0); unknown VNIs dropped"}
	// SpoofGuard lets a container send only with its own MAC and IP
	// addresses (ARP sender fields included).
	SpoofGuard = Table{10, "SpoofGuard", "source MAC/IP must be the port's endpoint's"}
	// Neighbor answers ARP requests and IPv6 neighbour solicitations for
	// every known address of the network in place; no ARP ever floods.
	Neighbor = Table{20, "Neighbor", "ARP/ND for known addresses answered locally; other ARP/ND dropped"}
	// NeighborReply finishes an IPv6 neighbour advertisement that Neighbor
	// started. It is a second pass (through conntrack recirculation) because
	// the datapath sets the ND option type before its address: in one pass,
	// retyping the solicitation's source-address option into a target-address
	// option would leave the requester's own MAC in it.
	NeighborReply = Table{21, "NeighborReply", "second pass of an ND answer: NS → NA"}
	// DNS steers DNS queries to the agent's resolver.
	DNS = Table{30, "DNS", "DNS queries to the agent's resolver"}
	// Forward sends a packet by destination MAC: to a remote host through
	// the tunnel, to Egress when it is for the gateway, else to LocalDeliver.
	Forward = Table{40, "Forward", "dst MAC → tunnel to remote host, or gateway → Egress"}
	// Egress takes traffic leaving a network through its gateway: internal
	// networks have none; overlay networks are SNATed to the host; bridge
	// networks go to their gateway port in the host's kernel.
	Egress = Table{50, "Egress", "leaves the network: SNAT (overlay) or gateway port (bridge)"}
	// NATReturn delivers replies of egress connections, after conntrack
	// undid the SNAT, to the endpoint that opened the connection.
	NATReturn = Table{60, "NATReturn", "replies to SNATed connections back to their endpoint"}
	// LocalDeliver outputs to the container port owning the destination MAC
	// in the packet's network.
	LocalDeliver = Table{70, "LocalDeliver", "dst MAC → local container port"}
)

// Pipeline lists every table in order. The agent names exactly these in
// OVSDB (Flow_Table rows), and the flows package only uses these.
var Pipeline = []Table{Classify, TunnelIngress, SpoofGuard, Neighbor, NeighborReply, DNS, Forward, Egress, NATReturn, LocalDeliver}

// Priorities, named so no flow carries a bare number.
const (
	PriorityHigh   uint16 = 300
	PriorityNormal uint16 = 200
	PriorityLow    uint16 = 100
	PriorityMiss   uint16 = 0
)
