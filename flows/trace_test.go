package flows

import (
	"os"
	"strings"
	"testing"
)

// ofproto/trace outputs recorded from a real OVS 3.1 (userspace datapath)
// on a lab host: the parser must read OVS's own text, not an idea of it.
func readTrace(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestParseTraceIntoTunnel(t *testing.T) {
	steps, dp := ParseTrace(readTrace(t, "trace_tunnel_out.txt"), "br-int")
	var names []string
	for _, s := range steps {
		names = append(names, s.Bridge+":"+s.TableName)
	}
	if got := strings.Join(names, " "); got != "br-int:Classify br-int:SpoofGuard br-int:Neighbor br-int:DNS br-int:Forward br-phy:" {
		t.Fatalf("steps: %s", got)
	}
	fwd := steps[4]
	if fwd.Table != 40 || fwd.Priority != 200 || fwd.Cookie != "0xe04000000001001" || fwd.Match != "reg0=0x1001,dl_dst=02:42:0a:00:00:03" {
		t.Fatalf("Forward step: %+v", fwd)
	}
	if strings.Join(fwd.Actions, "|") != "set_field:0x1001->tun_id|set_field:192.0.2.2->tun_dst|output:1" {
		t.Fatalf("Forward actions: %q", fwd.Actions)
	}
	if len(fwd.Notes) != 3 || fwd.Notes[0] != "output to native tunnel" {
		t.Fatalf("Forward notes: %q", fwd.Notes)
	}
	if steps[2].Match != "" || steps[2].Priority != 0 || steps[2].TableDoc == "" {
		t.Fatalf("Neighbor's catch-all step: %+v", steps[2])
	}
	if !strings.HasPrefix(dp, "tnl_push(tnl_port(5),") {
		t.Fatalf("datapath actions: %q", dp)
	}
}

func TestParseTraceDelivered(t *testing.T) {
	steps, dp := ParseTrace(readTrace(t, "trace_tunnel_in.txt"), "br-int")
	if len(steps) != 3 || steps[1].TableName != "TunnelIngress" || steps[2].TableName != "LocalDeliver" {
		t.Fatalf("steps: %+v", steps)
	}
	if last := steps[2]; strings.Join(last.Actions, "|") != "output:10" {
		t.Fatalf("LocalDeliver actions: %q", last.Actions)
	}
	if dp != "6" {
		t.Fatalf("datapath actions: %q", dp)
	}
}

func TestParseTraceDrop(t *testing.T) {
	steps, dp := ParseTrace(readTrace(t, "trace_spoof.txt"), "br-int")
	if len(steps) != 2 {
		t.Fatalf("steps: %+v", steps)
	}
	if s := steps[1]; s.TableName != "SpoofGuard" || s.Priority != 0 || strings.Join(s.Actions, "|") != "drop" {
		t.Fatalf("SpoofGuard step: %+v", s)
	}
	if dp != "drop" {
		t.Fatalf("datapath actions: %q", dp)
	}
}

// Actions of a ct() with exec are listed as OVS prints them, and the note
// under them does not end the step.
func TestParseTraceEgress(t *testing.T) {
	steps, _ := ParseTrace(readTrace(t, "trace_egress.txt"), "br-int")
	last := steps[len(steps)-1]
	if last.TableName != "Egress" || last.Actions[len(last.Actions)-1] != "output:2" || len(last.Notes) != 1 {
		t.Fatalf("Egress step: %+v", last)
	}
}

func TestParseTraceNoMatchAndOtherBridges(t *testing.T) {
	out := "Flow: ip\n\nbridge(\"br-x\")\n---------\n 0. No match.\n    drop\n\nDatapath actions: drop\n"
	steps, dp := ParseTrace(out, "br-int")
	if len(steps) != 1 || !steps[0].NoMatch || steps[0].TableName != "" || dp != "drop" {
		t.Fatalf("steps %+v, datapath %q", steps, dp)
	}
}
