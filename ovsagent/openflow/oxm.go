package openflow

import (
	"bytes"
	"encoding/binary"

	"github.com/digitalocean/go-openvswitch/ovs"

	"github.com/ovsnet/ovsnet/flows"
)

// OXM classes (the high 16 bits of an OXM/NXM header).
const (
	classNXM0         uint16 = 0x0000 // NXM_OF_*: Nicira's OpenFlow 1.0 fields
	classNXM1         uint16 = 0x0001 // NXM_NX_*: Nicira extension fields
	classERIC         uint16 = 0x1000 // ERICOXM_OF_*: OVS's ND reserved and options type
	classOXM          uint16 = 0x8000 // OXM_OF_*: OpenFlow basic
	classExperimenter uint16 = 0xffff
)

// ofp_match type of OpenFlow 1.2+.
const matchTypeOXM = 1

// oxmID names a field on the wire: class<<16 | field<<9, an OXM header
// without its has-mask bit and length.
type oxmID uint32

func mkID(class uint16, field uint8) oxmID { return oxmID(uint32(class)<<16 | uint32(field)<<9) }

// header is the TLV header for a value of n bytes (2n with a mask).
func (id oxmID) header(masked bool, n int) uint32 {
	if masked {
		return uint32(id) | 1<<8 | uint32(2*n)
	}
	return uint32(id) | uint32(n)
}

// Headers of the fields this codec knows, by name as in OVS's meta-flow.h.
var (
	oxmInPort     = mkID(classOXM, 0)
	oxmEthDst     = mkID(classOXM, 3)
	oxmEthSrc     = mkID(classOXM, 4)
	oxmEthType    = mkID(classOXM, 5)
	oxmIPProto    = mkID(classOXM, 10)
	oxmIPv4Src    = mkID(classOXM, 11)
	oxmIPv4Dst    = mkID(classOXM, 12)
	oxmTCPSrc     = mkID(classOXM, 13)
	oxmTCPDst     = mkID(classOXM, 14)
	oxmUDPSrc     = mkID(classOXM, 15)
	oxmUDPDst     = mkID(classOXM, 16)
	oxmARPOp      = mkID(classOXM, 21)
	oxmARPSPA     = mkID(classOXM, 22)
	oxmARPTPA     = mkID(classOXM, 23)
	oxmARPSHA     = mkID(classOXM, 24)
	oxmARPTHA     = mkID(classOXM, 25)
	oxmIPv6Src    = mkID(classOXM, 26)
	oxmIPv6Dst    = mkID(classOXM, 27)
	oxmICMPv6Type = mkID(classOXM, 29)
	oxmNDTarget   = mkID(classOXM, 31)
	oxmNDSLL      = mkID(classOXM, 32)
	oxmTunnelID   = mkID(classOXM, 38)

	nxmInPort     = mkID(classNXM0, 0) // 16 bits
	nxmEthDst     = mkID(classNXM0, 1)
	nxmEthSrc     = mkID(classNXM0, 2)
	nxmEthType    = mkID(classNXM0, 3)
	nxmIPProto    = mkID(classNXM0, 6)
	nxmIPSrc      = mkID(classNXM0, 7)
	nxmIPDst      = mkID(classNXM0, 8)
	nxmTCPSrc     = mkID(classNXM0, 9)
	nxmTCPDst     = mkID(classNXM0, 10)
	nxmUDPSrc     = mkID(classNXM0, 11)
	nxmUDPDst     = mkID(classNXM0, 12)
	nxmARPOp      = mkID(classNXM0, 15)
	nxmARPSPA     = mkID(classNXM0, 16)
	nxmARPTPA     = mkID(classNXM0, 17)
	nxmReg0       = mkID(classNXM1, 0)
	nxmTunID      = mkID(classNXM1, 16)
	nxmARPSHA     = mkID(classNXM1, 17)
	nxmARPTHA     = mkID(classNXM1, 18)
	nxmIPv6Src    = mkID(classNXM1, 19)
	nxmIPv6Dst    = mkID(classNXM1, 20)
	nxmICMPv6Type = mkID(classNXM1, 21)
	nxmNDTarget   = mkID(classNXM1, 23)
	nxmNDSLL      = mkID(classNXM1, 24)
	nxmTunSrc     = mkID(classNXM1, 31)
	nxmTunDst     = mkID(classNXM1, 32)
	nxmCTState    = mkID(classNXM1, 105)
	nxmCTMark     = mkID(classNXM1, 107)

	ericNDReserved    = mkID(classERIC, 1)
	ericNDOptionsType = mkID(classERIC, 2)
)

// Ranks of the two prerequisite fields: a field of higher rank depends on
// them, so they are emitted before it.
const (
	rankEthType = 3
	rankIPProto = 8
)

// fieldWire is how one flows.FieldID is encoded.
type fieldWire struct {
	// oxm is the header in matches and set_field (OpenFlow 1.4 prefers
	// OXM_OF_* where it exists, as OVS does); 0 for the transport ports,
	// whose header depends on the IP protocol.
	oxm oxmID
	// nxm is the header in NXAST_REG_MOVE (OVS uses NXM names there); 0
	// when the field has no NXM header.
	nxm oxmID
	n   int
	// rank orders a match's fields the way OVS does (nx_put_raw), which
	// also puts every prerequisite before the fields that need it.
	rank uint8
}

var wireFields = func() (w [256]fieldWire) {
	set := func(f flows.FieldID, oxm, nxm oxmID, rank uint8) {
		w[f] = fieldWire{oxm: oxm, nxm: nxm, n: flows.Fields[f].Bytes, rank: rank}
	}
	set(flows.FieldInPort, oxmInPort, 0, 0)
	set(flows.FieldEthSrc, oxmEthSrc, nxmEthSrc, 1)
	set(flows.FieldEthDst, oxmEthDst, nxmEthDst, 2)
	set(flows.FieldIPv4Src, oxmIPv4Src, nxmIPSrc, 4)
	set(flows.FieldIPv4Dst, oxmIPv4Dst, nxmIPDst, 5)
	set(flows.FieldIPv6Src, oxmIPv6Src, nxmIPv6Src, 6)
	set(flows.FieldIPv6Dst, oxmIPv6Dst, nxmIPv6Dst, 7)
	set(flows.FieldTPSrc, 0, 0, 9)
	set(flows.FieldTPDst, 0, 0, 10)
	set(flows.FieldICMPv6Type, oxmICMPv6Type, nxmICMPv6Type, 11)
	set(flows.FieldNDReserved, ericNDReserved, 0, 12)
	set(flows.FieldNDTarget, oxmNDTarget, nxmNDTarget, 13)
	set(flows.FieldNDOptionsType, ericNDOptionsType, 0, 14)
	set(flows.FieldNDSLL, oxmNDSLL, nxmNDSLL, 15)
	set(flows.FieldARPOp, oxmARPOp, nxmARPOp, 16)
	set(flows.FieldARPSPA, oxmARPSPA, nxmARPSPA, 17)
	set(flows.FieldARPTPA, oxmARPTPA, nxmARPTPA, 18)
	set(flows.FieldARPSHA, oxmARPSHA, nxmARPSHA, 19)
	set(flows.FieldARPTHA, oxmARPTHA, nxmARPTHA, 20)
	set(flows.FieldTunID, oxmTunnelID, nxmTunID, 21)
	set(flows.FieldTunSrc, nxmTunSrc, nxmTunSrc, 22)
	set(flows.FieldTunDst, nxmTunDst, nxmTunDst, 23)
	set(flows.FieldReg0, nxmReg0, nxmReg0, 24)
	set(flows.FieldCTState, nxmCTState, nxmCTState, 25)
	set(flows.FieldCTMark, nxmCTMark, nxmCTMark, 26)
	return w
}()

// IP protocol numbers.
const (
	ipProtoTCP    = 6
	ipProtoUDP    = 17
	ipProtoICMPv6 = 58
)

// Ethernet types.
const (
	ethTypeIPv4 = 0x0800
	ethTypeARP  = 0x0806
	ethTypeIPv6 = 0x86dd
)

// fieldID is the header of field f in a match or set_field of a flow whose
// IP protocol is ipProto (0 for none).
func fieldID(f flows.FieldID, ipProto uint8) (oxmID, fieldWire, error) {
	w := wireFields[f]
	if w.n == 0 {
		return 0, w, unsupported("field %d", f)
	}
	if w.oxm != 0 {
		return w.oxm, w, nil
	}
	tcp, udp := ipProto == ipProtoTCP, ipProto == ipProtoUDP
	switch {
	case f == flows.FieldTPSrc && tcp:
		return oxmTCPSrc, w, nil
	case f == flows.FieldTPSrc && udp:
		return oxmUDPSrc, w, nil
	case f == flows.FieldTPDst && tcp:
		return oxmTCPDst, w, nil
	case f == flows.FieldTPDst && udp:
		return oxmUDPDst, w, nil
	}
	return 0, w, unsupported("%s needs protocol tcp or udp", flows.Fields[f].Name)
}

// decodeKind says what a known header decodes into.
type decodeKind uint8

const (
	kindField decodeKind = iota
	kindEthType
	kindIPProto
	kindInPort16 // NXM_OF_IN_PORT: an OpenFlow 1.0 port number
)

type fieldDecode struct {
	kind decodeKind
	id   flows.FieldID
	n    int
	// ipProto is the IP protocol the field implies (transport ports).
	ipProto uint8
}

var decodeFields = func() map[oxmID]fieldDecode {
	m := map[oxmID]fieldDecode{
		oxmEthType: {kind: kindEthType, n: 2}, nxmEthType: {kind: kindEthType, n: 2},
		oxmIPProto: {kind: kindIPProto, n: 1}, nxmIPProto: {kind: kindIPProto, n: 1},
		nxmInPort: {kind: kindInPort16, id: flows.FieldInPort, n: 2},
	}
	for f, w := range wireFields {
		for _, id := range []oxmID{w.oxm, w.nxm} {
			if w.n != 0 && id != 0 {
				m[id] = fieldDecode{id: flows.FieldID(f), n: w.n}
			}
		}
	}
	ports := []struct {
		ids   []oxmID
		f     flows.FieldID
		proto uint8
	}{
		{[]oxmID{oxmTCPSrc, nxmTCPSrc}, flows.FieldTPSrc, ipProtoTCP},
		{[]oxmID{oxmTCPDst, nxmTCPDst}, flows.FieldTPDst, ipProtoTCP},
		{[]oxmID{oxmUDPSrc, nxmUDPSrc}, flows.FieldTPSrc, ipProtoUDP},
		{[]oxmID{oxmUDPDst, nxmUDPDst}, flows.FieldTPDst, ipProtoUDP},
	}
	for _, p := range ports {
		for _, id := range p.ids {
			m[id] = fieldDecode{id: p.f, n: 2, ipProto: p.proto}
		}
	}
	return m
}()

// prereq is what a flows protocol keyword stands for.
type prereq struct {
	ethType uint16
	ipProto uint8
}

// The protocols the pipeline uses, and no others.
var protocolPrereqs = map[ovs.Protocol]prereq{
	"":                 {},
	ovs.ProtocolARP:    {ethType: ethTypeARP},
	ovs.ProtocolIPv4:   {ethType: ethTypeIPv4},
	ovs.ProtocolIPv6:   {ethType: ethTypeIPv6},
	ovs.ProtocolICMPv6: {ethType: ethTypeIPv6, ipProto: ipProtoICMPv6},
	ovs.ProtocolUDPv4:  {ethType: ethTypeIPv4, ipProto: ipProtoUDP},
	ovs.ProtocolUDPv6:  {ethType: ethTypeIPv6, ipProto: ipProtoUDP},
	ovs.ProtocolTCPv4:  {ethType: ethTypeIPv4, ipProto: ipProtoTCP},
}

var protocolByPrereq = func() map[prereq]ovs.Protocol {
	m := map[prereq]ovs.Protocol{}
	for p, pre := range protocolPrereqs {
		m[pre] = p
	}
	return m
}()

func protocolPrereq(p ovs.Protocol) (prereq, error) {
	pre, ok := protocolPrereqs[p]
	if !ok {
		return pre, unsupported("protocol %q", p)
	}
	return pre, nil
}

// appendMatch appends an OXM ofp_match (padded to 8 bytes) for a flow's
// protocol and match fields.
func appendMatch(b []byte, proto ovs.Protocol, ms []flows.Match) ([]byte, error) {
	pre, err := protocolPrereq(proto)
	if err != nil {
		return b, err
	}
	var orderBuf [32]int
	order := orderBuf[:0]
	if len(ms) > len(orderBuf) {
		order = make([]int, 0, len(ms))
	}
	var seen [256 / 64]uint64
	for i, m := range ms {
		if wireFields[m.Field].n == 0 {
			return b, unsupported("match field %d", m.Field)
		}
		if seen[m.Field/64]&(1<<(m.Field%64)) != 0 {
			return b, malformed("field %s matched twice", flows.Fields[m.Field].Name)
		}
		seen[m.Field/64] |= 1 << (m.Field % 64)
		order = append(order, i) // insertion sort by rank: no allocation
		for j := len(order) - 1; j > 0 && wireFields[ms[order[j-1]].Field].rank > wireFields[ms[order[j]].Field].rank; j-- {
			order[j-1], order[j] = order[j], order[j-1]
		}
	}
	start := len(b)
	b = append(b, 0, matchTypeOXM, 0, 0)
	needEth, needProto := pre.ethType != 0, pre.ipProto != 0
	prereqs := func(rank uint8) {
		if needEth && rank > rankEthType {
			b = binary.BigEndian.AppendUint32(b, oxmEthType.header(false, 2))
			b = binary.BigEndian.AppendUint16(b, pre.ethType)
			needEth = false
		}
		if needProto && rank > rankIPProto {
			b = binary.BigEndian.AppendUint32(b, oxmIPProto.header(false, 1))
			b = append(b, pre.ipProto)
			needProto = false
		}
	}
	for _, i := range order {
		m := ms[i]
		id, w, err := fieldID(m.Field, pre.ipProto)
		if err != nil {
			return b[:start], err
		}
		prereqs(w.rank)
		if b, err = appendTLV(b, id, w.n, m.Value, m.Mask); err != nil {
			return b[:start], err
		}
	}
	prereqs(255)
	n := len(b) - start
	binary.BigEndian.PutUint16(b[start+2:], uint16(n))
	return appendZeros(b, pad8(n)-n), nil
}

// appendTLV appends one OXM TLV: header, value and, when set, mask.
func appendTLV(b []byte, id oxmID, n int, value, mask []byte) ([]byte, error) {
	if len(value) != n || (mask != nil && len(mask) != n) {
		return b, malformed("field 0x%08x: value of %d bytes, mask of %d, want %d", uint32(id), len(value), len(mask), n)
	}
	b = binary.BigEndian.AppendUint32(b, id.header(mask != nil, n))
	b = append(b, value...)
	return append(b, mask...), nil
}

// tlv is one decoded OXM TLV.
type tlv struct {
	id          oxmID
	value, mask []byte // sub-slices of the message
}

// parseTLV reads the TLV at the start of b and returns it with its length.
func parseTLV(b []byte) (tlv, int, error) {
	if len(b) < 4 {
		return tlv{}, 0, malformed("OXM header in %d bytes", len(b))
	}
	h := binary.BigEndian.Uint32(b)
	n := int(h & 0xff)
	if 4+n > len(b) {
		return tlv{}, 0, malformed("OXM 0x%08x of %d bytes in %d", h, n, len(b)-4)
	}
	if uint16(h>>16) == classExperimenter {
		return tlv{}, 4 + n, unsupported("experimenter OXM 0x%08x", h)
	}
	t := tlv{id: oxmID(h &^ 0x1ff), value: b[4 : 4+n]}
	if h&0x100 != 0 {
		if n%2 != 0 {
			return tlv{}, 4 + n, malformed("masked OXM 0x%08x of odd length %d", h, n)
		}
		t.value, t.mask = b[4:4+n/2], b[4+n/2:4+n]
	}
	return t, 4 + n, nil
}

// decodeMatch decodes the ofp_match at the start of b. size is the number
// of bytes it takes (with padding) whenever its own header is sound, even
// when err reports an unknown field inside it.
func decodeMatch(b []byte) (proto ovs.Protocol, ms []flows.Match, size int, err error) {
	if len(b) < 4 {
		return "", nil, 0, malformed("ofp_match header in %d bytes", len(b))
	}
	typ, n := binary.BigEndian.Uint16(b), int(binary.BigEndian.Uint16(b[2:]))
	if n < 4 || pad8(n) > len(b) {
		return "", nil, 0, malformed("ofp_match of length %d in %d bytes", n, len(b))
	}
	size = pad8(n)
	if typ != matchTypeOXM {
		return "", nil, size, unsupported("ofp_match type %d", typ)
	}
	var pre prereq
	var hasEth, hasProto bool
	var portProto uint8
	for body := b[4:n]; len(body) > 0; {
		t, l, err := parseTLV(body)
		if err != nil {
			return "", nil, size, err
		}
		body = body[l:]
		d, ok := decodeFields[t.id]
		if !ok {
			return "", nil, size, unsupported("match field 0x%08x", uint32(t.id))
		}
		if len(t.value) != d.n {
			return "", nil, size, malformed("match field 0x%08x of %d bytes, want %d", uint32(t.id), len(t.value), d.n)
		}
		switch d.kind {
		case kindEthType, kindIPProto:
			if t.mask != nil {
				return "", nil, size, unsupported("masked eth_type or ip_proto")
			}
			if d.kind == kindEthType {
				pre.ethType, hasEth = binary.BigEndian.Uint16(t.value), true
			} else {
				pre.ipProto, hasProto = t.value[0], true
			}
			continue
		case kindInPort16:
			if t.mask != nil {
				return "", nil, size, unsupported("masked in_port")
			}
			p := binary.BigEndian.Uint16(t.value)
			if p >= 0xff00 {
				return "", nil, size, unsupported("in_port on reserved port 0x%x", p)
			}
			ms = append(ms, flows.Match{Field: d.id, Value: []byte{0, 0, t.value[0], t.value[1]}})
			continue
		}
		if d.id == flows.FieldInPort && binary.BigEndian.Uint32(t.value) >= portMax {
			return "", nil, size, unsupported("in_port on reserved port 0x%x", binary.BigEndian.Uint32(t.value))
		}
		if d.ipProto != 0 {
			if portProto != 0 && portProto != d.ipProto {
				return "", nil, size, malformed("both TCP and UDP ports matched")
			}
			portProto = d.ipProto
		}
		m := flows.Match{Field: d.id, Value: bytes.Clone(t.value)}
		if t.mask != nil {
			m.Mask = bytes.Clone(t.mask)
		}
		ms = append(ms, m)
	}
	if hasProto && !hasEth {
		return "", nil, size, malformed("ip_proto without eth_type")
	}
	if portProto != 0 && pre.ipProto != portProto {
		return "", nil, size, malformed("transport port of IP protocol %d in a flow of protocol %d", portProto, pre.ipProto)
	}
	proto, ok := protocolByPrereq[pre]
	if !ok || (hasProto && pre.ipProto == 0) {
		return "", nil, size, unsupported("protocol eth_type=0x%04x ip_proto=%d", pre.ethType, pre.ipProto)
	}
	return proto, ms, size, nil
}
