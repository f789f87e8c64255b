package controller

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/ovsnet/ovsnet/internal/pki"
	"github.com/ovsnet/ovsnet/internal/store"
)

// concrete fills a route's path parameters.
func concrete(path string) string {
	return strings.NewReplacer("{id}", "n", "{name}", "h1", "{addr}", "10.0.0.9").Replace(path)
}

// With a token set, every route but the public ones answers 401 without
// it, reads included (the state holds namespace paths and tunnel
// addresses); with it, none does. Public routes never ask for it.
func TestReadsNeedTheToken(t *testing.T) {
	e := newEnv(t, 1, "s3cret")
	e.do("POST", "/networks/create", `{"Name":"n","Driver":"overlay"}`, "Authorization", "Bearer s3cret")
	get := func(path string, headers ...string) int {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, e.srvs[0].URL+path, nil)
		for i := 0; i+1 < len(headers); i += 2 {
			req.Header.Set(headers[i], headers[i+1])
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		resp.Body.Close() // an event stream is left at its headers
		return resp.StatusCode
	}
	reads := 0
	for _, rt := range routes {
		if rt.methods[0] != http.MethodGet {
			continue
		}
		path := concrete(rt.path)
		if rt.prefix {
			path += "app.js"
		}
		code := get(path)
		switch {
		case rt.public && code == http.StatusUnauthorized:
			t.Errorf("public GET %s asks for the token", path)
		case !rt.public && code != http.StatusUnauthorized:
			t.Errorf("GET %s without the token: %d, want 401", path, code)
		}
		if !rt.public {
			reads++
			if code := get(path, "Authorization", "Bearer s3cret"); code == http.StatusUnauthorized {
				t.Errorf("GET %s with the token: 401", path)
			}
			if code := get(path, "Authorization", "bearer s3cret"); code == http.StatusUnauthorized {
				t.Errorf("GET %s with the scheme in lower case: 401", path)
			}
			if code := get(path, "Authorization", "Basic s3cret"); code != http.StatusUnauthorized {
				t.Errorf("GET %s with another scheme: %d", path, code)
			}
			if code := get(path, "Authorization", "Bearer s3cretX"); code != http.StatusUnauthorized {
				t.Errorf("GET %s with a wrong token: %d", path, code)
			}
			if rt.docker {
				if code := get("/v1.41" + path); code != http.StatusUnauthorized {
					t.Errorf("GET /v1.41%s without the token: %d", path, code)
				}
			}
		}
	}
	if reads < 10 {
		t.Fatalf("only %d guarded reads found in the route table", reads)
	}
	code, body := e.do("GET", "/ovsnet/v1/endpoints", "")
	if code != 401 || !strings.Contains(body, "requires a token") || !strings.Contains(body, "HttpHeaders") {
		t.Fatalf("GET without the token: %d %s", code, body)
	}
	// Without a token configured, reads are open (a loopback or unix
	// socket, or client certificates guard the controller then).
	open := newEnv(t, 1, "")
	if code, _ := open.do("GET", "/ovsnet/v1/endpoints", ""); code != 200 {
		t.Fatalf("no token configured: %d", code)
	}
}

// The read-only token reads every guarded route and changes nothing: every
// write answers 403, saying why, and leaves the state as it was; the full
// token still writes. A read-only token alone, or one equal to the full
// token, is refused at start.
func TestReadOnlyToken(t *testing.T) {
	e := newEnvOn(t, store.NewMemory(), "ovsnet", 1, "s3cret", func(c *Config) { c.ReadToken = "look" })
	full, look := []string{"Authorization", "Bearer s3cret"}, []string{"Authorization", "Bearer look"}
	if code, body := e.do("POST", "/networks/create", `{"Name":"n","Driver":"overlay"}`, full...); code != 201 {
		t.Fatalf("create with the full token: %d %s", code, body)
	}
	_, before := e.do("GET", "/ovsnet/v1/backup", "", full...)
	writes, reads := 0, 0
	for _, rt := range routes {
		if rt.public {
			continue
		}
		path := concrete(rt.path)
		if rt.path == eventsRoute {
			continue // a stream that does not end; TestReadsNeedTheToken asks it
		}
		body := ""
		if rt.write && rt.methods[0] != http.MethodDelete {
			body = `{"Name":"m","Driver":"overlay","Container":"c1"}`
		}
		code, msg := e.do(rt.methods[0], path, body, look...)
		switch {
		case rt.write:
			writes++
			if code != http.StatusForbidden || !strings.Contains(msg, "may only read") {
				t.Errorf("%s %s with the read-only token: %d %s, want 403", rt.methods[0], path, code, msg)
			}
		default:
			reads++
			if code == http.StatusUnauthorized || code == http.StatusForbidden {
				t.Errorf("GET %s with the read-only token: %d %s", path, code, msg)
			}
		}
	}
	if writes < 10 || reads < 10 {
		t.Fatalf("only %d writes and %d reads found in the route table", writes, reads)
	}
	// A backup says when it was taken: compare what it holds.
	var b0, b1 map[string]any
	_, after := e.do("GET", "/ovsnet/v1/backup", "", full...)
	if json.Unmarshal([]byte(before), &b0) != nil || json.Unmarshal([]byte(after), &b1) != nil {
		t.Fatalf("backups do not parse: %s / %s", before, after)
	}
	delete(b0, "created")
	delete(b1, "created")
	if !reflect.DeepEqual(b0, b1) {
		t.Errorf("writes with the read-only token changed the state:\nbefore %s\nafter  %s", before, after)
	}
	if code, body := e.do("DELETE", "/networks/n", "", full...); code != 204 {
		t.Errorf("remove with the full token: %d %s", code, body)
	}
	for _, cfg := range []Config{{ReadToken: "look"}, {Token: "same", ReadToken: "same"}} {
		cfg.Backend, cfg.Logger = store.NewMemory(), quietLog()
		if _, err := New(cfg); err == nil {
			t.Errorf("New(token %q, read-only token %q) accepted", cfg.Token, cfg.ReadToken)
		}
	}
}

// A web page cannot forge a write: text/plain or a form is refused (415),
// and so is any cross-origin request (403); nothing changes. The docker
// CLI (no Origin, JSON bodies, DELETE and prune without a body) and the UI
// (same origin, JSON) go through.
func TestWritesRefusedFromBrowsers(t *testing.T) {
	e := newEnv(t, 1, "")
	host := strings.TrimPrefix(e.srvs[0].URL, "http://")
	create := `{"Name":"n","Driver":"overlay"}`
	for _, c := range []struct {
		what    string
		headers []string
		want    int
	}{
		{"text/plain", []string{"Content-Type", "text/plain"}, 415},
		{"text/plain;charset=UTF-8", []string{"Content-Type", "text/plain;charset=UTF-8"}, 415},
		{"a form", []string{"Content-Type", "application/x-www-form-urlencoded"}, 415},
		{"a multipart form", []string{"Content-Type", "multipart/form-data; boundary=x"}, 415},
		{"no Content-Type", []string{"Content-Type", ""}, 415},
		{"cross-origin", []string{"Origin", "http://evil.example"}, 403},
		{"cross-origin with the same port", []string{"Origin", "http://evil.example:" + strings.Split(host, ":")[1]}, 403},
		{"an opaque origin", []string{"Origin", "null"}, 403},
		{"cross-site fetch", []string{"Sec-Fetch-Site", "cross-site"}, 403},
		{"same-site fetch", []string{"Sec-Fetch-Site", "same-site"}, 403},
	} {
		code, body := e.do("POST", "/networks/create", create, c.headers...)
		if code != c.want {
			t.Errorf("%s: %d %s, want %d", c.what, code, body, c.want)
		}
	}
	if code, body := e.do("GET", "/networks", ""); code != 200 || body != "[]\n" {
		t.Fatalf("a refused write changed something: %d %s", code, body)
	}
	// A cross-origin DELETE and an empty form to prune are refused too.
	if code, _ := e.do("POST", "/networks/prune", "", "Content-Type", "application/x-www-form-urlencoded"); code != 415 {
		t.Errorf("empty form to prune: %d", code)
	}
	if code, _ := e.do("DELETE", "/networks/n", "", "Origin", "http://evil.example"); code != 403 {
		t.Errorf("cross-origin DELETE: %d", code)
	}

	// What real clients send.
	for _, c := range []struct {
		what    string
		headers []string
	}{
		{"the UI", []string{"Origin", "http://" + host, "Sec-Fetch-Site", "same-origin", "Content-Type", "application/json"}},
		{"the docker CLI", nil},
		{"JSON with a charset", []string{"Content-Type", "application/json; charset=utf-8"}},
	} {
		code, body := e.do("POST", "/networks/create", create, c.headers...)
		if code != 201 {
			t.Fatalf("%s: %d %s", c.what, code, body)
		}
		if code, body := e.do("DELETE", "/networks/n", "", c.headers...); code != 204 {
			t.Fatalf("%s: rm: %d %s", c.what, code, body)
		}
	}
	if code, body := e.do("POST", "/v1.41/networks/prune", ""); code != 200 {
		t.Fatalf("docker network prune: %d %s", code, body)
	}
}

// Traces are limited per client: a burst, then about one a second, with
// Retry-After; another client is not held back.
func TestTracesRateLimitedPerClient(t *testing.T) {
	now := time.Unix(1000, 0)
	l := newClientLimiter(1, 3)
	l.now = func() time.Time { return now }
	for i := 0; i < 3; i++ {
		if ok, _ := l.allow("a", 1); !ok {
			t.Fatalf("request %d of the burst refused", i)
		}
	}
	if ok, wait := l.allow("a", 1); ok || wait != time.Second {
		t.Fatalf("beyond the burst: %v, wait %v", ok, wait)
	}
	if ok, _ := l.allow("b", 1); !ok {
		t.Fatal("another client was held back")
	}
	now = now.Add(1500 * time.Millisecond)
	if ok, _ := l.allow("a", 1); !ok {
		t.Fatal("no request allowed after a second")
	}
	if ok, _ := l.allow("a", 1); ok {
		t.Fatal("two requests allowed after a second and a half")
	}
	// The bucket map stays bounded.
	for i := 0; i < 2*maxClients; i++ {
		l.allow(string(rune(i)), 1)
	}
	if len(l.buckets) > maxClients {
		t.Fatalf("%d buckets kept", len(l.buckets))
	}

	e := newEnv(t, 1, "")
	var codes []int
	var retry string
	for i := 0; i < defaultTraceBurst+2; i++ {
		req, _ := http.NewRequest(http.MethodPost, e.srvs[0].URL+"/ovsnet/v1/traces", strings.NewReader(`{"source":"a@x"}`))
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		codes = append(codes, resp.StatusCode)
		if resp.StatusCode == http.StatusTooManyRequests {
			retry = resp.Header.Get("Retry-After")
		}
	}
	if codes[0] != 400 || codes[len(codes)-1] != 429 || retry == "" {
		t.Fatalf("codes %v, Retry-After %q", codes, retry)
	}
}

// The UI's pages and assets carry a strict Content-Security-Policy.
func TestStrictCSP(t *testing.T) {
	e := newEnv(t, 1, "")
	for _, path := range []string{"/", "/ui/app.js", "/ui/style.css"} {
		resp, err := http.Get(e.srvs[0].URL + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		csp := resp.Header.Get("Content-Security-Policy")
		for _, want := range []string{"default-src 'none'", "script-src 'self'", "style-src 'self'", "connect-src 'self'",
			"img-src 'self'", "frame-ancestors 'none'", "base-uri 'none'", "form-action 'none'", "object-src 'none'",
			"require-trusted-types-for 'script'"} {
			if !strings.Contains(csp, want) {
				t.Errorf("GET %s: CSP %q lacks %q", path, csp, want)
			}
		}
		for _, bad := range []string{"unsafe-inline", "unsafe-eval", "data:", "*"} {
			if strings.Contains(csp, bad) {
				t.Errorf("GET %s: CSP %q allows %s", path, csp, bad)
			}
		}
		if resp.Header.Get("X-Frame-Options") != "DENY" || resp.Header.Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("GET %s: headers %v", path, resp.Header)
		}
	}
}

// Replicas that require client certificates forward to each other over
// mutual TLS with their own certificates; the token travels on and the
// leader checks it again.
func TestForwardingOverMutualTLS(t *testing.T) {
	dir := t.TempDir()
	ca, _, err := pki.InitCA(dir, "")
	if err != nil {
		t.Fatal(err)
	}
	cert, key, err := ca.Server("replica", []string{"127.0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	caFile := filepath.Join(dir, pki.CACert)
	serverCfg, err := pki.ServerConfig(cert, key, caFile)
	if err != nil {
		t.Fatal(err)
	}
	clientCfg, err := pki.ClientConfig(caFile, cert, key)
	if err != nil {
		t.Fatal(err)
	}
	b := store.NewMemory()
	e := &env{t: t, b: b, st: store.New(b, "ovsnet"), prefix: "ovsnet"}
	for i := 0; i < 2; i++ {
		srv := httptest.NewUnstartedServer(nil)
		c, err := New(Config{Backend: b, Prefix: "ovsnet", ID: "r" + string(rune('0'+i)), Token: "s3cret", ForwardTLS: clientCfg,
			URL: "https://" + srv.Listener.Addr().String(), Logger: quietLog(), ReadyTimeout: 2 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		srv.Config.Handler = c.Handler()
		srv.TLS = serverCfg.Clone()
		srv.StartTLS()
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { c.Run(ctx); close(done) }()
		t.Cleanup(func() { srv.Close(); cancel(); <-done })
		e.ctls = append(e.ctls, c)
		e.srvs = append(e.srvs, srv)
	}
	leader := e.waitLeader()
	other := 0
	if e.ctls[0] == leader {
		other = 1
	}
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: clientCfg}, Timeout: 10 * time.Second}
	post := func(token string) (int, string) {
		req, _ := http.NewRequest(http.MethodPost, e.srvs[other].URL+"/networks/create", strings.NewReader(`{"Name":"n","Driver":"overlay"}`))
		req.Header.Set("Content-Type", "application/json")
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var sb strings.Builder
		buf := make([]byte, 4096)
		n, _ := resp.Body.Read(buf)
		sb.Write(buf[:n])
		return resp.StatusCode, sb.String()
	}
	if code, body := post(""); code != 401 {
		t.Fatalf("without the token: %d %s", code, body)
	}
	if code, body := post("s3cret"); code != 201 {
		t.Fatalf("forwarded over mutual TLS: %d %s", code, body)
	}
	if _, ok := leader.snapshotNetwork("n"); !ok {
		t.Fatal("the leader does not have the network")
	}
	// A client without a certificate does not get in at all.
	bare := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: clientCfg.RootCAs}}, Timeout: 5 * time.Second}
	if resp, err := bare.Get(e.srvs[other].URL + "/_ping"); err == nil {
		resp.Body.Close()
		t.Fatal("a client without a certificate was served")
	}
}

// snapshotNetwork looks a network up in the leader's state.
func (c *Controller) snapshotNetwork(name string) (string, bool) {
	var id string
	err := c.read(func(s *state) error {
		ns, err := s.network(name)
		if err == nil {
			id = ns.Value.ID
		}
		return err
	})
	return id, err == nil
}

// docker network create -o encrypted is refused with the reason and what
// to do instead; nothing is created.
func TestEncryptedOverlayRefused(t *testing.T) {
	e := newEnv(t, 1, "")
	for _, opts := range []string{`{"encrypted":""}`, `{"encrypted":"true"}`} {
		code, body := e.do("POST", "/networks/create", `{"Name":"sec","Driver":"overlay","Options":`+opts+`}`)
		if code != 400 || !strings.Contains(body, "clear text") || !strings.Contains(body, "WireGuard or IPsec") {
			t.Fatalf("encrypted %s: %d %s", opts, code, body)
		}
	}
	if code, body := e.do("GET", "/networks", ""); code != 200 || body != "[]\n" {
		t.Fatalf("a refused network was created: %s", body)
	}
}
