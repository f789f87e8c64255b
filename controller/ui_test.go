package controller

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"net/netip"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ovsnet/ovsnet/flows"
	"github.com/ovsnet/ovsnet/internal/store"
	"github.com/ovsnet/ovsnet/model"
)

// The live topology stream: one event at once, another after a change.
func TestEventsStreamTopology(t *testing.T) {
	e := newEnv(t, 1, "")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, e.srvs[0].URL+"/ovsnet/v1/events", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Fatalf("content type %q", ct)
	}
	events := make(chan Topology, 16)
	go func() {
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		kind := ""
		for sc.Scan() {
			line := sc.Text()
			switch {
			case strings.HasPrefix(line, "event: "):
				kind = strings.TrimPrefix(line, "event: ")
			case strings.HasPrefix(line, "data: ") && kind == "topology":
				var tp Topology
				if json.Unmarshal([]byte(strings.TrimPrefix(line, "data: ")), &tp) == nil {
					events <- tp
				}
			}
		}
		close(events)
	}()
	next := func(what string, pred func(Topology) bool) Topology {
		t.Helper()
		for {
			select {
			case tp, ok := <-events:
				if !ok {
					t.Fatalf("stream ended waiting for %s", what)
				}
				if pred(tp) {
					return tp
				}
			case <-ctx.Done():
				t.Fatalf("no event with %s", what)
			}
		}
	}
	first := next("the first topology", func(tp Topology) bool { return true })
	if len(first.Networks) != 0 || len(first.Hosts) != 1 || first.Version != Version {
		t.Fatalf("first event: %+v", first)
	}
	if code, body := e.do("POST", "/networks/create", `{"Name":"live","Driver":"overlay"}`); code != 201 {
		t.Fatalf("create: %d %s", code, body)
	}
	got := next("the new network", func(tp Topology) bool { return len(tp.Networks) == 1 && tp.Networks[0].Name == "live" })
	if got.Index <= first.Index {
		t.Fatalf("index went from %d to %d", first.Index, got.Index)
	}
	// The same picture for one GET.
	code, body := e.do("GET", "/ovsnet/v1/topology", "")
	if code != 200 || !strings.Contains(body, `"name":"live"`) {
		t.Fatalf("GET topology: %d %s", code, body)
	}
}

// A trace goes to the hosts' agents through Consul: the controller writes
// a request per host, waits for the answer, follows the tunnel to the
// next host and removes every key it wrote. Agents here are fakes that
// answer with ofproto/trace outputs recorded from a real OVS.
func TestTraceThroughConsul(t *testing.T) {
	e := newEnv(t, 1, "secret")
	auth := []string{"Authorization", "Bearer secret"}
	// Two live hosts (h1 is registered by the env).
	e.registerHost("h2", "192.0.2.2")
	e.do("POST", "/networks/create", `{"Name":"n","Driver":"overlay","IPAM":{"Config":[{"Subnet":"10.0.0.0/24"}]}}`, auth...)
	ids := map[string]string{}
	for _, ct := range []struct{ name, host string }{{"a", "h1"}, {"b", "h2"}} {
		code, body := e.do("POST", "/networks/n/connect", `{"Container":"`+ct.name+`","EndpointConfig":{"DriverOpts":{"ovsnet.host":"`+ct.host+`","ovsnet.docker":"true"}}}`, auth...)
		if code != 200 {
			t.Fatalf("connect %s: %d %s", ct.name, code, body)
		}
		var v model.EndpointView
		_ = json.Unmarshal([]byte(body), &v)
		ids[ct.name] = v.ID
		e.report(ct.host, v.ID, model.EndpointReady, "")
	}

	// Without the token: refused, like every write.
	if code, body := e.do("POST", "/ovsnet/v1/traces", `{"source":"a@n","destination":"b@n"}`); code != 401 {
		t.Fatalf("trace without token: %d %s", code, body)
	}

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var mu sync.Mutex
	asked := map[string]string{}
	answer := map[string]string{"h1": "trace_tunnel_out.txt", "h2": "trace_tunnel_in.txt"}
	var wg sync.WaitGroup
	for host, file := range answer {
		out, err := os.ReadFile("../flows/testdata/" + file)
		if err != nil {
			t.Fatal(err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			fakeTraceAgent(ctx, e.st, host, string(out), func(flow string) {
				mu.Lock()
				asked[host] = flow
				mu.Unlock()
			})
		}()
	}
	code, body := e.do("POST", "/ovsnet/v1/traces", `{"source":"a@n","destination":"b@n"}`, auth...)
	if code != 200 {
		t.Fatalf("trace: %d %s", code, body)
	}
	var tr model.Trace
	if err := json.Unmarshal([]byte(body), &tr); err != nil {
		t.Fatal(err)
	}
	if tr.Verdict.Kind != model.TraceDelivered || len(tr.Hops) != 2 || tr.Hops[0].Host != "h1" || tr.Hops[1].Host != "h2" {
		t.Fatalf("trace: %+v", tr)
	}
	mu.Lock()
	first, second := asked["h1"], asked["h2"]
	mu.Unlock()
	if first != "in_port=10,icmp,dl_src=02:42:0a:00:00:02,dl_dst=02:42:0a:00:00:03,nw_src=10.0.0.2,nw_dst=10.0.0.3,nw_ttl=64,icmp_type=8,icmp_code=0" {
		t.Errorf("h1 traced %s", first)
	}
	if !strings.HasPrefix(second, "in_port=1,tun_id=0x1001,tun_src=192.0.2.1,tun_dst=192.0.2.2,icmp,") {
		t.Errorf("h2 traced %s", second)
	}
	if pairs, _, _ := e.b.List(context.Background(), e.prefix+"/trace/", store.Query{}); len(pairs) != 0 {
		t.Errorf("the trace left %d keys behind", len(pairs))
	}

	// Bad requests change nothing and say why.
	for body, want := range map[string]string{
		`{"source":"a@n"}`:                                    "needs a source and a destination",
		`{"source":"a@n","destination":"zz@n"}`:               "container zz is not connected to network n",
		`{"source":"a@n","destination":"a@n"}`:                "same endpoint",
		`{"source":"a@n","destination":"b@n","protocol":"x"}`: "not traceable",
	} {
		if code, got := e.do("POST", "/ovsnet/v1/traces", body, auth...); code/100 != 4 || !strings.Contains(got, want) {
			t.Errorf("%s: %d %s", body, code, got)
		}
	}

	// A host whose agent does not answer: 504, naming the host, bounded.
	cancel()
	wg.Wait()
	old := traceHostTimeout
	traceHostTimeout = 2 * time.Second
	defer func() { traceHostTimeout = old }()
	start := time.Now()
	code, body = e.do("POST", "/ovsnet/v1/traces", `{"source":"b@n","destination":"a@n"}`, auth...)
	if code != 504 || !strings.Contains(body, "the ovsnet agent on host h2 did not answer the trace within 2s") {
		t.Fatalf("trace with no agent: %d %s", code, body)
	}
	if d := time.Since(start); d > 6*time.Second {
		t.Errorf("the unanswered trace took %s", d)
	}
	if pairs, _, _ := e.b.List(context.Background(), e.prefix+"/trace/", store.Query{}); len(pairs) != 0 {
		t.Errorf("the unanswered trace left %d keys behind", len(pairs))
	}

	// Metrics count the traces by verdict.
	if _, m := e.do("GET", "/metrics", ""); !strings.Contains(m, `ovsnet_controller_traces_total{verdict="delivered"}`) ||
		!strings.Contains(m, `ovsnet_controller_requests_total{code="200",route="/ovsnet/v1/traces"}`) ||
		!strings.Contains(m, `ovsnet_controller_hosts{state="alive"} 2`) {
		t.Errorf("metrics:\n%s", m)
	}
}

// fakeTraceAgent answers host's trace requests with a recorded output.
func fakeTraceAgent(ctx context.Context, st *store.Store, host, output string, seen func(flow string)) {
	store.Watch{Prefix: st.K.TraceRequests(host), WaitTime: 2 * time.Second}.Run(ctx, st.B, func(pairs []store.Pair, _ uint64) {
		for _, p := range pairs {
			var spec model.TraceSpec
			if store.Decode(p, &spec) != nil {
				continue
			}
			seen(spec.Flow)
			steps, dp := flows.ParseTrace(output, "br-int")
			_ = st.Put(ctx, st.K.TraceResult(host, spec.ID), model.HostTrace{ID: spec.ID, Host: host, Flow: spec.Flow, Steps: steps,
				DatapathActions: dp, Output: output, Finished: time.Now().UTC()})
			var t store.Txn
			t.DeleteCAS(p.Key, p.ModifyIndex)
			_, _ = st.Commit(ctx, &t)
		}
	})
}

// The UI is served at / with its assets, under a strict content policy.
func TestServesWebUI(t *testing.T) {
	e := newEnv(t, 1, "")
	for path, want := range map[string]string{
		"/":                `<script type="module" src="/ui/app.js">`,
		"/ui/app.js":       "live.start()",
		"/ui/style.css":    ".topbar",
		"/ui/topology.js":  "export function mountTopology",
		"/ui/favicon.svg":  "<svg",
		"/ovsnet/v1/hosts": `"name":"h1"`,
	} {
		resp, err := http.Get(e.srvs[0].URL + path)
		if err != nil {
			t.Fatal(err)
		}
		b := new(strings.Builder)
		_, _ = bufio.NewReader(resp.Body).WriteTo(b)
		resp.Body.Close()
		if resp.StatusCode != 200 || !strings.Contains(b.String(), want) {
			t.Errorf("GET %s: %d, lacks %q", path, resp.StatusCode, want)
		}
		if strings.HasPrefix(path, "/ui/") || path == "/" {
			if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") {
				t.Errorf("GET %s: CSP %q", path, csp)
			}
		}
	}
	if code, _ := e.do("GET", "/ui/nope.js", ""); code != 404 {
		t.Errorf("missing asset: %d", code)
	}
}

func mustAddr(s string) netip.Addr { return netip.MustParseAddr(s) }
