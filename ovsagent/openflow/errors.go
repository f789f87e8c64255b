package openflow

import (
	"encoding/binary"
	"encoding/hex"
	"strconv"
	"strings"
)

// Error types (ofp_error_msg.type) of OpenFlow 1.4.
const (
	ErrTypeHelloFailed    uint16 = 0
	ErrTypeBadRequest     uint16 = 1
	ErrTypeBadAction      uint16 = 2
	ErrTypeBadInstruction uint16 = 3
	ErrTypeBadMatch       uint16 = 4
	ErrTypeFlowModFailed  uint16 = 5
	ErrTypeBundleFailed   uint16 = 17
	ErrTypeExperimenter   uint16 = 0xffff
)

var errorTypeNames = []string{
	"OFPET_HELLO_FAILED", "OFPET_BAD_REQUEST", "OFPET_BAD_ACTION", "OFPET_BAD_INSTRUCTION",
	"OFPET_BAD_MATCH", "OFPET_FLOW_MOD_FAILED", "OFPET_GROUP_MOD_FAILED", "OFPET_PORT_MOD_FAILED",
	"OFPET_TABLE_MOD_FAILED", "OFPET_QUEUE_OP_FAILED", "OFPET_SWITCH_CONFIG_FAILED",
	"OFPET_ROLE_REQUEST_FAILED", "OFPET_METER_MOD_FAILED", "OFPET_TABLE_FEATURES_FAILED",
	"OFPET_BAD_PROPERTY", "OFPET_ASYNC_CONFIG_FAILED", "OFPET_FLOW_MONITOR_FAILED",
	"OFPET_BUNDLE_FAILED",
}

// Experimenter IDs that appear in errors and actions.
const (
	// NiciraExperimenter is Nicira's vendor ID (NX_VENDOR_ID), used by
	// OVS's extension actions and errors.
	NiciraExperimenter uint32 = 0x00002320
)

type errorKey struct {
	typ, code uint16
	exp       uint32
}

// Error is an OFPT_ERROR message: the switch refused the message with Xid.
type Error struct {
	// Type and Code say what went wrong (ofp_error_msg). For experimenter
	// errors Type is 0xffff, Code the experimenter's error type and
	// Experimenter its vendor ID.
	Type         uint16
	Code         uint16 // see Type
	Experimenter uint32 // see Type
	// Xid is the xid of the refused message.
	Xid uint32
	// Data is the start of the refused message (OVS sends up to 64 bytes).
	Data []byte
}

// DecodeError decodes an OFPT_ERROR message.
func DecodeError(msg []byte) (*Error, error) {
	h, body, err := parseMessage(msg, TypeError)
	if err != nil {
		return nil, err
	}
	if len(body) < 4 {
		return nil, malformed("OFPT_ERROR body of %d bytes", len(body))
	}
	e := &Error{Type: binary.BigEndian.Uint16(body), Code: binary.BigEndian.Uint16(body[2:]), Xid: h.Xid}
	body = body[4:]
	if e.Type == ErrTypeExperimenter {
		if len(body) < 4 {
			return nil, malformed("experimenter OFPT_ERROR without experimenter ID")
		}
		e.Experimenter = binary.BigEndian.Uint32(body)
		body = body[4:]
	}
	e.Data = append([]byte(nil), body...)
	return e, nil
}

// AppendError appends an OFPT_ERROR refusing the message with xid (for
// tests and fakes: the agent never sends errors).
func AppendError(b []byte, xid uint32, e *Error) ([]byte, error) {
	start := len(b)
	b = startMessage(b, TypeError, xid)
	b = binary.BigEndian.AppendUint16(b, e.Type)
	b = binary.BigEndian.AppendUint16(b, e.Code)
	if e.Type == ErrTypeExperimenter {
		b = binary.BigEndian.AppendUint32(b, e.Experimenter)
	}
	b = append(b, e.Data...)
	return finishMessage(b, start)
}

// TypeName is the error type's OpenFlow name, e.g. OFPET_BAD_ACTION.
func (e *Error) TypeName() string {
	switch {
	case int(e.Type) < len(errorTypeNames):
		return errorTypeNames[e.Type]
	case e.Type == ErrTypeExperimenter:
		return "OFPET_EXPERIMENTER"
	}
	return "OFPET_" + strconv.Itoa(int(e.Type))
}

// CodeName is the error code's name as OVS spells it, e.g.
// OFPBAC_BAD_SET_TYPE, or a number when unknown.
func (e *Error) CodeName() string {
	if n, ok := errorCodeNames[errorKey{e.Type, e.Code, e.Experimenter}]; ok {
		return n
	}
	if e.Type == ErrTypeExperimenter {
		return "experimenter 0x" + strconv.FormatUint(uint64(e.Experimenter), 16) + " code " + strconv.Itoa(int(e.Code))
	}
	return "code " + strconv.Itoa(int(e.Code))
}

// Failed returns the header of the refused message, when Data holds it.
func (e *Error) Failed() (Header, bool) {
	h, err := ParseHeader(e.Data)
	return h, err == nil
}

// Error reads like "OFPET_BAD_ACTION/OFPBAC_BAD_SET_TYPE (xid 0x7, refused
// OFPT_FLOW_MOD: 050e00a8...)".
func (e *Error) Error() string {
	var s strings.Builder
	s.WriteString(e.TypeName())
	s.WriteByte('/')
	s.WriteString(e.CodeName())
	s.WriteString(" (xid 0x")
	s.WriteString(strconv.FormatUint(uint64(e.Xid), 16))
	if h, ok := e.Failed(); ok {
		s.WriteString(", refused ")
		s.WriteString(h.Type.String())
	}
	if len(e.Data) > 0 {
		s.WriteString(": ")
		const show = 24
		s.WriteString(hex.EncodeToString(e.Data[:min(len(e.Data), show)]))
		if len(e.Data) > show {
			s.WriteString("...")
		}
	}
	s.WriteByte(')')
	return s.String()
}

// Is matches another *Error with the same type, code and experimenter, so
// errors.Is(err, &openflow.Error{Type: 2, Code: 13}) tests for one code.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Type == e.Type && t.Code == e.Code && t.Experimenter == e.Experimenter
}
