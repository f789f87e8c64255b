package dns

import (
	"io"
	"log/slog"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/ovsnet/ovsnet/flows"
)

// recordingSink keeps the reply frames written to it.
type recordingSink struct {
	mu     sync.Mutex
	frames [][]byte
}

func (s *recordingSink) Write(b []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.frames = append(s.frames, append([]byte(nil), b...))
	return nil
}
func (s *recordingSink) isClosed() bool { return false }

func (s *recordingSink) replies(t *testing.T) []*dns.Msg {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []*dns.Msg
	for _, fr := range s.frames {
		var f dnsFrame
		mangled := append([]byte(nil), fr...)
		copy(mangled[0:6], flows.DNSMAC(4097)) // parseDNSFrame wants a DNS MAC as destination
		if !parseDNSFrame(mangled, &f) {
			t.Fatalf("reply frame does not parse: %x", fr)
		}
		var m dns.Msg
		if err := m.Unpack(f.payload); err != nil {
			t.Fatal(err)
		}
		out = append(out, &m)
	}
	return out
}

// A Docker container's first query for its link alias arrives before the
// plugin has told which container the endpoint is (`docker run --link
// mysql01:db … ping db`): it is held, and answered as soon as the state
// with the container's links arrives; with no such state it gets
// NXDOMAIN after holdMax, and nothing is held for a network whose Docker
// endpoints all have names.
func TestQueriesWaitForDockerNames(t *testing.T) {
	st := dnsTestState()
	web := &st.Endpoints[0] // h1, front, link mysql01:db
	described := *web
	web.Docker, web.ContainerID, web.ContainerName, web.Links, web.Aliases = true, web.ID, "docker-"+web.ID[:12], nil, nil

	d := New(Config{}, nil, slog.New(slog.NewTextHandler(io.Discard, nil)))
	d.OnState(st)
	ix := d.index.Load()

	q := new(dns.Msg)
	q.SetQuestion("db.", dns.TypeA)
	msg, _ := q.Pack()
	frame := buildQueryFrame(flows.DNSMAC(4097), web.MAC, web.IPv4.Addr(), netip.MustParseAddr("10.0.0.1"), 40000, 53, msg)
	var f dnsFrame
	if !parseDNSFrame(frame, &f) {
		t.Fatal("query frame does not parse")
	}
	v := ix.views[dnsViewKey{f.vni, f.src}]
	if v == nil {
		t.Fatal("no view for the nameless endpoint")
	}
	if _, act, _ := d.resolve(ix, v, f.payload, make([]byte, 0, 2048)); act != dnsHold {
		t.Fatalf("query from a nameless Docker endpoint: action %d, want dnsHold", act)
	}
	// A name that exists is answered at once, even now.
	q.SetQuestion("mysql01.", dns.TypeA)
	known, _ := q.Pack()
	if _, act, _ := d.resolve(ix, v, known, make([]byte, 0, 2048)); act != dnsReply {
		t.Fatalf("known name: action %d, want dnsReply", act)
	}

	sink := &recordingSink{}
	now := time.Now()
	if !d.held.add(sink, &f, now) {
		t.Fatal("hold refused")
	}
	out := make([]byte, 2048)
	if n := d.releaseHeld(now, out); n != 0 {
		t.Fatalf("released %d queries with no new names", n)
	}

	// The plugin describes the container: the link arrives.
	st2 := dnsTestState()
	st2.Endpoints[0] = described
	d.OnState(st2)
	if n := d.releaseHeld(now.Add(10*time.Millisecond), out); n != 1 {
		t.Fatalf("released %d queries once names arrived, want 1", n)
	}
	replies := sink.replies(t)
	if len(replies) != 1 || replies[0].Rcode != dns.RcodeSuccess || answers(replies[0]) != "A 10.0.0.3" {
		t.Fatalf("held query answered %v, want A 10.0.0.3", replies)
	}

	// Still nameless and the names never come: NXDOMAIN after holdMax.
	d2 := New(Config{}, nil, slog.New(slog.NewTextHandler(io.Discard, nil)))
	d2.OnState(st)
	sink2 := &recordingSink{}
	if !d2.held.add(sink2, &f, now) {
		t.Fatal("hold refused")
	}
	if n := d2.releaseHeld(now.Add(holdMax/2), out); n != 0 {
		t.Fatal("released before holdMax")
	}
	if n := d2.releaseHeld(now.Add(holdMax+time.Millisecond), out); n != 1 {
		t.Fatal("not released after holdMax")
	}
	if r := sink2.replies(t); len(r) != 1 || r[0].Rcode != dns.RcodeNameError {
		t.Fatalf("after holdMax: %v, want NXDOMAIN", r)
	}

	// Every endpoint named: unknown names are answered at once.
	d3 := New(Config{}, nil, slog.New(slog.NewTextHandler(io.Discard, nil)))
	d3.OnState(dnsTestState())
	ix3 := d3.index.Load()
	q.SetQuestion("nosuch.", dns.TypeA)
	unknown, _ := q.Pack()
	if _, act, _ := d3.resolve(ix3, ix3.views[dnsViewKey{f.vni, f.src}], unknown, make([]byte, 0, 2048)); act != dnsReply {
		t.Fatalf("unknown name with every endpoint named: action %d, want dnsReply", act)
	}

	// A nameless endpoint stops holding answers namelessWindow after it
	// was first seen.
	until := d2.held.namelessUntil(st, now.Add(namelessWindow+time.Second))
	if len(until) != 0 {
		t.Fatalf("still holding %v after namelessWindow", until)
	}
}
