package openflow_test

import (
	"encoding/hex"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/ovsnet/ovsnet/flows"
	"github.com/ovsnet/ovsnet/ovsagent/openflow"
)

var update = flag.Bool("update", false, "rewrite the fixtures in testdata (with -tags integration also those taken from Open vSwitch)")

// goldenMessage is one message whose encoding is pinned in
// testdata/golden/NAME.hex; the integration tests check that Open vSwitch
// prints it as testdata/golden/NAME.txt says.
type goldenMessage struct {
	Name string
	Msg  []byte
}

func must(b []byte, err error) []byte {
	if err != nil {
		panic(err)
	}
	return b
}

// goldenMessages is one message of each type the agent sends, and a
// FLOW_MOD for each golden flow (every field and action).
func goldenMessages() []goldenMessage {
	ctl := func(t openflow.BundleCtrlType) openflow.BundleControl {
		return openflow.BundleControl{ID: 1, Type: t, Flags: openflow.BundleAtomic | openflow.BundleOrdered}
	}
	gf := goldenFlows()
	byName := func(name string) flows.Flow {
		for _, g := range gf {
			if g.Name == name {
				return g.Flow
			}
		}
		panic(name)
	}
	msgs := []goldenMessage{
		{"hello", openflow.AppendHello(nil, 1)},
		{"echo_request", openflow.AppendEchoRequest(nil, 2, []byte("ovsnet"))},
		{"echo_reply", openflow.AppendEchoReply(nil, 2, []byte("ovsnet"))},
		{"barrier_request", openflow.AppendBarrierRequest(nil, 3)},
		{"bundle_open", openflow.AppendBundleControl(nil, 4, ctl(openflow.BundleOpenRequest))},
		{"bundle_commit", openflow.AppendBundleControl(nil, 5, ctl(openflow.BundleCommitRequest))},
		{"bundle_discard", openflow.AppendBundleControl(nil, 6, ctl(openflow.BundleDiscardRequest))},
		{"bundle_add", must(openflow.AppendBundleFlowMod(nil, 7, 1, openflow.BundleAtomic|openflow.BundleOrdered, openflow.AddFlow(byName("add_arp_reply"))))},
		{"flow_stats_request", openflow.AppendFlowStatsRequest(nil, 8, flows.OwnerCookie, flows.OwnerMask)},
		{"delete_strict", must(openflow.AppendFlowMod(nil, 9, openflow.DeleteFlowStrict(byName("add_nat_return"))))},
		{"delete_purge", must(openflow.AppendFlowMod(nil, 10, openflow.DeleteFlows(flows.Neighbor, flows.NewCookie(flows.CategoryRemote, 4097), ^flows.Cookie(0))))},
		{"error_bad_set_type", must(openflow.AppendError(nil, 11, &openflow.Error{Type: 2, Code: 13,
			Data: must(openflow.AppendFlowMod(nil, 11, openflow.AddFlow(byName("add_nd_advert"))))[:64]}))},
	}
	for i, g := range gf {
		msgs = append(msgs, goldenMessage{"flow_" + g.Name, must(openflow.AppendFlowMod(nil, uint32(0x100+i), openflow.AddFlow(g.Flow)))})
	}
	return msgs
}

// formatHex writes 16 bytes per line, as `ovs-ofctl ofp-print` accepts.
func formatHex(b []byte) string {
	var s strings.Builder
	for i := 0; i < len(b); i += 16 {
		line := b[i:min(i+16, len(b))]
		for j, x := range line {
			if j > 0 {
				s.WriteByte(' ')
			}
			s.WriteString(hex.EncodeToString([]byte{x}))
		}
		s.WriteByte('\n')
	}
	return s.String()
}

func parseHex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.Join(strings.Fields(s), ""))
	if err != nil {
		t.Fatalf("bad hex fixture: %v", err)
	}
	return b
}

func readFixture(t testing.TB, path string) []byte {
	t.Helper()
	s, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("fixture: %v (run the tests with -update to create it)", err)
	}
	return parseHex(t, string(s))
}

func writeFixture(t testing.TB, path string, b []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(formatHex(b)), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestGoldenMessages pins the bytes of every message type and of a
// FLOW_MOD using each field and action.
func TestGoldenMessages(t *testing.T) {
	seen := map[string]bool{}
	for _, g := range goldenMessages() {
		path := filepath.Join("testdata", "golden", g.Name+".hex")
		seen[g.Name+".hex"] = true
		if *update {
			writeFixture(t, path, g.Msg)
			continue
		}
		want := readFixture(t, path)
		if !slices.Equal(g.Msg, want) {
			t.Errorf("%s: encoding changed\n got: %s\nwant: %s", g.Name, formatHex(g.Msg), formatHex(want))
		}
	}
	files, _ := filepath.Glob(filepath.Join("testdata", "golden", "*.hex"))
	for _, f := range files {
		if !seen[filepath.Base(f)] {
			t.Errorf("stale fixture %s", f)
		}
	}
}
