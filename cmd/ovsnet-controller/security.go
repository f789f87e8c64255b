package main

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"

	"github.com/ovsnet/ovsnet/internal/pki"
)

// guard says how the API is protected, to decide which listeners may be
// opened (docs/security.md).
type guard struct {
	tls         bool // -tls-cert and -tls-key
	clientCerts bool // -tls-client-ca: every TLS client shows a certificate of that CA
	token       bool // a bearer token is required
	insecure    bool // -insecure: the operator accepts an open API
}

// checkListener refuses a TCP listener (-listen name) that others can
// reach unless the API it serves is both encrypted and authenticated. Loopback addresses
// and unix sockets (whose file permissions guard them) are always fine.
func checkListener(ln net.Listener, name string, g guard) error {
	addr, ok := ln.Addr().(*net.TCPAddr)
	if !ok || addr.IP.IsLoopback() || g.insecure {
		return nil
	}
	var missing []string
	if !g.tls {
		missing = append(missing, "requests, tokens included, would cross the network in clear text (no -tls-cert and -tls-key)")
	}
	if !g.clientCerts && !g.token {
		missing = append(missing, "anyone who reaches it could read and change every network (no token: -token-file or OVSNET_TOKEN; no client certificates: -tls-client-ca)")
	}
	if len(missing) == 0 {
		return nil
	}
	return fmt.Errorf("refusing to serve the API on %s, which is not a loopback address: %s. "+
		"Add what is missing, listen on 127.0.0.1 or a unix socket, or pass -insecure to serve it anyway (a trusted lab network only)",
		name, strings.Join(missing, "; and "))
}

// serverTLS loads the TLS configuration of the API, nil without -tls-cert.
func serverTLS(cert, key, clientCA string) (*tls.Config, error) {
	if cert == "" && key == "" {
		if clientCA != "" {
			return nil, errors.New("-tls-client-ca needs -tls-cert and -tls-key: client certificates are checked over TLS")
		}
		return nil, nil
	}
	if cert == "" || key == "" {
		return nil, errors.New("-tls-cert and -tls-key go together")
	}
	return pki.ServerConfig(cert, key, clientCA)
}

// forwardTLS is how this replica dials the others over https: trusting
// ca (else the client CA, else the system's roots) and showing its own
// certificate, which replicas requiring client certificates ask for.
func forwardTLS(cert, key, clientCA, ca string) (*tls.Config, error) {
	if cert == "" {
		return nil, nil
	}
	if ca == "" {
		ca = clientCA
	}
	return pki.ClientConfig(ca, cert, key)
}

// listenUnix opens a unix socket that appears at path with its final
// permissions (0660: root and the controller's group): it is made in a
// private directory and renamed into place. A stale socket is replaced.
func listenUnix(path string) (net.Listener, error) {
	dir := filepath.Dir(path)
	private, err := os.MkdirTemp(dir, ".ovsnet-controller-")
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w", path, err)
	}
	defer os.RemoveAll(private)
	tmp := filepath.Join(private, "sock")
	ln, err := net.Listen("unix", tmp)
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w", path, err)
	}
	if err := os.Chmod(tmp, 0o660); err != nil {
		ln.Close()
		return nil, fmt.Errorf("listen on %s: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		ln.Close()
		return nil, fmt.Errorf("listen on %s: %w", path, err)
	}
	ul := ln.(*net.UnixListener)
	ul.SetUnlinkOnClose(false) // it knows the temporary name
	return &unixListener{UnixListener: ul, path: path}, nil
}

// unixListener removes its socket file when closed.
type unixListener struct {
	*net.UnixListener
	path string
}

// Addr is the socket's path (the listener was bound to its temporary name).
func (l *unixListener) Addr() net.Addr { return &net.UnixAddr{Name: l.path, Net: "unix"} }

func (l *unixListener) Close() error {
	err := l.UnixListener.Close()
	_ = os.Remove(l.path)
	return err
}
