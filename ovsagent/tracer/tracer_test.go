package tracer

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ovsnet/ovsnet/model"
)

func quietLog() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// The tracer runs ovs-appctl against the host's own ovs-vswitchd (its
// control socket from the pidfile) and refuses anything that is not a flow.
func TestTracerRunsAppctlOnTheBridge(t *testing.T) {
	rundir := t.TempDir()
	if err := os.WriteFile(filepath.Join(rundir, "ovs-vswitchd.pid"), []byte("4242\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := os.ReadFile("../../flows/testdata/trace_spoof.txt")
	if err != nil {
		t.Fatal(err)
	}
	var args []string
	tr := &Tracer{rundir: rundir, log: quietLog(), appctl: func(ctx context.Context, a ...string) ([]byte, error) {
		args = a
		return out, nil
	}}
	res := tr.Trace(context.Background(), model.TraceSpec{ID: "x", Flow: "in_port=10,icmp,dl_src=02:42:0a:00:00:09"}, "br-int")
	if res.Error != "" || len(res.Steps) != 2 || res.Steps[1].TableName != "SpoofGuard" || res.DatapathActions != "drop" {
		t.Fatalf("result: %+v", res)
	}
	want := "--timeout=10 -t " + filepath.Join(rundir, "ovs-vswitchd.4242.ctl") + " ofproto/trace br-int in_port=10,icmp,dl_src=02:42:0a:00:00:09"
	if got := strings.Join(args, " "); got != want {
		t.Fatalf("ovs-appctl %s\nwant         %s", got, want)
	}
	for _, bad := range []string{"", "--help", "in_port=1 ; rm -rf /", "in_port=1\nx", strings.Repeat("a", 2000)} {
		args = nil
		res := tr.Trace(context.Background(), model.TraceSpec{ID: "y", Flow: bad}, "br-int")
		if res.Error == "" || args != nil {
			t.Errorf("flow %q was run (%v)", bad, args)
		}
	}
	// No ovs-vswitchd: an answer that says so, not a hang.
	os.Remove(filepath.Join(rundir, "ovs-vswitchd.pid"))
	if res := tr.Trace(context.Background(), model.TraceSpec{ID: "z", Flow: "in_port=1"}, "br-int"); !strings.Contains(res.Error, "ovs-vswitchd is not running") {
		t.Errorf("without ovs-vswitchd: %+v", res)
	}
}
