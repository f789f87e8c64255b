//go:build integration

package openflow_test

// These tests check the codec and the connection against Open vSwitch
// itself: ovs-ofctl's printer and encoder, and a real ovs-vswitchd in a
// lab host. Run as root: go test -tags integration ./ovsagent/openflow/

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ovsnet/ovsnet/flows"
	"github.com/ovsnet/ovsnet/ovsagent/openflow"
	"github.com/ovsnet/ovsnet/ovsagent/openflow/ofconn"
	"github.com/ovsnet/ovsnet/test/lab"
)

// ofctl runs ovs-ofctl outside any lab (printing and parsing only).
func ofctl(t *testing.T, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, "ovs-ofctl", args...).CombinedOutput()
	if err != nil {
		t.Fatalf("ovs-ofctl %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// printedFlowMod is a FLOW_MOD as `ovs-ofctl ofp-print` shows it.
type printedFlowMod struct {
	Command string
	Key     string // as flows.Flow.Key builds it
	Cookie  string
	Actions string
}

// parsePrintedFlowMod reads "OFPT_FLOW_MOD (OF1.4) (xid=0x1): ADD table:20
// priority=200,icmp6,... cookie:0x... actions=...".
func parsePrintedFlowMod(line string) (printedFlowMod, error) {
	var p printedFlowMod
	_, rest, ok := strings.Cut(line, "): ")
	if !strings.HasPrefix(line, "OFPT_FLOW_MOD (OF1.4) ") || !ok {
		return p, fmt.Errorf("not a flow mod: %q", line)
	}
	head, actions, ok := strings.Cut(rest, " actions=")
	if !ok {
		return p, fmt.Errorf("no actions in %q", line)
	}
	p.Actions = actions
	table, prio := "0", ""
	var tokens []string
	for i, word := range strings.Fields(head) {
		switch {
		case i == 0:
			p.Command = word
		case strings.HasPrefix(word, "table:"):
			table = strings.TrimPrefix(word, "table:")
		case strings.HasPrefix(word, "cookie:"):
			p.Cookie = strings.TrimPrefix(word, "cookie:")
		case strings.HasPrefix(word, "priority="):
			parts := strings.Split(word, ",")
			prio = strings.TrimPrefix(parts[0], "priority=")
			tokens = parts[1:]
		default:
			return p, fmt.Errorf("unexpected %q in %q", word, line)
		}
	}
	sort.Strings(tokens)
	p.Key = "table=" + table + ",priority=" + prio + "," + strings.Join(tokens, ",")
	return p, nil
}

// TestOVSPrintsEveryFlow encodes an add and a strict delete of every flow
// of the sample pipeline (and the golden flows) and checks that Open
// vSwitch reads back exactly the flow's match, cookie and actions.
func TestOVSPrintsEveryFlow(t *testing.T) {
	type sent struct {
		fm   openflow.FlowMod
		want printedFlowMod
	}
	var msgs []sent
	for _, f := range allFlows() {
		msgs = append(msgs,
			sent{openflow.AddFlow(f), printedFlowMod{"ADD", f.Key(), f.Cookie.String(), f.ActionsText()}},
			sent{openflow.DeleteFlowStrict(f), printedFlowMod{"DEL_STRICT", f.Key(), f.Cookie.String() + "/0xffffffffffffffff", "drop"}})
	}
	purge := flows.NewCookie(flows.CategoryEndpoint, 4097)
	msgs = append(msgs, sent{openflow.DeleteFlows(flows.SpoofGuard, purge, ^flows.Cookie(0)),
		printedFlowMod{"DEL", "table=10,priority=0,", purge.String() + "/0xffffffffffffffff", "drop"}})

	var file []byte
	for i, m := range msgs {
		var err error
		if file, err = openflow.AppendFlowMod(file, uint32(i+1), m.fm); err != nil {
			t.Fatal(err)
		}
	}
	path := filepath.Join(t.TempDir(), "flowmods.bin")
	if err := os.WriteFile(path, file, 0o644); err != nil {
		t.Fatal(err)
	}
	var lines []string
	for _, l := range strings.Split(ofctl(t, "ofp-parse", path), "\n") {
		if strings.HasPrefix(l, "OFPT_") || strings.Contains(l, "error") || strings.Contains(l, "***") {
			lines = append(lines, l)
		}
	}
	if len(lines) != len(msgs) {
		t.Fatalf("ovs-ofctl printed %d messages for %d:\n%s", len(lines), len(msgs), strings.Join(lines, "\n"))
	}
	for i, m := range msgs {
		got, err := parsePrintedFlowMod(lines[i])
		if err != nil {
			t.Errorf("flow mod %d (%s): %v", i, m.want.Key, err)
			continue
		}
		if got != m.want {
			t.Errorf("OVS reads flow mod %d differently:\n got: %+v\nwant: %+v", i, got, m.want)
		}
	}
	t.Logf("ovs-ofctl read %d flow mods (%d flows) exactly as meant", len(msgs), len(msgs)/2)
}

// TestOVSPrintsGoldenMessages checks that ovs-ofctl prints every golden
// message as testdata/golden/NAME.txt says (-update rewrites those).
func TestOVSPrintsGoldenMessages(t *testing.T) {
	for _, g := range goldenMessages() {
		got := ofctl(t, "ofp-print", strings.Join(strings.Fields(formatHex(g.Msg)), ""))
		path := filepath.Join("testdata", "golden", g.Name+".txt")
		if *update {
			if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		want, err := os.ReadFile(path)
		if err != nil {
			t.Fatalf("%v (run with -update)", err)
		}
		if got != string(want) {
			t.Errorf("%s: ovs-ofctl prints\n%s\nwant\n%s", g.Name, got, want)
		}
		if strings.Contains(got, "decode error") || strings.Contains(got, "***") && !strings.Contains(got, "truncated") {
			t.Errorf("%s: ovs-ofctl cannot decode it:\n%s", g.Name, got)
		}
	}
}

// captureOfctl runs `ovs-ofctl -O OpenFlow14 add-flows` against a fake
// switch and returns the FLOW_MODs it sends, to compare OVS's own encoding
// with ours.
func captureOfctl(t *testing.T, fs []flows.Flow) [][]byte {
	t.Helper()
	dir := t.TempDir()
	sock := filepath.Join(dir, "fake.mgmt")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	got := make(chan [][]byte, 1)
	go func() {
		var mods [][]byte
		defer func() { got <- mods }()
		nc, err := ln.Accept()
		if err != nil {
			return
		}
		defer nc.Close()
		nc.Write(openflow.AppendHello(nil, 1))
		r := bufio.NewReader(nc)
		for {
			hdr := make([]byte, 8)
			if _, err := io.ReadFull(r, hdr); err != nil {
				return
			}
			h, err := openflow.ParseHeader(hdr)
			if err != nil {
				return
			}
			msg := append(hdr, make([]byte, h.Length-8)...)
			if _, err := io.ReadFull(r, msg[8:]); err != nil {
				return
			}
			switch h.Type {
			case openflow.TypeFlowMod:
				mods = append(mods, msg)
			case openflow.TypeBarrierRequest:
				reply, _ := openflow.AppendMessage(nil, openflow.TypeBarrierReply, h.Xid, nil)
				nc.Write(reply)
			case openflow.TypeEchoRequest:
				nc.Write(openflow.AppendEchoReply(nil, h.Xid, msg[8:]))
			}
		}
	}()
	var text strings.Builder
	for _, f := range fs {
		text.WriteString(f.String())
		text.WriteByte('\n')
	}
	file := filepath.Join(dir, "flows.txt")
	if err := os.WriteFile(file, []byte(text.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	ofctl(t, "--no-names", "-O", "OpenFlow14", "add-flows", "unix:"+sock, file)
	ln.Close()
	return <-got
}

// TestOfctlEncodesTheSame: for every flow, our FLOW_MOD is byte for byte
// the one ovs-ofctl sends for the flow's text.
func TestOfctlEncodesTheSame(t *testing.T) {
	fs := allFlows()
	theirs := captureOfctl(t, fs)
	if len(theirs) != len(fs) {
		t.Fatalf("ovs-ofctl sent %d flow mods for %d flows", len(theirs), len(fs))
	}
	same := 0
	for i, f := range fs {
		h, _ := openflow.ParseHeader(theirs[i])
		ours, err := openflow.AppendFlowMod(nil, h.Xid, openflow.AddFlow(f))
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Equal(ours, theirs[i]) {
			same++
			continue
		}
		t.Errorf("%s:\n ours: %s\nofctl: %s", f, hexOf(ours), hexOf(theirs[i]))
	}
	t.Logf("%d of %d flow mods are byte-identical to ovs-ofctl's", same, len(fs))
}

// newBridge creates a bridge on a lab host as ovsnet's agent does and
// waits for its management socket.
func newBridge(t *testing.T, h *lab.Host, name string) string {
	t.Helper()
	if _, err := h.Vsctl("add-br", name, "--", "set", "bridge", name, "datapath_type=netdev", "fail_mode=secure",
		"protocols=OpenFlow13,OpenFlow14"); err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(h.OVSDir, name+".mgmt")
	for start := time.Now(); ; time.Sleep(20 * time.Millisecond) {
		if _, err := os.Stat(sock); err == nil {
			return "unix:" + sock
		}
		if time.Since(start) > 10*time.Second {
			t.Fatalf("%s never appeared", sock)
		}
	}
}

// ofctlDump reads a bridge's owned flows with ovs-ofctl, as the agent used
// to.
func ofctlDump(t *testing.T, h *lab.Host, bridge string) []flows.InstalledFlow {
	t.Helper()
	owned := flows.OwnerCookie.String() + "/" + flows.OwnerMask.String()
	out, err := h.Ofctl("--no-stats", "--no-names", "dump-flows", bridge, "cookie="+owned)
	if err != nil {
		t.Fatal(err)
	}
	var res []flows.InstalledFlow
	for _, line := range strings.Split(out, "\n") {
		in, err := flows.ParseDumpLine(line)
		if errors.Is(err, flows.ErrNotAFlow) {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		res = append(res, in)
	}
	return res
}

// sameTable checks that installed holds exactly want (keys, cookies and
// action texts).
func sameTable(t *testing.T, what string, want []flows.Flow, installed []flows.InstalledFlow) {
	t.Helper()
	if len(installed) != len(want) {
		t.Errorf("%s: %d flows installed, want %d", what, len(installed), len(want))
	}
	if d := flows.ComputeDiff(want, installed); !d.Empty() {
		for _, f := range d.Add {
			t.Errorf("%s: missing or different: %s", what, f)
		}
		for _, f := range d.Delete {
			t.Errorf("%s: unexpected: %s", what, f)
		}
		for _, p := range d.Purge {
			t.Errorf("%s: undecodable flows in table %d cookie %s", what, p.Table.ID, p.Cookie)
		}
	}
}

func dumpConn(t *testing.T, c *ofconn.Conn, cookie, mask flows.Cookie) []openflow.DumpedFlow {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	d, err := c.Dump(ctx, cookie, mask)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func installedOf(ds []openflow.DumpedFlow) []flows.InstalledFlow {
	var out []flows.InstalledFlow
	for _, d := range ds {
		out = append(out, d.Installed())
	}
	return out
}

func bundle(t *testing.T, c *ofconn.Conn, d flows.Diff) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	return c.Bundle(ctx, d)
}

// TestRoundTripThroughOVS installs the sample pipeline on a real
// ovs-vswitchd through ofconn and reads it back both ways.
func TestRoundTripThroughOVS(t *testing.T) {
	l := lab.New(t, lab.Options{Hosts: 1})
	h := l.Hosts[0]
	target := newBridge(t, h, "br-int")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := ofconn.Dial(ctx, target, ofconn.Options{EchoInterval: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := h.Ofctl("add-flow", "br-int", "table=99,priority=1,cookie=0x1,actions=drop"); err != nil {
		t.Fatal(err)
	}

	want := samplePipeline()
	if err := bundle(t, c, flows.ComputeDiff(want, nil)); err != nil {
		t.Fatal(err)
	}
	sameTable(t, "ovs-ofctl dump after install", want, ofctlDump(t, h, "br-int"))

	// Our own dump decodes every flow into the typed flow we installed.
	dumped := dumpConn(t, c, flows.OwnerCookie, flows.OwnerMask)
	byKey := map[string]flows.Flow{}
	for _, f := range want {
		byKey[f.Key()] = f
	}
	for _, d := range dumped {
		if d.Err != nil {
			t.Errorf("OVS's flow in table %d priority %d is undecodable: %v", d.Flow.Table.ID, d.Flow.Priority, d.Err)
			continue
		}
		w, ok := byKey[d.Flow.Key()]
		if !ok {
			t.Errorf("dumped a flow we did not install: %s", d.Flow)
			continue
		}
		sameFlow(t, d.Flow, w)
	}
	sameTable(t, "ofconn dump after install", want, installedOf(dumped))
	if all := dumpConn(t, c, 0, 0); len(all) != len(want)+1 {
		t.Errorf("unfiltered dump has %d flows, want %d (ovsnet's and the hand-made one)", len(all), len(want)+1)
	}

	// A strict delete removes exactly one flow.
	gone := want[len(want)/2]
	if err := bundle(t, c, flows.Diff{Delete: []flows.Flow{gone}}); err != nil {
		t.Fatal(err)
	}
	rest := slices.DeleteFunc(slices.Clone(want), func(f flows.Flow) bool { return f.Key() == gone.Key() })
	sameTable(t, "after a strict delete", rest, ofctlDump(t, h, "br-int"))

	// A bundle with flows OVS must refuse changes nothing, and names them.
	gotoBack := flows.Flow{Table: flows.Forward, Priority: 7, Cookie: flows.NewCookie(flows.CategoryPipeline, 0),
		Actions: []flows.Action{flows.GotoTable{Table: flows.Classify}}}
	arpOpNoARP := flows.Flow{Table: flows.Egress, Priority: 7, Cookie: flows.NewCookie(flows.CategoryPipeline, 0),
		Actions: []flows.Action{su(flows.FieldARPOp, 2), flows.OutputInPort{}}}
	err = bundle(t, c, flows.Diff{Delete: rest[:3], Add: []flows.Flow{gone, gotoBack, arpOpNoARP}})
	var refused *ofconn.RefusedError
	if !errors.As(err, &refused) {
		t.Fatalf("bundle with bad flows: %v, want a RefusedError", err)
	}
	t.Logf("refused: %v", err)
	if refused.Total != 2 || len(refused.Refusals) != 2 ||
		refused.Refusals[0].Flow.Key() != gotoBack.Key() || refused.Refusals[1].Flow.Key() != arpOpNoARP.Key() {
		t.Errorf("refusals %+v, want the goto_table back and the set_field of arp_op", refused.Refusals)
	}
	if msg := err.Error(); !strings.Contains(msg, "add of "+gotoBack.String()+": OFPET_BAD_INSTRUCTION/OFPBIC_BAD_TABLE_ID") {
		t.Errorf("error does not name the refused flow and OVS's reason: %s", msg)
	}
	if r := refused.Refusals[1].Err; r.TypeName() != "OFPET_BAD_ACTION" || r.CodeName() != "OFPBAC_MATCH_INCONSISTENT" {
		t.Errorf("set_field of arp_op without arp refused with %v", r)
	}
	sameTable(t, "after a refused bundle", rest, ofctlDump(t, h, "br-int"))
	if c.Err() != nil {
		t.Fatalf("a refused bundle broke the connection: %v", c.Err())
	}

	// Deleting the bridge closes the connection from OVS's side.
	if _, err := h.Vsctl("del-br", "br-int"); err != nil {
		t.Fatal(err)
	}
	select {
	case <-c.Done():
		t.Logf("connection ended: %v", c.Err())
	case <-time.After(10 * time.Second):
		t.Fatal("the connection outlived its bridge")
	}
	if c.Err() == nil {
		t.Error("Done closed but Err is nil")
	}
	// Redial and resync from scratch.
	target = newBridge(t, h, "br-int")
	ctx2, cancel2 := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel2()
	c2, err := ofconn.Dial(ctx2, target, ofconn.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	if err := bundle(t, c2, flows.ComputeDiff(want, installedOf(dumpConn(t, c2, flows.OwnerCookie, flows.OwnerMask)))); err != nil {
		t.Fatal(err)
	}
	sameTable(t, "after redial", want, installedOf(dumpConn(t, c2, flows.OwnerCookie, flows.OwnerMask)))
}

// rawSession talks to OVS with the codec only, to capture its replies.
type rawSession struct {
	t     *testing.T
	nc    net.Conn
	r     *bufio.Reader
	hello []byte
}

func rawDial(t *testing.T, target string) *rawSession {
	t.Helper()
	nc, err := net.Dial("unix", strings.TrimPrefix(target, "unix:"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	nc.SetDeadline(time.Now().Add(time.Minute))
	s := &rawSession{t: t, nc: nc, r: bufio.NewReader(nc)}
	s.send(openflow.AppendHello(nil, 1))
	s.hello = s.read()
	return s
}

func (s *rawSession) send(b []byte) {
	s.t.Helper()
	if _, err := s.nc.Write(b); err != nil {
		s.t.Fatal(err)
	}
}

func (s *rawSession) read() []byte {
	s.t.Helper()
	hdr := make([]byte, 8)
	if _, err := io.ReadFull(s.r, hdr); err != nil {
		s.t.Fatal(err)
	}
	h, err := openflow.ParseHeader(hdr)
	if err != nil {
		s.t.Fatal(err)
	}
	msg := append(hdr, make([]byte, h.Length-8)...)
	if _, err := io.ReadFull(s.r, msg[8:]); err != nil {
		s.t.Fatal(err)
	}
	return msg
}

// TestCaptureOVSReplies takes the replies the unit tests decode
// (testdata/ovs) from a real ovs-vswitchd, checks them and, with -update,
// stores them.
func TestCaptureOVSReplies(t *testing.T) {
	l := lab.New(t, lab.Options{Hosts: 1})
	h := l.Hosts[0]
	target := newBridge(t, h, "br-gold")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := ofconn.Dial(ctx, target, ofconn.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var gold []flows.Flow
	for _, g := range goldenFlows() {
		gold = append(gold, g.Flow)
	}
	if err := bundle(t, c, flows.Diff{Add: gold}); err != nil {
		t.Fatal(err)
	}

	s := rawDial(t, target)
	captured := map[string][]byte{"hello": s.hello}
	s.send(openflow.AppendBarrierRequest(nil, 2))
	captured["barrier_reply"] = s.read()
	flags := openflow.BundleAtomic | openflow.BundleOrdered
	s.send(openflow.AppendBundleControl(nil, 3, openflow.BundleControl{ID: 7, Type: openflow.BundleOpenRequest, Flags: flags}))
	captured["bundle_open_reply"] = s.read()
	bad := flows.Flow{Table: flows.Forward, Priority: 7, Cookie: 1, Actions: []flows.Action{flows.GotoTable{Table: flows.Classify}}}
	s.send(must(openflow.AppendBundleFlowMod(nil, 4, 7, flags, openflow.AddFlow(bad))))
	captured["error_bundle_add_bad_table_id"] = s.read()
	s.send(openflow.AppendBundleControl(nil, 5, openflow.BundleControl{ID: 7, Type: openflow.BundleCommitRequest, Flags: flags}))
	captured["bundle_commit_reply"] = s.read()
	arpOp := flows.Flow{Table: flows.Egress, Priority: 7, Cookie: 1, Actions: []flows.Action{su(flows.FieldARPOp, 2), flows.OutputInPort{}}}
	s.send(must(openflow.AppendFlowMod(nil, 6, openflow.AddFlow(arpOp))))
	captured["error_match_inconsistent"] = s.read()
	s.send(openflow.AppendFlowStatsRequest(nil, 8, flows.OwnerCookie, flows.OwnerMask))
	for {
		msg := s.read()
		captured["flow_stats_reply"] = append(captured["flow_stats_reply"], msg...)
		if _, more, err := openflow.DecodeFlowStatsReply(nil, msg); err != nil || !more {
			break
		}
	}
	for name, b := range captured {
		path := filepath.Join("testdata", "ovs", name+".hex")
		if *update {
			writeFixture(t, path, b)
		}
	}
	checkOVSFixtures(t, captured)
}

// TestInstallSpeed times installing N flows through ofconn against
// `ovs-ofctl --bundle add-flows` of the same flows' text. It reports, it
// does not assert a speed.
func TestInstallSpeed(t *testing.T) {
	const n = 80000
	fs := manyFlows(n)
	l := lab.New(t, lab.Options{Hosts: 1})
	h := l.Hosts[0]
	target := newBridge(t, h, "br-int")
	var text strings.Builder
	for _, f := range fs {
		text.WriteString(f.String())
		text.WriteByte('\n')
	}
	file := filepath.Join(t.TempDir(), "flows.txt")
	if err := os.WriteFile(file, []byte(text.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	clear := func() {
		if _, err := h.Ofctl("del-flows", "br-int"); err != nil {
			t.Fatal(err)
		}
	}
	count := func() int {
		out, err := h.Ofctl("dump-aggregate", "br-int")
		if err != nil {
			t.Fatal(err)
		}
		_, after, _ := strings.Cut(out, "flow_count=")
		k, _ := strconv.Atoi(strings.Fields(after)[0])
		return k
	}
	var dumpTime time.Duration
	ours := func() (total, bundleOnly time.Duration) {
		clear()
		start := time.Now()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		c, err := ofconn.Dial(ctx, target, ofconn.Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		b := time.Now()
		if err := c.Bundle(ctx, flows.Diff{Add: fs}); err != nil {
			t.Fatal(err)
		}
		total, bundleOnly = time.Since(start), time.Since(b)
		if k := count(); k != n {
			t.Fatalf("ofconn installed %d flows, want %d", k, n)
		}
		// Read them back: many multipart replies.
		d := time.Now()
		dumped := dumpConn(t, c, flows.OwnerCookie, flows.OwnerMask)
		dumpTime = time.Since(d)
		sameTable(t, "dump of the big table", fs, installedOf(dumped))
		return
	}
	theirs := func() time.Duration {
		clear()
		start := time.Now()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, "ovs-ofctl", "-O", "OpenFlow14", "--bundle", "add-flows", target, file)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("ovs-ofctl: %v\n%s", err, out)
		}
		d := time.Since(start)
		if k := count(); k != n {
			t.Fatalf("ovs-ofctl installed %d flows, want %d", k, n)
		}
		return d
	}
	best := func(ds []time.Duration) time.Duration { return slices.Min(ds) }
	var oursT, oursB, theirsT []time.Duration
	for range 3 {
		a, b := ours()
		oursT, oursB = append(oursT, a), append(oursB, b)
		theirsT = append(theirsT, theirs())
	}
	t.Logf("installing %d flows in one bundle (best of 3): ofconn %v (bundle alone %v), ovs-ofctl --bundle add-flows %v: ratio %.2f",
		n, best(oursT).Round(time.Millisecond), best(oursB).Round(time.Millisecond), best(theirsT).Round(time.Millisecond),
		float64(best(oursT))/float64(best(theirsT)))
	t.Logf("all runs: ofconn %v, ovs-ofctl %v; dumping %d flows through ofconn took %v", oursT, theirsT, n, dumpTime.Round(time.Millisecond))
}
