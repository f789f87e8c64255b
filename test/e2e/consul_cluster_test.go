//go:build e2e

package e2e

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/ovsnet/ovsnet/client"
	"github.com/ovsnet/ovsnet/model"
	"github.com/ovsnet/ovsnet/test/cluster"
)

// writeProbe writes to the controller every 100 ms (a network created and
// removed) and keeps each outcome.
type writeProbe struct {
	mu      sync.Mutex
	results []writeResult
	cancel  context.CancelFunc
	done    chan struct{}
}

type writeResult struct {
	at     time.Time
	took   time.Duration
	status int // 0: success; else the HTTP status, -1 for no answer
	err    string
}

func startWriteProbe(api *client.Client) *writeProbe {
	ctx, cancel := context.WithCancel(context.Background())
	w := &writeProbe{cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(w.done)
		for i := 0; ctx.Err() == nil && i < 3000; i++ {
			start := time.Now()
			// Without quorum Consul holds a write ~7 s before it answers
			// "No cluster leader"; the deadline leaves room on a slow machine.
			cctx, ccancel := context.WithTimeout(ctx, 20*time.Second)
			name := fmt.Sprintf("wp%d", i)
			_, err := api.CreateNetwork(cctx, model.NetworkCreateRequest{Name: name, Driver: "overlay"})
			if err == nil {
				err = api.RemoveNetwork(cctx, name)
			}
			ccancel()
			if ctx.Err() != nil {
				return
			}
			r := writeResult{at: start, took: time.Since(start)}
			if err != nil {
				r.status, r.err = statusOf(err), err.Error()
			}
			w.mu.Lock()
			w.results = append(w.results, r)
			w.mu.Unlock()
			time.Sleep(100 * time.Millisecond)
		}
	}()
	return w
}

func (w *writeProbe) stop() {
	w.cancel()
	<-w.done
}

// since returns the results of writes started at or after t.
func (w *writeProbe) since(t time.Time) []writeResult {
	w.mu.Lock()
	defer w.mu.Unlock()
	var out []writeResult
	for _, r := range w.results {
		if !r.at.Before(t) {
			out = append(out, r)
		}
	}
	return out
}

// Consul as people run it: three servers, a client agent on every host and
// for the controller. The Consul leader stops, then a second server (no
// quorum), then one comes back. Pings at 100/s between two hosts never
// stop; writes answer 503 only while there is no leader or no quorum, and
// resume by themselves within seconds of a new leader; the pauses are
// printed.
func TestConsulServersFail(t *testing.T) {
	c := cluster.New(t, cluster.Options{Hosts: 2, ConsulServers: 3, LogLevel: "info"})
	cc := c.ConsulCluster
	h1, h2 := c.Lab.Hosts[0], c.Lab.Hosts[1]
	c.CreateNetwork("cq", "--subnet", "10.62.0.0/16")
	a := c.Lab.AddContainer(h1, "a")
	b := c.Lab.AddContainer(h2, "b")
	c.Connect("cq", a, nil)
	to := c.Connect("cq", b, nil).IPv4.Addr().String()
	cluster.WaitPing(t, a, to, 10*time.Second)

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	// 50 s of pings at 100/s: longer than the three phases below.
	ping := startPing(ctx, a, to, 10*time.Millisecond, 5000)
	writes := startWriteProbe(c.API)
	time.Sleep(2 * time.Second)
	if bad := failed(writes.since(time.Time{})); len(bad) > 0 {
		t.Fatalf("writes failed with a healthy Consul: %v", bad)
	}

	// resumed waits until a write started after t succeeds and returns
	// how long after t the first such success started.
	resumed := func(what string, t0 time.Time, limit time.Duration) time.Duration {
		t.Helper()
		var took time.Duration
		cluster.Poll(t, limit, "writes to resume after "+what, func() error {
			for _, r := range writes.since(t0) {
				if r.status == 0 {
					took = r.at.Sub(t0)
					return nil
				}
			}
			return errorf("no successful write since %s", what)
		})
		return took
	}
	// Only "unavailable" while Consul cannot commit: never another error.
	onlyUnavailable := func(what string, rs []writeResult) int {
		t.Helper()
		n := 0
		for _, r := range rs {
			switch r.status {
			case 0:
			case http.StatusServiceUnavailable:
				n++
			default:
				t.Errorf("%s: a write failed with something else than 503: %d %s", what, r.status, r.err)
			}
		}
		return n
	}

	// 1. The Consul leader stops: the other two elect a new one.
	first := cc.Leader()
	if first == nil {
		t.Fatal("no Consul leader")
	}
	stopped := time.Now()
	first.Stop()
	pause := resumed("the Consul leader stopped", stopped, 30*time.Second)
	time.Sleep(time.Second)
	n503 := onlyUnavailable("leader stopped", writes.since(stopped))
	t.Logf("Consul leader stopped: writes resumed after %s (%d answered 503 meanwhile)", pause.Round(10*time.Millisecond), n503)

	// 2. A second server stops: no quorum, writes answer 503.
	second := cc.Leader()
	if second == nil {
		t.Fatal("no Consul leader after the first stop")
	}
	lost := time.Now()
	second.Stop()
	time.Sleep(20 * time.Second)
	during := writes.since(lost.Add(3 * time.Second)) // after Consul noticed
	if len(during) == 0 {
		t.Fatal("no write attempted without quorum")
	}
	longest := time.Duration(0)
	for _, r := range during {
		longest = max(longest, r.took)
		if r.status != http.StatusServiceUnavailable {
			t.Errorf("without quorum a write got %d %q after %s, want 503", r.status, r.err, r.took.Round(time.Millisecond))
		}
	}
	t.Logf("without quorum: %d writes, all answered 503, the slowest after %s", len(during), longest.Round(10*time.Millisecond))

	// 3. One server comes back: quorum again, writes resume by themselves.
	back := time.Now()
	first.Start()
	pause = resumed("quorum came back", back, 60*time.Second)
	t.Logf("quorum back (server restarted at %s): writes resumed %s later", back.Format("15:04:05.000"), pause.Round(10*time.Millisecond))
	time.Sleep(time.Second)
	onlyUnavailable("quorum back", writes.since(back))
	writes.stop()

	// The data plane never noticed.
	res := ping.wait()
	t.Logf("pings across both Consul faults: %d of %d lost at 100/s", res.transmitted-res.received, res.transmitted)
	if res.transmitted == 0 || res.received != res.transmitted {
		t.Errorf("pings lost across the Consul faults: %d of %d\n%s", res.transmitted-res.received, res.transmitted, res.output)
	}
	// And the control plane works again end to end.
	second.Start()
	d := c.Lab.AddContainer(h2, "d")
	ed := c.Connect("cq", d, nil)
	cluster.WaitPing(t, a, ed.IPv4.Addr().String(), 10*time.Second)
}

func failed(rs []writeResult) []string {
	var out []string
	for _, r := range rs {
		if r.status != 0 {
			out = append(out, r.err)
		}
	}
	return out
}

// statusOf is the HTTP status of a controller's error, -1 for no answer.
func statusOf(err error) int {
	var apiErr *client.APIError
	if errors.As(err, &apiErr) {
		return apiErr.StatusCode
	}
	return -1
}
