//go:build e2e

package e2e

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/consul/api"

	"github.com/ovsnet/ovsnet/client"
	"github.com/ovsnet/ovsnet/internal/pki"
	"github.com/ovsnet/ovsnet/test/cluster"
	"github.com/ovsnet/ovsnet/test/lab"
)

// Security end to end (issue 10, docs/security.md): how the controller
// refuses to be open, TLS with the stock docker CLI, the token on reads,
// forged browser writes, Consul ACLs, namespaces, and tokens kept out of
// ps and logs.

func freeAddr(t *testing.T, host string) string {
	t.Helper()
	ports, err := lab.FreePorts(1)
	if err != nil {
		t.Fatal(err)
	}
	return net.JoinHostPort(host, strconv.Itoa(ports[0]))
}

// tokenFile writes a token file (0600) and returns its path.
func tokenFile(t *testing.T, token string) string {
	t.Helper()
	f := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(f, []byte(token+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return f
}

// runController runs ovsnet-controller to its end (bounded) and returns
// its exit error and output.
func runController(t *testing.T, bin string, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, bin, args...).CombinedOutput()
	return string(out), err
}

// A controller told to listen where others can reach it, without TLS and
// a token (or client certificates), refuses to start and says why; on
// loopback, or with -insecure in so many words, it starts.
func TestControllerRefusesAnOpenPublicListener(t *testing.T) {
	bin := lab.Build(t)["ovsnet-controller"]
	dir := t.TempDir()
	ca, _, err := pki.InitCA(dir, "")
	if err != nil {
		t.Fatal(err)
	}
	cert, key, err := ca.Server("controller", []string{"127.0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	tok := tokenFile(t, "s3cret")
	consul := "127.0.0.1:1" // nothing there: the checks come first
	for _, c := range []struct {
		what string
		args []string
		want []string
	}{
		{"plain HTTP, no token", nil, []string{"refusing to serve the API on 0.0.0.0:0", "clear text", "no token", "-insecure"}},
		{"a token over plain HTTP", []string{"-token-file", tok}, []string{"refusing", "clear text"}},
		{"TLS without a token or client certificates", []string{"-tls-cert", cert, "-tls-key", key}, []string{"refusing", "no token", "-tls-client-ca"}},
	} {
		out, err := runController(t, bin, append([]string{"-listen", "0.0.0.0:0", "-consul", consul}, c.args...)...)
		if err == nil {
			t.Fatalf("%s: the controller started:\n%s", c.what, out)
		}
		for _, w := range c.want {
			if !strings.Contains(out, w) {
				t.Errorf("%s: output lacks %q:\n%s", c.what, w, out)
			}
		}
	}
	// A token on the command line is refused outright.
	if out, err := runController(t, bin, "-listen", freeAddr(t, "127.0.0.1"), "-consul", consul, "-token", "s3cret"); err == nil ||
		!strings.Contains(out, "-token is refused") || !strings.Contains(out, "-token-file") {
		t.Fatalf("-token on the command line: %v\n%s", err, out)
	}

	// These start (and are stopped once they answer).
	for _, c := range []struct {
		what string
		args []string
	}{
		{"loopback", []string{"-listen", freeAddr(t, "127.0.0.1")}},
		{"TLS and a token", []string{"-listen", "0.0.0.0:0", "-tls-cert", cert, "-tls-key", key, "-token-file", tok}},
		{"TLS and client certificates", []string{"-listen", "0.0.0.0:0", "-tls-cert", cert, "-tls-key", key, "-tls-client-ca", filepath.Join(dir, pki.CACert)}},
		{"-insecure", []string{"-listen", "0.0.0.0:0", "-insecure"}},
	} {
		ctx, cancel := context.WithCancel(context.Background())
		cmd := exec.CommandContext(ctx, bin, append(c.args, "-consul", consul)...)
		var out syncBuffer
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		deadline := time.After(10 * time.Second)
	wait:
		for !strings.Contains(out.String(), "ovsnet controller listening") {
			select {
			case err := <-done:
				cancel()
				t.Fatalf("%s: the controller exited: %v\n%s", c.what, err, out.String())
			case <-deadline:
				break wait
			case <-time.After(50 * time.Millisecond):
			}
		}
		cancel()
		<-done
		if !strings.Contains(out.String(), "ovsnet controller listening") {
			t.Fatalf("%s: the controller did not listen:\n%s", c.what, out.String())
		}
		if c.what == "-insecure" && !strings.Contains(out.String(), "-insecure: serving anyway") {
			t.Errorf("-insecure without a warning:\n%s", out.String())
		}
	}
}

// syncBuffer is an output buffer a process writes while the test reads.
type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// tlsController runs one more controller replica of c serving HTTPS on a
// loopback port and requiring client certificates of the CA in dir.
func tlsController(t *testing.T, c *cluster.Cluster, dir string) (addr string) {
	t.Helper()
	ca, _, err := pki.InitCA(dir, "")
	if err != nil {
		t.Fatal(err)
	}
	cert, key, err := ca.Server("controller", []string{"127.0.0.1", "localhost"})
	if err != nil {
		t.Fatal(err)
	}
	addr = freeAddr(t, "127.0.0.1")
	c.Lab.Start("controller-tls", "", nil, c.Bins["ovsnet-controller"], "-listen", addr, "-consul", c.Consul.Addr,
		"-prefix", c.Prefix, "-id", "controller-tls", "-tls-cert", cert, "-tls-key", key, "-tls-client-ca", filepath.Join(dir, pki.CACert))
	client, err := ca.Client("probe")
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := pki.ClientConfig(filepath.Join(client, pki.CACert), filepath.Join(client, pki.Cert), filepath.Join(client, pki.Key))
	if err != nil {
		t.Fatal(err)
	}
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: cfg}, Timeout: 2 * time.Second}
	cluster.Poll(t, 20*time.Second, "TLS controller up", func() error {
		resp, err := hc.Get("https://" + addr + "/_ping")
		if err != nil {
			return err
		}
		resp.Body.Close()
		return nil
	})
	return addr
}

// docker runs the stock docker CLI with extra environment.
func dockerCLI(env []string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "docker", args...)
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	return strings.TrimSpace(string(out)), err
}

// The stock docker CLI talks to a controller that requires client
// certificates exactly as it talks to dockerd --tlsverify: with a
// certificate of the CA it works (flags or DOCKER_CERT_PATH), without one,
// or without TLS, it is refused. ovsnetctl does the same with its
// docker-like flags.
func TestDockerCLIWithTLSClientCertificates(t *testing.T) {
	c := cluster.New(t, cluster.Options{Hosts: 1})
	dir := t.TempDir()
	addr := tlsController(t, c, dir)
	ca, err := pki.LoadCA(dir)
	if err != nil {
		t.Fatal(err)
	}
	ops, err := ca.Client("ops")
	if err != nil {
		t.Fatal(err)
	}
	host := "tcp://" + addr
	tlsFlags := []string{"--tlsverify", "--tlscacert", filepath.Join(ops, "ca.pem"), "--tlscert", filepath.Join(ops, "cert.pem"),
		"--tlskey", filepath.Join(ops, "key.pem"), "-H", host}
	if out, err := dockerCLI(nil, append(tlsFlags, "network", "create", "-d", "overlay", "--subnet", "10.0.7.0/24", "tlsnet")...); err != nil {
		t.Fatalf("docker --tlsverify network create: %v\n%s", err, out)
	}
	out, err := dockerCLI(nil, append(tlsFlags, "network", "ls")...)
	if err != nil || !strings.Contains(out, "tlsnet") {
		t.Fatalf("docker --tlsverify network ls: %v\n%s", err, out)
	}
	out, err = dockerCLI([]string{"DOCKER_CERT_PATH=" + ops, "DOCKER_TLS_VERIFY=1", "DOCKER_HOST=" + host}, "network", "inspect", "tlsnet")
	if err != nil || !strings.Contains(out, "10.0.7.0/24") {
		t.Fatalf("docker with DOCKER_CERT_PATH: %v\n%s", err, out)
	}
	// No client certificate: the handshake fails, nothing is served.
	out, err = dockerCLI(nil, "--tlsverify", "--tlscacert", filepath.Join(ops, "ca.pem"), "-H", host, "network", "ls")
	if err == nil || strings.Contains(out, "tlsnet") {
		t.Fatalf("docker without a client certificate: %v\n%s", err, out)
	}
	t.Logf("without a client certificate: %s", out)
	// A certificate of another CA, or plain HTTP: refused too.
	other, _, err := pki.InitCA(t.TempDir(), "other")
	if err != nil {
		t.Fatal(err)
	}
	stranger, err := other.Client("stranger")
	if err != nil {
		t.Fatal(err)
	}
	out, err = dockerCLI(nil, "--tlsverify", "--tlscacert", filepath.Join(ops, "ca.pem"), "--tlscert", filepath.Join(stranger, "cert.pem"),
		"--tlskey", filepath.Join(stranger, "key.pem"), "-H", host, "network", "ls")
	if err == nil || strings.Contains(out, "tlsnet") {
		t.Fatalf("docker with another CA's certificate: %v\n%s", err, out)
	}
	if out, err = dockerCLI(nil, "-H", host, "network", "ls"); err == nil || strings.Contains(out, "tlsnet") {
		t.Fatalf("docker over plain HTTP: %v\n%s", err, out)
	}

	// ovsnetctl, the same way.
	ctl := func(env []string, args ...string) (string, error) {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		cmd := exec.CommandContext(ctx, c.Bins["ovsnetctl"], args...)
		cmd.Env = append(os.Environ(), env...)
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	if out, err := ctl([]string{"OVSNET_CERT_PATH=" + ops}, "--controller", "https://"+addr, "network", "ls"); err != nil || !strings.Contains(out, "tlsnet") {
		t.Fatalf("ovsnetctl with OVSNET_CERT_PATH: %v\n%s", err, out)
	}
	if out, err := ctl(nil, "--controller", "https://"+addr, "--tlscacert", filepath.Join(ops, "ca.pem"), "network", "ls"); err == nil {
		t.Fatalf("ovsnetctl without a client certificate: %s", out)
	}
}

// With a token set, the stock docker CLI sends it through HttpHeaders in
// its config.json; without it the controller answers 401 and docker says
// so.
func TestDockerCLIWithTokenInHttpHeaders(t *testing.T) {
	c := cluster.New(t, cluster.Options{Hosts: 1, Token: "s3cret-d0cker"})
	host := "tcp://" + c.Controllers[0].Addr
	out, err := dockerCLI(nil, "-H", host, "network", "ls")
	if err == nil || !strings.Contains(out, "requires a token") {
		t.Fatalf("docker without the token: %v\n%s", err, out)
	}
	cfgDir := t.TempDir()
	cfg := `{"HttpHeaders": {"Authorization": "Bearer s3cret-d0cker"}}`
	if err := os.WriteFile(filepath.Join(cfgDir, "config.json"), []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	env := []string{"DOCKER_CONFIG=" + cfgDir}
	if out, err := dockerCLI(env, "-H", host, "network", "create", "-d", "overlay", "toknet"); err != nil {
		t.Fatalf("docker network create with HttpHeaders: %v\n%s", err, out)
	}
	if out, err := dockerCLI(env, "-H", host, "network", "ls"); err != nil || !strings.Contains(out, "toknet") {
		t.Fatalf("docker network ls with HttpHeaders: %v\n%s", err, out)
	}
	if out, err := dockerCLI(env, "-H", host, "network", "rm", "toknet"); err != nil {
		t.Fatalf("docker network rm with HttpHeaders: %v\n%s", err, out)
	}
}

// With a token set, reads need it too (401 without), ovsnetctl and the
// API client send it, and a web page cannot forge a write: a text/plain
// or form POST and a cross-origin POST are refused and change nothing.
func TestTokenGuardsReadsAndBrowsersCannotForgeWrites(t *testing.T) {
	c := cluster.New(t, cluster.Options{Hosts: 1, Token: "s3cret-r34d"})
	url := c.Controllers[0].URL
	c.CreateNetwork("secnet") // ovsnetctl with OVSNET_TOKEN_FILE
	for _, path := range []string{"/networks", "/v1.41/networks/secnet", "/ovsnet/v1/networks", "/ovsnet/v1/endpoints",
		"/ovsnet/v1/hosts", "/ovsnet/v1/topology", "/ovsnet/v1/backup", "/version"} {
		code, body, err := cluster.HTTP("GET", url+path, "")
		if err != nil || code != 401 || !strings.Contains(body, "requires a token") {
			t.Errorf("GET %s without the token: %d %s %v", path, code, body, err)
		}
	}
	for _, path := range []string{"/_ping", "/healthz", "/", "/ui/app.js", "/ovsnet/v1/openapi.json"} {
		if code, _, err := cluster.HTTP("GET", url+path, ""); err != nil || code != 200 {
			t.Errorf("public GET %s: %d %v", path, code, err)
		}
	}
	if nets, err := c.API.ListNetworks(context.Background()); err != nil || len(nets) != 1 {
		t.Fatalf("the API client with the token: %v %v", nets, err)
	}

	// Forged writes, even with the token (a browser would not have it, but
	// the checks do not depend on it).
	post := func(headers ...string) (int, string) {
		req, _ := http.NewRequest(http.MethodPost, url+"/networks/create", strings.NewReader(`{"Name":"forged","Driver":"overlay"}`))
		req.Header.Set("Authorization", "Bearer s3cret-r34d")
		for i := 0; i+1 < len(headers); i += 2 {
			req.Header.Set(headers[i], headers[i+1])
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	for _, c := range []struct {
		headers []string
		code    int
	}{
		{[]string{"Content-Type", "text/plain"}, 415},
		{[]string{"Content-Type", "application/x-www-form-urlencoded"}, 415},
		{[]string{"Content-Type", "application/json", "Origin", "http://evil.example"}, 403},
		{[]string{"Content-Type", "application/json", "Sec-Fetch-Site", "cross-site"}, 403},
	} {
		if code, body := post(c.headers...); code != c.code {
			t.Errorf("forged POST %v: %d %s, want %d", c.headers, code, body, c.code)
		}
	}
	if _, err := c.API.InspectNetwork(context.Background(), "forged"); err == nil {
		t.Fatal("a forged write created a network")
	}
	if code, body := post("Content-Type", "application/json", "Origin", url); code != 201 {
		t.Fatalf("same-origin JSON POST: %d %s", code, body)
	}
}

// Consul runs with ACLs, default deny; the controllers and each agent have
// tokens made from deploy/consul/acl/ by deploy/consul/acl.sh. An agent's
// token cannot write the intent nor another host's records; the agent
// still does all of its work with it.
func TestConsulACLAgentTokens(t *testing.T) {
	c := cluster.New(t, cluster.Options{Hosts: 2, ConsulACL: true}) // waits for both agents to register
	h1, h2 := c.Lab.Hosts[0], c.Lab.Hosts[1]
	acl := c.ACL()
	kv := func(tokenFile string) *api.KV {
		cfg := api.DefaultConfig()
		cfg.Address = c.Consul.Addr
		if tokenFile != "" {
			b, err := os.ReadFile(tokenFile)
			if err != nil {
				t.Fatal(err)
			}
			cfg.Token = strings.TrimSpace(string(b))
		}
		cl, err := api.NewClient(cfg)
		if err != nil {
			t.Fatal(err)
		}
		return cl.KV()
	}
	// The intent works: the controller's token writes it, both agents
	// plumb their containers and reach each other.
	c.CreateNetwork("aclnet", "--subnet", "10.0.9.0/24")
	a := c.Lab.AddContainer(h1, "a")
	b := c.Lab.AddContainer(h2, "b")
	c.Connect("aclnet", a, nil)
	eb := c.Connect("aclnet", b, nil)
	cluster.WaitPing(t, a, eb.IPv4.Addr().String(), 10*time.Second)
	nets, err := c.API.ListNetworks(context.Background())
	if err != nil || len(nets) != 1 {
		t.Fatalf("networks: %v %v", nets, err)
	}
	netID := nets[0].ID

	agent1 := kv(acl.AgentTokenFiles[h1.Name])
	p := c.Prefix
	denied := func(what string, err error) {
		t.Helper()
		if err == nil || !strings.Contains(strings.ToLower(err.Error()), "permission denied") {
			t.Errorf("h1's agent token %s: %v, want permission denied", what, err)
		}
	}
	_, err = agent1.Put(&api.KVPair{Key: p + "/networks/" + netID, Value: []byte(`{"name":"hijacked"}`)}, nil)
	denied("rewrote a network", err)
	_, err = agent1.Put(&api.KVPair{Key: p + "/networks/" + strings.Repeat("f", 64), Value: []byte(`{}`)}, nil)
	denied("created a network", err)
	_, err = agent1.Delete(p+"/networks/"+netID, nil)
	denied("deleted a network", err)
	_, err = agent1.Put(&api.KVPair{Key: p + "/endpoints/" + netID + "/" + strings.Repeat("e", 64), Value: []byte(`{}`)}, nil)
	denied("wrote an endpoint", err)
	_, err = agent1.Put(&api.KVPair{Key: p + "/placement/" + h1.Name + "/" + netID + "/x", Value: nil}, nil)
	denied("wrote its own placement", err)
	for _, key := range []string{"/hosts/" + h2.Name, "/stats/" + h2.Name, "/status/" + h2.Name + "/x", "/applied/" + h2.Name + "/" + netID,
		"/trace/results/" + h2.Name + "/x", "/hosts/" + h1.Name + "0", "/leader", "/alloc/names/x"} {
		_, err = agent1.Put(&api.KVPair{Key: p + key, Value: []byte(`{}`)}, nil)
		denied("wrote "+key, err)
	}
	_, err = agent1.DeleteTree(p+"/", nil)
	denied("deleted the whole tree", err)
	// In a transaction too.
	ok, resp, _, err := agent1.Txn(api.KVTxnOps{{Verb: api.KVSet, Key: p + "/networks/" + netID, Value: []byte(`{}`)}}, nil)
	if err == nil && (ok || resp == nil || len(resp.Errors) == 0) {
		t.Errorf("h1's agent token wrote a network in a transaction: ok=%v %+v", ok, resp)
	}
	// Without any token: nothing at all.
	anon := kv("")
	_, err = anon.Put(&api.KVPair{Key: p + "/status/" + h1.Name + "/x", Value: []byte(`{}`)}, nil)
	denied("(none) wrote a status", err)
	if pairs, _, err := anon.List(p+"/", nil); err == nil && len(pairs) > 0 {
		t.Errorf("without a token, %d keys are readable", len(pairs))
	}
	// Its own records it may write, and the intent it may read.
	if _, err := agent1.Put(&api.KVPair{Key: p + "/status/" + h1.Name + "/acl-probe", Value: []byte(`{}`)}, nil); err != nil {
		t.Errorf("h1's agent token cannot write its own status: %v", err)
	}
	_, _ = agent1.Delete(p+"/status/"+h1.Name+"/acl-probe", nil)
	if pair, _, err := agent1.Get(p+"/networks/"+netID, nil); err != nil || pair == nil {
		t.Errorf("h1's agent token cannot read the network: %v", err)
	}
	// The network is intact.
	if n, err := c.API.InspectNetwork(context.Background(), "aclnet"); err != nil || n.Name != "aclnet" || len(n.Containers) != 2 {
		t.Fatalf("aclnet after the attempts: %+v %v", n, err)
	}
	// The agent's work goes on: a new container is plumbed and reachable.
	a2 := c.Lab.AddContainer(h1, "a2")
	e2 := c.Connect("aclnet", a2, nil)
	cluster.WaitPing(t, b, e2.IPv4.Addr().String(), 10*time.Second)
	for _, h := range []*lab.Host{h1, h2} {
		if log := c.Agents[h.Name].Log(); strings.Contains(log, "Permission denied") || strings.Contains(log, "ACL not found") {
			t.Errorf("agent %s hit ACL denials:\n%s", h.Name, grepLines(log, "ermission denied", "ACL not found"))
		}
	}
}

// grepLines returns the lines of s holding any of subs.
func grepLines(s string, subs ...string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		for _, sub := range subs {
			if strings.Contains(l, sub) {
				out = append(out, l)
				break
			}
		}
	}
	return strings.Join(out, "\n")
}

// An endpoint's namespace must be a container's: PID 1's is refused by the
// controller at once, the agent's own (by its /proc path or by the host's
// named namespace) by the agent; each is a 400 and nothing is plumbed.
func TestNamespaceOfTheHostIsRefused(t *testing.T) {
	c := cluster.New(t, cluster.Options{Hosts: 1})
	h1 := c.Lab.Hosts[0]
	c.CreateNetwork("nsnet", "--subnet", "10.0.8.0/24")
	agentPid := c.Agents[h1.Name].Pid()
	if comm, err := os.ReadFile(fmt.Sprintf("/proc/%d/comm", agentPid)); err != nil || !strings.HasPrefix(string(comm), "ovsnet-agent") {
		t.Fatalf("pid %d is not the agent: %q %v", agentPid, comm, err)
	}
	// Container interfaces on the host: the host end of an endpoint's veth
	// is ovs + 11 hex digits (the agent's own ports come and go with the
	// networks it holds; they are not what is checked here).
	links := func() string {
		out, err := h1.Exec(context.Background(), "ip", "-o", "link")
		if err != nil {
			t.Fatal(err)
		}
		var veths []string
		for _, n := range strings.Fields(names(string(out))) {
			if len(n) == 14 && strings.HasPrefix(n, "ovs") && strings.Trim(n[3:], "0123456789abcdef") == "" {
				veths = append(veths, n)
			}
		}
		return strings.Join(veths, " ")
	}
	routes := func() string {
		out, err := h1.Exec(context.Background(), "ip", "route", "show", "default")
		if err != nil {
			t.Fatal(err)
		}
		return strings.TrimSpace(string(out))
	}
	linksBefore, routesBefore := links(), routes()
	for _, ns := range []struct{ path, want string }{
		{"/proc/1/ns/net", "PID 1's network namespace"},
		{fmt.Sprintf("/proc/%d/ns/net", agentPid), "the ovsnet agent's own network namespace"},
		{"/run/netns/" + h1.Netns, "the ovsnet agent's own network namespace"},
		{"/etc/passwd", "not a container's network namespace"},
		{"/run/netns/../../proc/1/ns/net", "clean absolute path"},
	} {
		ct := &lab.Container{Name: "intruder", Netns: ns.path, Host: h1}
		_, err := c.TryConnect("nsnet", ct, nil)
		var apiErr *client.APIError
		if !errors.As(err, &apiErr) || apiErr.StatusCode != 400 || !strings.Contains(err.Error(), ns.want) {
			t.Errorf("netns %s: %v, want a 400 saying %q", ns.path, err, ns.want)
		}
	}
	if eps := c.Endpoints("nsnet"); len(eps) != 0 {
		t.Fatalf("endpoints left behind: %+v", eps)
	}
	time.Sleep(time.Second) // a reconcile that would plumb has run by now
	if got := links(); got != linksBefore {
		t.Errorf("the host's interfaces changed:\nbefore %s\nafter  %s", linksBefore, got)
	}
	if got := routes(); got != routesBefore {
		t.Errorf("the host's default route changed:\nbefore %q\nafter  %q", routesBefore, got)
	}
	// A container's namespace still works.
	ok := c.Lab.AddContainer(h1, "fine")
	c.Connect("nsnet", ok, nil)
}

// names lists the interface names of `ip -o link`.
func names(out string) string {
	var n []string
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		if f := strings.Fields(l); len(f) > 1 {
			n = append(n, strings.TrimSuffix(strings.SplitN(f[1], "@", 2)[0], ":"))
		}
	}
	return strings.Join(n, " ")
}

// The API token given to the controller and to the agents' Docker plugin
// (a file, the way the units do) appears in no process's command line or
// environment and in no log, while the plugin uses it.
func TestTokenNeverInPsOrLogs(t *testing.T) {
	const token = "t0ken-Never-Seen-4242"
	c := cluster.New(t, cluster.Options{Hosts: 1, Docker: true, Token: token})
	d := c.Dockers["h1"]
	// The plugin calls the controller (a default pool, then addresses)
	// with the token: this works only if it sends it.
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if out, err := d.CLI(ctx, "network", "create", "-d", "ovsnet", "--ipam-driver", "ovsnet", "plugnet"); err != nil {
		t.Fatalf("docker network create through the plugin: %v\n%s", err, out)
	}
	if out, err := d.CLI(ctx, "run", "--rm", "--net", "plugnet", "busybox:local", "true"); err != nil {
		t.Fatalf("docker run through the plugin: %v\n%s", err, out)
	}
	if _, err := c.API.InspectNetwork(ctx, "plugnet"); err != nil {
		t.Fatalf("the plugin's network is not in the controller: %v", err)
	}
	ps, err := exec.Command("ps", "-eww", "-o", "pid,args").CombinedOutput()
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(ps), token) {
		t.Errorf("the token is in ps:\n%s", grepLines(string(ps), token))
	}
	procs, _ := filepath.Glob("/proc/[0-9]*")
	for _, p := range procs {
		for _, f := range []string{"cmdline", "environ"} {
			b, err := os.ReadFile(filepath.Join(p, f))
			if err == nil && strings.Contains(string(b), token) {
				comm, _ := os.ReadFile(filepath.Join(p, "comm"))
				t.Errorf("the token is in %s/%s (%s)", p, f, strings.TrimSpace(string(comm)))
			}
		}
	}
	logs, _ := filepath.Glob(filepath.Join(c.Lab.Dir, "*.log"))
	if len(logs) < 2 {
		t.Fatalf("no logs found in %s", c.Lab.Dir)
	}
	for _, l := range logs {
		b, err := os.ReadFile(l)
		if err == nil && strings.Contains(string(b), token) {
			t.Errorf("the token is in %s:\n%s", l, grepLines(string(b), token))
		}
	}
	// And a process started with it in OVSNET_TOKEN drops it from its
	// environment once read: programs it runs do not inherit it.
	agent := c.Agents["h1"]
	env, _ := os.ReadFile(fmt.Sprintf("/proc/%d/environ", agent.Pid()))
	if strings.Contains(string(env), "OVSNET_TOKEN=") {
		t.Errorf("the agent's environment holds OVSNET_TOKEN")
	}
}

// The UI's strict CSP holds in a real browser: an inline script a page
// might get injected does not run, and string HTML sinks are refused.
func checkCSPInBrowser(t *testing.T, b *browser) {
	t.Helper()
	b.allowErrors("TrustedScript", "TrustedHTML", "Trusted Type", "Refused to execute inline script", "Content Security Policy")
	ran, err := b.evalBool(`(() => {
		window.__injected = false;
		try {
			const s = document.createElement("script");
			s.textContent = "window.__injected = true";
			document.body.append(s);
		} catch (e) { /* Trusted Types refused the string */ }
		return window.__injected;
	})()`)
	if err != nil || ran {
		t.Errorf("an injected inline script ran (%v)", err)
	}
	sinkRefused, err := b.evalBool(`(() => { try { document.createElement("div").innerHTML = "<b>x</b>"; return false } catch (e) { return true } })()`)
	if err != nil || !sinkRefused {
		t.Errorf("innerHTML took a string (%v)", err)
	}
}
