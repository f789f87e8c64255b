package store

import (
	"context"
	"encoding/pem"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"testing"
)

// The Consul client takes its ACL token and TLS settings from Consul's
// own environment variables (CONSUL_HTTP_TOKEN_FILE, CONSUL_CACERT, ...),
// over TCP with https:// and over a unix socket alike: nothing secret is
// ever a flag of ovsnet's daemons.
func TestConsulTokenAndTLSFromEnvironment(t *testing.T) {
	var mu sync.Mutex
	var tokens []string
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		tokens = append(tokens, r.Header.Get("X-Consul-Token"))
		mu.Unlock()
		w.Header().Set("X-Consul-Index", "7")
		w.WriteHeader(http.StatusNotFound) // no such key
	})
	dir := t.TempDir()
	tokenFile := filepath.Join(dir, "consul.token")
	if err := os.WriteFile(tokenFile, []byte("0f1e2d3c-acl-token\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("CONSUL_HTTP_TOKEN", "")
	t.Setenv("CONSUL_HTTP_TOKEN_FILE", tokenFile)

	// HTTPS, trusting only the CA in CONSUL_CACERT.
	srv := httptest.NewTLSServer(handler)
	defer srv.Close()
	caFile := filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv("CONSUL_CACERT", caFile)
	c, err := NewConsul(srv.URL, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := c.Get(context.Background(), "ovsnet/hosts/h1", Query{}); err != nil {
		t.Fatalf("get over TLS: %v", err)
	}
	t.Setenv("CONSUL_CACERT", "")
	if c, err := NewConsul(srv.URL, nil); err == nil {
		if _, _, err := c.Get(context.Background(), "ovsnet/hosts/h1", Query{}); err == nil {
			t.Fatal("a server of an unknown CA was trusted")
		}
	}

	// A unix socket keeps the token.
	sock := filepath.Join(dir, "consul.sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	usrv := &http.Server{Handler: handler}
	go func() { _ = usrv.Serve(ln) }()
	defer usrv.Close()
	u, err := NewConsul("unix://"+sock, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := u.Get(context.Background(), "ovsnet/hosts/h1", Query{}); err != nil {
		t.Fatalf("get over a unix socket: %v", err)
	}

	mu.Lock()
	defer mu.Unlock()
	if len(tokens) < 2 || tokens[0] != "0f1e2d3c-acl-token" || tokens[len(tokens)-1] != "0f1e2d3c-acl-token" {
		t.Fatalf("tokens sent: %q", tokens)
	}
}
