package openflow_test

import (
	"encoding/binary"
	"path/filepath"
	"testing"

	"github.com/ovsnet/ovsnet/flows"
	"github.com/ovsnet/ovsnet/ovsagent/openflow"
)

// ovsFixtures are replies captured from ovs-vswitchd 3.1 by the
// integration test TestCaptureOVSReplies (testdata/ovs/NAME.hex).
var ovsFixtures = []string{"hello", "barrier_reply", "bundle_open_reply", "error_bundle_add_bad_table_id",
	"bundle_commit_reply", "error_match_inconsistent", "flow_stats_reply"}

// TestOVSFixtures decodes what a real Open vSwitch sent.
func TestOVSFixtures(t *testing.T) {
	captured := map[string][]byte{}
	for _, name := range ovsFixtures {
		captured[name] = readFixture(t, filepath.Join("testdata", "ovs", name+".hex"))
	}
	checkOVSFixtures(t, captured)
}

// checkOVSFixtures checks replies of OVS to the requests of
// TestCaptureOVSReplies: xids 2 (barrier), 3 (bundle 7 open), 4 (bundled
// goto_table back), 5 (commit), 6 (set_field of arp_op without arp), 8
// (dump of the golden flows).
func checkOVSFixtures(t *testing.T, m map[string][]byte) {
	t.Helper()
	if v, err := openflow.DecodeHello(m["hello"]); err != nil || v&(1<<openflow.Version) == 0 {
		t.Errorf("OVS's hello offers 0x%x (%v), without OpenFlow 1.4", v, err)
	}
	if h, err := openflow.ParseHeader(m["barrier_reply"]); err != nil || h.Type != openflow.TypeBarrierReply || h.Xid != 2 {
		t.Errorf("barrier reply: %+v %v", h, err)
	}
	for name, want := range map[string]openflow.BundleControl{
		"bundle_open_reply":   {ID: 7, Type: openflow.BundleOpenReply},
		"bundle_commit_reply": {ID: 7, Type: openflow.BundleCommitReply},
	} {
		if bc, err := openflow.DecodeBundleControl(m[name]); err != nil || bc != want {
			t.Errorf("%s: %+v %v, want %+v", name, bc, err, want)
		}
	}
	for name, want := range map[string]struct {
		xid    uint32
		text   string
		failed openflow.Type
	}{
		"error_bundle_add_bad_table_id": {4, "OFPET_BAD_INSTRUCTION/OFPBIC_BAD_TABLE_ID", openflow.TypeBundleAddMessage},
		"error_match_inconsistent":      {6, "OFPET_BAD_ACTION/OFPBAC_MATCH_INCONSISTENT", openflow.TypeFlowMod},
	} {
		e, err := openflow.DecodeError(m[name])
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		h, ok := e.Failed()
		if e.Xid != want.xid || e.TypeName()+"/"+e.CodeName() != want.text || !ok || h.Type != want.failed || h.Xid != want.xid {
			t.Errorf("%s: %v, want %s for the %s with xid %d", name, e, want.text, want.failed, want.xid)
		}
	}
	var dumped []openflow.DumpedFlow
	for b := m["flow_stats_reply"]; len(b) > 0; {
		n := int(binary.BigEndian.Uint16(b[2:]))
		var err error
		if dumped, _, err = openflow.DecodeFlowStatsReply(dumped, b[:n]); err != nil {
			t.Fatal(err)
		}
		b = b[n:]
	}
	want := map[string]flows.Flow{}
	for _, g := range goldenFlows() {
		want[g.Flow.Key()] = g.Flow
	}
	if len(dumped) != len(want) {
		t.Errorf("OVS dumped %d flows, want the %d golden ones", len(dumped), len(want))
	}
	for _, d := range dumped {
		if d.Err != nil {
			t.Errorf("flow of table %d priority %d cookie %s: %v", d.Flow.Table.ID, d.Flow.Priority, d.Flow.Cookie, d.Err)
			continue
		}
		w, ok := want[d.Flow.Key()]
		if !ok {
			t.Errorf("unexpected flow %s", d.Flow)
			continue
		}
		sameFlow(t, d.Flow, w)
	}
}
