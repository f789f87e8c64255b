package docker

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/ovsnet/ovsnet/client"
	"github.com/ovsnet/ovsnet/controller"
	"github.com/ovsnet/ovsnet/internal/store"
	"github.com/ovsnet/ovsnet/model"
)

// fakeAgent is the agent as the plugin sees it, with a fixed state.
type fakeAgent struct{ st *model.HostState }

func (a fakeAgent) HostName() string               { return "h1" }
func (a fakeAgent) State() *model.HostState        { return a.st }
func (a fakeAgent) OnState(func(*model.HostState)) {}
func (a fakeAgent) Trigger()                       {}
func (a fakeAgent) WaitReady(ctx context.Context, _ string) error {
	return errors.New("not plumbed in a fuzz test")
}

type nullPlumber struct{}

func (nullPlumber) EnsureDockerVeth(*model.Endpoint, int) (string, error) { return "ovtx", nil }
func (nullPlumber) RemoveEndpoint(string) error                           { return nil }

// Whatever Docker (or anyone able to reach the socket) sends, every call
// answers with a JSON object, never a panic, over a real controller.
func FuzzPluginCalls(f *testing.F) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	mem := store.NewMemory()
	ctl, err := controller.New(controller.Config{Backend: mem, Logger: log, ReadyTimeout: 100 * time.Millisecond})
	if err != nil {
		f.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	f.Cleanup(cancel)
	go ctl.Run(ctx)
	srv := httptest.NewServer(ctl.Handler())
	f.Cleanup(srv.Close)
	for !ctl.IsLeader() {
		time.Sleep(5 * time.Millisecond)
	}
	api, err := client.New(srv.URL)
	if err != nil {
		f.Fatal(err)
	}
	st := &model.HostState{Host: "h1", Networks: []model.Network{{ID: strings.Repeat("a", 64), Name: "n", Driver: model.DriverOverlay,
		Scope: model.ScopeGlobal, Subnet: netip.MustParsePrefix("10.0.0.0/24"), Gateway: netip.MustParseAddr("10.0.0.1"), VNI: 4097}}}
	st.Catalog = st.Networks
	p := New(Config{API: api, Plumber: nullPlumber{}, UnderlayMTU: 1500, StateDir: f.TempDir(), Engine: "unix:///nonexistent", Logger: log}, fakeAgent{st})
	p.prepare()
	p.callTimeout = 50 * time.Millisecond // calls that wait for a plumbing that never comes
	h := p.handler()
	calls := []string{"Plugin.Activate", "NetworkDriver.GetCapabilities", "NetworkDriver.CreateNetwork", "NetworkDriver.DeleteNetwork",
		"NetworkDriver.CreateEndpoint", "NetworkDriver.DeleteEndpoint", "NetworkDriver.EndpointOperInfo", "NetworkDriver.Join",
		"NetworkDriver.Leave", "NetworkDriver.ProgramExternalConnectivity", "NetworkDriver.RevokeExternalConnectivity",
		"IpamDriver.GetCapabilities", "IpamDriver.GetDefaultAddressSpaces", "IpamDriver.RequestPool", "IpamDriver.ReleasePool",
		"IpamDriver.RequestAddress", "IpamDriver.ReleaseAddress", "Nope"}
	for i, body := range []string{
		`{}`, `{}`, `{"NetworkID":"d1","IPv4Data":[{"Pool":"10.0.0.0/24","Gateway":"10.0.0.1/24"}],"Options":{"com.docker.network.generic":{"ovsnet.x":"y"}}}`,
		`{"NetworkID":"d1"}`, `{"NetworkID":"d1","EndpointID":"` + strings.Repeat("e", 64) + `","Interface":{"Address":"10.0.0.5/24"}}`,
		`{"NetworkID":"d1","EndpointID":"x"}`, `{}`, `{"NetworkID":"d1","EndpointID":"x","SandboxKey":"/var/run/docker/netns/x"}`,
		`{"NetworkID":"d1","EndpointID":"x"}`, `{"NetworkID":"d1","EndpointID":"x","Options":{"com.docker.network.portmap":[{"Proto":6,"Port":80,"HostPort":8080}]}}`,
		`{}`, `{}`, `{}`, `{"AddressSpace":"global","Pool":"10.9.0.0/24","Options":{"ovsnet.network":"n"}}`, `{"PoolID":"x"}`,
		`{"PoolID":"n","Address":"10.0.0.7","Options":{"RequestAddressType":"com.docker.network.gateway"}}`, `{"PoolID":"n","Address":"10.0.0.7"}`, `not json`,
	} {
		f.Add(uint8(i), []byte(body))
	}
	f.Fuzz(func(t *testing.T, call uint8, body []byte) {
		name := calls[int(call)%len(calls)]
		rec := httptest.NewRecorder()
		req := httptest.NewRequest(http.MethodPost, "/"+name, strings.NewReader(string(body)))
		h.ServeHTTP(rec, req)
		if rec.Code == http.StatusNotFound && name == "Nope" {
			return
		}
		var out map[string]any
		if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil {
			t.Fatalf("%s answered %d with something that is not a JSON object: %q", name, rec.Code, rec.Body.String())
		}
	})
}
