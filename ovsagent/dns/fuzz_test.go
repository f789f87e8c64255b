package dns

import (
	"net/netip"
	"testing"

	"github.com/miekg/dns"
)

// Whatever a container sends to the resolver, it answers without
// panicking, and every reply it makes is a valid DNS message no larger
// than the asker takes.
func FuzzAnswer(f *testing.F) {
	for _, q := range []struct {
		name  string
		qtype uint16
		edns  uint16
	}{{"c2.", dns.TypeA, 0}, {"c2.front.", dns.TypeAAAA, 4096}, {"2.0.0.10.in-addr.arpa.", dns.TypePTR, 0}, {"pool.", dns.TypeANY, 1232}, {"example.org.", dns.TypeMX, 0}} {
		m := new(dns.Msg)
		m.SetQuestion(q.name, q.qtype)
		if q.edns > 0 {
			m.SetEdns0(q.edns, true)
		}
		b, _ := m.Pack()
		f.Add(b)
	}
	f.Add([]byte{0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0xc0, 0x0c})          // a pointer loop
	f.Add([]byte{0, 1, 1, 0, 0, 2, 0, 0, 0, 0, 0, 1, 3, 'a', 'b', 'c', 0}) // two questions, truncated
	ix := buildDNSIndex(dnsTestState(), true, nil)
	v := ix.views[dnsViewKey{4097, netip.MustParseAddr("10.0.0.2")}]
	out := make([]byte, 0, 4096)
	f.Fuzz(func(t *testing.T, msg []byte) {
		for _, view := range []*dnsView{v, ix.host} {
			reply, act, maxSize := ix.answer(view, msg, out[:0])
			if act != dnsReply {
				continue
			}
			var r dns.Msg
			if err := r.Unpack(reply); err != nil {
				t.Fatalf("invalid reply %x to %x: %v", reply, msg, err)
			}
			if maxSize > 0 && len(reply) > maxSize {
				t.Fatalf("reply of %d bytes to an asker of %d", len(reply), maxSize)
			}
		}
	})
}
