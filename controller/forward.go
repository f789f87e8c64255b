package controller

import (
	"context"
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
		for {
			c.mu.RLock()
			leading := c.session != ""
			leader, changed, held := c.leader, c.leaderCh, c.state != nil
			c.mu.RUnlock()
			switch {
			case leading:
				h.ServeHTTP(w, r)
				return
			case leader.ID != "" && leader.ID != c.id && leader.URL != "" && r.Header.Get(forwardedHeader) == "":
				c.proxies.get(leader.URL).ServeHTTP(w, withForwarded(r, c.id))
				return
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

func withForwarded(r *http.Request, id string) *http.Request {
	r = r.Clone(r.Context())
	r.Header.Set(forwardedHeader, id)
	return r
}

// proxyCache keeps one reverse proxy per leader URL.
type proxyCache struct {
	mu sync.Mutex
	m  map[string]http.Handler
}

func newProxyCache() *proxyCache { return &proxyCache{m: map[string]http.Handler{}} }

func (p *proxyCache) get(target string) http.Handler {
	p.mu.Lock()
	defer p.mu.Unlock()
	if h, ok := p.m[target]; ok {
		return h
	}
	h := newProxy(target)
	p.m[target] = h
	return h
}

// newProxy forwards to a replica at target: http://host:port or unix:/path.
func newProxy(target string) http.Handler {
	transport := http.DefaultTransport.(*http.Transport).Clone()
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
			writeError(w, errorf(ErrUnavailable, "the leading controller replica at %s did not answer: %v; try again", target, err))
		},
	}
}
