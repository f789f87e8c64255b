package main

import (
	"net"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ovsnet/ovsnet/internal/pki"
)

// A listener others can reach needs TLS and authentication (a token or
// client certificates), or -insecure; loopback and unix sockets need
// neither.
func TestCheckListener(t *testing.T) {
	public, err := net.Listen("tcp", "0.0.0.0:0")
	if err != nil {
		t.Fatal(err)
	}
	defer public.Close()
	loop, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer loop.Close()
	unix, err := listenUnix(filepath.Join(t.TempDir(), "c.sock"))
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close()
	if got := unix.Addr().String(); filepath.Base(got) != "c.sock" {
		t.Errorf("the unix listener says it is %s", got)
	}

	for _, c := range []struct {
		ln   net.Listener
		g    guard
		want string // "" = accepted
	}{
		{public, guard{}, "clear text"},
		{public, guard{}, "anyone who reaches it"},
		{public, guard{token: true}, "clear text"},
		{public, guard{tls: true}, "no token"},
		{public, guard{tls: true, token: true}, ""},
		{public, guard{tls: true, clientCerts: true}, ""},
		{public, guard{insecure: true}, ""},
		{loop, guard{}, ""},
		{unix, guard{}, ""},
	} {
		err := checkListener(c.ln, c.ln.Addr().String(), c.g)
		switch {
		case c.want == "" && err != nil:
			t.Errorf("%s %+v refused: %v", c.ln.Addr(), c.g, err)
		case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), "-insecure")):
			t.Errorf("%s %+v: %v, want an error saying %q and naming -insecure", c.ln.Addr(), c.g, err, c.want)
		}
	}
}

func TestTLSFlags(t *testing.T) {
	dir := t.TempDir()
	ca, _, err := pki.InitCA(dir, "")
	if err != nil {
		t.Fatal(err)
	}
	cert, key, err := ca.Server("server", []string{"127.0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	caFile := filepath.Join(dir, pki.CACert)
	if cfg, err := serverTLS("", "", ""); cfg != nil || err != nil {
		t.Errorf("no TLS: %v %v", cfg, err)
	}
	if _, err := serverTLS("", "", caFile); err == nil {
		t.Error("-tls-client-ca without a certificate accepted")
	}
	if _, err := serverTLS(cert, "", ""); err == nil {
		t.Error("-tls-cert without -tls-key accepted")
	}
	cfg, err := serverTLS(cert, key, caFile)
	if err != nil || cfg.ClientCAs == nil || cfg.ClientAuth.String() != "RequireAndVerifyClientCert" {
		t.Fatalf("mutual TLS: %+v %v", cfg, err)
	}
	fwd, err := forwardTLS(cert, key, caFile, "")
	if err != nil || fwd.RootCAs == nil || len(fwd.Certificates) != 1 {
		t.Fatalf("forwarding TLS: %+v %v", fwd, err)
	}
	if got := advertiseURL("0.0.0.0:8443", true); !strings.HasPrefix(got, "https://") || !strings.HasSuffix(got, ":8443") {
		t.Errorf("advertised %s", got)
	}
	if got := advertiseURL("unix:/run/c.sock", true); got != "unix:/run/c.sock" {
		t.Errorf("advertised %s", got)
	}
}
