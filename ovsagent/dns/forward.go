package dns

import (
	"encoding/binary"
	"net"
	"net/netip"
	"time"

	"github.com/miekg/dns"
)

// dnsForwarder sends queries for names that are not ovsnet's to the
// upstream resolvers, in order, each with its own socket (so replies can
// only come from the upstream asked) and a timeout. An upstream that
// answers SERVFAIL or REFUSED is skipped for the next one, as Docker's
// resolver does; when none answers, the asker gets SERVFAIL.
type dnsForwarder struct {
	upstreams []netip.AddrPort
	timeout   time.Duration
	// slots bounds queries in flight; when all are taken the asker gets
	// SERVFAIL at once rather than a growing backlog.
	slots chan struct{}
}

func newDNSForwarder(upstreams []netip.AddrPort, timeout time.Duration, inFlight int) *dnsForwarder {
	return &dnsForwarder{upstreams: upstreams, timeout: timeout, slots: make(chan struct{}, inFlight)}
}

// forward answers query through the upstreams in the background and calls
// reply with an answer of at most maxSize bytes. query is not kept by the
// caller (forward copies it).
func (f *dnsForwarder) forward(query []byte, maxSize int, reply func([]byte)) {
	q := append([]byte(nil), query...)
	select {
	case f.slots <- struct{}{}:
	default:
		if r := servfail(q); r != nil {
			reply(r)
		}
		return
	}
	go func() {
		defer func() { <-f.slots }()
		if r := f.exchange(q, maxSize); r != nil {
			reply(r)
		}
	}()
}

func (f *dnsForwarder) exchange(q []byte, maxSize int) []byte {
	if len(q) < 12 {
		return nil
	}
	buf := make([]byte, dns.MaxMsgSize)
	for _, up := range f.upstreams {
		resp := f.ask(up, q, buf)
		if resp == nil {
			continue
		}
		if rc := resp[3] & 0xf; rc == dns.RcodeServerFailure || rc == dns.RcodeRefused {
			continue
		}
		return fitSize(resp, maxSize)
	}
	return servfail(q)
}

func (f *dnsForwarder) ask(up netip.AddrPort, q, buf []byte) []byte {
	conn, err := net.DialUDP("udp", nil, net.UDPAddrFromAddrPort(up))
	if err != nil {
		return nil
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(f.timeout))
	if _, err := conn.Write(q); err != nil {
		return nil
	}
	for {
		n, err := conn.Read(buf)
		if err != nil {
			return nil
		}
		// The same id, a response: anything else is not the answer.
		if n >= 12 && buf[0] == q[0] && buf[1] == q[1] && buf[2]&0x80 != 0 {
			return append([]byte(nil), buf[:n]...)
		}
	}
}

// fitSize truncates an upstream's answer to what the asker takes.
func fitSize(resp []byte, maxSize int) []byte {
	if len(resp) <= maxSize {
		return resp
	}
	var m dns.Msg
	if err := m.Unpack(resp); err != nil {
		return nil
	}
	m.Truncate(maxSize)
	b, err := m.Pack()
	if err != nil {
		return nil
	}
	return b
}

// servfail is the SERVFAIL answer to query (header and question).
func servfail(query []byte) []byte {
	var m, r dns.Msg
	if err := m.Unpack(query); err != nil {
		if len(query) < 12 {
			return nil
		}
		out := append([]byte(nil), query[:12]...)
		out[2] = 0x80 | query[2]&0x79
		out[3] = dns.RcodeServerFailure
		binary.BigEndian.PutUint64(out[4:], 0)
		return out
	}
	r.SetRcode(&m, dns.RcodeServerFailure)
	b, err := r.Pack()
	if err != nil {
		return nil
	}
	return b
}
