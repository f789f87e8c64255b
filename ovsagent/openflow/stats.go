package openflow

import (
	"encoding/binary"
	"strconv"
	"time"

	"github.com/ovsnet/ovsnet/flows"
)

// Multipart types and flags.
const (
	multipartFlow = 1
	// multipartReplyMore (OFPMPF_REPLY_MORE) says more replies follow.
	multipartReplyMore = 1
	multipartHeaderLen = HeaderLen + 8
	// flowStatsLen is the fixed part of an ofp_flow_stats entry.
	flowStatsLen = 48
)

// AppendFlowStatsRequest appends a MULTIPART_REQUEST for the flows of every
// table whose cookie matches cookie under mask (mask 0: all flows).
func AppendFlowStatsRequest(b []byte, xid uint32, cookie, mask flows.Cookie) []byte {
	start := len(b)
	b = startMessage(b, TypeMultipartRequest, xid)
	b = append(b, 0, multipartFlow, 0, 0, 0, 0, 0, 0) // type, flags, pad
	b = append(b, TableAll, 0, 0, 0)
	b = binary.BigEndian.AppendUint32(b, PortAny)
	b = binary.BigEndian.AppendUint32(b, GroupAny)
	b = append(b, 0, 0, 0, 0)
	b = binary.BigEndian.AppendUint64(b, uint64(cookie))
	b = binary.BigEndian.AppendUint64(b, uint64(mask))
	b = append(b, 0, matchTypeOXM, 0, 4, 0, 0, 0, 0) // empty match, padded
	b, _ = finishMessage(b, start)                   // 56 bytes
	return b
}

// DecodeFlowStatsRequest decodes what AppendFlowStatsRequest encodes: the
// cookie and mask of a flow-stats request (for tests and fakes).
func DecodeFlowStatsRequest(msg []byte) (cookie, mask flows.Cookie, err error) {
	_, body, err := parseMessage(msg, TypeMultipartRequest)
	if err != nil {
		return 0, 0, err
	}
	if len(body) < 8+32+8 {
		return 0, 0, malformed("flow stats request body of %d bytes", len(body))
	}
	if t := binary.BigEndian.Uint16(body); t != multipartFlow {
		return 0, 0, unsupported("multipart request type %d", t)
	}
	return flows.Cookie(binary.BigEndian.Uint64(body[24:])), flows.Cookie(binary.BigEndian.Uint64(body[32:])), nil
}

// DumpedFlow is one flow of a flow-stats reply.
type DumpedFlow struct {
	// Flow always has Table, Priority and Cookie; its Protocol, Match and
	// Actions are set only when Err is nil.
	Flow flows.Flow
	// Err says why the flow could not be decoded (a field, action or
	// instruction this codec does not know). Such a flow can still be
	// removed by its table and cookie (DeleteFlows).
	Err error
	// Duration is how long the flow has been installed.
	Duration time.Duration
	// Packets and Bytes are the flow's counters.
	Packets, Bytes uint64
}

// undecodableToken marks an undecodable flow's key: it is no match token,
// so flows.FlowFromInstalled refuses it and flows.ComputeDiff purges the
// flow by table and cookie.
const undecodableToken = "!undecodable"

// Installed is the flow as flows.ComputeDiff wants it. The key of an
// undecodable flow matches no desired flow and cannot be rebuilt, so the
// diff purges its table and cookie.
func (d DumpedFlow) Installed() flows.InstalledFlow {
	f := d.Flow
	if d.Err != nil {
		key := "table=" + strconv.Itoa(int(f.Table.ID)) + ",priority=" + strconv.Itoa(int(f.Priority)) + "," + undecodableToken
		return flows.InstalledFlow{Cookie: f.Cookie, Table: f.Table.ID, Key: key, Actions: "!" + d.Err.Error(), Text: key}
	}
	return flows.InstalledFlow{Cookie: f.Cookie, Table: f.Table.ID, Key: f.Key(), Actions: f.ActionsText(), Text: f.String()}
}

// DecodeFlowStatsReply decodes one flow-stats MULTIPART_REPLY, appending
// its flows to dst. more is true when further replies with the same xid
// follow. A flow the codec cannot read is returned with Err set; err
// reports only a message that cannot be framed.
func DecodeFlowStatsReply(dst []DumpedFlow, msg []byte) (out []DumpedFlow, more bool, err error) {
	_, body, err := parseMessage(msg, TypeMultipartReply)
	if err != nil {
		return dst, false, err
	}
	if len(body) < 8 {
		return dst, false, malformed("MULTIPART_REPLY body of %d bytes", len(body))
	}
	if t := binary.BigEndian.Uint16(body); t != multipartFlow {
		return dst, false, unsupported("multipart reply type %d", t)
	}
	more = binary.BigEndian.Uint16(body[2:])&multipartReplyMore != 0
	for b := body[8:]; len(b) > 0; {
		if len(b) < flowStatsLen+8 {
			return dst, more, malformed("flow stats entry in %d bytes", len(b))
		}
		n := int(binary.BigEndian.Uint16(b))
		if n < flowStatsLen+8 || n > len(b) || n%8 != 0 {
			return dst, more, malformed("flow stats entry of length %d in %d bytes", n, len(b))
		}
		dst = append(dst, decodeFlowStats(b[:n]))
		b = b[n:]
	}
	return dst, more, nil
}

func decodeFlowStats(e []byte) DumpedFlow {
	var d DumpedFlow
	f := &d.Flow
	f.Table = table(e[2])
	d.Duration = time.Duration(binary.BigEndian.Uint32(e[4:]))*time.Second + time.Duration(binary.BigEndian.Uint32(e[8:]))
	f.Priority = binary.BigEndian.Uint16(e[12:])
	f.Cookie = flows.Cookie(binary.BigEndian.Uint64(e[24:]))
	d.Packets, d.Bytes = binary.BigEndian.Uint64(e[32:]), binary.BigEndian.Uint64(e[40:])
	if idle, hard := binary.BigEndian.Uint16(e[14:]), binary.BigEndian.Uint16(e[16:]); idle != 0 || hard != 0 {
		d.Err = unsupported("flow timeouts idle=%d hard=%d", idle, hard)
		return d
	}
	proto, ms, size, err := decodeMatch(e[flowStatsLen:])
	if err != nil {
		d.Err = err
		return d
	}
	acts, err := decodeInstructions(e[flowStatsLen+size:], proto)
	if err != nil {
		d.Err = err
		return d
	}
	f.Protocol, f.Match, f.Actions = proto, ms, acts
	return d
}

// AppendFlowStatsReply appends a flow-stats MULTIPART_REPLY holding fs,
// with zero counters (for tests and fakes: a switch sends these). Callers
// split large tables over several replies, all but the last with more.
func AppendFlowStatsReply(b []byte, xid uint32, more bool, fs []flows.Flow) ([]byte, error) {
	start := len(b)
	b = startMessage(b, TypeMultipartReply, xid)
	var flags byte
	if more {
		flags = multipartReplyMore
	}
	b = append(b, 0, multipartFlow, 0, flags, 0, 0, 0, 0)
	for _, f := range fs {
		e := len(b)
		b = append(b, 0, 0, f.Table.ID, 0)
		b = appendZeros(b, 8) // duration
		b = binary.BigEndian.AppendUint16(b, f.Priority)
		b = appendZeros(b, 10) // timeouts, flags, importance, pad
		b = binary.BigEndian.AppendUint64(b, uint64(f.Cookie))
		b = appendZeros(b, 16) // counters
		var err error
		if b, err = appendMatch(b, f.Protocol, f.Match); err != nil {
			return b[:start], err
		}
		if b, err = appendInstructions(b, f.Protocol, f.Actions); err != nil {
			return b[:start], err
		}
		if len(b)-e > 0xffff {
			return b[:start], malformed("flow stats entry of %d bytes", len(b)-e)
		}
		binary.BigEndian.PutUint16(b[e:], uint16(len(b)-e))
	}
	return finishMessage(b, start)
}
