//go:build integration

package vswitch

import (
	"context"
	"net/netip"
	"strings"
	"testing"

	"github.com/ovsnet/ovsnet/flows"
	"github.com/ovsnet/ovsnet/model"
	"github.com/ovsnet/ovsnet/test/lab"
)

// The DNS flows (steering, answers, the internal gateway's ARP and ND) are
// printed by OVS exactly as the flows package renders them, so a full sync
// finds nothing to change.
func TestDNSFlowsRoundTripThroughOVS(t *testing.T) {
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
	internal := model.Network{ID: strings.Repeat("c", 64), Name: "inner", Driver: model.DriverOverlay, Scope: model.ScopeGlobal,
		Subnet: netip.MustParsePrefix("10.0.9.0/24"), Gateway: netip.MustParseAddr("10.0.9.1"), VNI: 4099, Internal: true,
		EnableIPv6: true, Subnet6: netip.MustParsePrefix("fd00:9::/64"), Gateway6: netip.MustParseAddr("fd00:9::1")}
	st.Networks = append(st.Networks, internal)
	st.Endpoints = append(st.Endpoints, model.Endpoint{ID: strings.Repeat("9", 64), NetworkID: internal.ID, Host: "h1",
		ContainerID: strings.Repeat("f", 64), ContainerName: "c9", IfName: "eth1", IPv4: netip.MustParsePrefix("10.0.9.2/24"),
		IPv6: netip.MustParsePrefix("fd00:9::2/64"), MAC: model.MACFromIPv4(netip.MustParseAddr("10.0.9.2"))})
	cfg := flows.DefaultConfig()
	cfg.DNS = flows.DefaultDNSConfig()
	desired := flows.DesiredPorts(st, cfg)
	ofports, err := sw.PlanOFPorts(ctx, desired)
	if err != nil {
		t.Fatal(err)
	}
	if ofports[cfg.DNS.PortName] != cfg.DNS.OFPort {
		t.Fatalf("DNS port planned at %d, want %d", ofports[cfg.DNS.PortName], cfg.DNS.OFPort)
	}
	ft := NewOpenFlow(h.WaitMgmt("br-int"))
	defer ft.Close()
	want := flows.Build(st, cfg, ofports)
	if err := ft.Apply(ctx, flows.ComputeDiff(want, nil)); err != nil {
		t.Fatal(err)
	}
	installed, err := ft.Dump(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(installed) != len(want) {
		t.Fatalf("installed %d flows, OVS holds %d", len(want), len(installed))
	}
	if d := flows.ComputeDiff(want, installed); !d.Empty() {
		for _, f := range d.Add {
			t.Errorf("OVS prints this flow differently: %s", f)
		}
		for _, f := range d.Delete {
			t.Errorf("unexpected flow in OVS: %s", f)
		}
	}
	dns, _ := h.Ofctl("dump-flows", "br-int", "table=30")
	for _, m := range []string{"udp,reg0=0x1001", "udp6,reg0=0x1001", "udp,reg0=0x1002", "udp,reg0=0x1003", "udp6,reg0=0x1003"} {
		if !strings.Contains(dns, m) {
			t.Errorf("table DNS has no flow %s:\n%s", m, dns)
		}
	}
}
