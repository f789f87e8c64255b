package controller

import (
	"net/netip"
	"os"
	"strings"
	"testing"

	"github.com/ovsnet/ovsnet/flows"
	"github.com/ovsnet/ovsnet/model"
)

// The verdict logic, on ofproto/trace outputs recorded from a real OVS
// (flows/testdata), for the state they were recorded on: network a (VNI
// 0x1001, 10.0.0.0/24) with c1 on h1 (port 10) and c2 on h2 (port 10).
func recorded(t *testing.T, name string) model.HostTrace {
	t.Helper()
	b, err := os.ReadFile("../flows/testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	steps, dp := flows.ParseTrace(string(b), "br-int")
	return model.HostTrace{Steps: steps, DatapathActions: dp, Output: string(b)}
}

func traceSnapshot() (*Snapshot, *model.Endpoint, *model.Network, *model.Endpoint, *model.Network) {
	a := model.Network{ID: strings.Repeat("a", 64), Name: "a", Driver: model.DriverOverlay, VNI: 0x1001,
		Subnet: netip.MustParsePrefix("10.0.0.0/24"), Gateway: netip.MustParseAddr("10.0.0.1")}
	b := model.Network{ID: strings.Repeat("b", 64), Name: "b", Driver: model.DriverOverlay, VNI: 0x1002, Internal: true,
		Subnet: netip.MustParsePrefix("10.0.1.0/24"), Gateway: netip.MustParseAddr("10.0.1.1")}
	ep := func(c, net, host, ip string) model.Endpoint {
		p := netip.MustParsePrefix(ip)
		return model.Endpoint{ID: strings.Repeat(c, 64), NetworkID: net, Host: host, ContainerName: "c" + c, IPv4: p, MAC: model.MACFromIPv4(p.Addr())}
	}
	eps := []model.Endpoint{ep("1", a.ID, "h1", "10.0.0.2/24"), ep("2", a.ID, "h2", "10.0.0.3/24"), ep("3", b.ID, "h2", "10.0.1.2/24")}
	sn := &Snapshot{Networks: []model.Network{a, b}, Endpoints: eps,
		Hosts: []model.Host{{Name: "h1", TunnelIP: netip.MustParseAddr("192.0.2.1"), Alive: true}, {Name: "h2", TunnelIP: netip.MustParseAddr("192.0.2.2"), Alive: true}},
		Statuses: map[string]model.EndpointStatus{
			eps[0].ID: {EndpointID: eps[0].ID, Host: "h1", State: model.EndpointReady, OFPort: 10, Port: eps[0].PortName()},
			eps[1].ID: {EndpointID: eps[1].ID, Host: "h2", State: model.EndpointReady, OFPort: 10, Port: eps[1].PortName()},
			eps[2].ID: {EndpointID: eps[2].ID, Host: "h2", State: model.EndpointReady, OFPort: 11, Port: eps[2].PortName()},
		}}
	return sn, &sn.Endpoints[0], &sn.Networks[0], &sn.Endpoints[1], &sn.Networks[0]
}

func TestAnalyzeHopTunnelThenDelivered(t *testing.T) {
	sn, src, srcNet, dst, dstNet := traceSnapshot()
	out := analyzeHop(recorded(t, "trace_tunnel_out.txt"))
	if out.kind != exitTunnel || out.tunID != 0x1001 || out.tunDst.String() != "192.0.2.2" || out.step.TableName != "Forward" {
		t.Fatalf("first hop: %+v", out)
	}
	if got := describeExit(sn, "h1", out); got != "into the VXLAN tunnel to h2 (192.0.2.2), VNI 4097, by Forward (table 40)" {
		t.Fatalf("outcome: %s", got)
	}
	in := analyzeHop(recorded(t, "trace_tunnel_in.txt"))
	v := verdict(sn, "h2", in, src, srcNet, dst, dstNet)
	if v.Kind != model.TraceDelivered || v.Table != "LocalDeliver" || v.Summary != "delivered to c2 on h2 (port 10) by LocalDeliver (table 70)." {
		t.Fatalf("verdict: %+v", v)
	}
	// The same output on another host than the destination's is not a delivery.
	if v := verdict(sn, "h1", in, src, srcNet, dst, dstNet); v.Kind != model.TraceLeft {
		t.Fatalf("output to port 10 of h1 taken for a delivery: %+v", v)
	}
}

func TestVerdictDropNamesTableAndWhy(t *testing.T) {
	sn, src, srcNet, dst, dstNet := traceSnapshot()
	v := verdict(sn, "h1", analyzeHop(recorded(t, "trace_spoof.txt")), src, srcNet, dst, dstNet)
	want := "on h1: dropped in SpoofGuard (table 10) by priority 0 (default drop): source MAC/IP must be the port's endpoint's."
	if v.Kind != model.TraceDropped || v.Table != "SpoofGuard" || v.Priority != 0 || v.Summary != want {
		t.Fatalf("verdict: %+v", v)
	}
}

func TestVerdictEgressAcrossNetworks(t *testing.T) {
	sn, src, srcNet, _, _ := traceSnapshot()
	dst, dstNet := &sn.Endpoints[2], &sn.Networks[1]
	v := verdict(sn, "h1", analyzeHop(recorded(t, "trace_egress.txt")), src, srcNet, dst, dstNet)
	if v.Kind != model.TraceDropped || v.Table != "Egress" || !strings.Contains(v.Summary, "never reaches") ||
		!strings.Contains(v.Summary, "in Egress (table 50)") || !strings.Contains(v.Summary, "different networks (a, b)") {
		t.Fatalf("verdict: %+v", v)
	}
}

// Tables that output the packet while the datapath drops it (the tunnel's
// remote address not resolved yet) are a drop, explained by OVS's notes.
func TestVerdictDatapathDrop(t *testing.T) {
	sn, src, srcNet, dst, dstNet := traceSnapshot()
	res := recorded(t, "trace_tunnel_out.txt")
	res.DatapathActions = "drop"
	v := verdict(sn, "h1", analyzeHop(res), src, srcNet, dst, dstNet)
	if v.Kind != model.TraceDropped || !strings.Contains(v.Summary, "Forward (table 40) outputs it") || !strings.Contains(v.Summary, "the datapath drops it (output to native tunnel") {
		t.Fatalf("verdict: %+v", v)
	}
}

func TestPlanPacket(t *testing.T) {
	sn, src, srcNet, dst, dstNet := traceSnapshot()
	p, err := planPacket(model.TraceRequest{}, src, srcNet, dst, dstNet)
	if err != nil {
		t.Fatal(err)
	}
	if got := p.headers(); got != "icmp,dl_src=02:42:0a:00:00:02,dl_dst=02:42:0a:00:00:03,nw_src=10.0.0.2,nw_dst=10.0.0.3,nw_ttl=64,icmp_type=8,icmp_code=0" {
		t.Fatalf("same network: %s", got)
	}
	// Off the source's subnet: to the source network's gateway.
	other, otherNet := &sn.Endpoints[2], &sn.Networks[1]
	p, _ = planPacket(model.TraceRequest{Protocol: "tcp", Port: 443}, src, srcNet, other, otherNet)
	if got := p.headers(); got != "tcp,dl_src=02:42:0a:00:00:02,dl_dst=02:42:0a:00:00:01,nw_src=10.0.0.2,nw_dst=10.0.1.2,nw_ttl=64,tp_src=40000,tp_dst=443" {
		t.Fatalf("to another network: %s", got)
	}
	// An internal network has no gateway: straight to the MAC.
	p, _ = planPacket(model.TraceRequest{Protocol: "udp"}, other, otherNet, src, srcNet)
	if !strings.HasPrefix(p.headers(), "udp,dl_src=02:42:0a:00:01:02,dl_dst=02:42:0a:00:00:02,") || p.port != 80 {
		t.Fatalf("from an internal network: %s", p.headers())
	}
	for _, bad := range []model.TraceRequest{{Protocol: "sctp"}, {IPv6: true}} {
		if _, err := planPacket(bad, src, srcNet, dst, dstNet); statusOf(err) != 400 {
			t.Errorf("%+v: %v", bad, err)
		}
	}
}

func TestResolveTraceEnd(t *testing.T) {
	sn, _, _, _, _ := traceSnapshot()
	for ref, want := range map[string]string{"c1@a": "c1", "c3": "c3", strings.Repeat("2", 12): "c2", "c3@b": "c3"} {
		ep, _, err := resolveTraceEnd(sn, ref)
		if err != nil || ep.ContainerName != want {
			t.Errorf("%s: %v %v", ref, ep, err)
		}
	}
	for ref, status := range map[string]int{"c9": 404, "c1@b": 404, "c1@nonet": 404, "": 404} {
		if _, _, err := resolveTraceEnd(sn, ref); statusOf(err) != status {
			t.Errorf("%q: %v, want status %d", ref, err, status)
		}
	}
	sn.Endpoints = append(sn.Endpoints, model.Endpoint{ID: strings.Repeat("4", 64), NetworkID: sn.Networks[1].ID, Host: "h1", ContainerName: "c1"})
	if _, _, err := resolveTraceEnd(sn, "c1"); statusOf(err) != 400 || !strings.Contains(err.Error(), "c1@a, c1@b") {
		t.Errorf("ambiguous container: %v", err)
	}
}
