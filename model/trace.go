package model

import "time"

// A path trace follows one packet from a source endpoint to a destination
// endpoint through the real OpenFlow tables of the hosts it crosses. The
// controller asks each host's agent (through Consul) to run OVS's own
// `ofproto/trace`; this file holds the shapes exchanged.

// TraceRequest asks the controller for a trace (POST /ovsnet/v1/traces).
type TraceRequest struct {
	// Source and Destination name endpoints: an endpoint id (or a unique
	// prefix of 12+ characters), container@network, or a container name
	// that has exactly one endpoint.
	Source      string `json:"source"`
	Destination string `json:"destination"`
	// Protocol is icmp (default), tcp or udp; Port the TCP/UDP destination
	// port (default 80).
	Protocol string `json:"protocol,omitempty"`
	Port     uint16 `json:"port,omitempty"`
	// IPv6 traces between the endpoints' IPv6 addresses.
	IPv6 bool `json:"ipv6,omitempty"`
}

// TraceSpec is what the controller asks one host's agent to trace
// (Consul key <prefix>/trace/requests/<host>/<id>).
type TraceSpec struct {
	ID string `json:"id"`
	// Flow is the packet in ovs-ofctl flow syntax, as ofproto/trace takes it.
	Flow    string    `json:"flow"`
	Created time.Time `json:"created"`
}

// HostTrace is one host's answer (Consul key
// <prefix>/trace/results/<host>/<id>): ofproto/trace's output, parsed.
type HostTrace struct {
	ID   string `json:"id"`
	Host string `json:"host"`
	Flow string `json:"flow"`
	// Steps are the OpenFlow tables the packet went through, in order.
	Steps []TraceStep `json:"steps"`
	// DatapathActions is what the datapath would do ("drop", output ports,
	// tunnel push...).
	DatapathActions string `json:"datapathActions"`
	// Output is ofproto/trace's full text.
	Output string `json:"output"`
	// Error says why the trace could not run.
	Error    string    `json:"error,omitempty"`
	Finished time.Time `json:"finished"`
}

// TraceStep is one table lookup of a traced packet.
type TraceStep struct {
	// Bridge is the OVS bridge ("br-int", or the underlay's bridge after a
	// tunnel push).
	Bridge string `json:"bridge"`
	Table  int    `json:"table"`
	// TableName and TableDoc come from ovsnet's pipeline registry (empty
	// for tables ovsnet does not own).
	TableName string `json:"tableName,omitempty"`
	TableDoc  string `json:"tableDoc,omitempty"`
	// Match is the matched flow's match ("" for a catch-all), Priority and
	// Cookie identify it; NoMatch is set when no flow matched at all.
	Match    string `json:"match"`
	Priority int    `json:"priority"`
	Cookie   string `json:"cookie,omitempty"`
	NoMatch  bool   `json:"noMatch,omitempty"`
	// Actions are the flow's actions as ofproto/trace lists them, and Notes
	// what OVS says about them ("-> output to native tunnel").
	Actions []string `json:"actions"`
	Notes   []string `json:"notes,omitempty"`
}

// Verdict kinds of a trace.
const (
	// TraceDelivered: output to the destination endpoint's port.
	TraceDelivered = "delivered"
	// TraceDropped: a table dropped the packet.
	TraceDropped = "dropped"
	// TraceLeft: the packet left ovsnet (egress port, a bridge network's
	// gateway into the host's kernel, a port that is not the destination's).
	TraceLeft = "left"
	// TraceIncomplete: a host did not answer, or the path could not be
	// followed.
	TraceIncomplete = "incomplete"
)

// TraceVerdict is the outcome of a trace, for people.
type TraceVerdict struct {
	Kind string `json:"kind"`
	// Host, Table and Priority say where the verdict was reached (for a
	// drop: the table that dropped it).
	Host     string `json:"host,omitempty"`
	Table    string `json:"table,omitempty"`
	Priority int    `json:"priority,omitempty"`
	// Summary is one sentence: "dropped in SpoofGuard by priority 0
	// (default drop): source MAC/IP must be the port's endpoint's".
	Summary string `json:"summary"`
}

// TraceHop is the packet's pass through one host.
type TraceHop struct {
	Host string `json:"host"`
	// Ingress says where the packet entered: "port 10 (c1)" or "tunnel
	// from h1 (192.0.2.1), VNI 4097".
	Ingress string    `json:"ingress"`
	Result  HostTrace `json:"result"`
	// Outcome says how the packet left this host's pipeline.
	Outcome string `json:"outcome"`
}

// TraceEnd is one end of a trace.
type TraceEnd struct {
	EndpointID  string `json:"endpointId"`
	Container   string `json:"container"`
	Network     string `json:"network"`
	NetworkID   string `json:"networkId"`
	Host        string `json:"host"`
	Address     string `json:"address"`
	MAC         string `json:"mac"`
	OFPort      int    `json:"ofport,omitempty"`
	Description string `json:"description"`
}

// Trace is the controller's answer: the packet, each host it crossed, and
// the verdict.
type Trace struct {
	Source      TraceEnd `json:"source"`
	Destination TraceEnd `json:"destination"`
	Protocol    string   `json:"protocol"`
	// Packet says what was traced, e.g. "ICMP echo 10.0.0.2 → 10.0.0.3 to
	// 02:42:0a:00:00:03 (the destination's MAC)".
	Packet   string       `json:"packet"`
	Hops     []TraceHop   `json:"hops"`
	Verdict  TraceVerdict `json:"verdict"`
	Duration string       `json:"duration"`
}
