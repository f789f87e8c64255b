package client

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// With TLS settings, host:port and tcp:// mean https:// (as with docker
// --tlsverify), the server is verified against the given CAs and the
// client certificate is shown.
func TestTLSConfig(t *testing.T) {
	var sawCert bool
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sawCert = r.TLS != nil && len(r.TLS.PeerCertificates) > 0
		_, _ = w.Write([]byte(`{"Version":"x"}`))
	}))
	srv.TLS = &tls.Config{ClientAuth: tls.RequestClientCert}
	srv.StartTLS()
	defer srv.Close()
	pool := x509.NewCertPool()
	pool.AddCert(srv.Certificate())
	cfg := &tls.Config{RootCAs: pool, Certificates: srv.TLS.Certificates} // the server's own pair as a client's

	addr := strings.TrimPrefix(srv.URL, "https://")
	for _, base := range []string{addr, "tcp://" + addr, srv.URL} {
		c, err := New(base, WithTLSConfig(cfg))
		if err != nil {
			t.Fatalf("%s: %v", base, err)
		}
		if c.BaseURL() != srv.URL {
			t.Errorf("%s: base URL %s, want %s", base, c.BaseURL(), srv.URL)
		}
		sawCert = false
		if _, err := c.Version(context.Background()); err != nil || !sawCert {
			t.Errorf("%s: %v (client certificate shown: %v)", base, err, sawCert)
		}
	}
	if _, err := New("http://"+addr, WithTLSConfig(cfg)); err == nil || !strings.Contains(err.Error(), "plain HTTP") {
		t.Errorf("http:// with TLS settings: %v", err)
	}
	// Without the CA the server is not trusted.
	c, _ := New(addr, WithTLSConfig(&tls.Config{}))
	if _, err := c.Version(context.Background()); err == nil {
		t.Error("a server of an unknown CA was trusted")
	}
	// A unix socket stays plain.
	if c, err := New("unix:///run/x.sock", WithTLSConfig(cfg)); err != nil || !strings.HasPrefix(c.BaseURL(), "http://") {
		t.Errorf("unix socket with TLS settings: %v %v", c, err)
	}
}
