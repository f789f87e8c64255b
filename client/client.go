package client

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// DefaultTimeout bounds one request when no http.Client or timeout is given.
// Creating a network or connecting a container is one Consul transaction on
// the controller, so a request taking longer than this means trouble.
const DefaultTimeout = 60 * time.Second

// Client talks to one ovsnet controller. It is safe for concurrent use.
type Client struct {
	// baseURL is the controller's address without a trailing slash, e.g.
	// "http://127.0.0.1:8080" or "https://ctl.example/ovsnet-api".
	baseURL    string
	httpClient *http.Client
	token      string
	userAgent  string
	// tlsConfig, when set, makes the client speak HTTPS (tls.go); unix
	// says the controller is reached over a unix socket (never TLS).
	tlsConfig *tls.Config
	unix      bool
}

// Option configures a Client.
type Option func(*Client)

// WithToken sends token as "Authorization: Bearer <token>" on every request.
// An empty token sends no Authorization header.
func WithToken(token string) Option {
	return func(c *Client) { c.token = token }
}

// WithHTTPClient makes the client use hc (its transport, TLS settings and
// timeout) instead of a default http.Client. A nil hc keeps the default.
func WithHTTPClient(hc *http.Client) Option {
	return func(c *Client) {
		if hc != nil {
			c.httpClient = hc
		}
	}
}

// WithTimeout bounds every request to d; zero means no bound beyond the
// context's. It applies to the http.Client in use when the option runs, so
// give it after WithHTTPClient to limit a client of your own (which is then
// copied, not modified).
func WithTimeout(d time.Duration) Option {
	return func(c *Client) {
		hc := *c.httpClient
		hc.Timeout = d
		c.httpClient = &hc
	}
}

// WithUserAgent sets the User-Agent header, e.g. "ovsnetctl/1.2".
func WithUserAgent(ua string) Option {
	return func(c *Client) { c.userAgent = ua }
}

// New returns a client for the controller at baseURL. A bare "host:port" is
// taken as http://host:port, and Docker's tcp:// scheme as http://;
// unix:///path talks HTTP over a unix socket (how agents in other network
// namespaces of the same machine reach a controller).
func New(baseURL string, opts ...Option) (*Client, error) {
	hc := &http.Client{Timeout: DefaultTimeout}
	raw := baseURL
	path, unix := unixSocketPath(baseURL)
	if unix {
		hc.Transport = &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", path)
		}}
		baseURL = "http://ovsnet-controller"
	}
	base, err := normalizeBaseURL(baseURL)
	if err != nil {
		return nil, err
	}
	c := &Client{
		baseURL:    base,
		httpClient: hc,
		userAgent:  "ovsnet-client",
		unix:       unix,
	}
	for _, opt := range opts {
		opt(c)
	}
	if err := c.applyTLS(raw); err != nil {
		return nil, err
	}
	return c, nil
}

// unixSocketPath recognises unix:///path and unix:/path.
func unixSocketPath(addr string) (string, bool) {
	rest, ok := strings.CutPrefix(strings.TrimSpace(addr), "unix:")
	if !ok {
		return "", false
	}
	rest = strings.TrimPrefix(rest, "//")
	return rest, strings.HasPrefix(rest, "/")
}

// BaseURL is the controller address requests go to.
func (c *Client) BaseURL() string { return c.baseURL }

func normalizeBaseURL(raw string) (string, error) {
	s := strings.TrimSpace(raw)
	if s == "" {
		return "", errors.New("no controller address given")
	}
	if !strings.Contains(s, "://") {
		s = "http://" + s
	}
	u, err := url.Parse(s)
	if err != nil {
		return "", fmt.Errorf("invalid controller address %q: %w", raw, err)
	}
	switch u.Scheme {
	case "http", "https":
	case "tcp":
		u.Scheme = "http"
	default:
		return "", fmt.Errorf("invalid controller address %q: scheme must be http or https", raw)
	}
	if u.Host == "" {
		return "", fmt.Errorf("invalid controller address %q: no host", raw)
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return "", fmt.Errorf("invalid controller address %q: must not have a query or fragment", raw)
	}
	return strings.TrimRight(u.String(), "/"), nil
}

// request describes one API call.
type request struct {
	method string
	// path is already escaped, starting with "/".
	path  string
	query url.Values
	// body, when not nil, is sent as JSON.
	body any
}

// do performs r and decodes a 2xx JSON answer into out (when out is not nil
// and the answer has a body). Any other status becomes an *APIError.
func (c *Client) do(ctx context.Context, r request, out any) error {
	target := c.baseURL + r.path
	if len(r.query) > 0 {
		target += "?" + r.query.Encode()
	}
	var body io.Reader
	if r.body != nil {
		b, err := json.Marshal(r.body)
		if err != nil {
			return fmt.Errorf("failed to encode %s %s request: %w", r.method, r.path, err)
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, r.method, target, body)
	if err != nil {
		return fmt.Errorf("failed to build %s %s request: %w", r.method, r.path, err)
	}
	if r.body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")
	if c.userAgent != "" {
		req.Header.Set("User-Agent", c.userAgent)
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}

	resp, err := c.httpClient.Do(req)
	if err != nil {
		return c.transportError(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return fmt.Errorf("failed to read the controller's answer to %s %s: %w", r.method, r.path, err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return newAPIError(resp.StatusCode, data)
	}
	if out == nil || len(bytes.TrimSpace(data)) == 0 {
		return nil
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("invalid answer from the controller to %s %s: %w", r.method, r.path, err)
	}
	return nil
}

// transportError names the controller when a request did not get an answer.
// A cancelled or expired context stays recognisable with errors.Is.
func (c *Client) transportError(err error) error {
	var urlErr *url.Error
	if errors.As(err, &urlErr) {
		err = urlErr.Err
	}
	return fmt.Errorf("cannot reach the ovsnet controller at %s: %w", c.baseURL, err)
}

// escape makes a user-given name or id safe as one path segment.
func escape(segment string) string { return url.PathEscape(segment) }

// requireRef rejects an empty network, name or id, which would otherwise
// address the collection instead of one of its members.
func requireRef(kind, ref string) error {
	if ref == "" {
		return fmt.Errorf("%s name or id must not be empty", kind)
	}
	return nil
}
