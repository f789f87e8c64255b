package docker

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ovsnet/ovsnet/client"
	"github.com/ovsnet/ovsnet/controller"
	"github.com/ovsnet/ovsnet/internal/store"
	"github.com/ovsnet/ovsnet/model"
)

// fakeEngine serves the few Docker Engine API calls the sync makes, over
// a unix socket, with one network and no containers; inspects of that
// network fail while failInspect is set.
type fakeEngine struct {
	mu          sync.Mutex
	net         dockerNetwork
	failInspect bool
	inspects    int
}

func (e *fakeEngine) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	e.mu.Lock()
	defer e.mu.Unlock()
	path := strings.TrimPrefix(r.URL.Path, "/v"+model.DockerAPIVersion)
	switch {
	case r.Method == http.MethodGet && path == "/networks":
		_ = json.NewEncoder(w).Encode([]dockerNetwork{e.net})
	case r.Method == http.MethodGet && path == "/networks/"+e.net.ID:
		e.inspects++
		if e.failInspect {
			w.WriteHeader(http.StatusInternalServerError)
			_, _ = io.WriteString(w, `{"message":"engine busy"}`)
			return
		}
		_ = json.NewEncoder(w).Encode(e.net)
	default:
		w.WriteHeader(http.StatusNotFound)
		_, _ = io.WriteString(w, `{"message":"not found"}`)
	}
}

// An engine that fails to inspect a network never makes that network's
// endpoints look lost: they are removed only after two passes in which
// the engine was read and did not have them.
func TestSyncKeepsEndpointsWhenEngineInspectFails(t *testing.T) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	mem := store.NewMemory()
	ctl, err := controller.New(controller.Config{Backend: mem, Prefix: "ovsnet", Logger: log, ReadyTimeout: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	go ctl.Run(ctx)
	srv := httptest.NewServer(ctl.Handler())
	t.Cleanup(srv.Close)
	for i := 0; !ctl.IsLeader(); i++ {
		if i > 400 {
			t.Fatal("the controller did not become leader")
		}
		time.Sleep(5 * time.Millisecond)
	}
	api, err := client.New(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	// Host h1 registers as its agent would.
	sid, err := mem.CreateSession(ctx, store.SessionSpec{Name: "agent h1", TTL: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	rec, _ := json.Marshal(model.Host{Name: "h1", TunnelIP: netip.MustParseAddr("192.0.2.1")})
	if ok, err := mem.Acquire(ctx, store.NewKeys("ovsnet").Host("h1"), rec, sid); err != nil || !ok {
		t.Fatalf("registering h1: %v %v", ok, err)
	}
	created, err := api.CreateNetwork(ctx, model.NetworkCreateRequest{Name: "n1", Driver: "overlay",
		IPAM: &model.IPAM{Config: []model.IPAMConfig{{Subnet: "10.7.0.0/24"}}}})
	if err != nil {
		t.Fatal(err)
	}
	n, err := api.InspectNetwork(ctx, created.ID)
	if err != nil {
		t.Fatal(err)
	}

	engine := &fakeEngine{net: dockerNetwork{Name: "n1", ID: strings.Repeat("d", 64), Driver: dockerDriver,
		Options: map[string]string{optNetworkID: created.ID}}}
	sock := filepath.Join(t.TempDir(), "docker.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	esrv := &http.Server{Handler: engine}
	go esrv.Serve(l)
	t.Cleanup(func() { esrv.Close() })

	st := &model.HostState{Host: "h1"}
	p := New(Config{API: api, Plumber: nullPlumber{}, UnderlayMTU: 1500, StateDir: t.TempDir(), Engine: "unix://" + sock, Logger: log}, fakeAgent{st})
	p.prepare()
	p.orphanAfter = 0
	epID := strings.Repeat("e", 64)
	body := `{"NetworkID":"` + engine.net.ID + `","EndpointID":"` + epID + `","Interface":{"Address":"10.7.0.5/24"}}`
	reserved := false
	for i := 0; ; i++ { // until the leader has seen h1 register
		var err error
		if !reserved { // once: a second request for the address finds it taken
			_, err = p.requestAddress(ctx, []byte(`{"PoolID":"ovsnet:`+created.ID+`:v4","Address":"10.7.0.5"}`))
			reserved = err == nil
		}
		if err == nil {
			_, err = p.createEndpoint(ctx, []byte(body))
		}
		if err == nil {
			break
		}
		if i > 200 || !strings.Contains(err.Error(), "not known") {
			t.Fatalf("CreateEndpoint: %v", err)
		}
		time.Sleep(10 * time.Millisecond)
	}
	engine.mu.Lock()
	engine.failInspect, engine.inspects = true, 0
	engine.mu.Unlock()
	st.Catalog = []model.Network{{ID: n.ID, Name: n.Name, Driver: model.DriverOverlay, Scope: model.ScopeGlobal,
		Subnet: netip.MustParsePrefix("10.7.0.0/24"), Gateway: netip.MustParseAddr("10.7.0.1"), VNI: 4097}}
	st.Networks = st.Catalog
	st.Endpoints = []model.Endpoint{{ID: epID, NetworkID: created.ID, Host: "h1", Docker: true,
		ContainerName: placeholderPrefix + "x", Created: time.Now().Add(-time.Hour)}}

	connected := func() bool {
		t.Helper()
		got, err := api.InspectNetwork(ctx, created.ID)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range got.Containers {
			if c.EndpointID == epID {
				return true
			}
		}
		return false
	}
	if !connected() {
		t.Fatal("the endpoint was not created")
	}

	for pass := 1; pass <= 3; pass++ {
		if err := p.syncContainers(ctx, st, []dockerNetwork{engine.net}); err == nil || !strings.Contains(err.Error(), "engine busy") {
			t.Fatalf("pass %d with a failing inspect: want the engine's error reported, got %v", pass, err)
		}
		if !connected() {
			t.Fatalf("pass %d: a failed inspect disconnected the endpoint", pass)
		}
	}

	engine.mu.Lock()
	engine.failInspect = false
	engine.mu.Unlock()
	if err := p.syncContainers(ctx, st, []dockerNetwork{engine.net}); err != nil {
		t.Fatal(err)
	}
	if !connected() {
		t.Fatal("one pass without the endpoint removed it; two are needed")
	}
	if err := p.syncContainers(ctx, st, []dockerNetwork{engine.net}); err != nil {
		t.Fatal(err)
	}
	if connected() {
		t.Fatal("an endpoint the engine lacked in two passes was kept")
	}
	if engine.inspects != 5 {
		t.Fatalf("engine inspected %d times, want 5", engine.inspects)
	}
}
