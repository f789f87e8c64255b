package flows

import (
	"encoding/binary"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"

	"github.com/digitalocean/go-openvswitch/ovs"

	"github.com/ovsnet/ovsnet/model"
)

// FieldID names one packet or metadata field the pipeline matches on or
// writes. The OpenFlow codec (ovsagent/openflow) maps each to its wire
// header; this package only knows names, widths and how OVS prints values.
type FieldID uint8

// The fields the pipeline uses, and no others.
const (
	FieldInPort FieldID = iota + 1
	FieldEthSrc
	FieldEthDst
	FieldARPOp
	FieldARPSPA
	FieldARPTPA
	FieldARPSHA
	FieldARPTHA
	FieldIPv4Src
	FieldIPv4Dst
	FieldIPv6Src
	FieldIPv6Dst
	FieldICMPv6Type
	FieldNDTarget
	FieldNDSLL
	FieldNDOptionsType
	FieldNDReserved
	FieldTPSrc
	FieldTPDst
	FieldTunID
	FieldTunSrc
	FieldTunDst
	FieldReg0
	FieldCTState
	FieldCTMark
)

// valueFormat is how OVS prints a field's value.
type valueFormat uint8

const (
	formatDecimal valueFormat = iota
	formatHex
	formatMAC
	formatIPv4
	formatIPv6
	formatCTState
)

// Field describes one field: its width and the names `ovs-ofctl` uses for
// it in a match, in set_field and in move.
type Field struct {
	ID FieldID
	// Name is the field's name in a match as `ovs-ofctl dump-flows` prints it.
	Name string
	// SetName is its name in set_field ("->eth_src").
	SetName string
	// NXM is its name in move ("NXM_OF_ETH_SRC"); "" when never moved.
	NXM string
	// Bytes is the value's width on the wire.
	Bytes  int
	format valueFormat
}

// Fields is the registry of every field the pipeline uses, by id.
var Fields = map[FieldID]Field{
	FieldInPort:        {FieldInPort, "in_port", "in_port", "", 4, formatDecimal},
	FieldEthSrc:        {FieldEthSrc, "dl_src", "eth_src", "NXM_OF_ETH_SRC", 6, formatMAC},
	FieldEthDst:        {FieldEthDst, "dl_dst", "eth_dst", "NXM_OF_ETH_DST", 6, formatMAC},
	FieldARPOp:         {FieldARPOp, "arp_op", "arp_op", "", 2, formatDecimal},
	FieldARPSPA:        {FieldARPSPA, "arp_spa", "arp_spa", "NXM_OF_ARP_SPA", 4, formatIPv4},
	FieldARPTPA:        {FieldARPTPA, "arp_tpa", "arp_tpa", "NXM_OF_ARP_TPA", 4, formatIPv4},
	FieldARPSHA:        {FieldARPSHA, "arp_sha", "arp_sha", "NXM_NX_ARP_SHA", 6, formatMAC},
	FieldARPTHA:        {FieldARPTHA, "arp_tha", "arp_tha", "NXM_NX_ARP_THA", 6, formatMAC},
	FieldIPv4Src:       {FieldIPv4Src, "nw_src", "ip_src", "NXM_OF_IP_SRC", 4, formatIPv4},
	FieldIPv4Dst:       {FieldIPv4Dst, "nw_dst", "ip_dst", "NXM_OF_IP_DST", 4, formatIPv4},
	FieldIPv6Src:       {FieldIPv6Src, "ipv6_src", "ipv6_src", "NXM_NX_IPV6_SRC", 16, formatIPv6},
	FieldIPv6Dst:       {FieldIPv6Dst, "ipv6_dst", "ipv6_dst", "NXM_NX_IPV6_DST", 16, formatIPv6},
	FieldICMPv6Type:    {FieldICMPv6Type, "icmp_type", "icmpv6_type", "", 1, formatDecimal},
	FieldNDTarget:      {FieldNDTarget, "nd_target", "nd_target", "", 16, formatIPv6},
	FieldNDSLL:         {FieldNDSLL, "nd_sll", "nd_sll", "", 6, formatMAC},
	FieldNDOptionsType: {FieldNDOptionsType, "nd_options_type", "nd_options_type", "", 1, formatDecimal},
	FieldNDReserved:    {FieldNDReserved, "nd_reserved", "nd_reserved", "", 4, formatDecimal},
	FieldTPSrc:         {FieldTPSrc, "tp_src", "tp_src", "", 2, formatDecimal},
	FieldTPDst:         {FieldTPDst, "tp_dst", "tp_dst", "", 2, formatDecimal},
	FieldTunID:         {FieldTunID, "tun_id", "tun_id", "", 8, formatHex},
	FieldTunSrc:        {FieldTunSrc, "tun_src", "tun_src", "", 4, formatIPv4},
	FieldTunDst:        {FieldTunDst, "tun_dst", "tun_dst", "", 4, formatIPv4},
	FieldReg0:          {FieldReg0, "reg0", "reg0", "NXM_NX_REG0", 4, formatHex},
	FieldCTState:       {FieldCTState, "ct_state", "ct_state", "", 4, formatCTState},
	FieldCTMark:        {FieldCTMark, "ct_mark", "ct_mark", "", 4, formatHex},
}

// fieldByName finds a field by its match name (as dumped by OVS).
var fieldByName = func() map[string]Field {
	m := map[string]Field{}
	for _, f := range Fields {
		m[f.Name] = f
	}
	return m
}()

// Match is one field of a flow's match: exact when Mask is nil.
type Match struct {
	Field FieldID
	// Value is in network byte order, Fields[Field].Bytes long.
	Value []byte
	// Mask, when set, has the same width; 1 bits are matched.
	Mask []byte
}

// MarshalText renders the match as `ovs-ofctl dump-flows` prints it.
func (m Match) MarshalText() ([]byte, error) {
	f, ok := Fields[m.Field]
	if !ok {
		return nil, fmt.Errorf("unknown field %d", m.Field)
	}
	return ovs.FieldMatch(f.Name, formatValue(f, m.Value, m.Mask)).MarshalText()
}

func (m Match) String() string {
	b, err := m.MarshalText()
	if err != nil {
		return "!" + err.Error()
	}
	return string(b)
}

// GoString is what a failed test prints.
func (m Match) GoString() string { return "flows.Match(" + m.String() + ")" }

// Constructors: every match in the pipeline is built from these.

func matchUint(f FieldID, v uint64) Match {
	return Match{Field: f, Value: uintBytes(v, Fields[f].Bytes)}
}

func matchMAC(f FieldID, mac model.HardwareAddr) Match {
	return Match{Field: f, Value: append([]byte(nil), mac...)}
}

func matchAddr(f FieldID, a netip.Addr) Match { return Match{Field: f, Value: a.AsSlice()} }

func inPortMatch(port int) Match { return matchUint(FieldInPort, uint64(port)) }

// Connection tracking state bits, in the order OVS prints them.
const (
	ctNew uint32 = 1 << iota
	ctEst
	ctRel
	ctRpl
	ctInv
	ctTrk
	ctSNAT
	ctDNAT
)

var ctStateNames = []string{"new", "est", "rel", "rpl", "inv", "trk", "snat", "dnat"}

// matchCTState matches connections with every bit of set on and every bit
// of clear off.
func matchCTState(set, clear uint32) Match {
	return Match{Field: FieldCTState, Value: uintBytes(uint64(set), 4), Mask: uintBytes(uint64(set|clear), 4)}
}

func uintBytes(v uint64, n int) []byte {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], v)
	return append([]byte(nil), b[8-n:]...)
}

func bytesUint(b []byte) uint64 {
	var v uint64
	for _, x := range b {
		v = v<<8 | uint64(x)
	}
	return v
}

// formatValue prints a value (and mask) the way OVS does.
func formatValue(f Field, v, mask []byte) string {
	if f.format == formatCTState {
		val, m := uint32(bytesUint(v)), uint32(bytesUint(mask))
		if mask == nil {
			m = ^uint32(0)
		}
		var s strings.Builder
		for i, name := range ctStateNames {
			bit := uint32(1) << i
			if m&bit == 0 {
				continue
			}
			if val&bit != 0 {
				s.WriteString("+" + name)
			} else {
				s.WriteString("-" + name)
			}
		}
		return s.String()
	}
	s := formatPlain(f.format, v)
	if mask != nil {
		s += "/" + formatPlain(f.format, mask)
	}
	return s
}

func formatPlain(format valueFormat, v []byte) string {
	switch format {
	case formatHex:
		return "0x" + strconv.FormatUint(bytesUint(v), 16)
	case formatMAC:
		return net.HardwareAddr(v).String()
	case formatIPv4, formatIPv6:
		a, _ := netip.AddrFromSlice(v)
		return a.String()
	default:
		return strconv.FormatUint(bytesUint(v), 10)
	}
}

// ParseMatch reads one `name=value[/mask]` token as OVS prints it in a
// dump, for the fields this package knows.
func ParseMatch(token string) (Match, error) {
	name, val, ok := strings.Cut(token, "=")
	if !ok {
		return Match{}, fmt.Errorf("match %q: want name=value", token)
	}
	f, ok := fieldByName[name]
	if !ok {
		return Match{}, fmt.Errorf("match %q: unknown field %s", token, name)
	}
	if f.format == formatCTState {
		var set, clear uint32
		for rest := val; rest != ""; {
			sign := rest[0]
			rest = rest[1:]
			end := strings.IndexAny(rest, "+-")
			if end < 0 {
				end = len(rest)
			}
			word := rest[:end]
			rest = rest[end:]
			bit := -1
			for i, n := range ctStateNames {
				if n == word {
					bit = i
				}
			}
			if bit < 0 || (sign != '+' && sign != '-') {
				return Match{}, fmt.Errorf("match %q: bad ct_state flag %q", token, word)
			}
			if sign == '+' {
				set |= 1 << bit
			} else {
				clear |= 1 << bit
			}
		}
		return matchCTState(set, clear), nil
	}
	v, m, hasMask := strings.Cut(val, "/")
	value, err := parseValue(f, v)
	if err != nil {
		return Match{}, fmt.Errorf("match %q: %w", token, err)
	}
	out := Match{Field: f.ID, Value: value}
	if hasMask {
		if out.Mask, err = parseValue(f, m); err != nil {
			return Match{}, fmt.Errorf("match %q mask: %w", token, err)
		}
	}
	return out, nil
}

func parseValue(f Field, s string) ([]byte, error) {
	switch f.format {
	case formatMAC:
		hw, err := model.ParseMAC(s)
		return []byte(hw), err
	case formatIPv4, formatIPv6:
		a, err := netip.ParseAddr(s)
		if err != nil || a.Is4() != (f.format == formatIPv4) {
			return nil, fmt.Errorf("bad address %q", s)
		}
		return a.AsSlice(), nil
	default:
		n, err := strconv.ParseUint(s, 0, f.Bytes*8)
		if err != nil {
			return nil, err
		}
		return uintBytes(n, f.Bytes), nil
	}
}
