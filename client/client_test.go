package client

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"reflect"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ovsnet/ovsnet/model"
)

// recorded is one request the fake controller saw.
type recorded struct {
	Method, Path, Query, Auth, ContentType string
	Body                                   string
}

// fakeController answers every request with status and body, and records it.
func fakeController(t *testing.T, status int, body string) (*httptest.Server, *[]recorded) {
	t.Helper()
	var seen []recorded
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		seen = append(seen, recorded{
			Method: r.Method, Path: r.URL.EscapedPath(), Query: r.URL.RawQuery,
			Auth: r.Header.Get("Authorization"), ContentType: r.Header.Get("Content-Type"),
			Body: string(b),
		})
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		io.WriteString(w, body)
	}))
	t.Cleanup(srv.Close)
	return srv, &seen
}

func newClient(t *testing.T, url string, opts ...Option) *Client {
	t.Helper()
	c, err := New(url, opts...)
	if err != nil {
		t.Fatalf("New(%q): %v", url, err)
	}
	return c
}

func onlyRequest(t *testing.T, seen *[]recorded) recorded {
	t.Helper()
	if len(*seen) != 1 {
		t.Fatalf("controller saw %d requests, want 1: %+v", len(*seen), *seen)
	}
	return (*seen)[0]
}

func TestCreateNetworkSendsDockerBodyAndToken(t *testing.T) {
	srv, seen := fakeController(t, http.StatusCreated, `{"Id":"abc123","Warning":""}`)
	c := newClient(t, srv.URL, WithToken("s3cret"))

	resp, err := c.CreateNetwork(context.Background(), model.NetworkCreateRequest{
		Name: "net1", CheckDuplicate: true, Driver: "overlay",
		IPAM: &model.IPAM{Driver: "default", Options: map[string]string{},
			Config: []model.IPAMConfig{{Subnet: "10.9.0.0/24"}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if resp.ID != "abc123" {
		t.Errorf("ID = %q, want abc123", resp.ID)
	}
	got := onlyRequest(t, seen)
	want := recorded{
		Method: "POST", Path: "/networks/create", Auth: "Bearer s3cret", ContentType: "application/json",
		Body: `{"Name":"net1","CheckDuplicate":true,"Driver":"overlay","IPAM":{"Driver":"default","Options":{},"Config":[{"Subnet":"10.9.0.0/24"}]}}`,
	}
	if got != want {
		t.Errorf("request\n got %+v\nwant %+v", got, want)
	}
}

func TestCreateNetworkWithoutIDIsAnError(t *testing.T) {
	srv, _ := fakeController(t, http.StatusCreated, `{}`)
	_, err := newClient(t, srv.URL).CreateNetwork(context.Background(), model.NetworkCreateRequest{Name: "n"})
	if err == nil || !strings.Contains(err.Error(), "did not say its id") {
		t.Fatalf("err = %v, want a missing-id error", err)
	}
}

func TestNoTokenNoAuthorizationHeader(t *testing.T) {
	srv, seen := fakeController(t, http.StatusOK, `[]`)
	if _, err := newClient(t, srv.URL).ListNetworks(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := onlyRequest(t, seen); got.Auth != "" || got.Method != "GET" || got.Path != "/networks" {
		t.Errorf("request = %+v, want GET /networks without Authorization", got)
	}
}

func TestNetworkPathsAreEscaped(t *testing.T) {
	srv, seen := fakeController(t, http.StatusOK, `{"Name":"a b/c","Id":"0123"}`)
	c := newClient(t, srv.URL)
	n, raw, err := c.InspectNetworkRaw(context.Background(), "a b/c")
	if err != nil {
		t.Fatal(err)
	}
	if n.Name != "a b/c" || string(raw) != `{"Name":"a b/c","Id":"0123"}` {
		t.Errorf("got %+v and raw %s", n, raw)
	}
	if got := onlyRequest(t, seen).Path; got != "/networks/a%20b%2Fc" {
		t.Errorf("path = %q, want /networks/a%%20b%%2Fc", got)
	}
}

func TestBasePathIsKept(t *testing.T) {
	srv, seen := fakeController(t, http.StatusNoContent, ``)
	if err := newClient(t, srv.URL+"/api/").RemoveNetwork(context.Background(), "n1"); err != nil {
		t.Fatal(err)
	}
	got := onlyRequest(t, seen)
	if got.Method != "DELETE" || got.Path != "/api/networks/n1" {
		t.Errorf("request = %s %s, want DELETE /api/networks/n1", got.Method, got.Path)
	}
}

func TestEmptyReferencesAreRejectedLocally(t *testing.T) {
	srv, seen := fakeController(t, http.StatusOK, `[]`)
	c := newClient(t, srv.URL)
	ctx := context.Background()
	errs := []error{
		func() error { _, err := c.InspectNetwork(ctx, ""); return err }(),
		c.RemoveNetwork(ctx, ""),
		func() error { _, err := c.Connect(ctx, "", model.NetworkConnectRequest{Container: "c"}); return err }(),
		c.Disconnect(ctx, "", model.NetworkDisconnectRequest{Container: "c"}),
	}
	for i, err := range errs {
		if err == nil || !strings.Contains(err.Error(), "must not be empty") {
			t.Errorf("call %d: err = %v, want an empty-name error", i, err)
		}
	}
	if len(*seen) != 0 {
		t.Errorf("controller saw %d requests, want none", len(*seen))
	}
}

func TestConnectReturnsTheEndpoint(t *testing.T) {
	srv, seen := fakeController(t, http.StatusOK,
		`{"id":"e1","networkId":"n1","host":"h1","containerName":"c1","mac":"02:42:0a:00:00:02","ipv4":"10.0.0.2/24","networkName":"net1","status":{"state":"ready"}}`)
	ep, err := newClient(t, srv.URL).Connect(context.Background(), "net1", model.NetworkConnectRequest{
		Container: "c1",
		EndpointConfig: &model.EndpointSettings{
			IPAMConfig: &model.EndpointIPAMConfig{IPv4Address: "10.0.0.2"},
			DriverOpts: map[string]string{model.OptEndpointHost: "h1"},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	if ep.ID != "e1" || ep.IPv4 != netip.MustParsePrefix("10.0.0.2/24") || ep.MAC.String() != "02:42:0a:00:00:02" ||
		ep.NetworkName != "net1" || ep.Status == nil || ep.Status.State != model.EndpointReady {
		t.Errorf("endpoint = %+v", ep)
	}
	got := onlyRequest(t, seen)
	wantBody := `{"Container":"c1","EndpointConfig":{"IPAMConfig":{"IPv4Address":"10.0.0.2"},"DriverOpts":{"ovsnet.host":"h1"}}}`
	if got.Method != "POST" || got.Path != "/networks/net1/connect" || got.Body != wantBody {
		t.Errorf("request = %+v, want POST /networks/net1/connect with %s", got, wantBody)
	}
}

func TestConnectToleratesDockersEmptyAnswer(t *testing.T) {
	srv, _ := fakeController(t, http.StatusOK, ``)
	ep, err := newClient(t, srv.URL).Connect(context.Background(), "net1", model.NetworkConnectRequest{Container: "c1"})
	if err != nil || ep.ID != "" {
		t.Fatalf("Connect = %+v, %v; want a zero endpoint and no error", ep, err)
	}
}

func TestDisconnectSendsForce(t *testing.T) {
	srv, seen := fakeController(t, http.StatusOK, ``)
	err := newClient(t, srv.URL).Disconnect(context.Background(), "net1", model.NetworkDisconnectRequest{Container: "c1", Force: true})
	if err != nil {
		t.Fatal(err)
	}
	got := onlyRequest(t, seen)
	if got.Method != "POST" || got.Path != "/networks/net1/disconnect" || got.Body != `{"Container":"c1","Force":true}` {
		t.Errorf("request = %+v", got)
	}
}

func TestListEndpointsFilters(t *testing.T) {
	for _, tc := range []struct{ network, host, query string }{
		{"", "", ""},
		{"net1", "", "network=net1"},
		{"", "h1", "host=h1"},
		{"net 1", "h1", "host=h1&network=net+1"},
	} {
		srv, seen := fakeController(t, http.StatusOK, `[{"id":"e1","host":"h1","ipv4":"10.0.0.2/24","mac":"02:42:0a:00:00:02"}]`)
		eps, err := newClient(t, srv.URL).ListEndpoints(context.Background(), tc.network, tc.host)
		if err != nil {
			t.Fatal(err)
		}
		if len(eps) != 1 || eps[0].ID != "e1" {
			t.Errorf("endpoints = %+v", eps)
		}
		got := onlyRequest(t, seen)
		if got.Path != "/ovsnet/v1/endpoints" || got.Query != tc.query {
			t.Errorf("(%q, %q): request %s?%s, want /ovsnet/v1/endpoints?%s", tc.network, tc.host, got.Path, got.Query, tc.query)
		}
	}
}

func TestListHosts(t *testing.T) {
	srv, seen := fakeController(t, http.StatusOK, `[{"name":"h1","tunnelIP":"192.0.2.1","alive":true,"started":"2024-01-01T00:00:00Z"}]`)
	hosts, err := newClient(t, srv.URL).ListHosts(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	want := []model.Host{{Name: "h1", TunnelIP: netip.MustParseAddr("192.0.2.1"), Alive: true,
		Started: time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)}}
	if !reflect.DeepEqual(hosts, want) {
		t.Errorf("hosts = %+v, want %+v", hosts, want)
	}
	if got := onlyRequest(t, seen); got.Method != "GET" || got.Path != "/ovsnet/v1/hosts" {
		t.Errorf("request = %+v", got)
	}
}

func TestAPIErrors(t *testing.T) {
	for _, tc := range []struct {
		name     string
		status   int
		body     string
		message  string
		notFound bool
		conflict bool
	}{
		{"engine error body", 404, `{"message":"network nope not found"}`, "network nope not found", true, false},
		{"conflict", 409, `{"message":"network with name n1 already exists"}`, "network with name n1 already exists", false, true},
		{"plain text body", 502, "upstream down\n", "upstream down", false, false},
		{"empty body", 503, "", "the controller answered 503 Service Unavailable", false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv, _ := fakeController(t, tc.status, tc.body)
			_, err := newClient(t, srv.URL).InspectNetwork(context.Background(), "nope")
			var apiErr *APIError
			if !errors.As(err, &apiErr) {
				t.Fatalf("err = %#v, want *APIError", err)
			}
			if apiErr.StatusCode != tc.status || apiErr.Error() != tc.message {
				t.Errorf("APIError = {%d %q}, want {%d %q}", apiErr.StatusCode, apiErr.Error(), tc.status, tc.message)
			}
			if IsNotFound(err) != tc.notFound || IsConflict(err) != tc.conflict {
				t.Errorf("IsNotFound = %v, IsConflict = %v", IsNotFound(err), IsConflict(err))
			}
		})
	}
}

func TestUnreachableControllerIsNamed(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	addr := srv.URL
	srv.Close()

	_, err := newClient(t, addr).ListNetworks(context.Background())
	if err == nil {
		t.Fatal("no error from a closed controller")
	}
	if want := "cannot reach the ovsnet controller at " + addr + ": "; !strings.HasPrefix(err.Error(), want) {
		t.Errorf("err = %q, want prefix %q", err, want)
	}
	if !errors.Is(err, syscall.ECONNREFUSED) {
		t.Errorf("err = %v, want it to wrap ECONNREFUSED", err)
	}
	if strings.Contains(err.Error(), `Get "`) {
		t.Errorf("err = %q repeats the request URL", err)
	}
}

func TestCancelledContextStaysRecognisable(t *testing.T) {
	srv, _ := fakeController(t, http.StatusOK, `[]`)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := newClient(t, srv.URL).ListHosts(ctx)
	if !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want context.Canceled", err)
	}
}

func TestTimeout(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	defer close(release)

	start := time.Now()
	_, err := newClient(t, srv.URL, WithTimeout(50*time.Millisecond)).ListNetworks(context.Background())
	if err == nil || !strings.Contains(err.Error(), "cannot reach the ovsnet controller") {
		t.Fatalf("err = %v, want a timeout naming the controller", err)
	}
	if time.Since(start) > 5*time.Second {
		t.Errorf("timeout took %s", time.Since(start))
	}
}

func TestWithTimeoutDoesNotModifyCallersClient(t *testing.T) {
	hc := &http.Client{Timeout: time.Minute}
	c := newClient(t, "http://127.0.0.1:1", WithHTTPClient(hc), WithTimeout(time.Second))
	if hc.Timeout != time.Minute || c.httpClient.Timeout != time.Second {
		t.Errorf("caller's timeout %s, client's %s", hc.Timeout, c.httpClient.Timeout)
	}
}

func TestInvalidJSONAnswer(t *testing.T) {
	srv, _ := fakeController(t, http.StatusOK, `<html>`)
	_, err := newClient(t, srv.URL).ListNetworks(context.Background())
	var syntaxErr *json.SyntaxError
	if !errors.As(err, &syntaxErr) || !strings.Contains(err.Error(), "invalid answer from the controller to GET /networks") {
		t.Errorf("err = %v, want a wrapped JSON syntax error", err)
	}
}

func TestNewNormalizesAddresses(t *testing.T) {
	for in, want := range map[string]string{
		"http://127.0.0.1:8080":    "http://127.0.0.1:8080",
		"http://127.0.0.1:8080/":   "http://127.0.0.1:8080",
		"127.0.0.1:8080":           "http://127.0.0.1:8080",
		"tcp://ctl:8080":           "http://ctl:8080",
		"https://ctl.example/api/": "https://ctl.example/api",
		" http://[::1]:8080 ":      "http://[::1]:8080",
	} {
		c, err := New(in)
		if err != nil {
			t.Errorf("New(%q): %v", in, err)
			continue
		}
		if c.BaseURL() != want {
			t.Errorf("New(%q).BaseURL() = %q, want %q", in, c.BaseURL(), want)
		}
	}
	for _, in := range []string{"", "ftp://x", "http://", "http://x/?a=b", "http://x:bad"} {
		if _, err := New(in); err == nil {
			t.Errorf("New(%q) accepted an invalid address", in)
		}
	}
}
