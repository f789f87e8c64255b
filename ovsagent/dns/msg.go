package dns

import (
	"encoding/binary"

	"github.com/miekg/dns"
)

// Answering one DNS message (docs/dns.md). The common case — one question
// of class IN, optionally with an EDNS OPT record — is parsed by hand and
// answered by copying precomputed records, without allocating. Anything
// else goes through miekg/dns: it is normalised into that common form, or
// answered with the right error.

// dnsMaxUDP caps answers with EDNS: 1232 bytes fit any path MTU of 1280
// and up (DNS flag day 2020), and the DNS port cannot fragment.
const dnsMaxUDP = 1232

// dnsAction says what to do with a query.
type dnsAction int

const (
	// dnsDrop: no answer (not a query).
	dnsDrop dnsAction = iota
	// dnsReply: the reply is ready.
	dnsReply
	// dnsForward: send the query to the upstream resolvers.
	dnsForward
	// dnsHold: not found yet, but names are on their way: hold the query
	// (hold.go); the reply is the answer if they do not come.
	dnsHold
)

// dnsQuery is the parsed question of a query in the common form.
type dnsQuery struct {
	qtype   uint16
	qend    int // offset after the question
	edns    bool
	maxSize int // largest answer the asker takes over UDP
	key     [256]byte
	keyLen  int
}

// parseQuery parses msg in the common form; ok is false for anything else
// (the slow path decides).
func parseQuery(msg []byte, q *dnsQuery) bool {
	if len(msg) < 12 {
		return false
	}
	flags := binary.BigEndian.Uint16(msg[2:])
	if flags&0x8000 != 0 || (flags>>11)&0xf != dns.OpcodeQuery {
		return false
	}
	if binary.BigEndian.Uint16(msg[4:]) != 1 || binary.BigEndian.Uint16(msg[6:]) != 0 || binary.BigEndian.Uint16(msg[8:]) != 0 {
		return false
	}
	arcount := binary.BigEndian.Uint16(msg[10:])
	if arcount > 1 {
		return false
	}
	i, k := 12, 0
	for {
		if i >= len(msg) {
			return false
		}
		l := int(msg[i])
		if l&0xc0 != 0 {
			return false // compression or extended label types in a question
		}
		if k+l+1 > len(q.key) || i+l+1 > len(msg) {
			return false
		}
		q.key[k] = byte(l)
		for j := 1; j <= l; j++ {
			c := msg[i+j]
			if c >= 'A' && c <= 'Z' {
				c += 'a' - 'A'
			}
			q.key[k+j] = c
		}
		k += l + 1
		i += l + 1
		if l == 0 {
			break
		}
	}
	if i+4 > len(msg) {
		return false
	}
	q.keyLen = k
	q.qtype = binary.BigEndian.Uint16(msg[i:])
	if binary.BigEndian.Uint16(msg[i+2:]) != dns.ClassINET {
		return false
	}
	q.qend = i + 4
	q.edns, q.maxSize = false, dns.MinMsgSize
	if arcount == 1 {
		// Only an OPT record: root name, type 41, class = UDP size,
		// TTL = extended rcode, version, flags; version 0.
		o := q.qend
		if o+11 > len(msg) || msg[o] != 0 || binary.BigEndian.Uint16(msg[o+1:]) != dns.TypeOPT || msg[o+6] != 0 {
			return false
		}
		rdlen := int(binary.BigEndian.Uint16(msg[o+9:]))
		if o+11+rdlen > len(msg) {
			return false
		}
		q.edns = true
		q.maxSize = min(max(int(binary.BigEndian.Uint16(msg[o+3:])), dns.MinMsgSize), dnsMaxUDP)
	}
	return true
}

// answer handles one query from view v and writes the reply into out
// (which needs room for dnsMaxUDP bytes). With dnsForward, maxSize is the
// largest reply the asker takes.
func (ix *dnsIndex) answer(v *dnsView, msg, out []byte) (reply []byte, act dnsAction, maxSize int) {
	var q dnsQuery
	if !parseQuery(msg, &q) {
		return ix.slowAnswer(v, msg, out)
	}
	key := q.key[:q.keyLen]
	if v == nil {
		return writeReply(out, msg, &q, dns.RcodeRefused, false, nil, 0), dnsReply, q.maxSize
	}
	if r := v.lookup(key); r != nil {
		rrs, n := r.rrs(q.qtype)
		return writeReply(out, msg, &q, dns.RcodeSuccess, true, rrs, n), dnsReply, q.maxSize
	}
	switch {
	case v.internal || ix.authoritative(key):
		return writeReply(out, msg, &q, dns.RcodeNameError, true, nil, 0), dnsReply, q.maxSize
	case v.forward:
		return nil, dnsForward, q.maxSize
	default:
		// No upstream: refused, at once. REFUSED (not SERVFAIL) because
		// nothing failed — this resolver does not recurse — and stub
		// resolvers (glibc, Docker's) move on to their next server.
		return writeReply(out, msg, &q, dns.RcodeRefused, false, nil, 0), dnsReply, q.maxSize
	}
}

// writeReply assembles header, question (as asked), as many answer records
// as fit and an OPT record if the query had one. Answers that do not fit
// are left out without setting TC: the DNS port has no TCP to retry on,
// and a partial set of addresses is a valid answer.
func writeReply(out, msg []byte, q *dnsQuery, rcode int, aa bool, rrs []byte, n uint16) []byte {
	out = out[:0]
	out = append(out, msg[0], msg[1])
	flags := uint16(0x8000) | binary.BigEndian.Uint16(msg[2:])&0x0100 // QR, RD as asked
	if aa {
		flags |= 0x0400
	}
	flags |= uint16(rcode) & 0xf
	out = binary.BigEndian.AppendUint16(out, flags)
	out = append(out, 0, 1, 0, 0, 0, 0, 0, 0)
	out = append(out, msg[12:q.qend]...)
	room := q.maxSize - len(out)
	if q.edns {
		room -= 11
	}
	if n > 0 {
		if len(rrs) > room {
			rrs, n = fitRecords(rrs, room)
		}
		out = append(out, rrs...)
		binary.BigEndian.PutUint16(out[6:], n)
	}
	if q.edns {
		out = append(out, 0, byte(dns.TypeOPT>>8), byte(dns.TypeOPT), byte(dnsMaxUDP>>8), byte(dnsMaxUDP&0xff), 0, 0, 0, 0, 0, 0)
		out[11] = 1
	}
	return out
}

// fitRecords cuts precomputed records (owner a 2-byte pointer) to at most
// room bytes.
func fitRecords(rrs []byte, room int) ([]byte, uint16) {
	end, n := 0, uint16(0)
	for end+12 <= len(rrs) {
		next := end + 12 + int(binary.BigEndian.Uint16(rrs[end+10:]))
		if next > room || next > len(rrs) {
			break
		}
		end, n = next, n+1
	}
	return rrs[:end], n
}

// slowAnswer handles what parseQuery does not: malformed messages, other
// opcodes and classes, EDNS versions, extra records. A well-formed query
// with one IN question is normalised and answered like any other.
func (ix *dnsIndex) slowAnswer(v *dnsView, msg, out []byte) ([]byte, dnsAction, int) {
	if len(msg) < 12 || msg[2]&0x80 != 0 {
		return nil, dnsDrop, 0 // not a query: never answer a response
	}
	var m dns.Msg
	if err := m.Unpack(msg); err != nil {
		// Header-only FORMERR with the query's id and opcode.
		out = append(out[:0], msg[0], msg[1], 0x80|msg[2]&0x78, dns.RcodeFormatError, 0, 0, 0, 0, 0, 0, 0, 0)
		return out, dnsReply, 0
	}
	size := dns.MinMsgSize
	opt := m.IsEdns0()
	if opt != nil {
		size = min(max(int(opt.UDPSize()), dns.MinMsgSize), dnsMaxUDP)
	}
	var r dns.Msg
	switch {
	case m.Opcode != dns.OpcodeQuery:
		r.SetRcode(&m, dns.RcodeNotImplemented)
	case len(m.Question) != 1:
		r.SetRcode(&m, dns.RcodeFormatError)
	case opt != nil && opt.Version() != 0:
		r.SetRcode(&m, dns.RcodeBadVers)
		r.SetEdns0(dnsMaxUDP, false)
	case m.Question[0].Qclass != dns.ClassINET:
		r.SetRcode(&m, dns.RcodeRefused)
	default:
		// Normalise: the question and the asker's UDP size, nothing else.
		var n dns.Msg
		n.Id, n.RecursionDesired = m.Id, m.RecursionDesired
		n.Question = m.Question
		if opt != nil {
			n.SetEdns0(uint16(size), false)
		}
		norm, err := n.Pack()
		var q dnsQuery
		if err != nil || !parseQuery(norm, &q) {
			r.SetRcode(&m, dns.RcodeFormatError)
			break
		}
		reply, act, _ := ix.answer(v, norm, out)
		return reply, act, size
	}
	r.Compress = true
	b, err := r.PackBuffer(out[:cap(out)])
	if err != nil {
		return nil, dnsDrop, 0
	}
	if len(b) > size {
		r.Truncate(size)
		if b, err = r.PackBuffer(out[:cap(out)]); err != nil {
			return nil, dnsDrop, 0
		}
	}
	return b, dnsReply, size
}
