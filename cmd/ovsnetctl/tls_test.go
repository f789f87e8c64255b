package main

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ovsnet/ovsnet/internal/pki"
)

// certs makes a CA, a controller's certificate and a client's directory;
// a controller that requires client certificates then serves ovsnetctl
// with --tlscacert/--tlscert/--tlskey or with OVSNET_CERT_PATH, as docker
// does with DOCKER_CERT_PATH, and turns it away without a certificate.
func TestCertsAndTLS(t *testing.T) {
	dir := t.TempDir()
	r := runWithEnv(nil, "certs", "ca", dir)
	if r.code != 0 || !strings.Contains(r.stdout, "CA created") {
		t.Fatalf("certs ca: %+v", r)
	}
	if r := runWithEnv(nil, "certs", "ca", dir); r.code != 0 || !strings.Contains(r.stdout, "CA kept") {
		t.Fatalf("certs ca again: %+v", r)
	}
	if r := runWithEnv(nil, "certs", "server", dir, "controller"); r.code == 0 || !strings.Contains(r.stderr, "--host") {
		t.Fatalf("certs server without --host: %+v", r)
	}
	if r := runWithEnv(nil, "certs", "server", dir, "controller", "--host", "127.0.0.1", "--host", "localhost"); r.code != 0 ||
		!strings.Contains(r.stdout, "-tls-client-ca") {
		t.Fatalf("certs server: %+v", r)
	}
	if r := runWithEnv(nil, "certs", "client", dir, "ops"); r.code != 0 || !strings.Contains(r.stdout, "--tlsverify") {
		t.Fatalf("certs client: %+v", r)
	}
	if r := runWithEnv(nil, "certs", "client", t.TempDir(), "ops"); r.code == 0 || !strings.Contains(r.stderr, "certs ca") {
		t.Fatalf("certs client without a CA: %+v", r)
	}

	cfg, err := pki.ServerConfig(filepath.Join(dir, "controller-cert.pem"), filepath.Join(dir, "controller-key.pem"), filepath.Join(dir, pki.CACert))
	if err != nil {
		t.Fatal(err)
	}
	var auth string
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		auth = r.Header.Get("Authorization")
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte("[]"))
	}))
	srv.TLS = cfg
	srv.StartTLS()
	defer srv.Close()
	addr := strings.TrimPrefix(srv.URL, "https://")
	client := filepath.Join(dir, "ops")

	r = runWithEnv(nil, "--controller", "tcp://"+addr, "--tlscacert", filepath.Join(client, "ca.pem"),
		"--tlscert", filepath.Join(client, "cert.pem"), "--tlskey", filepath.Join(client, "key.pem"), "network", "ls", "-q")
	r.expect(t, 0, "", "")
	r = runWithEnv(map[string]string{envController: addr, envCertPath: client}, "network", "ls", "-q")
	r.expect(t, 0, "", "")
	// Without a client certificate: refused in the handshake.
	r = runWithEnv(nil, "--controller", srv.URL, "--tlscacert", filepath.Join(client, "ca.pem"), "network", "ls")
	if r.code == 0 || !strings.Contains(r.stderr, "cannot reach the ovsnet controller") {
		t.Fatalf("without a client certificate: %+v", r)
	}
	// A plain http:// address with TLS settings is a mistake, said so.
	r = runWithEnv(map[string]string{envCertPath: client}, "--controller", "http://"+addr, "network", "ls")
	if r.code == 0 || !strings.Contains(r.stderr, "use https://") {
		t.Fatalf("http:// with TLS settings: %+v", r)
	}

	// The token from a file (flag or environment), never printed.
	tokenFile := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(tokenFile, []byte("t0k3n\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, env := range []map[string]string{
		{envController: addr, envCertPath: client, envTokenFile: tokenFile},
		{envController: addr, envCertPath: client, envToken: "from-env-loses"},
	} {
		args := []string{"network", "ls", "-q"}
		if env[envTokenFile] == "" {
			args = append([]string{"--token-file", tokenFile}, args...)
		}
		r = runWithEnv(env, args...)
		r.expect(t, 0, "", "")
		if auth != "Bearer t0k3n" {
			t.Errorf("Authorization = %q, want the file's token", auth)
		}
	}
	if err := os.Chmod(tokenFile, 0o644); err != nil {
		t.Fatal(err)
	}
	r = runWithEnv(map[string]string{envController: addr, envCertPath: client}, "--token-file", tokenFile, "network", "ls")
	if r.code == 0 || !strings.Contains(r.stderr, "chmod 0600") || strings.Contains(r.stderr, "t0k3n") {
		t.Fatalf("world-readable token file: %+v", r)
	}
}
