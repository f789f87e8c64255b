package controller

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"time"
)

// Forwarding. Only the leader holds the intent, so the other replicas pass
// requests on to it: any replica behind a load balancer answers, and what
// one client wrote the next read sees, wherever it lands. While no leader
// is known (an election, or Consul away) a request waits a little for one;
// reads are then answered from the last state this replica held.

// forwardedHeader marks a forwarded request, so it is never forwarded twice.
const forwardedHeader = "X-Ovsnet-Forwarded-By"

// leaderWait bounds how long a request waits for a leader to appear.
const leaderWait = 5 * time.Second

func (c *Controller) forward(h http.Handler, write bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		deadline := time.NewTimer(leaderWait)
		defer deadline.Stop()
		// The body is kept, so that a request the old leader never got
		// (it stopped, or crashed) can go to the next one.
		body, err := io.ReadAll(io.LimitReader(r.Body, maxBackup+1))
		if err != nil {
			writeError(w, errorf(ErrInvalid, "reading request body: %v", err))
			return
		}
		for {
			c.mu.RLock()
			leading := c.session != ""
			leader, changed, held := c.leader, c.leaderCh, c.state != nil
			c.mu.RUnlock()
			switch {
			case leading:
				r.Body = io.NopCloser(bytes.NewReader(body))
				h.ServeHTTP(w, r)
				return
			case leader.ID != "" && leader.ID != c.id && leader.URL != "" && r.Header.Get(forwardedHeader) == "":
				out := withForwarded(r, c.id, body)
				var notSent bool
				out = out.WithContext(context.WithValue(out.Context(), notSentKey{}, &notSent))
				c.proxies.get(leader.URL).ServeHTTP(w, out)
				if !notSent {
					return
				}
				// The leader did not take the request: wait for the next.
				c.log.Info("the leading replica does not answer; waiting for the next", "leader", leader.ID)
				deadline.Reset(failoverWait)
				select {
				case <-changed:
				case <-deadline.C:
					writeError(w, errorf(ErrUnavailable, "the leading controller replica %s does not answer and no other took over; try again", leader.ID))
					return
				case <-r.Context().Done():
					return
				}
				continue
			}
			select {
			case <-changed:
				continue
			case <-deadline.C:
			case <-r.Context().Done():
				return
			}
			if !write && held {
				h.ServeHTTP(w, r) // the last state this replica held
				return
			}
			writeError(w, errorf(ErrUnavailable, "no controller replica leads right now (is %s reachable?); try again", c.st.B.Addr()))
			return
		}
	})
}

// notSentKey marks, in a forwarded request's context, a flag the proxy
// sets when the request never reached the leader (it can be sent again).
type notSentKey struct{}

// failoverWait bounds how long a forwarded request waits for a new leader
// after the old one stopped answering.
const failoverWait = 15 * time.Second

func withForwarded(r *http.Request, id string, body []byte) *http.Request {
	r = r.Clone(r.Context())
	r.Header.Set(forwardedHeader, id)
	r.Body = io.NopCloser(bytes.NewReader(body))
	r.ContentLength = int64(len(body))
	return r
}

// proxyCache keeps one reverse proxy per leader URL. https:// leaders are
// dialled with tlsConfig (nil: the system's roots, no client certificate).
type proxyCache struct {
	mu        sync.Mutex
	m         map[string]http.Handler
	tlsConfig *tls.Config
}

func newProxyCache(tlsConfig *tls.Config) *proxyCache {
	return &proxyCache{m: map[string]http.Handler{}, tlsConfig: tlsConfig}
}

func (p *proxyCache) get(target string) http.Handler {
	p.mu.Lock()
	defer p.mu.Unlock()
	if h, ok := p.m[target]; ok {
		return h
	}
	h := newProxy(target, p.tlsConfig)
	p.m[target] = h
	return h
}

// newProxy forwards to a replica at target: http://host:port,
// https://host:port or unix:/path. The request goes on as it came,
// Authorization header included: the leader checks the token again.
func newProxy(target string, tlsConfig *tls.Config) http.Handler {
	transport := http.DefaultTransport.(*http.Transport).Clone()
	if tlsConfig != nil {
		transport.TLSClientConfig = tlsConfig.Clone()
	}
	base := &url.URL{Scheme: "http"}
	if path, ok := strings.CutPrefix(target, "unix:"); ok {
		path = strings.TrimPrefix(path, "//")
		base.Host = "leader"
		transport.DialContext = func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", path)
		}
	} else if u, err := url.Parse(target); err == nil {
		base = u
	}
	return &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(base)
			pr.Out.Host = pr.In.Host
		},
		Transport:     transport,
		FlushInterval: -1, // event streams
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			var op *net.OpError
			if flag, ok := r.Context().Value(notSentKey{}).(*bool); ok && errors.As(err, &op) && op.Op == "dial" {
				*flag = true // not sent: the caller waits for a new leader
				return
			}
			writeError(w, errorf(ErrUnavailable, "the leading controller replica at %s did not answer: %v; try again", target, err))
		},
	}
}
