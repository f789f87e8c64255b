package lab

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

const modulePath = "github.com/ovsnet/ovsnet"

var built struct {
	once sync.Once
	bins map[string]string
	err  error
	// Removes the binaries when the test binary exits (there is no
	// process-wide cleanup hook in package testing).
	reaperPipe *os.File
}

// Build compiles every main package under ./cmd/... once per test process
// into a temporary directory and returns binary name -> path. It returns an
// empty map if cmd/ has no packages yet. With OVSNET_BINS set to a
// directory, the binaries there are used instead (benchmarks compare an
// older build with the same harness: test/bench/compare.sh).
func Build(t testing.TB) map[string]string {
	t.Helper()
	built.once.Do(func() { built.bins, built.err = build() })
	if built.err != nil {
		t.Fatalf("lab: build: %v", built.err)
	}
	return built.bins
}

func build() (map[string]string, error) {
	if dir := os.Getenv("OVSNET_BINS"); dir != "" {
		ents, err := os.ReadDir(dir)
		if err != nil {
			return nil, fmt.Errorf("OVSNET_BINS: %w", err)
		}
		bins := map[string]string{}
		for _, e := range ents {
			bins[e.Name()] = filepath.Join(dir, e.Name())
		}
		return bins, nil
	}
	root, err := repoRoot()
	if err != nil {
		return nil, err
	}
	bins := map[string]string{}
	if _, err := os.Stat(filepath.Join(root, "cmd")); errors.Is(err, os.ErrNotExist) {
		return bins, nil
	}
	dir, err := os.MkdirTemp("", "ovsnet-bin-")
	if err != nil {
		return nil, err
	}
	_, w, err := startReaper(dir, "")
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	built.reaperPipe = w
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, goTool(), "build", "-o", dir+"/", "./cmd/...")
	cmd.Dir = root
	out, err := cmd.CombinedOutput()
	if err != nil {
		if strings.Contains(string(out), "matched no packages") {
			return bins, nil
		}
		return nil, fmt.Errorf("go build ./cmd/...: %w\n%s", err, out)
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	for _, e := range ents {
		bins[e.Name()] = filepath.Join(dir, e.Name())
	}
	return bins, nil
}

func goTool() string {
	if p, err := exec.LookPath("go"); err == nil {
		return p
	}
	if root := os.Getenv("GOROOT"); root != "" {
		return filepath.Join(root, "bin", "go")
	}
	return "go"
}

// repoRoot finds the module root: from this source file if the build kept
// paths, else from `go env GOMOD` in the working directory.
func repoRoot() (string, error) {
	if _, file, _, ok := runtime.Caller(0); ok {
		dir := filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))
		if b, err := os.ReadFile(filepath.Join(dir, "go.mod")); err == nil && strings.Contains(string(b), "module "+modulePath+"\n") {
			return dir, nil
		}
	}
	out, err := exec.Command(goTool(), "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	mod := strings.TrimSpace(string(out))
	if mod == "" || mod == os.DevNull {
		return "", errors.New("not inside the ovsnet module")
	}
	return filepath.Dir(mod), nil
}

// Tools the lab needs; RequireRoot fails the test if any is missing.
var requiredTools = []string{
	"ip", "nsenter", "sysctl", "ethtool", "ping",
	"ovsdb-tool", "ovsdb-server", "ovs-vswitchd", "ovs-vsctl", "ovs-ofctl", "ovs-appctl",
	"dumpcap", "tshark",
}

// RequireRoot fails the test (never skips: lab tests must run in CI) unless
// running as root with the lab's tools installed.
func RequireRoot(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Fatal("lab: lab tests must run as root (they create namespaces and run Open vSwitch); run `sudo go test` or deploy/install-deps.sh on a lab machine")
	}
	var missing []string
	for _, tool := range requiredTools {
		if _, err := exec.LookPath(tool); err != nil {
			missing = append(missing, tool)
		}
	}
	if _, err := os.Stat(vswitchSchema); err != nil {
		missing = append(missing, vswitchSchema)
	}
	if len(missing) > 0 {
		t.Fatalf("lab: missing %s; run deploy/install-deps.sh", strings.Join(missing, ", "))
	}
}
