package main

import (
	"context"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/ovsnet/ovsnet/internal/pki"
)

// A replica listening on TCP with TLS and on a unix socket (the shipped
// settings) serves HTTP/2 over TLS, as Go's and curl's clients ask for,
// and plain HTTP on the socket.
func TestHTTP2WithTLSAndUnixSocket(t *testing.T) {
	dir := t.TempDir()
	ca, _, err := pki.InitCA(filepath.Join(dir, "tls"), "")
	if err != nil {
		t.Fatal(err)
	}
	cert, key, err := ca.Server("controller", []string{"127.0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	sock := filepath.Join(dir, "c.sock")
	cmd := exec.Command(os.Args[0], "-listen", addr+",unix:"+sock, "-tls-cert", cert, "-tls-key", key,
		"-insecure", "-consul", "127.0.0.1:1", "-log-level", "error")
	cmd.Env = append(os.Environ(), "OVSNET_FLAGHELP_MAIN=1", "OVSNET_TOKEN=t0k")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })

	cfg, err := pki.ClientConfig(filepath.Join(ca.Dir, pki.CACert), "", "")
	if err != nil {
		t.Fatal(err)
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = cfg
	hc := &http.Client{Transport: tr, Timeout: 2 * time.Second}
	unix := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, "unix", sock)
	}}}
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, err := hc.Get("https://" + addr + "/_ping")
		if err == nil {
			resp.Body.Close()
			if resp.ProtoMajor != 2 || resp.StatusCode != 200 {
				t.Fatalf("over TLS: %s %d, want HTTP/2 200", resp.Proto, resp.StatusCode)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("over TLS: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	resp, err := unix.Get("http://controller/_ping")
	if err != nil {
		t.Fatalf("over the unix socket: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("over the unix socket: %d", resp.StatusCode)
	}
}
