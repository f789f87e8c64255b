//go:build e2e

// Package e2e holds ovsnet's end-to-end tests: real Open vSwitch per
// simulated host, real Consul, the real controller, agents and CLI, on the
// lab of package test/lab. They need root and never skip: run them with
//
//	go test -p 1 -count=1 ./test/e2e/
package e2e

import (
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ovsnet/ovsnet/test/cluster"
	"github.com/ovsnet/ovsnet/test/docblocks"
)

// The documents' commands, run as printed (test/docblocks says which
// blocks run where). Each block runs with bash -e: the first command that
// fails fails the test, with the block's output.

// TestDocCommands runs the blocks marked "cluster" on a fresh two-host lab
// cluster (hosts h1 and h2), document after document, in the root
// namespace, with the lab's ovsnetctl on PATH and OVSNET_CONTROLLER set.
// The lab changes one thing in the text: the controller's address
// 127.0.0.1:8080 (`docker -H tcp://127.0.0.1:8080`) is the lab
// controller's. Network namespaces the blocks create (`ip netns add web`)
// are machine-wide, as a lab host's containers are; they are removed
// afterwards, with the resolv.conf the agents wrote for them.
func TestDocCommands(t *testing.T) {
	blocks := blocksOf(t, "cluster")
	c := cluster.New(t, cluster.Options{Hosts: 2})
	removeNamespacesAdded(t, blocks)
	env := []string{
		"PATH=" + filepath.Dir(c.Bins["ovsnetctl"]) + ":" + os.Getenv("PATH"),
		"OVSNET_CONTROLLER=" + c.Controllers[0].URL,
	}
	dir := t.TempDir()
	for _, b := range blocks {
		text := strings.ReplaceAll(b.Text, "127.0.0.1:8080", c.Controllers[0].Addr)
		if !runBlock(t, b, text, dir, env) {
			return // later blocks build on this one
		}
	}
}

// TestQuickStartDocs starts the quick start (deploy/quickstart.sh, which
// replaces a quick start already running on this machine), runs the blocks
// marked "quickstart" from the repository's root with its bin/ on PATH —
// those marked "quickstart HOST" with OVS_RUNDIR pointing at that host's
// Open vSwitch, which is where a real host's tools look by default — and
// removes it again. The READMEs' blocks get nothing more: they say how to
// reach the quick start (its token) themselves. The blocks of docs/, written
// for an operator whose shell is set up as install.md says, get the quick
// start's token as OVSNET_TOKEN_FILE and its docker configuration. When 8080 or 8500 is taken, the quick start runs on
// other ports (OVSNET_QS_HTTP, OVSNET_QS_CONSUL, as deploy/README.md says)
// and the blocks' 127.0.0.1:8080 become that port.
func TestQuickStartDocs(t *testing.T) {
	blocks := blocksOf(t, "quickstart")
	root := docblocks.Root()
	const state = "/var/lib/ovsnet-quickstart"
	httpPort, consulPort := 8080, 8500
	if portBusy(httpPort) || portBusy(consulPort) {
		httpPort, consulPort = freeTCPPort(t), freeTCPPort(t)
	}
	qsEnv := []string{"OVSNET_QS_HTTP=" + strconv.Itoa(httpPort), "OVSNET_QS_CONSUL=" + strconv.Itoa(consulPort)}
	down := func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, filepath.Join(root, "deploy", "quickstart.sh"), "down")
		cmd.Env = append(os.Environ(), qsEnv...)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("quickstart.sh down: %v\n%s", err, out)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(root, "deploy", "quickstart.sh"))
	cmd.Dir = root
	cmd.Env = append(os.Environ(), qsEnv...)
	out, err := cmd.CombinedOutput()
	t.Cleanup(down)
	if err != nil {
		logs, _ := exec.Command("sh", "-c", "tail -n 30 "+state+"/logs/*.log").CombinedOutput()
		t.Fatalf("deploy/quickstart.sh: %v\n%s\n%s", err, out, logs)
	}
	t.Logf("quick start up:\n%s", out)

	// The Docker commands the quick start prints run as printed, in order.
	var printed []string
	inDocker := false
	for _, line := range strings.Split(string(out), "\n") {
		line = strings.TrimSpace(line)
		switch {
		case strings.HasPrefix(line, "Docker on every host"):
			inDocker = true
		case inDocker && (strings.HasPrefix(line, "docker -H unix://") || strings.HasPrefix(line, "ip netns exec")):
			printed = append(printed, line)
		default:
			inDocker = false
		}
	}
	if len(printed) < 4 {
		t.Fatalf("the quick start printed %d Docker commands, want at least 4:\n%s", len(printed), out)
	}
	// They run after the documents' blocks (some count endpoints), before
	// the quick start goes down.
	runPrinted := func() {
		runBlock(t, docblocks.Block{File: "deploy/quickstart.sh's output"}, strings.Join(printed, "\n"), root, nil)
	}

	// The block that takes the quick start down runs last.
	sort.SliceStable(blocks, func(i, j int) bool {
		return !strings.Contains(blocks[i].Text, "quickstart.sh down") && strings.Contains(blocks[j].Text, "quickstart.sh down")
	})
	api := "127.0.0.1:" + strconv.Itoa(httpPort)
	for _, b := range blocks {
		if runPrinted != nil && strings.Contains(b.Text, "quickstart.sh down") {
			runPrinted()
			runPrinted = nil
		}
		env := []string{
			"PATH=" + filepath.Join(root, "bin") + ":" + os.Getenv("PATH"),
			"OVSNET_CONTROLLER=http://" + api,
		}
		env = append(env, qsEnv...)
		if b.Args != "" {
			env = append(env, "OVS_RUNDIR="+filepath.Join(state, b.Args, "ovs"))
		}
		if strings.HasPrefix(b.File, "docs/") {
			env = append(env, "OVSNET_TOKEN_FILE="+filepath.Join(state, "token"), "DOCKER_CONFIG="+filepath.Join(state, "docker"))
		}
		text := strings.ReplaceAll(b.Text, "127.0.0.1:8080", api)
		runBlock(t, b, text, root, env)
	}
}

// blocksOf returns the documents' blocks of one context.
func blocksOf(t *testing.T, context string) []docblocks.Block {
	t.Helper()
	all, err := docblocks.All()
	if err != nil {
		t.Fatal(err)
	}
	var out []docblocks.Block
	for _, b := range all {
		if b.Context == context {
			out = append(out, b)
		}
	}
	if len(out) == 0 {
		t.Fatalf("no %q blocks in the documents", context)
	}
	return out
}

// runBlock runs one block with bash -e in dir, env added to the test's,
// and reports (false) a failure with its output.
func runBlock(t *testing.T, b docblocks.Block, text, dir string, env []string) bool {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", "--noprofile", "--norc", "-e", "-o", "pipefail", "-x", "-c", text)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Errorf("%s: the block fails as printed: %v\n--- block\n%s--- output\n%s", b.Where(), err, text, out)
		return false
	}
	t.Logf("%s: ok\n%s", b.Where(), out)
	return true
}

// removeNamespacesAdded removes, at the end of the test, the network
// namespaces the blocks create (`ip netns add NAME`), and the resolv.conf
// directories ovsnet's agents wrote for them.
func removeNamespacesAdded(t *testing.T, blocks []docblocks.Block) {
	var names []string
	for _, b := range blocks {
		for _, m := range netnsAddRE.FindAllStringSubmatch(b.Text, -1) {
			names = append(names, m[1])
		}
	}
	for _, n := range names {
		if _, err := os.Stat(filepath.Join("/run/netns", n)); err == nil {
			t.Fatalf("network namespace %s, which the documents create, exists already", n)
		}
	}
	t.Cleanup(func() {
		for _, n := range names {
			if _, err := os.Stat(filepath.Join("/run/netns", n)); err == nil {
				if out, err := exec.Command("ip", "netns", "del", n).CombinedOutput(); err != nil {
					t.Errorf("ip netns del %s: %v %s", n, err, out)
				}
			}
			conf := filepath.Join("/etc/netns", n, "resolv.conf")
			if b, err := os.ReadFile(conf); err == nil && strings.HasPrefix(string(b), "# Written by ovsnet-agent") {
				os.RemoveAll(filepath.Join("/etc/netns", n))
			}
		}
	})
}

var netnsAddRE = regexp.MustCompile(`(?m)^\s*ip netns add (\S+)`)

// portBusy says whether something listens on TCP port p.
func portBusy(p int) bool {
	ln, err := net.Listen("tcp", ":"+strconv.Itoa(p))
	if err != nil {
		return true
	}
	ln.Close()
	return false
}
