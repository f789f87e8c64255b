package ofconn

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ovsnet/ovsnet/flows"
	"github.com/ovsnet/ovsnet/model"
	"github.com/ovsnet/ovsnet/ovsagent/openflow"
)

// testFlows is the flow table of a host with n local and n remote
// endpoints on one overlay network.
func testFlows(n int) []flows.Flow {
	nw := model.Network{ID: strings.Repeat("a", 64), Name: "net", Driver: model.DriverOverlay, Scope: model.ScopeGlobal,
		Subnet: netip.MustParsePrefix("10.0.0.0/16"), Gateway: netip.MustParseAddr("10.0.0.1"), VNI: 4097,
		EnableIPv6: true, Subnet6: netip.MustParsePrefix("fd00::/64"), Gateway6: netip.MustParseAddr("fd00::1")}
	st := model.HostState{Host: "h1", Networks: []model.Network{nw}, Hosts: []model.Host{{Name: "h2", TunnelIP: netip.MustParseAddr("192.0.2.2")}}}
	ports := flows.OFPorts{}
	for i := range 2 * n {
		ip := netip.AddrFrom4([4]byte{10, 0, byte((i + 2) >> 8), byte(i + 2)})
		ep := model.Endpoint{ID: fmt.Sprintf("%011x", i+1) + strings.Repeat("e", 53), NetworkID: nw.ID, Host: []string{"h1", "h2"}[i%2],
			IPv4: netip.PrefixFrom(ip, 16), MAC: model.MACFromIPv4(ip)}
		st.Endpoints = append(st.Endpoints, ep)
		if ep.Host == "h1" {
			ports[ep.PortName()] = 10 + i
		}
	}
	return flows.Build(st, flows.DefaultConfig(), ports)
}

func dial(t *testing.T, s *fakeSwitch, opts Options) *Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := Dial(ctx, s.target, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return c
}

// installed reads the table back through Dump as flows.ComputeDiff wants it.
func installed(t *testing.T, c *Conn) []flows.InstalledFlow {
	t.Helper()
	dumped, err := c.Dump(ctx(t), flows.OwnerCookie, flows.OwnerMask)
	if err != nil {
		t.Fatal(err)
	}
	var out []flows.InstalledFlow
	for _, d := range dumped {
		if d.Err != nil {
			t.Errorf("flow of table %d undecodable: %v", d.Flow.Table.ID, d.Err)
		}
		out = append(out, d.Installed())
	}
	return out
}

func TestBundleAndDump(t *testing.T) {
	s := newFakeSwitch(t)
	c := dial(t, s, Options{})
	want := testFlows(10)
	if err := c.Bundle(ctx(t), flows.ComputeDiff(want, nil)); err != nil {
		t.Fatal(err)
	}
	got := installed(t, c)
	if len(got) != len(want) {
		t.Fatalf("dumped %d flows, installed %d", len(got), len(want))
	}
	if d := flows.ComputeDiff(want, got); !d.Empty() {
		t.Fatalf("after install, diff is %d purges, %d deletes, %d adds", len(d.Purge), len(d.Delete), len(d.Add))
	}
	if s.count(openflow.TypeMultipartRequest) != 1 {
		t.Errorf("one dump sent %d requests", s.count(openflow.TypeMultipartRequest))
	}

	// Fewer endpoints: strict deletes only; a stale flow of an unknown
	// table is purged by cookie.
	want2 := testFlows(7)
	d := flows.ComputeDiff(want2, got)
	d.Purge = append(d.Purge, flows.TableCookie{Table: flows.Egress, Cookie: flows.NewCookie(flows.CategoryNetwork, 4097)})
	if err := c.Bundle(ctx(t), d); err != nil {
		t.Fatal(err)
	}
	got2 := installed(t, c)
	for _, in := range got2 {
		if in.Table == flows.Egress.ID && in.Cookie == flows.NewCookie(flows.CategoryNetwork, 4097) {
			t.Errorf("purged flow still there: %s", in.Text)
		}
	}
	d = flows.ComputeDiff(want2, got2)
	if len(d.Delete) != 0 || len(d.Purge) != 0 || len(d.Add) != 1 {
		t.Errorf("after the change, diff is %+v; want only the purged egress flow back", d)
	}
	if err := c.Bundle(ctx(t), flows.Diff{}); err != nil {
		t.Errorf("empty bundle: %v", err)
	}
}

func TestBundleRefusedOnAdd(t *testing.T) {
	s := newFakeSwitch(t)
	c := dial(t, s, Options{})
	want := testFlows(3)
	if err := c.Bundle(ctx(t), flows.ComputeDiff(want, nil)); err != nil {
		t.Fatal(err)
	}
	before := s.flows()
	bad := flows.Flow{Table: flows.Forward, Priority: 5, Cookie: flows.NewCookie(flows.CategoryPipeline, 0),
		Actions: []flows.Action{flows.GotoTable{Table: flows.Classify}}}
	s.set(func(s *fakeSwitch) {
		s.rejectAdd = func(fm openflow.FlowMod) *openflow.Error {
			if fm.Flow.Key() == bad.Key() {
				return &openflow.Error{Type: openflow.ErrTypeBadInstruction, Code: 2}
			}
			return nil
		}
	})
	d := flows.Diff{Delete: want[:2], Add: []flows.Flow{testFlows(4)[5], bad, testFlows(5)[7]}}
	err := c.Bundle(ctx(t), d)
	var refused *RefusedError
	if !errors.As(err, &refused) {
		t.Fatalf("Bundle = %v, want a RefusedError", err)
	}
	if refused.Total != 1 || len(refused.Refusals) != 1 || refused.Refusals[0].Flow.Key() != bad.Key() ||
		refused.Refusals[0].Command != openflow.CommandAdd || refused.AtCommit || refused.Messages != 5 {
		t.Errorf("refused = %+v", refused)
	}
	msg := err.Error()
	for _, part := range []string{"refused 1 of 5", "add of " + bad.String(), "OFPET_BAD_INSTRUCTION/OFPBIC_BAD_TABLE_ID"} {
		if !strings.Contains(msg, part) {
			t.Errorf("error %q lacks %q", msg, part)
		}
	}
	if !errors.Is(err, &openflow.Error{Type: openflow.ErrTypeBadInstruction, Code: 2}) {
		t.Error("the switch's error is not wrapped")
	}
	if s.discarded() != 1 || s.count(openflow.TypeBundleControl) != 4 {
		t.Errorf("want open+commit of the first bundle, open+discard of the second; got %d control messages, %d discards",
			s.count(openflow.TypeBundleControl), s.discarded())
	}
	if after := s.flows(); len(after) != len(before) {
		t.Errorf("a refused bundle changed the table: %d flows, was %d", len(after), len(before))
	}
	// The connection is still usable.
	s.set(func(s *fakeSwitch) { s.rejectAdd = nil })
	if err := c.Bundle(ctx(t), flows.Diff{Add: []flows.Flow{testFlows(4)[5]}}); err != nil {
		t.Errorf("next bundle: %v", err)
	}
}

func TestBundleRefusedAtCommit(t *testing.T) {
	s := newFakeSwitch(t)
	c := dial(t, s, Options{})
	fs := testFlows(3)
	s.set(func(s *fakeSwitch) {
		s.rejectCommit = func(fm openflow.FlowMod) *openflow.Error {
			if fm.Flow.Key() == fs[4].Key() {
				return &openflow.Error{Type: openflow.ErrTypeFlowModFailed, Code: 0}
			}
			return nil
		}
	})
	err := c.Bundle(ctx(t), flows.Diff{Purge: []flows.TableCookie{{Table: flows.DNS, Cookie: 1}}, Add: fs})
	var refused *RefusedError
	if !errors.As(err, &refused) || !refused.AtCommit || refused.Refusals[0].Flow.Key() != fs[4].Key() {
		t.Fatalf("Bundle = %v, want a refusal of %s at commit", err, fs[4])
	}
	if len(s.flows()) != 0 {
		t.Error("a bundle refused at commit changed the table")
	}
}

func TestEncodeErrorLeavesConnection(t *testing.T) {
	s := newFakeSwitch(t)
	c := dial(t, s, Options{})
	bad := flows.Flow{Table: flows.Forward, Cookie: 1} // no actions
	err := c.Bundle(ctx(t), flows.Diff{Add: []flows.Flow{testFlows(2)[0], bad}})
	if err == nil || !strings.Contains(err.Error(), "cannot encode add of") || !errors.Is(err, openflow.ErrMalformed) {
		t.Fatalf("Bundle = %v", err)
	}
	if c.Err() != nil {
		t.Fatalf("an encoding error killed the connection: %v", c.Err())
	}
	if err := c.Barrier(ctx(t)); err != nil {
		t.Fatal(err)
	}
	if len(s.flows()) != 0 || s.discarded() != 1 {
		t.Errorf("flows %d, discards %d", len(s.flows()), s.discarded())
	}
}

func TestEchoAndKeepAlive(t *testing.T) {
	s := newFakeSwitch(t)
	// Misses allow 500 ms of silence: a loaded machine's scheduling delays
	// must not look like a dead switch.
	c := dial(t, s, Options{EchoInterval: 50 * time.Millisecond, EchoMisses: 10})
	if _, err := c.Echo(ctx(t)); err != nil {
		t.Fatal(err)
	}
	// The switch's echo requests are answered.
	s.mu.Lock()
	nc := s.conns[0]
	s.mu.Unlock()
	req := openflow.AppendEchoRequest(nil, 0xabc, []byte("hi"))
	if _, err := nc.Write(req); err != nil {
		t.Fatal(err)
	}
	select {
	case xid := <-s.echoed:
		if xid != 0xabc {
			t.Errorf("echo reply xid 0x%x", xid)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("echo request not answered")
	}
	// A quiet connection is probed, and survives while the switch answers.
	time.Sleep(400 * time.Millisecond)
	if n := s.count(openflow.TypeEchoRequest); n < 3 {
		t.Errorf("%d keep-alive echo requests in 400ms at a 50ms interval", n)
	}
	if c.Err() != nil {
		t.Fatalf("connection died: %v", c.Err())
	}
	// A switch that stops answering is declared dead.
	s.set(func(s *fakeSwitch) { s.silent = true })
	select {
	case <-c.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("silent switch not noticed")
	}
	if !errors.Is(c.Err(), ErrDead) {
		t.Errorf("Err = %v, want ErrDead", c.Err())
	}
	if _, err := c.Dump(ctx(t), 0, 0); err == nil {
		t.Error("dump on a dead connection succeeded")
	}
}

func TestSwitchClosesConnection(t *testing.T) {
	s := newFakeSwitch(t)
	c := dial(t, s, Options{})
	s.set(func(s *fakeSwitch) { s.ignoreBarrier = true })
	errc := make(chan error, 1)
	go func() { errc <- c.Barrier(context.Background()) }()
	time.Sleep(50 * time.Millisecond)
	s.closeConns()
	select {
	case <-c.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("closed connection not noticed")
	}
	if err := c.Err(); err == nil || !strings.Contains(err.Error(), "switch closed the connection") {
		t.Errorf("Err = %v", err)
	}
	if err := <-errc; err == nil {
		t.Error("a barrier pending when the switch left succeeded")
	}
}

func TestContextBoundsCalls(t *testing.T) {
	s := newFakeSwitch(t)
	c := dial(t, s, Options{})
	s.set(func(s *fakeSwitch) { s.ignoreBarrier = true })
	cctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	err := c.Bundle(cctx, flows.ComputeDiff(testFlows(2), nil))
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Bundle = %v, want deadline exceeded", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("Bundle returned after %v with a 100ms deadline", d)
	}
	if len(s.flows()) != 0 {
		t.Error("a bundle whose context ended was committed")
	}
	if c.Err() != nil {
		t.Errorf("a context deadline while waiting killed the connection: %v", c.Err())
	}
	c.Close()
	if !errors.Is(c.Err(), ErrClosed) {
		t.Errorf("Err after Close = %v", c.Err())
	}
}

func TestDialNeedsOpenFlow14(t *testing.T) {
	s := newFakeSwitch(t)
	s.set(func(s *fakeSwitch) { s.versions = 0x10 }) // OpenFlow 1.3 only
	_, err := Dial(ctx(t), s.target, Options{})
	if err == nil || !strings.Contains(err.Error(), "does not offer OpenFlow 1.4") {
		t.Errorf("Dial = %v", err)
	}
	if _, err := Dial(ctx(t), "/no/scheme", Options{}); err == nil {
		t.Error("Dial accepted a target without scheme")
	}
}

func TestConcurrentCalls(t *testing.T) {
	s := newFakeSwitch(t)
	c := dial(t, s, Options{EchoInterval: 50 * time.Millisecond})
	fs := testFlows(20)
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			part := fs[i*len(fs)/8 : (i+1)*len(fs)/8]
			if err := c.Bundle(ctx(t), flows.Diff{Add: part}); err != nil {
				t.Error(err)
			}
			if _, err := c.Dump(ctx(t), flows.OwnerCookie, flows.OwnerMask); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if got := installed(t, c); len(got) != len(fs) {
		t.Errorf("%d flows after concurrent bundles, want %d", len(got), len(fs))
	}
}

// TestLargeBundle sends 100,000 flow mods in one bundle and dumps them
// back in many multipart replies.
func TestLargeBundle(t *testing.T) {
	if testing.Short() {
		t.Skip("large")
	}
	s := newFakeSwitch(t)
	s.set(func(s *fakeSwitch) { s.dumpChunk = 500 })
	c := dial(t, s, Options{})
	var fs []flows.Flow
	for i := range 100000 {
		fs = append(fs, flows.Flow{Table: flows.LocalDeliver, Priority: 200, Cookie: flows.NewCookie(flows.CategoryEndpoint, uint32(i)),
			Match:   []flows.Match{{Field: flows.FieldReg0, Value: []byte{0, 0, 0x10, 1}}, {Field: flows.FieldEthDst, Value: model.MACFromIPv4(netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)}))}},
			Actions: []flows.Action{flows.Output{Port: uint32(10 + i)}}})
	}
	start := time.Now()
	if err := c.Bundle(ctx(t), flows.Diff{Add: fs}); err != nil {
		t.Fatal(err)
	}
	t.Logf("bundle of %d adds to the fake switch in %v", len(fs), time.Since(start))
	got := installed(t, c)
	if len(got) != len(fs) {
		t.Fatalf("dumped %d flows, want %d", len(got), len(fs))
	}
	if d := flows.ComputeDiff(fs, got); !d.Empty() {
		t.Errorf("diff after install: %d adds, %d deletes", len(d.Add), len(d.Delete))
	}
}
