// Package pki makes the certificates of a lab or a small cluster: one CA,
// server certificates for the controllers (which also serve as their
// client certificates when one replica forwards to another) and client
// certificates for agents, ovsnetctl and the docker CLI, laid out the way
// Docker's --tlsverify expects them (ca.pem, cert.pem, key.pem), so a
// client's directory works as DOCKER_CERT_PATH. It also loads them into
// crypto/tls configurations for servers and clients.
//
// Keys are ECDSA P-256; private keys are written 0600 and never
// overwritten.
package pki

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"time"
)

// File names in a CA directory and in a client's directory.
const (
	CACert = "ca.pem"
	CAKey  = "ca-key.pem"
	Cert   = "cert.pem"
	Key    = "key.pem"
)

// Validity of what this package makes.
var (
	CAValidity   = 10 * 365 * 24 * time.Hour
	CertValidity = 2 * 365 * 24 * time.Hour
)

var nameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$`)

// CA is a certificate authority held in a directory.
type CA struct {
	Dir  string
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
}

// InitCA creates a CA in dir (ca.pem, ca-key.pem) unless one is there
// already, and returns it; created says which.
func InitCA(dir, commonName string) (ca *CA, created bool, err error) {
	if _, err := os.Stat(filepath.Join(dir, CAKey)); err == nil {
		ca, err := LoadCA(dir)
		return ca, false, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, false, fmt.Errorf("create %s: %w", dir, err)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, false, fmt.Errorf("generate the CA key: %w", err)
	}
	if commonName == "" {
		commonName = "ovsnet CA"
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial(),
		Subject:               pkix.Name{CommonName: commonName, Organization: []string{"ovsnet"}},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(CAValidity),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, false, fmt.Errorf("create the CA certificate: %w", err)
	}
	if err := writeKey(filepath.Join(dir, CAKey), key); err != nil {
		return nil, false, err
	}
	if err := writePEM(filepath.Join(dir, CACert), "CERTIFICATE", der, 0o644); err != nil {
		return nil, false, err
	}
	ca, err = LoadCA(dir)
	return ca, true, err
}

// LoadCA reads the CA of dir.
func LoadCA(dir string) (*CA, error) {
	pair, err := tls.LoadX509KeyPair(filepath.Join(dir, CACert), filepath.Join(dir, CAKey))
	if err != nil {
		return nil, fmt.Errorf("load the CA of %s: %w", dir, err)
	}
	cert, err := x509.ParseCertificate(pair.Certificate[0])
	if err != nil {
		return nil, fmt.Errorf("load the CA of %s: %w", dir, err)
	}
	key, ok := pair.PrivateKey.(*ecdsa.PrivateKey)
	if !ok || !cert.IsCA {
		return nil, fmt.Errorf("load the CA of %s: not an ECDSA certificate authority", dir)
	}
	return &CA{Dir: dir, cert: cert, key: key}, nil
}

// Server issues a server certificate for hosts (DNS names and IP
// addresses), written as <name>-cert.pem and <name>-key.pem in the CA's
// directory. It is also good as a client certificate: a controller
// replica shows it to the leader it forwards to.
func (ca *CA) Server(name string, hosts []string) (certPath, keyPath string, err error) {
	if !nameRE.MatchString(name) {
		return "", "", fmt.Errorf("invalid certificate name %q: letters, digits, '.', '_' and '-'", name)
	}
	if len(hosts) == 0 {
		return "", "", errors.New("a server certificate needs at least one host name or address (--host)")
	}
	tmpl := ca.template(name, x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth)
	for _, h := range hosts {
		if ip := net.ParseIP(h); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else if h != "" {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
	certPath = filepath.Join(ca.Dir, name+"-cert.pem")
	keyPath = filepath.Join(ca.Dir, name+"-key.pem")
	return certPath, keyPath, ca.issue(tmpl, certPath, keyPath)
}

// Client issues a client certificate for name into <CA dir>/<name>/ as
// cert.pem and key.pem, with a copy of ca.pem: the directory works as
// DOCKER_CERT_PATH (docker --tlsverify) and OVSNET_CERT_PATH (ovsnetctl).
func (ca *CA) Client(name string) (dir string, err error) {
	if !nameRE.MatchString(name) || name == "." || name == ".." {
		return "", fmt.Errorf("invalid certificate name %q: letters, digits, '.', '_' and '-'", name)
	}
	dir = filepath.Join(ca.Dir, name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("create %s: %w", dir, err)
	}
	caPEM, err := os.ReadFile(filepath.Join(ca.Dir, CACert))
	if err != nil {
		return "", fmt.Errorf("read the CA certificate: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, CACert), caPEM, 0o644); err != nil {
		return "", fmt.Errorf("write %s: %w", filepath.Join(dir, CACert), err)
	}
	tmpl := ca.template(name, x509.ExtKeyUsageClientAuth)
	return dir, ca.issue(tmpl, filepath.Join(dir, Cert), filepath.Join(dir, Key))
}

func (ca *CA) template(name string, usage ...x509.ExtKeyUsage) *x509.Certificate {
	return &x509.Certificate{
		SerialNumber: serial(),
		Subject:      pkix.Name{CommonName: name, Organization: []string{"ovsnet"}},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(CertValidity),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  usage,
	}
}

// issue writes a new key (refusing to replace one) and its certificate.
func (ca *CA) issue(tmpl *x509.Certificate, certPath, keyPath string) error {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return fmt.Errorf("generate a key: %w", err)
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		return fmt.Errorf("create the certificate of %s: %w", tmpl.Subject.CommonName, err)
	}
	if err := writeKey(keyPath, key); err != nil {
		return err
	}
	return writePEM(certPath, "CERTIFICATE", der, 0o644)
}

func writeKey(path string, key *ecdsa.PrivateKey) error {
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return fmt.Errorf("encode %s: %w", path, err)
	}
	// O_EXCL: a key is never overwritten (what it signed stays valid), and
	// it is 0600 from its first byte.
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("%s exists already: remove it first to issue a new certificate", path)
	}
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := pem.Encode(f, &pem.Block{Type: "PRIVATE KEY", Bytes: der}); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

func writePEM(path, kind string, der []byte, mode os.FileMode) error {
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: kind, Bytes: der}), mode); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

func serial() *big.Int {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		panic("pki: no randomness: " + err.Error())
	}
	return n
}

// CertPool reads a PEM bundle of CA certificates.
func CertPool(path string) (*x509.CertPool, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read CA bundle: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(b) {
		return nil, fmt.Errorf("%s holds no PEM certificate", path)
	}
	return pool, nil
}

// ServerConfig is the TLS configuration of a server with certFile and
// keyFile; with clientCA it requires and verifies client certificates
// signed by those CAs, as dockerd --tlsverify does.
func ServerConfig(certFile, keyFile, clientCA string) (*tls.Config, error) {
	if certFile == "" || keyFile == "" {
		return nil, errors.New("TLS needs both a certificate and its key")
	}
	pair, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return nil, fmt.Errorf("load the TLS certificate: %w", err)
	}
	cfg := &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{pair}}
	if clientCA != "" {
		pool, err := CertPool(clientCA)
		if err != nil {
			return nil, fmt.Errorf("client CA: %w", err)
		}
		cfg.ClientCAs = pool
		cfg.ClientAuth = tls.RequireAndVerifyClientCert
	}
	return cfg, nil
}

// ClientConfig is the TLS configuration of a client trusting caFile (""
// for the system's roots) and showing certFile/keyFile when given.
func ClientConfig(caFile, certFile, keyFile string) (*tls.Config, error) {
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if caFile != "" {
		pool, err := CertPool(caFile)
		if err != nil {
			return nil, err
		}
		cfg.RootCAs = pool
	}
	if (certFile == "") != (keyFile == "") {
		return nil, errors.New("a client certificate needs both the certificate and its key")
	}
	if certFile != "" {
		pair, err := tls.LoadX509KeyPair(certFile, keyFile)
		if err != nil {
			return nil, fmt.Errorf("load the client certificate: %w", err)
		}
		cfg.Certificates = []tls.Certificate{pair}
	}
	return cfg, nil
}
