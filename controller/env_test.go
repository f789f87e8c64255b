package controller

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/ovsnet/ovsnet/internal/store"
	"github.com/ovsnet/ovsnet/model"
)

// env runs controller replicas over one store: the in-memory one for the
// plain tests (newEnv), real Consul for the integration tier
// (newConsulEnv, consul_test.go). Agents are played by the test through
// the same store: host records held by sessions, status reports.
type env struct {
	t      *testing.T
	b      store.Backend
	st     *store.Store
	ctls   []*Controller
	srvs   []*httptest.Server
	prefix string
	// tune adjusts every replica's configuration.
	tune func(*Config)
}

func quietLog() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// newEnv starts replicas on an in-memory store with one live host, h1.
func newEnv(t *testing.T, replicas int, token string) *env {
	return newEnvOn(t, store.NewMemory(), "ovsnet", replicas, token)
}

func newEnvOn(t *testing.T, b store.Backend, prefix string, replicas int, token string, tune ...func(*Config)) *env {
	e := &env{t: t, b: b, st: store.New(b, prefix), prefix: prefix}
	if len(tune) > 0 {
		e.tune = tune[0]
	}
	for i := 0; i < replicas; i++ {
		e.addReplica(token)
	}
	e.registerHost("h1", "192.0.2.1")
	e.waitLeader()
	return e
}

func (e *env) addReplica(token string) *Controller {
	srv := httptest.NewUnstartedServer(nil)
	cfg := Config{Backend: e.b, Prefix: e.prefix, ID: "r" + string(rune('0'+len(e.ctls))), Token: token,
		URL: "http://" + srv.Listener.Addr().String(), Logger: quietLog(), ReadyTimeout: 2 * time.Second}
	if e.tune != nil {
		e.tune(&cfg)
	}
	c, err := New(cfg)
	if err != nil {
		e.t.Fatal(err)
	}
	srv.Config.Handler = c.Handler()
	srv.Start()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { c.Run(ctx); close(done) }()
	e.t.Cleanup(func() { srv.Close(); cancel(); <-done })
	e.ctls = append(e.ctls, c)
	e.srvs = append(e.srvs, srv)
	return c
}

// leader returns the replica that leads, waiting for one.
func (e *env) waitLeader() *Controller {
	e.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		for _, c := range e.ctls {
			if c.IsLeader() {
				return c
			}
		}
		time.Sleep(5 * time.Millisecond)
	}
	e.t.Fatal("no replica leads")
	return nil
}

// registerHost writes a live host record, as an agent does.
func (e *env) registerHost(name, tunnelIP string) string {
	e.t.Helper()
	ctx := context.Background()
	sid, err := e.b.CreateSession(ctx, store.SessionSpec{Name: "agent " + name, TTL: time.Minute})
	if err != nil {
		e.t.Fatal(err)
	}
	b, _ := json.Marshal(model.Host{Name: name, TunnelIP: netip.MustParseAddr(tunnelIP)})
	if ok, err := e.b.Acquire(ctx, e.st.K.Host(name), b, sid); err != nil || !ok {
		e.t.Fatalf("register %s: %v %v", name, ok, err)
	}
	// The leader learns it through its watch.
	e.eventually("host "+name+" alive", func() bool {
		for _, c := range e.ctls {
			if c.IsLeader() {
				alive := false
				_ = c.read(func(s *state) error { alive = s.hosts[name].Alive; return nil })
				return alive
			}
		}
		return len(e.ctls) == 0
	})
	return sid
}

// report writes an agent's status for an endpoint.
func (e *env) report(host, epID string, state model.EndpointState, msg string) {
	e.t.Helper()
	st := model.EndpointStatus{EndpointID: epID, Host: host, State: state, Error: msg, OFPort: 10, Port: "ovs" + epID[:11]}
	if err := e.st.Put(context.Background(), e.st.K.Status(host, epID), st); err != nil {
		e.t.Fatal(err)
	}
}

func (e *env) eventually(what string, cond func() bool) {
	e.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			e.t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func (e *env) do(method, path, body string, headers ...string) (int, string) {
	e.t.Helper()
	return e.doOn(0, method, path, body, headers...)
}

func (e *env) doOn(replica int, method, path, body string, headers ...string) (int, string) {
	e.t.Helper()
	req, err := http.NewRequest(method, e.srvs[replica].URL+path, strings.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json") // as every client sends a write
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}
