package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// reply is what the fake controller answers to one route.
type reply struct {
	status int
	body   string
}

// seenRequest is one request the fake controller received.
type seenRequest struct {
	Method, Path, Query, Body, Auth string
}

// fakeController plays the ovsnet controller: it answers the routes a test
// declares ("METHOD /escaped/path" or "METHOD /path?query") and records
// every request. Any other request fails the test.
type fakeController struct {
	t      *testing.T
	srv    *httptest.Server
	routes map[string]reply

	mu   sync.Mutex
	seen []seenRequest
}

func newFakeController(t *testing.T, routes map[string]reply) *fakeController {
	t.Helper()
	f := &fakeController{t: t, routes: routes}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeController) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	req := seenRequest{Method: r.Method, Path: r.URL.EscapedPath(), Query: r.URL.RawQuery,
		Body: string(body), Auth: r.Header.Get("Authorization")}
	f.mu.Lock()
	f.seen = append(f.seen, req)
	f.mu.Unlock()

	key := r.Method + " " + req.Path
	rep, ok := f.routes[key+"?"+req.Query]
	if !ok && req.Query == "" {
		rep, ok = f.routes[key]
	}
	if !ok {
		f.t.Errorf("fake controller: unexpected request %s %s?%s", r.Method, req.Path, req.Query)
		rep = reply{http.StatusInternalServerError, `{"message":"unexpected request"}`}
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(rep.status)
	io.WriteString(w, rep.body)
}

// requests returns what the controller received, in order.
func (f *fakeController) requests() []seenRequest {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]seenRequest(nil), f.seen...)
}

// onlyRequest asserts the controller received exactly one request.
func (f *fakeController) onlyRequest() seenRequest {
	f.t.Helper()
	seen := f.requests()
	if len(seen) != 1 {
		f.t.Fatalf("controller received %d requests, want 1: %+v", len(seen), seen)
	}
	return seen[0]
}

// result is one ovsnetctl run.
type result struct {
	code           int
	stdout, stderr string
}

// fixedNow is the clock of every test run.
var fixedNow = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)

// runWithEnv runs ovsnetctl in-process with the given environment.
func runWithEnv(env map[string]string, args ...string) result {
	var stdout, stderr bytes.Buffer
	a := &app{stdout: &stdout, stderr: &stderr, env: func(k string) string { return env[k] }, now: func() time.Time { return fixedNow }}
	code := a.execute(context.Background(), args)
	return result{code, stdout.String(), stderr.String()}
}

// ovsnetctl runs a command line against the controller at url.
func ovsnetctl(url string, args ...string) result {
	return runWithEnv(map[string]string{envController: url}, args...)
}

func (r result) expect(t *testing.T, code int, stdout, stderr string) {
	t.Helper()
	if r.code != code {
		t.Errorf("exit code %d, want %d", r.code, code)
	}
	if r.stdout != stdout {
		t.Errorf("stdout:\n%s\nwant:\n%s", r.stdout, stdout)
	}
	if r.stderr != stderr {
		t.Errorf("stderr:\n%s\nwant:\n%s", r.stderr, stderr)
	}
}

// unusedController is an address nothing should be sent to: commands that
// fail validation must not reach the controller.
func unusedController(t *testing.T) string {
	return newFakeController(t, nil).srv.URL
}

func TestRunUsesTheGivenEnvironment(t *testing.T) {
	f := newFakeController(t, map[string]reply{"GET /networks": {200, `[]`}})
	var stdout, stderr bytes.Buffer
	env := map[string]string{envController: f.srv.URL, envToken: "t0k"}
	code := run(context.Background(), []string{"network", "ls", "-q"}, &stdout, &stderr, func(k string) string { return env[k] })
	if code != 0 || stdout.String() != "" || stderr.String() != "" {
		t.Fatalf("run = %d, stdout %q, stderr %q", code, stdout.String(), stderr.String())
	}
	if got := f.onlyRequest().Auth; got != "Bearer t0k" {
		t.Errorf("Authorization = %q, want the token from %s", got, envToken)
	}
}

func TestGlobalFlagsOverrideEnvironment(t *testing.T) {
	f := newFakeController(t, map[string]reply{"GET /networks": {200, `[]`}})
	env := map[string]string{envController: "http://127.0.0.1:1", envToken: "from-env"}
	r := runWithEnv(env, "--controller", f.srv.URL, "--token", "from-flag", "network", "ls", "-q")
	r.expect(t, 0, "", "")
	if got := f.onlyRequest().Auth; got != "Bearer from-flag" {
		t.Errorf("Authorization = %q, want the --token value", got)
	}
	// Global flags may also follow the subcommand, as with Docker.
	r = runWithEnv(env, "network", "ls", "-q", "--controller", f.srv.URL)
	r.expect(t, 0, "", "")
}

func TestNoTokenSendsNoAuthorization(t *testing.T) {
	f := newFakeController(t, map[string]reply{"GET /networks": {200, `[]`}})
	ovsnetctl(f.srv.URL, "network", "ls").expect(t, 0, "NETWORK ID   NAME      DRIVER    SCOPE\n", "")
	if got := f.onlyRequest().Auth; got != "" {
		t.Errorf("Authorization = %q, want none", got)
	}
}

func TestDefaultControllerAddress(t *testing.T) {
	a := &app{env: func(string) string { return "" }}
	if got := a.controllerAddress(); got != "http://127.0.0.1:8080" {
		t.Errorf("default controller = %q", got)
	}
}

func TestUnreachableControllerIsNamed(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	addr := srv.URL
	srv.Close()

	r := ovsnetctl(addr, "network", "ls")
	want := "Error: cannot reach the ovsnet controller at " + addr + ": dial tcp " + strings.TrimPrefix(addr, "http://") + ": connect: connection refused\n"
	r.expect(t, 1, "", want)
}

func TestInvalidControllerAddress(t *testing.T) {
	ovsnetctl("ftp://x", "network", "ls").
		expect(t, 1, "", "Error: invalid controller address \"ftp://x\": scheme must be http or https\n")
}

func TestAPIErrorsArePrintedLikeDocker(t *testing.T) {
	f := newFakeController(t, map[string]reply{
		"GET /networks": {503, `{"message":"cluster store unavailable (Consul at 127.0.0.1:8500): connection refused"}`},
	})
	ovsnetctl(f.srv.URL, "network", "ls").expect(t, 1, "",
		"Error response from daemon: cluster store unavailable (Consul at 127.0.0.1:8500): connection refused\n")
}

func TestUsageErrors(t *testing.T) {
	url := unusedController(t)
	for _, tc := range []struct {
		args   []string
		code   int
		stderr string
	}{
		{[]string{"network", "create"}, 1, `"ovsnetctl network create" requires exactly 1 argument.
See 'ovsnetctl network create --help'.

Usage:  ovsnetctl network create [OPTIONS] NETWORK

Create a network
`},
		{[]string{"network", "connect", "n1"}, 1, `"ovsnetctl network connect" requires exactly 2 arguments.
See 'ovsnetctl network connect --help'.

Usage:  ovsnetctl network connect [OPTIONS] NETWORK CONTAINER

Connect a container to a network
`},
		{[]string{"network", "rm"}, 1, `"ovsnetctl network rm" requires at least 1 argument.
See 'ovsnetctl network rm --help'.

Usage:  ovsnetctl network rm [OPTIONS] NETWORK [NETWORK...]

Remove one or more networks
`},
		{[]string{"host", "ls", "extra"}, 1, `"ovsnetctl host ls" accepts no arguments.
See 'ovsnetctl host ls --help'.

Usage:  ovsnetctl host ls

List hosts
`},
		{[]string{"network", "create", "--bogus", "n1"}, 125, "unknown flag: --bogus\nSee 'ovsnetctl network create --help'.\n"},
		{[]string{"network", "create", "--mtu", "big", "n1"}, 125,
			"invalid argument \"big\" for \"--mtu\" flag: strconv.ParseInt: parsing \"big\": invalid syntax\nSee 'ovsnetctl network create --help'.\n"},
		{[]string{"netwrok"}, 1, "ovsnetctl: 'netwrok' is not a ovsnetctl command.\nDid you mean network?\nSee 'ovsnetctl --help'.\n"},
		{[]string{"network", "frob"}, 1, "ovsnetctl network: 'frob' is not a ovsnetctl network command.\nSee 'ovsnetctl network --help'.\n"},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			ovsnetctl(url, tc.args...).expect(t, tc.code, "", tc.stderr)
		})
	}
}

func TestGroupCommandsShowHelp(t *testing.T) {
	r := ovsnetctl(unusedController(t), "network")
	if r.code != 0 || r.stderr != "" {
		t.Fatalf("exit %d, stderr %q", r.code, r.stderr)
	}
	if want := "Manage networks\n\nUsage:\n  ovsnetctl network [command]\n\nExamples:\n"; !strings.HasPrefix(r.stdout, want) {
		t.Errorf("help starts\n%s\nwant\n%s", r.stdout, want)
	}
	for _, sub := range []string{"create", "ls", "inspect", "rm", "connect", "disconnect", "prune"} {
		if !strings.Contains(r.stdout, "\n  "+sub+" ") {
			t.Errorf("help does not list %q:\n%s", sub, r.stdout)
		}
	}
}

func TestVersion(t *testing.T) {
	f := newFakeController(t, map[string]reply{
		"GET /version": {200, `{"Version":"0.3.0","ApiVersion":"1.41","GoVersion":"go1.26.8","Os":"linux","Arch":"amd64"}`},
	})
	r := ovsnetctl(f.srv.URL, "version")
	if r.code != 0 || r.stderr != "" {
		t.Fatalf("exit %d, stderr %q", r.code, r.stderr)
	}
	for _, want := range []string{"Client:\n Version:      dev\n API version:  1.41\n",
		"\nServer: " + f.srv.URL + "\n Version:      0.3.0\n API version:  1.41\n Go version:   go1.26.8\n OS/Arch:      linux/amd64\n"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("version output lacks %q:\n%s", want, r.stdout)
		}
	}
}

func TestVersionFailsWithoutController(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	srv.Close()
	r := ovsnetctl(srv.URL, "version")
	if r.code != 1 || !strings.HasPrefix(r.stdout, "Client:\n") || !strings.HasPrefix(r.stderr, "Error: cannot reach the ovsnet controller at "+srv.URL) {
		t.Errorf("got %+v", r)
	}
}
