package controller

import (
	"crypto/subtle"
	"fmt"
	"math"
	"mime"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/ovsnet/ovsnet/model"
)

// Who may do what (docs/security.md). With a token set, every route but
// the public ones (ping, health, metrics, the UI's static files and the
// OpenAPI document: counts and code, no names, addresses or paths) needs
// it, reads included: the state holds namespace paths and tunnel
// addresses. TLS client certificates, when required, are checked by
// the server's TLS configuration before any of this runs. Writes are also
// kept out of reach of web pages: they must be JSON and come from the
// controller's own origin, so a page in an operator's browser can neither
// post a form to the API nor script a cross-site request.

// tokenHelp says how clients send the token.
const tokenHelp = `send it as "Authorization: Bearer TOKEN" (ovsnetctl: OVSNET_TOKEN_FILE, --token-file or OVSNET_TOKEN; docker: "HttpHeaders" in its config.json; the web UI asks for it)`

// requireToken guards a handler with the token, when one is set. The
// read-only token, when one is set too, passes on every route that
// changes nothing (write false) and gets 403 on the others.
func (c *Controller) requireToken(h http.Handler, write bool) http.Handler {
	if c.token == "" {
		return h
	}
	full, read := []byte(c.token), []byte(c.readToken)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		auth := r.Header.Get("Authorization")
		scheme, got, ok := strings.Cut(auth, " ")
		if !ok || !strings.EqualFold(scheme, "Bearer") {
			w.Header().Set("WWW-Authenticate", `Bearer realm="ovsnet"`)
			writeJSON(w, http.StatusUnauthorized, model.ErrorResponse{Message: "this controller requires a token: " + tokenHelp})
			return
		}
		sent := []byte(strings.TrimSpace(got))
		switch {
		case subtle.ConstantTimeCompare(sent, full) == 1:
		case len(read) > 0 && subtle.ConstantTimeCompare(sent, read) == 1:
			if write {
				writeJSON(w, http.StatusForbidden, model.ErrorResponse{Message: "the token sent may only read; " + r.Method + " " + r.URL.Path + " changes the cluster and needs the controller's full token"})
				return
			}
		default:
			w.Header().Set("WWW-Authenticate", `Bearer realm="ovsnet", error="invalid_token"`)
			writeJSON(w, http.StatusUnauthorized, model.ErrorResponse{Message: "this controller requires a token, and the one sent is not it: " + tokenHelp})
			return
		}
		h.ServeHTTP(w, r)
	})
}

// browserSafe refuses the writes a web page could forge: cross-origin
// ones (the browser says so in Sec-Fetch-Site, or an Origin that is not
// the controller's own host) and anything but JSON (a form or a
// text/plain POST needs no CORS preflight; application/json does, and the
// controller answers no preflight).
func browserSafe(h http.Handler) http.Handler {
	cop := http.NewCrossOriginProtection()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := cop.Check(r); err != nil {
			writeJSON(w, http.StatusForbidden, model.ErrorResponse{Message: fmt.Sprintf(
				"cross-origin request refused: changes are accepted only from the controller's own origin (Origin %q, Host %q)", r.Header.Get("Origin"), r.Host)})
			return
		}
		if ct := r.Header.Get("Content-Type"); ct != "" || hasBody(r) {
			if mt, _, err := mime.ParseMediaType(ct); err != nil || mt != "application/json" {
				writeJSON(w, http.StatusUnsupportedMediaType, model.ErrorResponse{Message: fmt.Sprintf(
					"Content-Type %q refused: changes must be sent as application/json", ct)})
				return
			}
		}
		h.ServeHTTP(w, r)
	})
}

// hasBody says whether a request carries a body. Writes without one
// (docker network rm, docker network prune) need no Content-Type; a form,
// even an empty one, always has one, and is refused.
func hasBody(r *http.Request) bool {
	return r.ContentLength > 0 || len(r.TransferEncoding) > 0
}

// Traces run commands on hosts and write to Consul: each client may ask
// for ten at once and then about one a second.
const (
	defaultTraceRate  = 1.0
	defaultTraceBurst = 10
	// forwardedBurst multiplies a replica's allowance at the leader: the
	// requests it forwards were limited per client where they came in.
	forwardedBurst = 8
)

// limitPerClient bounds how often each client (by address) may call h,
// answering 429 with Retry-After beyond it. Requests another replica
// forwards are counted against that replica, with a larger allowance.
func (c *Controller) limitPerClient(l *clientLimiter, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		key, weight := clientKey(r), 1.0
		if r.Header.Get(forwardedHeader) != "" {
			key, weight = "replica "+key, 1.0/forwardedBurst
		}
		if ok, wait := l.allow(key, weight); !ok {
			secs := int(math.Ceil(wait.Seconds()))
			w.Header().Set("Retry-After", strconv.Itoa(secs))
			writeJSON(w, http.StatusTooManyRequests, model.ErrorResponse{Message: fmt.Sprintf(
				"too many traces from %s: at most %d at once and %g a second; try again in %d s", clientKey(r), l.burst, l.rate, secs)})
			return
		}
		h.ServeHTTP(w, r)
	})
}

// clientKey names the client of a request: its IP address, or "local" for
// a unix socket.
func clientKey(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil || host == "" {
		return "local"
	}
	return host
}

// clientLimiter is a token bucket per client.
type clientLimiter struct {
	rate  float64 // tokens a second
	burst int
	now   func() time.Time

	mu      sync.Mutex
	buckets map[string]*bucket
}

type bucket struct {
	tokens float64
	last   time.Time
}

// maxClients bounds the buckets kept; full ones are dropped first.
const maxClients = 4096

func newClientLimiter(rate float64, burst int) *clientLimiter {
	if rate <= 0 {
		rate = defaultTraceRate
	}
	if burst <= 0 {
		burst = defaultTraceBurst
	}
	return &clientLimiter{rate: rate, burst: burst, now: time.Now, buckets: map[string]*bucket{}}
}

// allow takes weight tokens from key's bucket; when it cannot, it says how
// long until it could.
func (l *clientLimiter) allow(key string, weight float64) (bool, time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	b := l.buckets[key]
	if b == nil {
		if len(l.buckets) >= maxClients {
			l.prune(now)
		}
		b = &bucket{tokens: float64(l.burst), last: now}
		l.buckets[key] = b
	}
	b.tokens = min(float64(l.burst), b.tokens+now.Sub(b.last).Seconds()*l.rate)
	b.last = now
	if b.tokens >= weight {
		b.tokens -= weight
		return true, 0
	}
	return false, time.Duration((weight - b.tokens) / l.rate * float64(time.Second))
}

// prune forgets the clients whose buckets have refilled (they lose
// nothing); if none has, it forgets them all but the newest.
func (l *clientLimiter) prune(now time.Time) {
	full := time.Duration(float64(l.burst) / l.rate * float64(time.Second))
	for k, b := range l.buckets {
		if now.Sub(b.last) >= full {
			delete(l.buckets, k)
		}
	}
	if len(l.buckets) >= maxClients {
		clear(l.buckets)
	}
}
