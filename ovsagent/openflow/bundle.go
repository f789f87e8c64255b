package openflow

import (
	"encoding/binary"
	"strconv"
)

// BundleCtrlType is the type of a BUNDLE_CONTROL message.
type BundleCtrlType uint16

// Bundle control types: requests and their replies (request + 1).
const (
	BundleOpenRequest    BundleCtrlType = 0
	BundleOpenReply      BundleCtrlType = 1
	BundleCloseRequest   BundleCtrlType = 2
	BundleCloseReply     BundleCtrlType = 3
	BundleCommitRequest  BundleCtrlType = 4
	BundleCommitReply    BundleCtrlType = 5
	BundleDiscardRequest BundleCtrlType = 6
	BundleDiscardReply   BundleCtrlType = 7
)

var bundleCtrlNames = []string{"OPEN_REQUEST", "OPEN_REPLY", "CLOSE_REQUEST", "CLOSE_REPLY",
	"COMMIT_REQUEST", "COMMIT_REPLY", "DISCARD_REQUEST", "DISCARD_REPLY"}

// String is the type as ovs-ofctl prints it, e.g. COMMIT_REQUEST.
func (t BundleCtrlType) String() string {
	if int(t) < len(bundleCtrlNames) {
		return bundleCtrlNames[t]
	}
	return "bundle control " + strconv.Itoa(int(t))
}

// BundleFlags are a bundle's OFPBF_* flags.
type BundleFlags uint16

// Bundle flags.
const (
	// BundleAtomic applies the bundle all or nothing.
	BundleAtomic BundleFlags = 1 << 0
	// BundleOrdered applies the bundle's messages in order.
	BundleOrdered BundleFlags = 1 << 1
)

// BundleControl is a BUNDLE_CONTROL message (without properties).
type BundleControl struct {
	ID    uint32         // bundle_id, chosen by the controller
	Type  BundleCtrlType // what is asked or answered
	Flags BundleFlags    // must be the same in every message of a bundle
}

// AppendBundleControl appends a BUNDLE_CONTROL message.
func AppendBundleControl(b []byte, xid uint32, bc BundleControl) []byte {
	start := len(b)
	b = startMessage(b, TypeBundleControl, xid)
	b = binary.BigEndian.AppendUint32(b, bc.ID)
	b = binary.BigEndian.AppendUint16(b, uint16(bc.Type))
	b = binary.BigEndian.AppendUint16(b, uint16(bc.Flags))
	b, _ = finishMessage(b, start) // 16 bytes
	return b
}

// DecodeBundleControl decodes a BUNDLE_CONTROL message; properties, if
// any, are ignored.
func DecodeBundleControl(msg []byte) (BundleControl, error) {
	_, body, err := parseMessage(msg, TypeBundleControl)
	if err != nil {
		return BundleControl{}, err
	}
	if len(body) < 8 {
		return BundleControl{}, malformed("BUNDLE_CONTROL body of %d bytes", len(body))
	}
	return BundleControl{
		ID:    binary.BigEndian.Uint32(body),
		Type:  BundleCtrlType(binary.BigEndian.Uint16(body[4:])),
		Flags: BundleFlags(binary.BigEndian.Uint16(body[6:])),
	}, nil
}

// AppendBundleFlowMod appends a BUNDLE_ADD_MESSAGE carrying a FLOW_MOD
// for bundle id. The inner message has the same xid, as OVS requires;
// flags must equal the bundle's.
func AppendBundleFlowMod(b []byte, xid, id uint32, flags BundleFlags, fm FlowMod) ([]byte, error) {
	start := len(b)
	b = startMessage(b, TypeBundleAddMessage, xid)
	b = binary.BigEndian.AppendUint32(b, id)
	b = append(b, 0, 0) // pad
	b = binary.BigEndian.AppendUint16(b, uint16(flags))
	b, err := AppendFlowMod(b, xid, fm)
	if err != nil {
		return b[:start], err
	}
	return finishMessage(b, start)
}

// DecodeBundleAdd decodes a BUNDLE_ADD_MESSAGE and returns its bundle id,
// flags and the inner message (a sub-slice of msg).
func DecodeBundleAdd(msg []byte) (id uint32, flags BundleFlags, inner []byte, err error) {
	h, body, err := parseMessage(msg, TypeBundleAddMessage)
	if err != nil {
		return 0, 0, nil, err
	}
	if len(body) < 8+HeaderLen {
		return 0, 0, nil, malformed("BUNDLE_ADD_MESSAGE body of %d bytes", len(body))
	}
	id, flags = binary.BigEndian.Uint32(body), BundleFlags(binary.BigEndian.Uint16(body[6:]))
	ih, err := ParseHeader(body[8:])
	if err != nil {
		return 0, 0, nil, err
	}
	if int(ih.Length) > len(body)-8 {
		return 0, 0, nil, malformed("bundled message of %d bytes in %d", ih.Length, len(body)-8)
	}
	if ih.Xid != h.Xid {
		return 0, 0, nil, malformed("bundled message xid 0x%x differs from 0x%x", ih.Xid, h.Xid)
	}
	return id, flags, body[8 : 8+int(ih.Length)], nil
}
