package openflow

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
)

// Version is the OpenFlow wire version this package speaks: 1.4.
const Version uint8 = 0x05

// HeaderLen is the length of the common OpenFlow header.
const HeaderLen = 8

// MaxMessageLen is the largest message OpenFlow can frame (a 16-bit length).
const MaxMessageLen = 0xffff

// Type is an OpenFlow message type (ofp_header.type).
type Type uint8

// The message types this package encodes or decodes.
const (
	TypeHello            Type = 0
	TypeError            Type = 1
	TypeEchoRequest      Type = 2
	TypeEchoReply        Type = 3
	TypeExperimenter     Type = 4
	TypeFlowMod          Type = 14
	TypeMultipartRequest Type = 18
	TypeMultipartReply   Type = 19
	TypeBarrierRequest   Type = 20
	TypeBarrierReply     Type = 21
	TypeBundleControl    Type = 33
	TypeBundleAddMessage Type = 34
)

var typeNames = map[Type]string{
	TypeHello:            "OFPT_HELLO",
	TypeError:            "OFPT_ERROR",
	TypeEchoRequest:      "OFPT_ECHO_REQUEST",
	TypeEchoReply:        "OFPT_ECHO_REPLY",
	TypeExperimenter:     "OFPT_EXPERIMENTER",
	TypeFlowMod:          "OFPT_FLOW_MOD",
	TypeMultipartRequest: "OFPT_MULTIPART_REQUEST",
	TypeMultipartReply:   "OFPT_MULTIPART_REPLY",
	TypeBarrierRequest:   "OFPT_BARRIER_REQUEST",
	TypeBarrierReply:     "OFPT_BARRIER_REPLY",
	TypeBundleControl:    "OFPT_BUNDLE_CONTROL",
	TypeBundleAddMessage: "OFPT_BUNDLE_ADD_MESSAGE",
}

// String is the type's OpenFlow name, e.g. OFPT_FLOW_MOD.
func (t Type) String() string {
	if n, ok := typeNames[t]; ok {
		return n
	}
	return "OFPT_" + strconv.Itoa(int(t))
}

// Errors every decoder may return, wrapped with details.
var (
	// ErrMalformed means the bytes are not a well-formed message or part.
	ErrMalformed = errors.New("openflow: malformed")
	// ErrUnsupported means the message is well formed but uses something
	// this codec does not know (a field, action, instruction or flag).
	ErrUnsupported = errors.New("openflow: unsupported")
)

func malformed(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrMalformed}, args...)...)
}

func unsupported(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrUnsupported}, args...)...)
}

// Header is the common header of every OpenFlow message.
type Header struct {
	Version uint8 // wire version, Version for OpenFlow 1.4
	Type    Type  // message type
	// Length of the whole message, header included.
	Length uint16
	// Xid pairs a reply (or error) with its request.
	Xid uint32
}

// ParseHeader reads the header at the start of b. It checks only that the
// length is plausible, not that b holds the whole message.
func ParseHeader(b []byte) (Header, error) {
	if len(b) < HeaderLen {
		return Header{}, malformed("header needs %d bytes, have %d", HeaderLen, len(b))
	}
	h := Header{Version: b[0], Type: Type(b[1]), Length: binary.BigEndian.Uint16(b[2:]), Xid: binary.BigEndian.Uint32(b[4:])}
	if h.Length < HeaderLen {
		return Header{}, malformed("message length %d is shorter than its header", h.Length)
	}
	return h, nil
}

// parseMessage checks that msg is exactly one OpenFlow 1.4 message of type
// want and returns its header and body.
func parseMessage(msg []byte, want Type) (Header, []byte, error) {
	h, err := ParseHeader(msg)
	if err != nil {
		return h, nil, err
	}
	if int(h.Length) != len(msg) {
		return h, nil, malformed("%s: header says %d bytes, message has %d", h.Type, h.Length, len(msg))
	}
	if h.Version != Version {
		return h, nil, unsupported("%s: wire version 0x%02x, want 0x%02x", h.Type, h.Version, Version)
	}
	if h.Type != want {
		return h, nil, malformed("message is %s, want %s", h.Type, want)
	}
	return h, msg[HeaderLen:], nil
}

// startMessage appends a header with a zero length; finishMessage fills it
// in once the body is appended.
func startMessage(b []byte, t Type, xid uint32) []byte {
	return append(b, Version, byte(t), 0, 0, byte(xid>>24), byte(xid>>16), byte(xid>>8), byte(xid))
}

func finishMessage(b []byte, start int) ([]byte, error) {
	n := len(b) - start
	if n > MaxMessageLen {
		return b[:start], fmt.Errorf("openflow: %s message of %d bytes exceeds %d", Type(b[start+1]), n, MaxMessageLen)
	}
	binary.BigEndian.PutUint16(b[start+2:], uint16(n))
	return b, nil
}

// AppendMessage appends a message of any type with a raw body. The body
// must fit in one message.
func AppendMessage(b []byte, t Type, xid uint32, body []byte) ([]byte, error) {
	start := len(b)
	b = startMessage(b, t, xid)
	b = append(b, body...)
	return finishMessage(b, start)
}

func appendSmall(b []byte, t Type, xid uint32, body []byte) []byte {
	if len(body) > MaxMessageLen-HeaderLen {
		body = body[:MaxMessageLen-HeaderLen]
	}
	b, _ = AppendMessage(b, t, xid, body) // cannot fail: body is bounded
	return b
}

// hello element type and the only version this package offers.
const (
	helloElemVersionBitmap = 1
	versionBit             = uint32(1) << Version
)

// AppendHello appends a HELLO offering only OpenFlow 1.4, as a version
// bitmap element.
func AppendHello(b []byte, xid uint32) []byte {
	start := len(b)
	b = startMessage(b, TypeHello, xid)
	b = binary.BigEndian.AppendUint16(b, helloElemVersionBitmap)
	b = binary.BigEndian.AppendUint16(b, 8) // element header + one bitmap word
	b = binary.BigEndian.AppendUint32(b, versionBit)
	b, _ = finishMessage(b, start)
	return b
}

// DecodeHello returns the versions the peer's HELLO offers, as a bitmap
// with bit n set for wire version n. Without a version bitmap element the
// peer offers every version up to its header's.
func DecodeHello(msg []byte) (uint32, error) {
	h, err := ParseHeader(msg)
	if err != nil {
		return 0, err
	}
	if h.Type != TypeHello || int(h.Length) != len(msg) {
		return 0, malformed("not a HELLO message (%s, %d of %d bytes)", h.Type, len(msg), h.Length)
	}
	for body := msg[HeaderLen:]; len(body) >= 4; {
		typ, n := binary.BigEndian.Uint16(body), int(binary.BigEndian.Uint16(body[2:]))
		if n < 4 || n > len(body) {
			return 0, malformed("HELLO element of length %d in %d bytes", n, len(body))
		}
		if typ == helloElemVersionBitmap {
			if n < 8 {
				return 0, malformed("HELLO version bitmap of length %d", n)
			}
			return binary.BigEndian.Uint32(body[4:]), nil
		}
		body = body[min((n+7)/8*8, len(body)):]
	}
	if h.Version >= 31 {
		return ^uint32(0), nil
	}
	return (uint32(1)<<(h.Version+1) - 1) &^ 1, nil
}

// AppendEchoRequest appends an ECHO_REQUEST carrying data.
func AppendEchoRequest(b []byte, xid uint32, data []byte) []byte {
	return appendSmall(b, TypeEchoRequest, xid, data)
}

// AppendEchoReply appends the ECHO_REPLY to an echo request with xid and
// data.
func AppendEchoReply(b []byte, xid uint32, data []byte) []byte {
	return appendSmall(b, TypeEchoReply, xid, data)
}

// AppendBarrierRequest appends a BARRIER_REQUEST: its reply comes once the
// switch has processed every earlier message.
func AppendBarrierRequest(b []byte, xid uint32) []byte {
	return appendSmall(b, TypeBarrierRequest, xid, nil)
}

func pad8(n int) int { return (n + 7) &^ 7 }

func appendZeros(b []byte, n int) []byte {
	for range n {
		b = append(b, 0)
	}
	return b
}
