package docker

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/ovsnet/ovsnet/model"
)

// docker network create -d ovsnet -o encrypted fails in the engine with
// the reason: the overlay is not encrypted.
func TestEncryptedNetworkRefused(t *testing.T) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	p := New(Config{Plumber: nullPlumber{}, UnderlayMTU: 1500, StateDir: t.TempDir(), Engine: "unix:///nonexistent", Logger: log},
		fakeAgent{&model.HostState{Host: "h1"}})
	p.prepare()
	rec := httptest.NewRecorder()
	body := `{"NetworkID":"d1","IPv4Data":[{"AddressSpace":"ovsnet","Pool":"10.0.0.0/24"}],"Options":{"com.docker.network.generic":{"encrypted":""}}}`
	p.handler().ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/NetworkDriver.CreateNetwork", strings.NewReader(body)))
	if !strings.Contains(rec.Body.String(), `"Err"`) || !strings.Contains(rec.Body.String(), "clear text") {
		t.Fatalf("CreateNetwork with encrypted: %d %s", rec.Code, rec.Body.String())
	}
	if len(p.pending) != 0 {
		t.Fatalf("the refused network is pending registration: %v", p.pending)
	}
}
