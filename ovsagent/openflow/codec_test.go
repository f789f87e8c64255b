package openflow_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math/rand/v2"
	"net/netip"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/digitalocean/go-openvswitch/ovs"

	"github.com/ovsnet/ovsnet/flows"
	"github.com/ovsnet/ovsnet/ovsagent/openflow"
)

// allFlows is every flow the tests round-trip: the sample pipeline and the
// golden flows.
func allFlows() []flows.Flow {
	fs := samplePipeline()
	for _, g := range goldenFlows() {
		fs = append(fs, g.Flow)
	}
	return fs
}

// sameFlow checks that got is want, field by field; the order of match
// fields is free (OVS reorders them).
func sameFlow(t *testing.T, got, want flows.Flow) {
	t.Helper()
	byField := func(ms []flows.Match) []flows.Match {
		out := slices.Clone(ms)
		slices.SortFunc(out, func(a, b flows.Match) int { return int(a.Field) - int(b.Field) })
		return out
	}
	if got.Key() != want.Key() || got.ActionsText() != want.ActionsText() || got.Cookie != want.Cookie {
		t.Errorf("flow changed:\n got: %s\nwant: %s", got, want)
		return
	}
	if got.Table != want.Table || got.Protocol != want.Protocol || !reflect.DeepEqual(byField(got.Match), byField(want.Match)) ||
		!reflect.DeepEqual(got.Actions, want.Actions) {
		t.Errorf("flow %s: typed values differ:\n got: %#v\nwant: %#v", want, got, want)
	}
}

func TestFlowModRoundTrip(t *testing.T) {
	fs := allFlows()
	if len(fs) < 60 {
		t.Fatalf("sample pipeline has only %d flows", len(fs))
	}
	for i, f := range fs {
		msg, err := openflow.AppendFlowMod(nil, uint32(i+1), openflow.AddFlow(f))
		if err != nil {
			t.Fatalf("encode %s: %v", f, err)
		}
		h, err := openflow.ParseHeader(msg)
		if err != nil || h.Type != openflow.TypeFlowMod || int(h.Length) != len(msg) || len(msg)%8 != 0 || h.Xid != uint32(i+1) {
			t.Fatalf("%s: header %+v (%d bytes), %v", f, h, len(msg), err)
		}
		fm, err := openflow.DecodeFlowMod(msg)
		if err != nil {
			t.Fatalf("decode %s: %v", f, err)
		}
		if fm.Command != openflow.CommandAdd {
			t.Errorf("%s: command %v", f, fm.Command)
		}
		sameFlow(t, fm.Flow, f)

		// Strict delete: same key and cookie, exact cookie mask, no actions.
		msg, err = openflow.AppendFlowMod(nil, 1, openflow.DeleteFlowStrict(f))
		if err != nil {
			t.Fatal(err)
		}
		fm, err = openflow.DecodeFlowMod(msg)
		if err != nil {
			t.Fatal(err)
		}
		if fm.Command != openflow.CommandDeleteStrict || fm.CookieMask != ^flows.Cookie(0) || fm.Flow.Key() != f.Key() ||
			fm.Flow.Cookie != f.Cookie || fm.Flow.Actions != nil {
			t.Errorf("strict delete of %s decodes as %+v", f, fm)
		}
	}
}

func TestPurgeRoundTrip(t *testing.T) {
	c := flows.NewCookie(flows.CategoryEndpoint, 4097)
	msg, err := openflow.AppendFlowMod(nil, 1, openflow.DeleteFlows(flows.SpoofGuard, c, ^flows.Cookie(0)))
	if err != nil {
		t.Fatal(err)
	}
	if len(msg) != 56 {
		t.Errorf("purge is %d bytes, want 56 (48 + empty match)", len(msg))
	}
	fm, err := openflow.DecodeFlowMod(msg)
	if err != nil {
		t.Fatal(err)
	}
	if fm.Command != openflow.CommandDelete || fm.Flow.Table != flows.SpoofGuard || fm.Flow.Cookie != c ||
		fm.CookieMask != ^flows.Cookie(0) || fm.Flow.Match != nil || fm.Flow.Protocol != "" {
		t.Errorf("purge decodes as %+v", fm)
	}
}

func TestBundleRoundTrip(t *testing.T) {
	flags := openflow.BundleAtomic | openflow.BundleOrdered
	for _, f := range samplePipeline() {
		msg, err := openflow.AppendBundleFlowMod(nil, 77, 9, flags, openflow.AddFlow(f))
		if err != nil {
			t.Fatal(err)
		}
		id, gotFlags, inner, err := openflow.DecodeBundleAdd(msg)
		if err != nil || id != 9 || gotFlags != flags {
			t.Fatalf("bundle add: id %d flags %d: %v", id, gotFlags, err)
		}
		fm, err := openflow.DecodeFlowMod(inner)
		if err != nil {
			t.Fatal(err)
		}
		sameFlow(t, fm.Flow, f)
	}
	for typ := openflow.BundleOpenRequest; typ <= openflow.BundleDiscardReply; typ++ {
		bc := openflow.BundleControl{ID: 0xdeadbeef, Type: typ, Flags: flags}
		got, err := openflow.DecodeBundleControl(openflow.AppendBundleControl(nil, 5, bc))
		if err != nil || got != bc {
			t.Errorf("bundle control %v: got %+v, %v", typ, got, err)
		}
	}
}

func TestFlowStatsRoundTrip(t *testing.T) {
	fs := allFlows()
	var out []openflow.DumpedFlow
	// Three replies, as a switch splits a large table.
	for i, part := range [][]flows.Flow{fs[:10], fs[10:40], fs[40:]} {
		msg, err := openflow.AppendFlowStatsReply(nil, 42, i < 2, part)
		if err != nil {
			t.Fatal(err)
		}
		var more bool
		if out, more, err = openflow.DecodeFlowStatsReply(out, msg); err != nil {
			t.Fatal(err)
		}
		if more != (i < 2) {
			t.Errorf("reply %d: more=%v", i, more)
		}
	}
	if len(out) != len(fs) {
		t.Fatalf("decoded %d flows of %d", len(out), len(fs))
	}
	for i, d := range out {
		if d.Err != nil {
			t.Fatalf("%s: %v", fs[i], d.Err)
		}
		sameFlow(t, d.Flow, fs[i])
		in, want := d.Installed(), mustParseDump(t, fs[i].String())
		if in.Key != want.Key || in.Actions != want.Actions || in.Cookie != want.Cookie || in.Table != want.Table {
			t.Errorf("Installed() = %+v, want %+v", in, want)
		}
	}
	// The request asks for every table, filtered by cookie.
	req := openflow.AppendFlowStatsRequest(nil, 3, flows.OwnerCookie, flows.OwnerMask)
	c, m, err := openflow.DecodeFlowStatsRequest(req)
	if err != nil || c != flows.OwnerCookie || m != flows.OwnerMask || len(req) != 56 {
		t.Errorf("flow stats request: %x/%x, %d bytes, %v", c, m, len(req), err)
	}
}

func mustParseDump(t *testing.T, line string) flows.InstalledFlow {
	t.Helper()
	in, err := flows.ParseDumpLine(line)
	if err != nil {
		t.Fatal(err)
	}
	return in
}

// TestEveryField round-trips each field of the registry in a match (exact
// and, for the maskable ones, masked) and in set_field.
func TestEveryField(t *testing.T) {
	protoFor := map[flows.FieldID][]ovs.Protocol{
		flows.FieldARPOp: {ovs.ProtocolARP}, flows.FieldARPSPA: {ovs.ProtocolARP}, flows.FieldARPTPA: {ovs.ProtocolARP},
		flows.FieldARPSHA: {ovs.ProtocolARP}, flows.FieldARPTHA: {ovs.ProtocolARP},
		flows.FieldIPv4Src: {ovs.ProtocolIPv4}, flows.FieldIPv4Dst: {ovs.ProtocolIPv4},
		flows.FieldIPv6Src: {ovs.ProtocolIPv6}, flows.FieldIPv6Dst: {ovs.ProtocolIPv6},
		flows.FieldICMPv6Type: {ovs.ProtocolICMPv6}, flows.FieldNDTarget: {ovs.ProtocolICMPv6}, flows.FieldNDSLL: {ovs.ProtocolICMPv6},
		flows.FieldNDOptionsType: {ovs.ProtocolICMPv6}, flows.FieldNDReserved: {ovs.ProtocolICMPv6},
		flows.FieldTPSrc: {ovs.ProtocolUDPv4, ovs.ProtocolUDPv6, ovs.ProtocolTCPv4},
		flows.FieldTPDst: {ovs.ProtocolUDPv4, ovs.ProtocolUDPv6, ovs.ProtocolTCPv4},
	}
	maskable := map[flows.FieldID]bool{flows.FieldCTState: true, flows.FieldCTMark: true, flows.FieldReg0: true,
		flows.FieldIPv4Src: true, flows.FieldIPv6Dst: true, flows.FieldEthDst: true, flows.FieldTunID: true}
	if len(flows.Fields) != 25 {
		t.Errorf("flows has %d fields; this test and the codec know 25", len(flows.Fields))
	}
	for id, f := range flows.Fields {
		protos := protoFor[id]
		if protos == nil {
			protos = []ovs.Protocol{""}
		}
		value := make([]byte, f.Bytes)
		for i := range value {
			value[i] = byte(0x11 * (i + 1))
		}
		value[0] = 0 // a plain in_port, not a reserved one
		for _, p := range protos {
			var ms []flows.Match
			if p == ovs.ProtocolICMPv6 && id != flows.FieldICMPv6Type {
				ms = append(ms, mu(flows.FieldICMPv6Type, 135))
			}
			ms = append(ms, flows.Match{Field: id, Value: value})
			fl := flows.Flow{Table: flows.Neighbor, Priority: 7, Cookie: 1, Protocol: p, Match: ms,
				Actions: []flows.Action{flows.SetField{Field: id, Value: value}, flows.Output{Port: 1}}}
			roundTrip(t, fl)
			if maskable[id] {
				mask := make([]byte, f.Bytes)
				mask[len(mask)-1] = 0xf0
				fl.Match = []flows.Match{{Field: id, Value: value, Mask: mask}}
				fl.Actions = []flows.Action{flows.Drop{}}
				roundTrip(t, fl)
			}
		}
	}
}

func roundTrip(t *testing.T, f flows.Flow) {
	t.Helper()
	msg, err := openflow.AppendFlowMod(nil, 1, openflow.AddFlow(f))
	if err != nil {
		t.Errorf("encode %s: %v", f, err)
		return
	}
	fm, err := openflow.DecodeFlowMod(msg)
	if err != nil {
		t.Errorf("decode %s: %v", f, err)
		return
	}
	sameFlow(t, fm.Flow, f)
}

// TestWireLayout checks the bytes of a few messages field by field against
// the OpenFlow 1.4 and Nicira layouts, independently of the fixtures.
func TestWireLayout(t *testing.T) {
	hello := openflow.AppendHello(nil, 0x01020304)
	if want := "0500001001020304000100080000002" + "0"; hexOf(hello) != want {
		t.Errorf("hello = %s, want %s", hexOf(hello), want)
	}
	// A flow whose only action is drop has no instructions: header, fixed
	// part and an empty match padded to 8.
	drop, _ := openflow.AppendFlowMod(nil, 1, openflow.AddFlow(flows.Flow{Table: flows.Egress, Cookie: 0x0e01000000000000, Actions: []flows.Action{flows.Drop{}}}))
	want := "050e0038" + "00000001" + "0e01000000000000" + "0000000000000000" + "32" + "00" + "0000" + "0000" + "0000" +
		"ffffffff" + "ffffffff" + "ffffffff" + "0000" + "0000" + "00010004" + "00000000"
	if hexOf(drop) != want {
		t.Errorf("drop flow =\n%s, want\n%s", hexOf(drop), want)
	}
	// ct(commit,zone=64000,nat(dst=10.0.0.2:80),exec(set_field:0x1001->ct_mark)) then goto_table:70.
	f := flows.Flow{Table: flows.NATReturn, Cookie: 1, Protocol: ovs.ProtocolTCPv4, Actions: []flows.Action{
		flows.CT{Commit: true, Zone: 64000, NAT: &flows.NAT{Kind: flows.NATDest, Addr: netip.MustParseAddr("10.0.0.2"), Port: 80}, Mark: 0x1001},
		flows.GotoTable{Table: flows.LocalDeliver}}}
	msg, _ := openflow.AppendFlowMod(nil, 1, openflow.AddFlow(f))
	instr := hexOf(msg[48+16:])           // after the match: eth_type, ip_proto, padding
	want = "0004" + "0048" + "00000000" + // APPLY_ACTIONS, 72 bytes
		"ffff" + "0040" + "00002320" + "0023" + "0001" + "00000000" + "fa00" + "ff" + "000000" + "0000" + // NXAST_CT, 64 bytes
		"ffff" + "0018" + "00002320" + "0024" + "0000" + "0002" + "0011" + "0a000002" + "0050" + "0000" + // NXAST_NAT dst, ipv4 min + port min
		"0019" + "0010" + "0001d604" + "00001001" + "00000000" + // SET_FIELD ct_mark
		"0001" + "0008" + "46" + "000000" // GOTO_TABLE 70
	if instr != want {
		t.Errorf("ct instructions =\n%s, want\n%s", instr, want)
	}
	// move:NXM_OF_ETH_SRC[]->NXM_OF_ETH_DST[] uses NXM headers, like OVS.
	mv := flows.Flow{Actions: []flows.Action{flows.Move{Src: flows.FieldEthSrc, Dst: flows.FieldEthDst}}}
	msg, _ = openflow.AppendFlowMod(nil, 1, openflow.AddFlow(mv))
	if got, want := hexOf(msg[56:]), "0004002000000000"+"ffff001800002320"+"0006"+"0030"+"0000"+"0000"+"00000406"+"00000206"; got != want {
		t.Errorf("move = %s, want %s", got, want)
	}
}

func hexOf(b []byte) string {
	var s strings.Builder
	for _, x := range b {
		s.WriteString("0123456789abcdef"[x>>4 : x>>4+1])
		s.WriteString("0123456789abcdef"[x&15 : x&15+1])
	}
	return s.String()
}

func TestEncodeRejects(t *testing.T) {
	c := flows.Cookie(1)
	bad := map[string]flows.Flow{
		"no actions":         {Cookie: c},
		"drop and output":    {Cookie: c, Actions: []flows.Action{flows.Drop{}, flows.Output{Port: 1}}},
		"goto not last":      {Cookie: c, Actions: []flows.Action{flows.GotoTable{Table: flows.DNS}, flows.Output{Port: 1}}},
		"reserved port":      {Cookie: c, Actions: []flows.Action{flows.Output{Port: 0xfffffffd}}},
		"short value":        {Cookie: c, Match: []flows.Match{{Field: flows.FieldEthSrc, Value: []byte{1, 2}}}, Actions: []flows.Action{flows.Drop{}}},
		"mask width":         {Cookie: c, Match: []flows.Match{{Field: flows.FieldReg0, Value: []byte{0, 0, 0, 1}, Mask: []byte{1}}}, Actions: []flows.Action{flows.Drop{}}},
		"unknown field":      {Cookie: c, Match: []flows.Match{{Field: 200, Value: []byte{1}}}, Actions: []flows.Action{flows.Drop{}}},
		"duplicate field":    {Cookie: c, Match: []flows.Match{mu(flows.FieldReg0, 1), mu(flows.FieldReg0, 2)}, Actions: []flows.Action{flows.Drop{}}},
		"unknown protocol":   {Cookie: c, Protocol: "sctp", Actions: []flows.Action{flows.Drop{}}},
		"port without l4":    {Cookie: c, Protocol: ovs.ProtocolIPv4, Match: []flows.Match{mu(flows.FieldTPDst, 53)}, Actions: []flows.Action{flows.Drop{}}},
		"move widths":        {Cookie: c, Actions: []flows.Action{flows.Move{Src: flows.FieldEthSrc, Dst: flows.FieldReg0}}},
		"move without NXM":   {Cookie: c, Actions: []flows.Action{flows.Move{Src: flows.FieldTunID, Dst: flows.FieldInPort}}},
		"nat without addr":   {Cookie: c, Actions: []flows.Action{flows.CT{Commit: true, NAT: &flows.NAT{Kind: flows.NATSource}}}},
		"source nat port":    {Cookie: c, Actions: []flows.Action{flows.CT{Commit: true, NAT: &flows.NAT{Kind: flows.NATSource, Addr: netip.MustParseAddr("1.2.3.4"), Port: 5}}}},
		"set field of width": {Cookie: c, Actions: []flows.Action{flows.SetField{Field: flows.FieldTunID, Value: []byte{1}}}},
	}
	for name, f := range bad {
		b := []byte("prefix")
		out, err := openflow.AppendFlowMod(b, 1, openflow.AddFlow(f))
		if err == nil {
			t.Errorf("%s: encoded without error", name)
		}
		if string(out) != "prefix" {
			t.Errorf("%s: a failed encode left %d bytes behind", name, len(out)-len(b))
		}
	}
}

// dumpWithBroken returns a flow-stats reply of three flows where the second
// holds what patch makes of it.
func dumpWithBroken(t *testing.T, good1, broken, good2 flows.Flow, patch func([]byte)) []openflow.DumpedFlow {
	t.Helper()
	msg, err := openflow.AppendFlowStatsReply(nil, 1, false, []flows.Flow{good1, broken, good2})
	if err != nil {
		t.Fatal(err)
	}
	first := int(binary.BigEndian.Uint16(msg[16:]))
	second := int(binary.BigEndian.Uint16(msg[16+first:]))
	patch(msg[16+first : 16+first+second])
	out, _, err := openflow.DecodeFlowStatsReply(nil, msg)
	if err != nil {
		t.Fatalf("a flow the codec cannot read failed the whole reply: %v", err)
	}
	if len(out) != 3 || out[0].Err != nil || out[2].Err != nil {
		t.Fatalf("the other flows of the reply were lost: %+v", out)
	}
	return out
}

func replaceOnce(t *testing.T, b []byte, old, new string) {
	t.Helper()
	o, n := parseHex(t, old), parseHex(t, new)
	i := bytes.Index(b, o)
	if i < 0 {
		t.Fatalf("%s not found in %x", old, b)
	}
	copy(b[i:], n)
}

// TestUndecodableFlows: a dumped flow with a field, action or instruction
// the codec does not know comes back marked, with its table, priority and
// cookie, and the diff purges it.
func TestUndecodableFlows(t *testing.T) {
	desired := flows.Flow{Table: flows.Forward, Priority: 200, Cookie: flows.NewCookie(flows.CategoryRemote, 7),
		Match: []flows.Match{mu(flows.FieldReg0, 7)}, Actions: []flows.Action{flows.Output{Port: 5}}}
	other := flows.Flow{Table: flows.LocalDeliver, Priority: 100, Cookie: flows.NewCookie(flows.CategoryEndpoint, 7),
		Match: []flows.Match{mu(flows.FieldReg0, 8)}, Actions: []flows.Action{flows.Drop{}}}
	stale := flows.Flow{Table: flows.Egress, Priority: 150, Cookie: flows.NewCookie(flows.CategoryNetwork, 9),
		Match: []flows.Match{mu(flows.FieldReg0, 9)}, Actions: []flows.Action{flows.Output{Port: 6}, flows.GotoTable{Table: flows.NATReturn}}}
	cases := map[string]func([]byte){
		"reg1 match":         func(e []byte) { replaceOnce(t, e, "00010004 00000009", "00010204 00000009") },
		"output CONTROLLER":  func(e []byte) { replaceOnce(t, e, "00000010 00000006", "00000010 fffffffd") },
		"write_actions":      func(e []byte) { replaceOnce(t, e, "00040018", "00030018") },
		"unknown NX subtype": func(e []byte) { replaceOnce(t, e, "00000010 00000006 0000", "ffff0010 00002320 00ff") },
		"idle timeout":       func(e []byte) { e[15] = 30 },
	}
	for name, patch := range cases {
		out := dumpWithBroken(t, desired, stale, other, patch)
		d := out[1]
		if !errors.Is(d.Err, openflow.ErrUnsupported) {
			t.Errorf("%s: Err = %v, want ErrUnsupported", name, d.Err)
			continue
		}
		if d.Flow.Table != stale.Table || d.Flow.Priority != stale.Priority || d.Flow.Cookie != stale.Cookie {
			t.Errorf("%s: lost table, priority or cookie: %+v", name, d.Flow)
		}
		var installed []flows.InstalledFlow
		for _, o := range out {
			installed = append(installed, o.Installed())
		}
		diff := flows.ComputeDiff([]flows.Flow{desired}, installed)
		if len(diff.Purge) != 1 || diff.Purge[0] != (flows.TableCookie{Table: stale.Table, Cookie: stale.Cookie}) ||
			len(diff.Add) != 0 || len(diff.Delete) != 1 || diff.Delete[0].Key() != other.Key() {
			t.Errorf("%s: diff %+v, want a purge of table %d cookie %s and a strict delete of %s", name, diff, stale.Table.ID, stale.Cookie, other)
		}
	}
	// A reply cut inside an entry is malformed as a whole.
	msg, _ := openflow.AppendFlowStatsReply(nil, 1, false, []flows.Flow{desired})
	binary.BigEndian.PutUint16(msg[2:], uint16(len(msg)-8))
	if _, _, err := openflow.DecodeFlowStatsReply(nil, msg[:len(msg)-8]); !errors.Is(err, openflow.ErrMalformed) {
		t.Errorf("truncated reply: %v", err)
	}
}

func TestErrorMessage(t *testing.T) {
	var msg []byte
	for _, g := range goldenMessages() {
		if g.Name == "error_bad_set_type" {
			msg = g.Msg
		}
	}
	e, err := openflow.DecodeError(msg)
	if err != nil {
		t.Fatal(err)
	}
	if e.TypeName() != "OFPET_BAD_ACTION" || e.CodeName() != "OFPBAC_BAD_SET_TYPE" || e.Xid != 11 || len(e.Data) != 64 {
		t.Errorf("decoded %+v", e)
	}
	s := e.Error()
	for _, want := range []string{"OFPET_BAD_ACTION/OFPBAC_BAD_SET_TYPE", "xid 0xb", "refused OFPT_FLOW_MOD", "050e"} {
		if !strings.Contains(s, want) {
			t.Errorf("error text %q lacks %q", s, want)
		}
	}
	if !errors.Is(e, &openflow.Error{Type: 2, Code: 13}) || errors.Is(e, &openflow.Error{Type: 2, Code: 12}) {
		t.Error("errors.Is does not compare type and code")
	}
	nx := &openflow.Error{Type: 0xffff, Code: 4, Experimenter: openflow.NiciraExperimenter, Xid: 1}
	b, _ := openflow.AppendError(nil, 1, nx)
	got, err := openflow.DecodeError(b)
	if err != nil || got.TypeName() != "OFPET_EXPERIMENTER" || got.CodeName() != "NXBRC_MUST_BE_ZERO" {
		t.Errorf("Nicira error decodes as %v (%v)", got, err)
	}
	unknown := &openflow.Error{Type: 3, Code: 99}
	if s := unknown.Error(); !strings.Contains(s, "OFPET_BAD_INSTRUCTION/code 99") {
		t.Errorf("unknown code prints as %q", s)
	}
}

func TestHello(t *testing.T) {
	v, err := openflow.DecodeHello(openflow.AppendHello(nil, 1))
	if err != nil || v != 1<<5 {
		t.Errorf("our hello offers 0x%x, %v", v, err)
	}
	// A HELLO without elements offers every version up to its own.
	v, err = openflow.DecodeHello([]byte{4, 0, 0, 8, 0, 0, 0, 1})
	if err != nil || v != 0x1e {
		t.Errorf("OF1.3 hello without bitmap offers 0x%x, %v", v, err)
	}
	// An unknown element is skipped.
	v, err = openflow.DecodeHello([]byte{6, 0, 0, 24, 0, 0, 0, 1, 0, 9, 0, 5, 1, 0, 0, 0, 0, 1, 0, 8, 0, 0, 0, 0x70})
	if err != nil || v != 0x70 {
		t.Errorf("hello with an unknown element offers 0x%x, %v", v, err)
	}
	if _, err := openflow.DecodeHello([]byte{5, 0, 0, 12, 0, 0, 0, 1, 0, 1, 0, 9}); !errors.Is(err, openflow.ErrMalformed) {
		t.Errorf("element longer than the message: %v", err)
	}
}

// TestDecodersNeverPanic feeds every decoder truncated and corrupted
// versions of every message.
func TestDecodersNeverPanic(t *testing.T) {
	var inputs [][]byte
	for _, g := range goldenMessages() {
		inputs = append(inputs, g.Msg)
	}
	for _, f := range allFlows() {
		msg, _ := openflow.AppendFlowStatsReply(nil, 1, false, []flows.Flow{f})
		inputs = append(inputs, msg)
	}
	decodeAll := func(b []byte) {
		openflow.ParseHeader(b)
		openflow.DecodeHello(b)
		openflow.DecodeError(b)
		openflow.DecodeFlowMod(b)
		openflow.DecodeBundleControl(b)
		if _, _, inner, err := openflow.DecodeBundleAdd(b); err == nil {
			openflow.DecodeFlowMod(inner)
		}
		openflow.DecodeFlowStatsRequest(b)
		openflow.DecodeFlowStatsReply(nil, b)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for _, in := range inputs {
		for n := range len(in) {
			cut := slices.Clone(in[:n])
			if n >= 4 {
				binary.BigEndian.PutUint16(cut[2:], uint16(n)) // consistent header, cut body
			}
			decodeAll(cut)
		}
		for range 200 {
			b := slices.Clone(in)
			for range 1 + rng.IntN(4) {
				i := 8 + rng.IntN(max(1, len(b)-8))
				if i < len(b) {
					b[i] = byte(rng.Uint32())
				}
			}
			decodeAll(b)
		}
	}
}
