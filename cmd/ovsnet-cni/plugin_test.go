package main

import (
	"bytes"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/containernetworking/cni/pkg/types"

	"github.com/ovsnet/ovsnet/ovsagent/cni"
)

// The test binary is the plugin too: with OVSNET_CNI_AS_PLUGIN set it runs
// main, so the tests drive the real skel dispatch through environment
// variables, stdin and stdout, as a runtime does.
func TestMain(m *testing.M) {
	if os.Getenv("OVSNET_CNI_AS_PLUGIN") == "1" {
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// fakeAgent serves the agent's socket: it records what the plugin sent
// and answers with canned results or CNI errors.
type fakeAgent struct {
	sock string
	mu   sync.Mutex
	got  map[string]cni.Request
	// answer per operation: a result or a *types.Error.
	answer map[string]any
}

func newFakeAgent(t *testing.T) *fakeAgent {
	t.Helper()
	dir, err := os.MkdirTemp("", "cni-plugin-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	a := &fakeAgent{sock: filepath.Join(dir, "cni.sock"), got: map[string]cni.Request{}, answer: map[string]any{}}
	ln, err := net.Listen("unix", a.sock)
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		op := strings.TrimPrefix(r.URL.Path, "/cni/v1/")
		var req cni.Request
		body, _ := io.ReadAll(r.Body)
		if err := json.Unmarshal(body, &req); err != nil {
			t.Errorf("agent got %s: %v", body, err)
		}
		a.mu.Lock()
		a.got[op] = req
		ans := a.answer[op]
		a.mu.Unlock()
		if e, ok := ans.(*types.Error); ok {
			w.WriteHeader(http.StatusInternalServerError)
			json.NewEncoder(w).Encode(e)
			return
		}
		if ans == nil {
			ans = struct{}{}
		}
		json.NewEncoder(w).Encode(ans)
	})}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return a
}

func (a *fakeAgent) request(op string) (cni.Request, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	r, ok := a.got[op]
	return r, ok
}

// run executes the plugin with CNI_COMMAND cmd and the configuration conf.
func run(t *testing.T, cmd, conf string, env ...string) (stdout string, code int) {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	c := exec.Command(exe)
	c.Env = append([]string{"OVSNET_CNI_AS_PLUGIN=1", "CNI_COMMAND=" + cmd, "CNI_PATH=/opt/cni/bin",
		"CNI_CONTAINERID=3f1c2a9b8e7d6c5b4a39281706f5e4d3c2b1a09f8e7d6c5b4a3928170615e4d3",
		"CNI_NETNS=/run/netns/netns-1234", "CNI_IFNAME=eth0"}, env...)
	c.Stdin = strings.NewReader(conf)
	var out bytes.Buffer
	c.Stdout = &out
	done := make(chan error, 1)
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { done <- c.Wait() }()
	select {
	case err = <-done:
	case <-time.After(30 * time.Second):
		c.Process.Kill()
		t.Fatal("plugin did not finish within 30 s")
	}
	if ee, ok := err.(*exec.ExitError); ok {
		return out.String(), ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return out.String(), 0
}

func conf(version, sock string, extra string) string {
	return `{"cniVersion":"` + version + `","name":"testnet02","type":"ovsnet-cni","socket":"` + sock + `"` + extra + `}`
}

const agentResult = `{"cniVersion":"1.1.0","interfaces":[{"name":"eth0","mac":"02:42:0a:00:00:02","sandbox":"/run/netns/netns-1234"}],` +
	`"ips":[{"interface":0,"address":"10.0.0.2/24","gateway":"10.0.0.1"}],"routes":[{"dst":"0.0.0.0/0","gw":"10.0.0.1"}],"dns":{"nameservers":["10.0.0.1"]}}`

func wantError(t *testing.T, out string, code int, wantCode uint, parts ...string) {
	t.Helper()
	var e types.Error
	if code == 0 || json.Unmarshal([]byte(out), &e) != nil {
		t.Fatalf("exit %d, stdout %q: want a CNI error", code, out)
	}
	if e.Code != wantCode {
		t.Fatalf("error %+v, want code %d", e, wantCode)
	}
	for _, p := range parts {
		if !strings.Contains(e.Msg+" "+e.Details, p) {
			t.Fatalf("error %+v does not mention %q", e, p)
		}
	}
}

// ADD forwards what the runtime gave (CNI_ARGS name and IP, capabilities)
// and prints the agent's result in the configuration's version.
func TestAddForwardsAndConvertsTheResult(t *testing.T) {
	a := newFakeAgent(t)
	var res map[string]any
	json.Unmarshal([]byte(agentResult), &res)
	a.answer[cni.OpAdd] = res
	rc := `,"network":"overlay1","runtimeConfig":{"mac":"02:aa:00:00:00:01","aliases":{"testnet02":["db"],"other":["x"]},` +
		`"portMappings":[{"hostPort":8080,"containerPort":80,"protocol":"tcp","hostIP":""}]}`
	out, code := run(t, "ADD", conf("1.0.0", a.sock, rc), "CNI_ARGS=IgnoreUnknown=1;K8S_POD_NAME=web;K8S_POD_NAMESPACE=default;IP=10.0.0.9/24")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, out)
	}
	req, _ := a.request(cni.OpAdd)
	if req.Network != "overlay1" || req.Name != "web" || req.Netns != "/run/netns/netns-1234" || req.IfName != "eth0" ||
		strings.Join(req.IPs, ",") != "10.0.0.9/24" || req.MAC != "02:aa:00:00:00:01" || strings.Join(req.Aliases, ",") != "db" ||
		len(req.PortMappings) != 1 || req.PortMappings[0] != (cni.PortMapping{HostPort: 8080, ContainerPort: 80, Protocol: "tcp"}) {
		t.Fatalf("agent got %+v", req)
	}
	if !strings.Contains(out, `"cniVersion": "1.0.0"`) || !strings.Contains(out, `"address": "10.0.0.2/24"`) {
		t.Fatalf("result:\n%s", out)
	}
	// 0.4.0 and 0.2.0 runtimes get their own shapes.
	out, code = run(t, "ADD", conf("0.4.0", a.sock, ""))
	if code != 0 || !strings.Contains(out, `"version": "4"`) || !strings.Contains(out, `"cniVersion": "0.4.0"`) {
		t.Fatalf("0.4.0: exit %d:\n%s", code, out)
	}
	out, code = run(t, "ADD", conf("0.2.0", a.sock, ""))
	if code != 0 || !strings.Contains(out, `"ip4"`) {
		t.Fatalf("0.2.0: exit %d:\n%s", code, out)
	}
	if req, _ := a.request(cni.OpAdd); req.Network != "testnet02" || req.Name != "" {
		t.Fatalf("network defaults to the configuration's name, name to none: %+v", req)
	}
}

// A plugin chained after another passes the earlier result through with
// its own appended.
func TestAddChained(t *testing.T) {
	a := newFakeAgent(t)
	var res map[string]any
	json.Unmarshal([]byte(agentResult), &res)
	a.answer[cni.OpAdd] = res
	prev := `,"prevResult":{"cniVersion":"1.0.0","interfaces":[{"name":"lo0","sandbox":"/run/netns/netns-1234"}],"ips":[{"interface":0,"address":"192.168.9.2/24"}],"dns":{"nameservers":["9.9.9.9"]}}`
	out, code := run(t, "ADD", conf("1.0.0", a.sock, prev))
	if code != 0 {
		t.Fatalf("exit %d: %s", code, out)
	}
	var got struct {
		Interfaces []struct{ Name string }
		IPs        []struct {
			Interface int
			Address   string
		}
		DNS struct{ Nameservers []string }
	}
	json.Unmarshal([]byte(out), &got)
	if len(got.Interfaces) != 2 || got.Interfaces[1].Name != "eth0" || len(got.IPs) != 2 || got.IPs[1].Interface != 1 ||
		got.IPs[1].Address != "10.0.0.2/24" || got.DNS.Nameservers[0] != "9.9.9.9" {
		t.Fatalf("chained result:\n%s", out)
	}
}

// Bad configurations and arguments never reach the agent.
func TestBadInputFailsInThePlugin(t *testing.T) {
	a := newFakeAgent(t)
	for _, tc := range []struct {
		name, cmd, conf string
		env             []string
		code            uint
		parts           []string
	}{
		{"not JSON", "ADD", `{"cniVersion":`, nil, types.ErrDecodingFailure, []string{"unmarshal"}},
		{"no name", "ADD", `{"cniVersion":"1.0.0","type":"ovsnet-cni"}`, nil, types.ErrInvalidNetworkConfig, []string{"missing network name"}},
		{"ipam", "ADD", conf("1.0.0", a.sock, `,"ipam":{"type":"host-local"}`), nil, types.ErrUnsupportedField, []string{"host-local", `remove "ipam"`}},
		{"relative socket", "ADD", conf("1.0.0", "run/cni.sock", ""), nil, types.ErrInvalidNetworkConfig, []string{"run/cni.sock", "absolute"}},
		{"unknown CNI_ARGS", "ADD", conf("1.0.0", a.sock, ""), []string{"CNI_ARGS=FOO=bar"}, types.ErrInvalidEnvironmentVariables, []string{"CNI_ARGS", "FOO"}},
		{"no netns", "ADD", conf("1.0.0", a.sock, ""), []string{"CNI_NETNS="}, types.ErrInvalidEnvironmentVariables, []string{"CNI_NETNS"}},
		{"bad ifname", "ADD", conf("1.0.0", a.sock, ""), []string{"CNI_IFNAME=a/b"}, types.ErrInvalidEnvironmentVariables, []string{"interface name"}},
		{"version", "ADD", conf("9.9.9", a.sock, ""), nil, types.ErrIncompatibleCNIVersion, []string{"9.9.9"}},
		{"CHECK without prevResult", "CHECK", conf("1.0.0", a.sock, ""), nil, types.ErrInvalidNetworkConfig, []string{"prevResult"}},
		{"GC on 1.0.0", "GC", conf("1.0.0", a.sock, ""), nil, types.ErrIncompatibleCNIVersion, []string{"GC"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, code := run(t, tc.cmd, tc.conf, tc.env...)
			wantError(t, out, code, tc.code, tc.parts...)
			if _, asked := a.request(strings.ToLower(tc.cmd)); asked {
				t.Fatal("the agent was asked")
			}
		})
	}
}

// The agent's CNI errors reach the runtime as they are; an agent that is
// not there is "try again later" (STATUS: "not available").
func TestAgentErrors(t *testing.T) {
	a := newFakeAgent(t)
	a.answer[cni.OpAdd] = cni.Errorf(types.ErrInvalidNetworkConfig, "ovsnet network testnet02 does not exist: create it first")
	out, code := run(t, "ADD", conf("1.0.0", a.sock, ""))
	wantError(t, out, code, types.ErrInvalidNetworkConfig, "does not exist")
	gone := filepath.Join(filepath.Dir(a.sock), "gone.sock")
	out, code = run(t, "DEL", conf("1.0.0", gone, ""))
	wantError(t, out, code, types.ErrTryAgainLater, "does not answer", "gone.sock")
	out, code = run(t, "STATUS", conf("1.1.0", gone, ""))
	wantError(t, out, code, cni.ErrNotAvailable, "does not answer")
}

// DEL needs no netns; CHECK sends the runtime's prevResult; STATUS and GC
// (CNI 1.1) send the network, GC the valid attachments; VERSION lists
// every spec version, the older ones Podman 4.3 sends included.
func TestOtherOperations(t *testing.T) {
	a := newFakeAgent(t)
	if out, code := run(t, "DEL", conf("1.0.0", a.sock, ""), "CNI_NETNS="); code != 0 {
		t.Fatalf("DEL: exit %d: %s", code, out)
	}
	if req, ok := a.request(cni.OpDel); !ok || req.Netns != "" || req.Network != "testnet02" {
		t.Fatalf("DEL sent %+v", req)
	}
	prev := `,"prevResult":` + agentResult
	if out, code := run(t, "CHECK", conf("1.0.0", a.sock, prev)); code != 0 {
		t.Fatalf("CHECK: exit %d: %s", code, out)
	}
	if req, _ := a.request(cni.OpCheck); req.PrevResult == nil || req.PrevResult.IPs[0].Address.String() != "10.0.0.2/24" {
		t.Fatalf("CHECK sent %+v", req)
	}
	a.answer[cni.OpCheck] = cni.Errorf(cni.ErrDrift, "eth0 lacks its address 10.0.0.2/24")
	out, code := run(t, "CHECK", conf("1.0.0", a.sock, prev))
	wantError(t, out, code, cni.ErrDrift, "lacks its address")
	if out, code := run(t, "STATUS", conf("1.1.0", a.sock, "")); code != 0 {
		t.Fatalf("STATUS: exit %d: %s", code, out)
	}
	gc := `,"cni.dev/valid-attachments":[{"containerID":"abc","ifname":"eth0"}]`
	if out, code := run(t, "GC", conf("1.1.0", a.sock, gc)); code != 0 {
		t.Fatalf("GC: exit %d: %s", code, out)
	}
	if req, _ := a.request(cni.OpGC); len(req.Valid) != 1 || req.Valid[0].ContainerID != "abc" || req.Network != "testnet02" {
		t.Fatalf("GC sent %+v", req)
	}
	out, code = run(t, "VERSION", `{"cniVersion":"1.1.0"}`)
	if code != 0 || !strings.Contains(out, `"0.4.0"`) || !strings.Contains(out, `"1.0.0"`) || !strings.Contains(out, `"1.1.0"`) {
		t.Fatalf("VERSION: exit %d: %s", code, out)
	}
}

// The configuration docs/cni.md shows is what deploy/cni/install.sh
// writes, and the plugin reads it as documented.
func TestDocumentedConfiguration(t *testing.T) {
	root := filepath.Join("..", "..")
	doc, err := os.ReadFile(filepath.Join(root, "docs", "cni.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(doc), "```json\n")
	documented, _, ok2 := strings.Cut(rest, "```")
	if !ok || !ok2 {
		t.Fatal("docs/cni.md has no json block")
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	out, err := exec.Command(filepath.Join(root, "deploy", "cni", "install.sh"), "--plugin", exe, "--bin-dir", filepath.Join(dir, "bin"),
		"--conf-dir", filepath.Join(dir, "conf"), "testnet02").CombinedOutput()
	if err != nil {
		t.Fatalf("install.sh: %v\n%s", err, out)
	}
	written, err := os.ReadFile(filepath.Join(dir, "conf", "ovsnet-testnet02.conflist"))
	if err != nil {
		t.Fatal(err)
	}
	if string(written) != documented {
		t.Fatalf("install.sh writes\n%s\ndocs/cni.md shows\n%s", written, documented)
	}
	if fi, err := os.Stat(filepath.Join(dir, "bin", "ovsnet-cni")); err != nil || fi.Mode().Perm() != 0o755 {
		t.Fatalf("installed plugin: %v %v", fi, err)
	}
	var list struct {
		Plugins []json.RawMessage `json:"plugins"`
	}
	if err := json.Unmarshal(written, &list); err != nil || len(list.Plugins) != 1 {
		t.Fatalf("conflist: %v", err)
	}
	c, err := loadConf(list.Plugins[0])
	if err != nil {
		t.Fatal(err)
	}
	if c.Type != "ovsnet-cni" || c.Network != "testnet02" || c.Socket != cni.DefaultSocket || !c.Capabilities["ips"] {
		t.Fatalf("read %+v", c)
	}
	// Bad names and sockets are refused before anything is written.
	for _, args := range [][]string{{"bad name"}, {"--socket", "run/x.sock", "ok"}, {"--socket", `/x"y`, "ok"}} {
		cmd := exec.Command(filepath.Join(root, "deploy", "cni", "install.sh"), append([]string{"--plugin", exe,
			"--bin-dir", filepath.Join(dir, "bin2"), "--conf-dir", filepath.Join(dir, "conf2")}, args...)...)
		if out, err := cmd.CombinedOutput(); err == nil {
			t.Errorf("install.sh %v succeeded:\n%s", args, out)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "conf2")); err == nil {
		t.Error("refused input wrote configurations")
	}
}
