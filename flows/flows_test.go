package flows

import (
	"flag"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/ovsnet/ovsnet/model"
)

var update = flag.Bool("update", false, "rewrite golden files")

func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./flows -update to create it)", err)
	}
	if string(want) != got {
		t.Errorf("%s differs from the golden file; if the change is intended, run go test ./flows -update and review the diff.\n got:\n%s", name, got)
	}
}

func TestPipelineGolden(t *testing.T) {
	st, ports := sampleState()
	var b strings.Builder
	for _, f := range Build(st, DefaultConfig(), ports) {
		if err := f.Validate(); err != nil {
			t.Error(err)
		}
		b.WriteString(f.Named() + "\n")
	}
	golden(t, "pipeline.golden", b.String())
}

func TestPortsGolden(t *testing.T) {
	st, _ := sampleState()
	var b strings.Builder
	for _, p := range DesiredPorts(st, DefaultConfig()) {
		b.WriteString(p.Name + " kind=" + string(p.Kind) + " type=" + p.Type)
		if p.MAC != nil {
			b.WriteString(" mac=" + p.MAC.String())
		}
		for _, a := range p.Addrs {
			b.WriteString(" addr=" + a.String())
		}
		keys := []string{ExtNetworkName, ExtContainerName, ExtIPAddresses, ExtAttachedMAC}
		for _, k := range keys {
			if v, ok := p.ExternalIDs[k]; ok {
				b.WriteString(" " + k + "=" + v)
			}
		}
		b.WriteString("\n")
	}
	golden(t, "ports.golden", b.String())
}

func TestBuildIsolatesNetworks(t *testing.T) {
	st, ports := sampleState()
	for _, f := range Build(st, DefaultConfig(), ports) {
		s := f.String()
		// Every flow after classification that forwards must be scoped to a
		// network (reg0) or a port; no flow may forward on MAC alone.
		if (f.Table == Forward || f.Table == LocalDeliver) && f.Priority != PriorityMiss && !strings.Contains(s, "reg0=") {
			t.Errorf("forwarding flow without network scope: %s", s)
		}
		if f.Table == SpoofGuard && f.Priority != PriorityMiss && !strings.Contains(s, "dl_src=") {
			t.Errorf("spoof guard flow without source MAC: %s", s)
		}
		if !f.Cookie.Owned() {
			t.Errorf("flow without owner cookie: %s", s)
		}
	}
}

func TestInternalNetworkHasNoEgress(t *testing.T) {
	st, ports := sampleState()
	for _, f := range Build(st, DefaultConfig(), ports) {
		if f.Cookie.Object() == 4098 && (f.Table == Egress || f.Table == NATReturn || strings.Contains(f.String(), "10.0.1.1")) {
			t.Errorf("internal network has an egress flow: %s", f.Named())
		}
	}
}

func TestMissingPortGetsNoFlows(t *testing.T) {
	st, ports := sampleState()
	delete(ports, "ovs11111111111")
	for _, f := range Build(st, DefaultConfig(), ports) {
		if strings.Contains(f.String(), "in_port=10,") || strings.Contains(f.String(), "output:10") {
			t.Errorf("flow for a port that does not exist yet: %s", f.Named())
		}
	}
}

func TestCookie(t *testing.T) {
	c := NewCookie(CategoryEndpoint, 4097)
	if !c.Owned() || c.Category() != CategoryEndpoint || c.Object() != 4097 {
		t.Fatalf("cookie %s: owned=%v category=%v object=%d", c, c.Owned(), c.Category(), c.Object())
	}
	if c&NetworkMask != NetworkCookie(4097) {
		t.Fatalf("network mask does not select the endpoint cookie")
	}
	if Cookie(0x1234).Owned() {
		t.Fatal("foreign cookie counted as owned")
	}
}

func TestParseDumpLine(t *testing.T) {
	in, err := ParseDumpLine(" cookie=0xe03000000001001, table=10, priority=200,ip,in_port=10,dl_src=02:42:0a:00:00:02,nw_src=10.0.0.2 actions=goto_table:20")
	if err != nil {
		t.Fatal(err)
	}
	f := Flow{Table: SpoofGuard, Priority: PriorityNormal, Cookie: NewCookie(CategoryEndpoint, 4097), Protocol: "ip",
		Match:   []Match{matchAddr(FieldIPv4Src, netipMust("10.0.0.2")), inPortMatch(10), matchMAC(FieldEthSrc, model.MACFromIPv4(netipMust("10.0.0.2")))},
		Actions: []Action{gotoTable(Neighbor)}}
	if in.Key != f.Key() || in.Actions != f.ActionsText() || in.Cookie != f.Cookie {
		t.Fatalf("parsed %+v\nwant key %s actions %s", in, f.Key(), f.ActionsText())
	}
	zero, err := ParseDumpLine(" priority=0 actions=drop")
	if err != nil || zero.Table != 0 || zero.Cookie != 0 || !strings.Contains(zero.Key, "priority=0") {
		t.Fatalf("table 0 line: %+v %v", zero, err)
	}
	if _, err := ParseDumpLine("OFPST_FLOW reply (OF1.4) (xid=0x2):"); err != ErrNotAFlow {
		t.Fatalf("header line: err = %v", err)
	}
}

func installed(fs []Flow) []InstalledFlow {
	var out []InstalledFlow
	for _, f := range fs {
		in, err := ParseDumpLine(f.String())
		if err != nil {
			panic(err)
		}
		out = append(out, in)
	}
	return out
}

func TestDiffIsEmptyWhenInSync(t *testing.T) {
	st, ports := sampleState()
	fs := Build(st, DefaultConfig(), ports)
	if d := ComputeDiff(fs, installed(fs)); !d.Empty() {
		t.Fatalf("diff of identical sets: %d adds, %d deletes", len(d.Add), len(d.Delete))
	}
}

func TestDiffRemovesEndpointAndKeepsForeignFlows(t *testing.T) {
	st, ports := sampleState()
	before := Build(st, DefaultConfig(), ports)
	inst := installed(before)
	foreign, _ := ParseDumpLine(" cookie=0x1, table=99, priority=5 actions=drop")
	inst = append(inst, foreign)

	// Remove the local endpoint c1 of testnet02.
	var eps []model.Endpoint
	for _, ep := range st.Endpoints {
		if ep.ContainerName != "c1" || ep.NetworkID != strings.Repeat("a", 64) {
			eps = append(eps, ep)
		}
	}
	st.Endpoints = eps
	after := Build(st, DefaultConfig(), ports)
	d := ComputeDiff(after, inst)
	if len(d.Delete) == 0 {
		t.Fatal("no deletes for a removed endpoint")
	}
	for _, f := range d.Delete {
		if !f.Cookie.Owned() {
			t.Errorf("diff deletes a foreign flow: %s", f)
		}
	}
	// Apply the diff to a model of the switch: strict deletes remove
	// exactly the flow with the same key.
	sw := map[string]Flow{}
	for _, f := range before {
		sw[f.Key()] = f
	}
	for _, del := range d.Delete {
		if _, ok := sw[del.Key()]; !ok {
			t.Errorf("strict delete of a flow that is not installed: %s", del)
		}
		delete(sw, del.Key())
	}
	for _, f := range d.Add {
		sw[f.Key()] = f
	}
	if len(sw) != len(after) {
		t.Fatalf("switch has %d flows after the diff, want %d", len(sw), len(after))
	}
	for _, f := range after {
		if got, ok := sw[f.Key()]; !ok || got.ActionsText() != f.ActionsText() {
			t.Errorf("missing after diff: %s", f)
		}
	}
}

func TestDiffPurgesFlowsItCannotReadBack(t *testing.T) {
	c := NewCookie(CategoryEndpoint, 1)
	kept := Flow{Table: SpoofGuard, Priority: PriorityNormal, Cookie: c, Match: []Match{inPortMatch(5), matchMAC(FieldEthSrc, model.MACFromIPv4(netipMust("10.0.0.5")))}, Actions: []Action{gotoTable(Neighbor)}}
	foreignField, err := ParseDumpLine(" cookie=" + c.String() + ", table=10, priority=100,in_port=5,vlan_tci=0x1000/0x1000 actions=drop")
	if err != nil {
		t.Fatal(err)
	}
	d := ComputeDiff([]Flow{kept}, append(installed([]Flow{kept}), foreignField))
	if len(d.Delete) != 0 || len(d.Purge) != 1 || d.Purge[0] != (TableCookie{SpoofGuard, c}) {
		t.Fatalf("purges = %v, deletes = %v", d.Purge, d.Delete)
	}
	if len(d.Add) != 1 || d.Add[0].Key() != kept.Key() {
		t.Fatalf("the purge also takes the desired flow of that table and cookie; adds = %v", d.Add)
	}
}

func TestParseMatchRoundTrip(t *testing.T) {
	st, ports := sampleState()
	for _, f := range Build(st, dnsConfig(), ports) {
		for _, m := range f.Match {
			got, err := ParseMatch(m.String())
			if err != nil {
				t.Fatalf("%s: %v", m, err)
			}
			if got.String() != m.String() || string(got.Value) != string(m.Value) || string(got.Mask) != string(m.Mask) {
				t.Errorf("ParseMatch(%s) = %#v, want %#v", m, got, m)
			}
		}
	}
	if _, err := ParseMatch("vlan_tci=0x1000"); err == nil {
		t.Error("unknown field parsed")
	}
	if _, err := ParseMatch("ct_state=+bogus"); err == nil {
		t.Error("bad ct_state flag parsed")
	}
}

func TestDiffReplacesChangedActions(t *testing.T) {
	st, ports := sampleState()
	before := Build(st, DefaultConfig(), ports)
	st.Hosts[0].TunnelIP = netipMust("192.0.2.9")
	after := Build(st, DefaultConfig(), ports)
	d := ComputeDiff(after, installed(before))
	var changed int
	for _, f := range d.Add {
		if strings.Contains(f.ActionsText(), "192.0.2.9") || strings.Contains(f.String(), "192.0.2.9") {
			changed++
		}
	}
	if changed == 0 {
		t.Fatalf("moving a host's tunnel address changed no flow: %+v", d)
	}
}

// docs/pipeline.md explains every table of the pipeline.
func TestPipelineDocumented(t *testing.T) {
	doc, err := os.ReadFile("../docs/pipeline.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, tbl := range Pipeline {
		if !strings.Contains(string(doc), "## "+tbl.Name+" (table "+strconv.Itoa(int(tbl.ID))+")") {
			t.Errorf("docs/pipeline.md has no section for table %s (%d)", tbl.Name, tbl.ID)
		}
	}
}
