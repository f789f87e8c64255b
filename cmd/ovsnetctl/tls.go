package main

import (
	"crypto/tls"
	"os"
	"path/filepath"

	"github.com/spf13/pflag"

	"github.com/ovsnet/ovsnet/client"
	"github.com/ovsnet/ovsnet/internal/pki"
	"github.com/ovsnet/ovsnet/internal/secret"
)

// TLS and token settings, named as docker's: --tlscacert, --tlscert and
// --tlskey, or a directory in OVSNET_CERT_PATH holding ca.pem, cert.pem and
// key.pem (the layout of DOCKER_CERT_PATH, which `ovsnetctl certs client`
// makes). The token comes from --token-file, OVSNET_TOKEN_FILE or
// OVSNET_TOKEN (a --token on the command line is visible in ps).
const (
	envCertPath  = "OVSNET_CERT_PATH"
	envTokenFile = "OVSNET_TOKEN_FILE"
)

// securityFlags are the global flags about who ovsnetctl is to the
// controller.
type securityFlags struct {
	tokenFile                  string
	tlsCACert, tlsCert, tlsKey string
}

func (a *app) addSecurityFlags(flags *pflag.FlagSet) {
	s := &a.security
	flags.StringVar(&s.tokenFile, "token-file", "", "file holding the bearer token (env "+envTokenFile+"; kept out of ps, unlike --token)")
	flags.StringVar(&s.tlsCACert, "tlscacert", "", "trust only certificates signed by this CA (env "+envCertPath+"/ca.pem)")
	flags.StringVar(&s.tlsCert, "tlscert", "", "TLS client certificate, for a controller that requires one (env "+envCertPath+"/cert.pem)")
	flags.StringVar(&s.tlsKey, "tlskey", "", "key of --tlscert (env "+envCertPath+"/key.pem)")
}

// authOptions are the client options for the token and TLS settings.
func (a *app) authOptions() ([]client.Option, error) {
	token := a.token
	if token == "" {
		file := a.security.tokenFile
		if file == "" {
			file = a.env(envTokenFile)
		}
		if file != "" {
			var err error
			if token, err = secret.ReadFile(file); err != nil {
				return nil, err
			}
		} else {
			token = a.env(envToken)
		}
	}
	opts := []client.Option{client.WithToken(token)}
	cfg, err := a.tlsConfig()
	if err != nil || cfg == nil {
		return opts, err
	}
	return append(opts, client.WithTLSConfig(cfg)), nil
}

// tlsConfig is nil unless a TLS flag or OVSNET_CERT_PATH is given (an
// https:// controller address alone uses the system's CAs).
func (a *app) tlsConfig() (*tls.Config, error) {
	s := a.security
	if dir := a.env(envCertPath); dir != "" {
		fill := func(v *string, name string) {
			if p := filepath.Join(dir, name); *v == "" && exists(p) {
				*v = p
			}
		}
		fill(&s.tlsCACert, pki.CACert)
		fill(&s.tlsCert, pki.Cert)
		fill(&s.tlsKey, pki.Key)
	}
	if s.tlsCACert == "" && s.tlsCert == "" && s.tlsKey == "" {
		return nil, nil
	}
	return pki.ClientConfig(s.tlsCACert, s.tlsCert, s.tlsKey)
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}
