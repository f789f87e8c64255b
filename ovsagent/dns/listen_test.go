package dns

import (
	"net/netip"
	"testing"

	dns "github.com/miekg/dns"
)

// The host listener (-dns-listen) answers only ovsnet's names unless
// forwarding is enabled for it (-dns-listen-forward): with upstreams
// configured for the containers, it is still no open resolver.
func TestHostListenerForwardsOnlyWhenAsked(t *testing.T) {
	ups := []netip.AddrPort{netip.MustParseAddrPort("192.0.2.53:53")}
	for _, listenFwd := range []bool{false, true} {
		d := New(Config{Upstreams: ups, ListenForward: listenFwd}, nil, dnsTestLogger(t))
		d.OnState(dnsTestState())
		ix := d.index.Load()
		if r, _ := ask(t, ix, ix.host, "mysql01.front.", dns.TypeA); r == nil || answers(r) != "A 10.0.0.3" {
			t.Fatalf("forward=%v: an ovsnet name: %v", listenFwd, r)
		}
		r, act := ask(t, ix, ix.host, "example.test.", dns.TypeA)
		switch {
		case listenFwd && act != dnsForward:
			t.Errorf("-dns-listen-forward: another name was not forwarded (%v)", r)
		case !listenFwd && (r == nil || r.Rcode != dns.RcodeRefused):
			t.Errorf("no -dns-listen-forward: another name got %v (%v), want REFUSED", r, act)
		}
		// Containers of non-internal networks still have their other
		// names forwarded.
		web := ix.views[dnsViewKey{4097, netip.MustParseAddr("10.0.0.2")}]
		if _, act := ask(t, ix, web, "example.test.", dns.TypeA); act != dnsForward {
			t.Errorf("forward=%v: a container's query was not forwarded", listenFwd)
		}
	}
}
