package openflow

import (
	"bytes"
	"encoding/binary"
	"net/netip"
	"strconv"

	"github.com/digitalocean/go-openvswitch/ovs"

	"github.com/ovsnet/ovsnet/flows"
)

// Ports (OpenFlow 1.1+ numbering).
const (
	// portMax is OFPP_MAX: numbers from here on are reserved ports.
	portMax uint32 = 0xffffff00
	// PortInPort is OFPP_IN_PORT, "the port the packet came in on".
	PortInPort uint32 = 0xfffffff8
	// PortAny is OFPP_ANY: no restriction on the output port.
	PortAny uint32 = 0xffffffff
	// GroupAny is OFPG_ANY: no restriction on the output group.
	GroupAny uint32 = 0xffffffff
	// TableAll is OFPTT_ALL: every table.
	TableAll uint8 = 0xff
	// noBuffer is OFP_NO_BUFFER.
	noBuffer uint32 = 0xffffffff
)

// Instruction types.
const (
	instrGotoTable    = 1
	instrApplyActions = 4
)

// Action types and Nicira subtypes.
const (
	actOutput       = 0
	actSetField     = 25
	actExperimenter = 0xffff

	nxastRegMove = 6
	nxastRegLoad = 7
	nxastCT      = 35
	nxastNAT     = 36
)

// NXAST_CT and NXAST_NAT flags and range bits.
const (
	ctFlagCommit    = 1 << 0
	ctRecircNone    = 0xff
	natFlagSrc      = 1 << 0
	natFlagDst      = 1 << 1
	natRangeIPv4Min = 1 << 0
	natRangeIPv4Max = 1 << 1
	natRangeIPv6Min = 1 << 2
	natRangeIPv6Max = 1 << 3
	natRangePortMin = 1 << 4
	natRangePortMax = 1 << 5
)

// appendInstructions appends a flow's instructions: APPLY_ACTIONS with
// every action but GotoTable, then GOTO_TABLE. A flow whose only action is
// Drop has none.
func appendInstructions(b []byte, proto ovs.Protocol, acts []flows.Action) ([]byte, error) {
	if len(acts) == 0 {
		return b, malformed("flow without actions (use flows.Drop)")
	}
	if len(acts) == 1 {
		if _, ok := acts[0].(flows.Drop); ok {
			return b, nil
		}
	}
	pre, err := protocolPrereq(proto)
	if err != nil {
		return b, err
	}
	apply := acts
	var gotoTable *flows.GotoTable
	if g, ok := acts[len(acts)-1].(flows.GotoTable); ok {
		apply, gotoTable = acts[:len(acts)-1], &g
	}
	start := len(b)
	if len(apply) > 0 {
		b = append(b, 0, instrApplyActions, 0, 0, 0, 0, 0, 0)
		for _, a := range apply {
			if b, err = appendAction(b, pre.ipProto, a); err != nil {
				return b[:start], err
			}
		}
		binary.BigEndian.PutUint16(b[start+2:], uint16(len(b)-start))
	}
	if gotoTable != nil {
		b = append(b, 0, instrGotoTable, 0, 8, gotoTable.Table.ID, 0, 0, 0)
	}
	return b, nil
}

// appendAction appends one action of an APPLY_ACTIONS instruction.
func appendAction(b []byte, ipProto uint8, a flows.Action) ([]byte, error) {
	switch a := a.(type) {
	case flows.Output:
		if a.Port >= portMax {
			return b, unsupported("output to reserved port 0x%x", a.Port)
		}
		return appendOutput(b, a.Port), nil
	case flows.OutputInPort:
		return appendOutput(b, PortInPort), nil
	case flows.SetField:
		id, w, err := fieldID(a.Field, ipProto)
		if err != nil {
			return b, err
		}
		return appendSetField(b, id, w.n, a.Value)
	case flows.Move:
		return appendMove(b, a)
	case flows.CT:
		return appendCT(b, a)
	case flows.Drop:
		return b, malformed("drop must be a flow's only action")
	case flows.GotoTable:
		return b, malformed("goto_table must be a flow's last action")
	}
	return b, unsupported("action %T", a)
}

func appendOutput(b []byte, port uint32) []byte {
	b = append(b, 0, actOutput, 0, 16)
	b = binary.BigEndian.AppendUint32(b, port)
	return append(b, 0, 0, 0, 0, 0, 0, 0, 0) // max_len 0, pad
}

// appendSetField appends OFPAT_SET_FIELD: an OXM TLV padded to 8 bytes.
func appendSetField(b []byte, id oxmID, n int, value []byte) ([]byte, error) {
	start := len(b)
	b = append(b, 0, actSetField, 0, 0)
	b, err := appendTLV(b, id, n, value, nil)
	if err != nil {
		return b[:start], err
	}
	return finishAction(b, start), nil
}

// finishAction pads the action started at start to 8 bytes and sets its
// length.
func finishAction(b []byte, start int) []byte {
	n := len(b) - start
	b = appendZeros(b, pad8(n)-n)
	binary.BigEndian.PutUint16(b[start+2:], uint16(len(b)-start))
	return b
}

// appendNXHeader starts a Nicira extension action of subtype.
func appendNXHeader(b []byte, subtype uint16) []byte {
	b = append(b, 0xff, 0xff, 0, 0)
	b = binary.BigEndian.AppendUint32(b, NiciraExperimenter)
	return binary.BigEndian.AppendUint16(b, subtype)
}

// appendMove appends NXAST_REG_MOVE of a whole field, with NXM headers as
// OVS encodes it.
func appendMove(b []byte, m flows.Move) ([]byte, error) {
	src, dst := wireFields[m.Src], wireFields[m.Dst]
	if src.nxm == 0 || dst.nxm == 0 || src.n != dst.n {
		return b, unsupported("move of field %d to field %d", m.Src, m.Dst)
	}
	start := len(b)
	b = appendNXHeader(b, nxastRegMove)
	b = binary.BigEndian.AppendUint16(b, uint16(src.n*8)) // n_bits
	b = append(b, 0, 0, 0, 0)                             // src_ofs, dst_ofs
	b = binary.BigEndian.AppendUint32(b, src.nxm.header(false, src.n))
	b = binary.BigEndian.AppendUint32(b, dst.nxm.header(false, dst.n))
	return finishAction(b, start), nil
}

// appendCT appends NXAST_CT with its nested NXAST_NAT and
// set_field(ct_mark), in the order OVS prints them.
func appendCT(b []byte, ct flows.CT) ([]byte, error) {
	start := len(b)
	b = appendNXHeader(b, nxastCT)
	var flags uint16
	if ct.Commit {
		flags |= ctFlagCommit
	}
	b = binary.BigEndian.AppendUint16(b, flags)
	b = append(b, 0, 0, 0, 0) // zone_src: the zone is immediate
	b = binary.BigEndian.AppendUint16(b, ct.Zone)
	table := uint8(ctRecircNone)
	if ct.Table != nil {
		if ct.Table.ID == ctRecircNone {
			return b[:start], malformed("ct table %d", ct.Table.ID)
		}
		table = ct.Table.ID
	}
	b = append(b, table, 0, 0, 0, 0, 0) // recirc_table, pad, alg 0
	if ct.NAT != nil {
		var err error
		if b, err = appendNAT(b, *ct.NAT); err != nil {
			return b[:start], err
		}
	}
	if ct.Mark != 0 {
		var mark [4]byte
		binary.BigEndian.PutUint32(mark[:], ct.Mark)
		b, _ = appendSetField(b, nxmCTMark, 4, mark[:]) // cannot fail: 4 bytes
	}
	binary.BigEndian.PutUint16(b[start+2:], uint16(len(b)-start))
	return b, nil
}

func appendNAT(b []byte, nat flows.NAT) ([]byte, error) {
	start := len(b)
	b = appendNXHeader(b, nxastNAT)
	b = append(b, 0, 0) // pad
	var flags, ranges uint16
	switch nat.Kind {
	case flows.NATUndo:
		if nat.Addr.IsValid() || nat.Port != 0 {
			return b[:start], malformed("plain nat with an address")
		}
	case flows.NATSource, flows.NATDest:
		if !nat.Addr.IsValid() {
			return b[:start], malformed("nat without an address")
		}
		if nat.Kind == flows.NATSource && nat.Port != 0 {
			return b[:start], unsupported("source nat with a port")
		}
		flags = natFlagSrc
		if nat.Kind == flows.NATDest {
			flags = natFlagDst
		}
		ranges = natRangeIPv4Min
		if nat.Addr.Is6() {
			ranges = natRangeIPv6Min
		}
		if nat.Port != 0 {
			ranges |= natRangePortMin
		}
	default:
		return b[:start], unsupported("nat kind %d", nat.Kind)
	}
	b = binary.BigEndian.AppendUint16(b, flags)
	b = binary.BigEndian.AppendUint16(b, ranges)
	if nat.Addr.IsValid() {
		b = append(b, nat.Addr.AsSlice()...)
	}
	if nat.Port != 0 {
		b = binary.BigEndian.AppendUint16(b, nat.Port)
	}
	return finishAction(b, start), nil
}

// table turns a table number into the pipeline's Table, or a bare one
// named by its number.
func table(id uint8) flows.Table {
	if t, ok := flows.TableByID(int(id)); ok {
		return t
	}
	return flows.Table{ID: id, Name: strconv.Itoa(int(id))}
}

// decodeInstructions decodes a flow's instruction list back into actions.
func decodeInstructions(b []byte, proto ovs.Protocol) ([]flows.Action, error) {
	pre, err := protocolPrereq(proto)
	if err != nil {
		return nil, err
	}
	var acts []flows.Action
	var gotoTable *flows.GotoTable
	var sawApply bool
	for len(b) > 0 {
		if len(b) < 8 {
			return nil, malformed("instruction in %d bytes", len(b))
		}
		typ, n := binary.BigEndian.Uint16(b), int(binary.BigEndian.Uint16(b[2:]))
		if n < 8 || n%8 != 0 || n > len(b) {
			return nil, malformed("instruction %d of length %d in %d bytes", typ, n, len(b))
		}
		switch typ {
		case instrApplyActions:
			if sawApply {
				return nil, malformed("two APPLY_ACTIONS instructions")
			}
			sawApply = true
			if acts, err = decodeActions(b[8:n], pre.ipProto, false); err != nil {
				return nil, err
			}
		case instrGotoTable:
			if gotoTable != nil {
				return nil, malformed("two GOTO_TABLE instructions")
			}
			gotoTable = &flows.GotoTable{Table: table(b[4])}
		default:
			return nil, unsupported("instruction type %d", typ)
		}
		b = b[n:]
	}
	if gotoTable != nil {
		acts = append(acts, *gotoTable)
	}
	if len(acts) == 0 {
		acts = []flows.Action{flows.Drop{}}
	}
	return acts, nil
}

// decodeActions decodes an action list. inCT allows only what the ct
// action nests (NAT and set_field of ct_mark), returned as a one-element
// list holding a partial CT.
func decodeActions(b []byte, ipProto uint8, inCT bool) ([]flows.Action, error) {
	var acts []flows.Action
	var ct flows.CT
	for len(b) > 0 {
		if len(b) < 8 {
			return nil, malformed("action in %d bytes", len(b))
		}
		typ, n := binary.BigEndian.Uint16(b), int(binary.BigEndian.Uint16(b[2:]))
		if n < 8 || n%8 != 0 || n > len(b) {
			return nil, malformed("action %d of length %d in %d bytes", typ, n, len(b))
		}
		a, err := decodeAction(b[:n], ipProto)
		if err != nil {
			return nil, err
		}
		b = b[n:]
		if !inCT {
			fa, ok := a.(flows.Action)
			if !ok {
				return nil, unsupported("nat outside ct")
			}
			acts = append(acts, fa)
			continue
		}
		switch a := a.(type) {
		case flows.NAT:
			if ct.NAT != nil {
				return nil, unsupported("two nat actions in ct")
			}
			ct.NAT = &a
		case flows.SetField:
			if a.Field != flows.FieldCTMark || ct.Mark != 0 {
				return nil, unsupported("set_field of %s in ct", flows.Fields[a.Field].Name)
			}
			if ct.Mark = binary.BigEndian.Uint32(a.Value); ct.Mark == 0 {
				return nil, unsupported("ct_mark set to 0 in ct")
			}
		default:
			return nil, unsupported("action %T in ct", a)
		}
	}
	if inCT {
		return []flows.Action{ct}, nil
	}
	return acts, nil
}

// decodeAction decodes one action of exactly its length. It returns a
// flows.NAT (only valid inside ct) for NXAST_NAT.
func decodeAction(a []byte, ipProto uint8) (any, error) {
	typ := binary.BigEndian.Uint16(a)
	switch typ {
	case actOutput:
		if len(a) != 16 {
			return nil, malformed("OUTPUT of length %d", len(a))
		}
		port := binary.BigEndian.Uint32(a[4:])
		switch {
		case port == PortInPort:
			return flows.OutputInPort{}, nil
		case port >= portMax:
			return nil, unsupported("output to reserved port 0x%x", port)
		}
		return flows.Output{Port: port}, nil
	case actSetField:
		t, _, err := parseTLV(a[4:])
		if err != nil {
			return nil, err
		}
		if t.mask != nil {
			return nil, unsupported("masked set_field")
		}
		f, value, err := wholeField(t.id, t.value, ipProto)
		if err != nil {
			return nil, err
		}
		return flows.SetField{Field: f, Value: value}, nil
	case actExperimenter:
		if len(a) < 16 {
			return nil, malformed("experimenter action of length %d", len(a))
		}
		if v := binary.BigEndian.Uint32(a[4:]); v != NiciraExperimenter {
			return nil, unsupported("action of experimenter 0x%08x", v)
		}
		switch sub := binary.BigEndian.Uint16(a[8:]); sub {
		case nxastRegMove:
			return decodeMove(a, ipProto)
		case nxastRegLoad:
			return decodeLoad(a, ipProto)
		case nxastCT:
			return decodeCT(a, ipProto)
		case nxastNAT:
			return decodeNAT(a)
		default:
			return nil, unsupported("Nicira action subtype %d", sub)
		}
	}
	return nil, unsupported("action type %d", typ)
}

// wholeField maps a decoded TLV's header and value to a field of flows.
func wholeField(id oxmID, value []byte, ipProto uint8) (flows.FieldID, []byte, error) {
	d, ok := decodeFields[id]
	if !ok || d.kind != kindField {
		return 0, nil, unsupported("field 0x%08x", uint32(id))
	}
	if len(value) != d.n {
		return 0, nil, malformed("field 0x%08x of %d bytes, want %d", uint32(id), len(value), d.n)
	}
	if d.ipProto != 0 && d.ipProto != ipProto {
		return 0, nil, unsupported("transport field of IP protocol %d in a flow of protocol %d", d.ipProto, ipProto)
	}
	return d.id, bytes.Clone(value), nil
}

func decodeMove(a []byte, ipProto uint8) (flows.Action, error) {
	if len(a) != 24 {
		return nil, unsupported("NXAST_REG_MOVE of length %d", len(a))
	}
	nBits, srcOfs, dstOfs := binary.BigEndian.Uint16(a[10:]), binary.BigEndian.Uint16(a[12:]), binary.BigEndian.Uint16(a[14:])
	src, dst := binary.BigEndian.Uint32(a[16:]), binary.BigEndian.Uint32(a[20:])
	s, okS := decodeFields[oxmID(src&^0x1ff)]
	d, okD := decodeFields[oxmID(dst&^0x1ff)]
	if !okS || !okD || s.kind != kindField || d.kind != kindField || srcOfs != 0 || dstOfs != 0 ||
		int(nBits) != s.n*8 || s.n != d.n || (s.ipProto != 0 && s.ipProto != ipProto) || (d.ipProto != 0 && d.ipProto != ipProto) {
		return nil, unsupported("move of 0x%08x[%d..] to 0x%08x[%d..], %d bits", src, srcOfs, dst, dstOfs, nBits)
	}
	return flows.Move{Src: s.id, Dst: d.id}, nil
}

// decodeLoad reads NXAST_REG_LOAD of a whole field as the set_field it is.
func decodeLoad(a []byte, ipProto uint8) (flows.Action, error) {
	if len(a) != 24 {
		return nil, malformed("NXAST_REG_LOAD of length %d", len(a))
	}
	ofsNBits, dst := binary.BigEndian.Uint16(a[10:]), binary.BigEndian.Uint32(a[12:])
	d, ok := decodeFields[oxmID(dst&^0x1ff)]
	if !ok || d.kind != kindField || ofsNBits>>6 != 0 || int(ofsNBits&0x3f)+1 != d.n*8 {
		return nil, unsupported("load into 0x%08x, ofs_nbits 0x%x", dst, ofsNBits)
	}
	f, value, err := wholeField(oxmID(dst&^0x1ff), a[24-d.n:24], ipProto)
	if err != nil {
		return nil, err
	}
	return flows.SetField{Field: f, Value: value}, nil
}

func decodeCT(a []byte, ipProto uint8) (flows.Action, error) {
	if len(a) < 24 {
		return nil, malformed("NXAST_CT of length %d", len(a))
	}
	flags, zoneSrc := binary.BigEndian.Uint16(a[10:]), binary.BigEndian.Uint32(a[12:])
	zone, recirc, alg := binary.BigEndian.Uint16(a[16:]), a[18], binary.BigEndian.Uint16(a[22:])
	if flags&^ctFlagCommit != 0 || zoneSrc != 0 || alg != 0 {
		return nil, unsupported("ct with flags 0x%x, zone from 0x%08x, alg %d", flags, zoneSrc, alg)
	}
	nested, err := decodeActions(a[24:], ipProto, true)
	if err != nil {
		return nil, err
	}
	ct := nested[0].(flows.CT)
	ct.Commit, ct.Zone = flags&ctFlagCommit != 0, zone
	if recirc != ctRecircNone {
		t := table(recirc)
		ct.Table = &t
	}
	return ct, nil
}

func decodeNAT(a []byte) (flows.NAT, error) {
	flags, ranges := binary.BigEndian.Uint16(a[12:]), binary.BigEndian.Uint16(a[14:])
	opts := a[16:]
	take := func(n int) ([]byte, bool) {
		if len(opts) < n {
			return nil, false
		}
		v := opts[:n]
		opts = opts[n:]
		return v, true
	}
	var nat flows.NAT
	switch flags {
	case 0:
		if ranges != 0 {
			return nat, unsupported("plain nat with ranges 0x%x", ranges)
		}
		return flows.NAT{Kind: flows.NATUndo}, nil
	case natFlagSrc:
		nat.Kind = flows.NATSource
	case natFlagDst:
		nat.Kind = flows.NATDest
	default:
		return nat, unsupported("nat flags 0x%x", flags)
	}
	addrBits, maxBit, size := uint16(natRangeIPv4Min), uint16(natRangeIPv4Max), 4
	if ranges&(natRangeIPv6Min|natRangeIPv6Max) != 0 {
		addrBits, maxBit, size = natRangeIPv6Min, natRangeIPv6Max, 16
	}
	if ranges&^(addrBits|maxBit|natRangePortMin|natRangePortMax) != 0 || ranges&addrBits == 0 {
		return nat, unsupported("nat ranges 0x%x", ranges)
	}
	lo, ok := take(size)
	if !ok {
		return nat, malformed("nat address cut short")
	}
	nat.Addr, _ = netip.AddrFromSlice(lo)
	if ranges&maxBit != 0 {
		hi, ok := take(size)
		if !ok || !bytes.Equal(hi, lo) {
			return nat, unsupported("nat address range")
		}
	}
	if ranges&natRangePortMin != 0 {
		p, ok := take(2)
		if !ok {
			return nat, malformed("nat port cut short")
		}
		nat.Port = binary.BigEndian.Uint16(p)
		if ranges&natRangePortMax != 0 {
			q, ok := take(2)
			if !ok || binary.BigEndian.Uint16(q) != nat.Port {
				return nat, unsupported("nat port range")
			}
		}
	} else if ranges&natRangePortMax != 0 {
		return nat, malformed("nat port max without min")
	}
	if nat.Kind == flows.NATSource && nat.Port != 0 {
		return nat, unsupported("source nat with a port")
	}
	return nat, nil
}
