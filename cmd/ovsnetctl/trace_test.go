package main

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/ovsnet/ovsnet/model"
)

func TestTraceCommand(t *testing.T) {
	var got model.TraceRequest
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.URL.Path != "/ovsnet/v1/traces" || r.Header.Get("Authorization") != "Bearer tok" {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		_ = json.NewDecoder(r.Body).Decode(&got)
		_ = json.NewEncoder(w).Encode(model.Trace{
			Packet: "TCP to port 443 10.0.0.2 → 10.0.0.3", Source: model.TraceEnd{Description: "c1@n (10.0.0.2 on h1)"},
			Destination: model.TraceEnd{Description: "c2@n (10.0.0.3 on h1)"},
			Hops: []model.TraceHop{{Host: "h1", Ingress: "port 10 (c1, ovsaaaa)", Outcome: "dropped in SpoofGuard (table 10)",
				Result: model.HostTrace{DatapathActions: "drop", Steps: []model.TraceStep{
					{Bridge: "br-int", Table: 0, TableName: "Classify", Match: "in_port=10", Priority: 200, Actions: []string{"set_field:0x1001->reg0", "goto_table:10"}},
					{Bridge: "br-int", Table: 10, TableName: "SpoofGuard", Actions: []string{"drop"}},
				}}}},
			Verdict: model.TraceVerdict{Kind: model.TraceDropped, Summary: "on h1: dropped in SpoofGuard (table 10) by priority 0 (default drop)."},
		})
	}))
	defer srv.Close()
	var out, errOut bytes.Buffer
	code := run(t.Context(), []string{"--controller", srv.URL, "--token", "tok", "trace", "--proto", "tcp", "--port", "443", "c1@n", "c2@n"}, &out, &errOut, func(string) string { return "" })
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut.String())
	}
	if got.Source != "c1@n" || got.Destination != "c2@n" || got.Protocol != "tcp" || got.Port != 443 {
		t.Fatalf("request: %+v", got)
	}
	for _, want := range []string{"Tracing TCP to port 443", "h1: in through port 10 (c1, ovsaaaa)", " 0 Classify", "set_field:0x1001->reg0, goto_table:10",
		"10 SpoofGuard", "*", "Verdict: DROPPED: on h1: dropped in SpoofGuard"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
	if code := run(t.Context(), []string{"--controller", srv.URL, "trace", "only-one"}, &out, &errOut, func(string) string { return "" }); code == 0 {
		t.Error("one argument accepted")
	}
}
