package client

import (
	"crypto/tls"
	"fmt"
	"net/http"
	"strings"
)

// WithTLSConfig makes the client speak HTTPS with cfg: the CAs it trusts
// and, for a controller that requires one (-tls-client-ca), the client
// certificate it shows. A controller address given as host:port or
// tcp://host:port then means https://, as with docker --tlsverify; an
// explicit http:// address is an error. It has no effect on unix sockets.
func WithTLSConfig(cfg *tls.Config) Option {
	return func(c *Client) { c.tlsConfig = cfg }
}

// applyTLS switches the client to HTTPS after the options ran.
func (c *Client) applyTLS(raw string) error {
	if c.tlsConfig == nil || c.unix {
		return nil
	}
	if s := strings.TrimSpace(raw); strings.HasPrefix(s, "http://") {
		return fmt.Errorf("controller address %q is plain HTTP, but TLS settings were given: use https://", raw)
	}
	if rest, ok := strings.CutPrefix(c.baseURL, "http://"); ok {
		c.baseURL = "https://" + rest
	}
	hc := *c.httpClient
	var t *http.Transport
	if base, ok := hc.Transport.(*http.Transport); ok {
		t = base.Clone()
	} else {
		t = http.DefaultTransport.(*http.Transport).Clone()
	}
	t.TLSClientConfig = c.tlsConfig.Clone()
	hc.Transport = t
	c.httpClient = &hc
	return nil
}
