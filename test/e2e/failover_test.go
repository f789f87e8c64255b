//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ovsnet/ovsnet/model"
	"github.com/ovsnet/ovsnet/test/cluster"
	"github.com/ovsnet/ovsnet/test/lab"
)

// Two controllers, a stream of connects through the standby: the leader
// stops (SIGTERM), then, with a new standby, the next leader crashes
// (SIGKILL). Connects only wait out the pause, printed; none fails, but
// one in flight on the crashed leader itself, whose outcome nobody can
// know: it gets a clear 503 ("try again").
func TestControllerFailover(t *testing.T) {
	c := cluster.New(t, cluster.Options{Hosts: 4, Controllers: 2, LogLevel: "info"})
	c.CreateNetwork("fo", "--subnet", "10.50.0.0/16")
	c.CreateNetwork("fo-ping", "--subnet", "10.51.0.0/16")
	// The data plane does not need a controller: pings at 100/s across
	// both failovers lose nothing. They run between h3 and h4 on a network
	// of their own, away from the stream of connects on h1 and h2, so
	// neither their switches' ports nor their flows change meanwhile:
	// adding ports to a bridge of OVS's userspace datapath loses a few
	// packets of other flows by itself (19 of 1,519 with a loop of plain
	// `ovs-vsctl add-port`), and on a busy machine a flow change on the
	// pings' own path has lost one (1 of 3,001, once in seven CI runs).
	p1 := c.Lab.AddContainer(c.Lab.Hosts[2], "p1")
	p2 := c.Lab.AddContainer(c.Lab.Hosts[3], "p2")
	c.Connect("fo-ping", p1, nil)
	to := c.Connect("fo-ping", p2, nil).IPv4.Addr().String()
	cluster.WaitPing(t, p1, to, 10*time.Second)
	pctx, pcancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer pcancel()
	ping := startPing(pctx, p1, to, 10*time.Millisecond, 3000) // 30 s, longer than both phases
	n := 0
	phase := func(what string, stop func(p *lab.Process)) {
		t.Helper()
		leader, standby := leaderOf(t, c)
		api := apiFor(t, c, standby.URL)
		var mu sync.Mutex
		var durations []time.Duration
		var failures []string
		var stopped, led time.Time
		inFlight := 0
		ctx, cancel := context.WithCancel(context.Background())
		var wg sync.WaitGroup
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				n++
				ct := c.Lab.AddContainer(c.Lab.Hosts[n%2], fmt.Sprintf("fo%d", n))
				start := time.Now()
				cctx, ccancel := context.WithTimeout(context.Background(), 60*time.Second)
				_, err := api.Connect(cctx, "fo", model.NetworkConnectRequest{Container: ct.Name, EndpointConfig: &model.EndpointSettings{
					DriverOpts: map[string]string{model.OptEndpointHost: ct.Host.Name, model.OptEndpointNetns: ct.Netns}}})
				ccancel()
				mu.Lock()
				durations = append(durations, time.Since(start))
				// Until the standby knows it leads, it forwards to the
				// killed leader's address: "did not answer; try again".
				crashed := !stopped.IsZero() && (led.IsZero() || start.Before(led)) && strings.Contains(fmt.Sprint(err), "did not answer")
				switch {
				case err != nil && crashed && what == "SIGKILL":
					inFlight++
				case err != nil:
					failures = append(failures, fmt.Sprintf("%s: %v", ct.Name, err))
				}
				mu.Unlock()
			}
		}()
		time.Sleep(time.Second)
		mu.Lock()
		stopped = time.Now()
		mu.Unlock()
		stop(leader.Proc)
		// Connects go on until each phase has seen a few after the switch.
		cluster.Poll(t, 30*time.Second, "a new leader", func() error {
			_, body, err := cluster.HTTP("GET", standby.URL+"/healthz", "")
			if err != nil || !strings.Contains(body, `"leader":true`) {
				return errorf("standby not leading yet: %s %v", body, err)
			}
			return nil
		})
		mu.Lock()
		led = time.Now()
		took := led.Sub(stopped)
		mu.Unlock()
		time.Sleep(2 * time.Second)
		cancel()
		wg.Wait()
		longest := time.Duration(0)
		for _, d := range durations {
			longest = max(longest, d)
		}
		t.Logf("%s of the leader: the standby leads %s later; %d connects through it, the longest took %s (the pause); %d sent to the crashed leader before the standby led answered 503 (try again)",
			what, took.Round(10*time.Millisecond), len(durations), longest.Round(10*time.Millisecond), inFlight)
		if len(failures) > 0 {
			t.Fatalf("%s: %d connects failed: %s", what, len(failures), strings.Join(failures, "; "))
		}
	}
	phase("SIGTERM", func(p *lab.Process) {
		if err := p.Stop(); err != nil {
			t.Errorf("the leader did not stop cleanly: %v", err)
		}
	})
	c.StartController() // a standby again
	phase("SIGKILL", func(p *lab.Process) { p.Kill() })
	res := ping.wait()
	t.Logf("pings across both failovers: %d of %d lost at 100/s", res.transmitted-res.received, res.transmitted)
	if res.transmitted == 0 || res.received != res.transmitted {
		t.Errorf("pings lost across the controller failovers: %d of %d\n%s", res.transmitted-res.received, res.transmitted, res.output)
	}
}

// leaderOf finds the leading replica and a standby among the running ones.
func leaderOf(t *testing.T, c *cluster.Cluster) (leader, standby *cluster.Controller) {
	t.Helper()
	cluster.Poll(t, 30*time.Second, "one leader and one standby", func() error {
		leader, standby = nil, nil
		for _, ctl := range c.Controllers {
			if !ctl.Proc.Running() {
				continue
			}
			_, body, err := cluster.HTTP("GET", ctl.URL+"/healthz", "")
			if err != nil {
				return err
			}
			if strings.Contains(body, `"leader":true`) {
				leader = ctl
			} else {
				standby = ctl
			}
		}
		if leader == nil || standby == nil {
			return errorf("leader %v, standby %v", leader != nil, standby != nil)
		}
		return nil
	})
	return leader, standby
}
