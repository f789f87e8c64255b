package controller

import (
	"fmt"
	"net/netip"
	"regexp"
	"strconv"
	"strings"

	"github.com/ovsnet/ovsnet/flows"
	"github.com/ovsnet/ovsnet/model"
)

// tracePacket is the packet a trace follows: the first packet the source
// container's kernel would send to the destination.
type tracePacket struct {
	proto          string // icmp, tcp or udp
	port           uint16 // TCP/UDP destination port
	v6             bool
	srcMAC, dstMAC model.HardwareAddr
	src, dst       netip.Addr
	// dstMACOf says whose MAC dstMAC is, for people.
	dstMACOf string
}

// traceSourcePort is the TCP/UDP source port of traced packets; any
// ephemeral port would do, the pipeline does not look at it.
const traceSourcePort = 40000

// planPacket decides what the source sends. Within a network it is the
// destination's MAC (the answer the Neighbor table gives to its ARP).
// Across networks it is what the source's routing table says: an address
// off the source's subnet goes to the source network's gateway; a network
// without a gateway (internal) has no route off its subnet, and the packet
// is traced as if sent straight to the destination's MAC, which shows
// where the pipeline stops it.
func planPacket(req model.TraceRequest, src *model.Endpoint, srcNet *model.Network, dst *model.Endpoint, dstNet *model.Network) (tracePacket, error) {
	p := tracePacket{proto: req.Protocol, port: req.Port, v6: req.IPv6, srcMAC: src.MAC, dstMAC: dst.MAC}
	switch p.proto {
	case "":
		p.proto = "icmp"
	case "icmp", "tcp", "udp":
	default:
		return p, errorf(ErrInvalid, "protocol %q is not traceable: use icmp, tcp or udp", req.Protocol)
	}
	if p.proto == "icmp" {
		p.port = 0
	} else if p.port == 0 {
		p.port = 80
	}
	subnet := srcNet.Subnet
	if p.v6 {
		if !src.IPv6.IsValid() || !dst.IPv6.IsValid() {
			return p, errorf(ErrInvalid, "an IPv6 trace needs IPv6 addresses at both ends: %s has %s, %s has %s",
				endName(src, srcNet), orNone(src.IPv6), endName(dst, dstNet), orNone(dst.IPv6))
		}
		p.src, p.dst, subnet = src.IPv6.Addr(), dst.IPv6.Addr(), srcNet.Subnet6
	} else {
		p.src, p.dst = src.IPv4.Addr(), dst.IPv4.Addr()
	}
	p.dstMACOf = dst.ContainerName + "'s MAC"
	if src.NetworkID != dst.NetworkID && srcNet.HasGateway() && !subnet.Contains(p.dst) {
		p.dstMAC = srcNet.GatewayMAC()
		p.dstMACOf = fmt.Sprintf("the gateway of %s: %s is off %s", srcNet.Name, p.dst, subnet)
	}
	return p, nil
}

func orNone(p netip.Prefix) string {
	if !p.IsValid() {
		return "none"
	}
	return p.Addr().String()
}

// headers renders the packet in ovs-ofctl flow syntax, without in_port.
func (p tracePacket) headers() string {
	var b strings.Builder
	switch {
	case p.proto == "icmp" && p.v6:
		b.WriteString("icmp6")
	case p.v6:
		b.WriteString(p.proto + "6")
	default:
		b.WriteString(p.proto)
	}
	fmt.Fprintf(&b, ",dl_src=%s,dl_dst=%s", p.srcMAC, p.dstMAC)
	if p.v6 {
		fmt.Fprintf(&b, ",ipv6_src=%s,ipv6_dst=%s", p.src, p.dst)
	} else {
		fmt.Fprintf(&b, ",nw_src=%s,nw_dst=%s", p.src, p.dst)
	}
	b.WriteString(",nw_ttl=64")
	switch {
	case p.proto == "icmp" && p.v6:
		b.WriteString(",icmp_type=128,icmp_code=0")
	case p.proto == "icmp":
		b.WriteString(",icmp_type=8,icmp_code=0")
	default:
		fmt.Fprintf(&b, ",tp_src=%d,tp_dst=%d", traceSourcePort, p.port)
	}
	return b.String()
}

// describe says what was traced, for people.
func (p tracePacket) describe() string {
	what := "ICMP echo request"
	if p.v6 && p.proto == "icmp" {
		what = "ICMPv6 echo request"
	} else if p.proto != "icmp" {
		what = fmt.Sprintf("%s to port %d", strings.ToUpper(p.proto), p.port)
	}
	return fmt.Sprintf("%s %s → %s, to %s (%s)", what, p.src, p.dst, p.dstMAC, p.dstMACOf)
}

// How a packet leaves one host's pipeline.
const (
	exitDrop    = "drop"
	exitPort    = "port"
	exitTunnel  = "tunnel"
	exitInPort  = "in_port"
	exitUnknown = "unknown"
)

// hopExit is what analyzeHop read from one host's trace.
type hopExit struct {
	kind string
	// step is where it happened: the dropping table, the outputting table.
	step   *model.TraceStep
	port   int
	tunID  uint64
	tunDst netip.Addr
	// datapathDrop: the tables output the packet, the datapath drops it.
	datapathDrop bool
}

var (
	outputRE = regexp.MustCompile(`^output:(\d+)$`)
	tunIDRE  = regexp.MustCompile(`^set_field:(0x[0-9a-f]+|\d+)->tun_id$`)
	tunDstRE = regexp.MustCompile(`^set_field:([0-9.]+)->tun_dst$`)
)

// analyzeHop reads how the packet left the integration bridge (the bridge
// it entered, i.e. of the first step): the last output or drop wins, as
// the pipeline has one of either per packet.
func analyzeHop(res model.HostTrace) hopExit {
	out := hopExit{kind: exitUnknown}
	if len(res.Steps) == 0 {
		return out
	}
	bridge := res.Steps[0].Bridge
	for i := range res.Steps {
		s := &res.Steps[i]
		if s.Bridge != bridge {
			continue
		}
		out.step = s
		if s.NoMatch {
			out.kind = exitDrop
			continue
		}
		for _, a := range s.Actions {
			switch {
			case a == "drop":
				out.kind = exitDrop
			case a == "IN_PORT":
				out.kind = exitInPort
			case tunIDRE.MatchString(a):
				out.tunID, _ = strconv.ParseUint(tunIDRE.FindStringSubmatch(a)[1], 0, 64)
			case tunDstRE.MatchString(a):
				out.tunDst, _ = netip.ParseAddr(tunDstRE.FindStringSubmatch(a)[1])
			case outputRE.MatchString(a):
				out.kind = exitPort
				out.port, _ = strconv.Atoi(outputRE.FindStringSubmatch(a)[1])
			}
		}
	}
	if out.kind == exitPort && out.port == flows.DefaultConfig().TunnelOFPort && out.tunDst.IsValid() {
		out.kind = exitTunnel
	}
	// The datapath has the last word: an output to a port that does not
	// exist (yet) is a drop.
	if out.kind != exitDrop && strings.TrimSpace(res.DatapathActions) == "drop" {
		out.kind, out.datapathDrop = exitDrop, true
	}
	return out
}

// stepName names a step's table: "SpoofGuard (table 10)".
func stepName(s *model.TraceStep) string {
	if s == nil {
		return "no table"
	}
	if s.TableName != "" {
		return fmt.Sprintf("%s (table %d)", s.TableName, s.Table)
	}
	return fmt.Sprintf("table %d of %s", s.Table, s.Bridge)
}

// dropReason explains a drop: the table, the flow that dropped and, from
// the pipeline registry, what the table is for. A packet the pipeline
// outputs but the datapath drops (a tunnel whose remote address is not
// resolved yet, a port that does not exist) is explained by what OVS
// noted on the last step.
func dropReason(exit hopExit) string {
	s := exit.step
	if s == nil {
		return "dropped before any table ran"
	}
	if exit.datapathDrop {
		why := "the datapath drops it"
		if len(s.Notes) > 0 {
			why += " (" + strings.Join(s.Notes, "; ") + ")"
		}
		return fmt.Sprintf("%s outputs it (%s), but %s", stepName(s), strings.Join(s.Actions, ", "), why)
	}
	var b strings.Builder
	b.WriteString("dropped in " + stepName(s))
	switch {
	case s.NoMatch:
		b.WriteString(": no flow matched")
	case s.Priority == int(flows.PriorityMiss):
		b.WriteString(" by priority 0 (default drop)")
	default:
		fmt.Fprintf(&b, " by priority %d flow %s", s.Priority, s.Match)
	}
	if s.TableDoc != "" && !s.NoMatch {
		b.WriteString(": " + s.TableDoc)
	}
	return b.String()
}

func endName(ep *model.Endpoint, n *model.Network) string {
	return ep.ContainerName + "@" + n.Name
}
