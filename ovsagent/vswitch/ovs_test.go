//go:build integration

package vswitch

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/ovsnet/ovsnet/flows"
	"github.com/ovsnet/ovsnet/model"
	"github.com/ovsnet/ovsnet/test/lab"
)

// These tests run the agent's edges against a real Open vSwitch (one lab
// host) and the real kernel.

func quietLog() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func testState() model.HostState {
	id := func(c string) string { return strings.Repeat(c, 64) }
	over := model.Network{ID: id("a"), Name: "over", Driver: model.DriverOverlay, Scope: model.ScopeGlobal,
		Subnet: netip.MustParsePrefix("10.0.0.0/24"), Gateway: netip.MustParseAddr("10.0.0.1"), VNI: 4097,
		EnableIPv6: true, Subnet6: netip.MustParsePrefix("fd00:2::/64"), Gateway6: netip.MustParseAddr("fd00:2::1")}
	br := model.Network{ID: id("b"), Name: "br", Driver: model.DriverBridge, Scope: model.ScopeLocal, Host: "h1",
		Subnet: netip.MustParsePrefix("172.18.0.0/16"), Gateway: netip.MustParseAddr("172.18.0.1"), VNI: 4098}
	ep := func(c, net, host, ip, ip6 string) model.Endpoint {
		e := model.Endpoint{ID: id(c), NetworkID: net, Host: host, ContainerID: id("f"), ContainerName: "c" + c, IfName: "eth0",
			IPv4: netip.MustParsePrefix(ip), MAC: model.MACFromIPv4(netip.MustParsePrefix(ip).Addr())}
		if ip6 != "" {
			e.IPv6 = netip.MustParsePrefix(ip6)
		}
		return e
	}
	return model.HostState{Host: "h1", Networks: []model.Network{br, over},
		Endpoints: []model.Endpoint{ep("1", over.ID, "h1", "10.0.0.2/24", "fd00:2::2/64"), ep("2", over.ID, "h2", "10.0.0.3/24", "fd00:2::3/64"),
			ep("3", br.ID, "h1", "172.18.0.2/16", "")},
		Hosts: []model.Host{{Name: "h2", TunnelIP: netip.MustParseAddr("192.0.2.2")}}}
}

// OVS prints flows in the exact text the flows package renders them in:
// after installing the pipeline, a dump diffs to nothing. If OVS changes
// its output, this fails rather than the agent re-installing every flow on
// every sync.
func TestFlowsRoundTripThroughOVS(t *testing.T) {
	l := lab.New(t, lab.Options{Hosts: 1})
	h := l.Hosts[0]
	ctx := context.Background()
	sw, err := ConnectOVSDB(ctx, h.OVSDB(), quietLog())
	if err != nil {
		t.Fatal(err)
	}
	defer sw.Close()
	if err := sw.EnsureBridge(ctx, BridgeConfig{Name: "br-int", DatapathType: "netdev"}); err != nil {
		t.Fatal(err)
	}
	st := testState()
	cfg := flows.DefaultConfig()
	desired := flows.DesiredPorts(st, cfg)
	ofports, err := sw.PlanOFPorts(ctx, desired)
	if err != nil {
		t.Fatal(err)
	}
	ft := NewOpenFlow(h.WaitMgmt("br-int"))
	defer ft.Close()
	want := flows.Build(st, cfg, ofports)
	if err := ft.Apply(ctx, flows.ComputeDiff(want, nil)); err != nil {
		t.Fatal(err)
	}
	// What OVS prints for operators is what the flows package renders.
	printed := ofctlDump(t, h)
	if len(printed) != len(want) {
		t.Fatalf("installed %d flows, OVS holds %d", len(want), len(printed))
	}
	if d := flows.ComputeDiff(want, printed); !d.Empty() {
		for _, f := range d.Add {
			t.Errorf("OVS prints this flow differently: %s", f)
		}
		for _, f := range d.Delete {
			t.Errorf("unexpected flow in OVS: %s", f)
		}
	}
	// And reading the table back over OpenFlow gives the same flows.
	installed, err := ft.Dump(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if d := flows.ComputeDiff(want, installed); !d.Empty() || len(installed) != len(want) {
		t.Fatalf("the OpenFlow dump differs: %d flows, %d adds and %d deletes needed", len(installed), len(d.Add), len(d.Delete))
	}

	// Remove an endpoint: exactly its flows go, in one bundle; flows of
	// other owners (added by hand) stay.
	if _, err := h.Ofctl("add-flow", "br-int", "table=99,priority=1,cookie=0x1,actions=drop"); err != nil {
		t.Fatal(err)
	}
	st.Endpoints = st.Endpoints[1:]
	want2 := flows.Build(st, cfg, ofports)
	d := flows.ComputeDiff(want2, installed)
	if err := ft.Apply(ctx, d); err != nil {
		t.Fatal(err)
	}
	after, err := ft.Dump(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if d := flows.ComputeDiff(want2, after); !d.Empty() {
		t.Fatalf("after removing an endpoint: %d adds and %d deletes still needed", len(d.Add), len(d.Delete))
	}
	if all, _ := h.Ofctl("dump-flows", "br-int", "table=99"); !strings.Contains(all, "cookie=0x1") {
		t.Fatalf("a flow not owned by ovsnet was removed:\n%s", all)
	}
}

func TestBridgeAndPortsInOVSDB(t *testing.T) {
	l := lab.New(t, lab.Options{Hosts: 1})
	h := l.Hosts[0]
	ctx := context.Background()
	sw, err := ConnectOVSDB(ctx, h.OVSDB(), quietLog())
	if err != nil {
		t.Fatal(err)
	}
	defer sw.Close()
	for range 2 { // idempotent
		if err := sw.EnsureBridge(ctx, BridgeConfig{Name: "br-int", DatapathType: "netdev"}); err != nil {
			t.Fatal(err)
		}
	}
	out, _ := h.Vsctl("--columns=fail_mode,protocols,datapath_type,external_ids", "list", "Bridge", "br-int")
	for _, want := range []string{"secure", "OpenFlow13", "OpenFlow14", "netdev", "owner=ovsnet"} {
		if !strings.Contains(out, want) {
			t.Errorf("bridge lacks %s:\n%s", want, out)
		}
	}
	names, _ := h.Vsctl("--columns=name", "list", "Flow_Table")
	for _, tbl := range flows.Pipeline {
		if !strings.Contains(names, tbl.Name) {
			t.Errorf("no Flow_Table named %s", tbl.Name)
		}
	}
	// Someone sets fail_mode to standalone by hand: the agent corrects it.
	if _, err := h.Vsctl("set", "Bridge", "br-int", "fail_mode=standalone"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the agent restores fail_mode=secure", func() bool {
		return sw.EnsureBridge(ctx, BridgeConfig{Name: "br-int", DatapathType: "netdev"}) == nil && strings.Contains(must(h.Vsctl("get", "Bridge", "br-int", "fail_mode")), "secure")
	})

	st := testState()
	st.Endpoints = st.Endpoints[:2] // no veths exist: plumbing is not under test here
	desired := flows.DesiredPorts(st, flows.DefaultConfig())
	ofports, err := sw.PlanOFPorts(ctx, desired)
	if err != nil {
		t.Fatal(err)
	}
	if err := sw.SyncPorts(ctx, "br-int", desired, ofports); err != nil {
		t.Fatal(err)
	}
	ports, err := sw.Ports(ctx)
	if err != nil {
		t.Fatal(err)
	}
	epName := st.Endpoints[0].PortName()
	if len(ports) != len(desired) || ports[epName].ExternalIDs[flows.ExtNetworkName] != "over" || ports["vxlan0"].OFPortRequest != 1 {
		t.Fatalf("ports after sync: %+v", ports)
	}
	if ports[epName].OFPortRequest < flows.FirstDynamicOFPort {
		t.Fatalf("endpoint port got ofport %d", ports[epName].OFPortRequest)
	}
	// Planning again keeps every number; syncing again changes nothing.
	again, _ := sw.PlanOFPorts(ctx, desired)
	for name, n := range ofports {
		if again[name] != n {
			t.Fatalf("ofport of %s moved from %d to %d", name, n, again[name])
		}
	}
	if err := sw.SyncPorts(ctx, "br-int", desired, again); err != nil {
		t.Fatal(err)
	}
	// Dropping the endpoint removes its port, and only it.
	if err := sw.SyncPorts(ctx, "br-int", desired[:len(desired)-1], again); err != nil {
		t.Fatal(err)
	}
	list, _ := h.Vsctl("list-ports", "br-int")
	if strings.Contains(list, epName) || !strings.Contains(list, "vxlan0") {
		t.Fatalf("ports after removing the endpoint: %s", list)
	}
}

func waitFor(t *testing.T, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out: %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func must(s string, err error) string {
	if err != nil {
		return "error: " + err.Error()
	}
	return s
}

// ofctlDump reads the ovsnet-owned flows as `ovs-ofctl dump-flows` prints
// them.
func ofctlDump(t *testing.T, h *lab.Host) []flows.InstalledFlow {
	t.Helper()
	out, err := h.Ofctl("--no-stats", "--no-names", "dump-flows", "br-int",
		"cookie="+flows.OwnerCookie.String()+"/"+flows.OwnerMask.String())
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
