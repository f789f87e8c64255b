package pki

import (
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A CA, a server certificate for 127.0.0.1 and a client's directory: a
// server requiring client certificates lets the client in and turns away
// one without a certificate or with one of another CA.
func TestMutualTLS(t *testing.T) {
	dir := t.TempDir()
	ca, created, err := InitCA(dir, "")
	if err != nil || !created {
		t.Fatalf("InitCA: %v (created %v)", err, created)
	}
	again, created, err := InitCA(dir, "")
	if err != nil || created || again.cert.SerialNumber.Cmp(ca.cert.SerialNumber) != 0 {
		t.Fatalf("InitCA on an existing CA: %v (created %v)", err, created)
	}
	certFile, keyFile, err := ca.Server("server", []string{"127.0.0.1", "localhost"})
	if err != nil {
		t.Fatal(err)
	}
	client, err := ca.Client("ops")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{filepath.Join(dir, CAKey), keyFile, filepath.Join(client, Key)} {
		st, err := os.Stat(f)
		if err != nil || st.Mode().Perm() != 0o600 {
			t.Errorf("%s: mode %v, %v; want 0600", f, st.Mode(), err)
		}
	}
	if _, _, err := ca.Server("server", []string{"127.0.0.1"}); err == nil || !strings.Contains(err.Error(), "exists already") {
		t.Errorf("a key was overwritten: %v", err)
	}
	if _, err := ca.Client("../x"); err == nil {
		t.Error("a client name with a path was accepted")
	}

	srvCfg, err := ServerConfig(certFile, keyFile, filepath.Join(dir, CACert))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, r.TLS.PeerCertificates[0].Subject.CommonName)
	}))
	srv.TLS = srvCfg
	srv.StartTLS()
	defer srv.Close()

	get := func(caFile, cert, key string) (string, error) {
		cfg, err := ClientConfig(caFile, cert, key)
		if err != nil {
			t.Fatal(err)
		}
		hc := &http.Client{Transport: &http.Transport{TLSClientConfig: cfg}}
		resp, err := hc.Get(srv.URL)
		if err != nil {
			return "", err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		return string(b), err
	}
	if who, err := get(filepath.Join(client, CACert), filepath.Join(client, Cert), filepath.Join(client, Key)); err != nil || who != "ops" {
		t.Fatalf("client with its certificate: %q %v", who, err)
	}
	// The server certificate is a client certificate too (replicas).
	if who, err := get(filepath.Join(dir, CACert), certFile, keyFile); err != nil || who != "server" {
		t.Fatalf("server certificate as a client's: %q %v", who, err)
	}
	if _, err := get(filepath.Join(dir, CACert), "", ""); err == nil {
		t.Fatal("a client without a certificate was let in")
	}
	other, _, err := InitCA(t.TempDir(), "other")
	if err != nil {
		t.Fatal(err)
	}
	stranger, err := other.Client("stranger")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := get(filepath.Join(dir, CACert), filepath.Join(stranger, Cert), filepath.Join(stranger, Key)); err == nil {
		t.Fatal("a client certificate of another CA was let in")
	}
	// And the client checks the server: another CA's bundle refuses it.
	if _, err := get(filepath.Join(stranger, CACert), filepath.Join(client, Cert), filepath.Join(client, Key)); err == nil {
		t.Fatal("the client trusted a server of another CA")
	}
}

func TestConfigErrors(t *testing.T) {
	if _, err := ServerConfig("", "", ""); err == nil {
		t.Error("server config without a certificate")
	}
	if _, err := ClientConfig("", "cert.pem", ""); err == nil {
		t.Error("client certificate without a key")
	}
	empty := filepath.Join(t.TempDir(), "empty.pem")
	_ = os.WriteFile(empty, []byte("nothing"), 0o644)
	if _, err := CertPool(empty); err == nil || !strings.Contains(err.Error(), "no PEM certificate") {
		t.Errorf("CertPool of a non-PEM file: %v", err)
	}
}
