//go:build e2e

// Package bench measures ovsnet on the lab. Run with `make bench`; these
// are measurements, not tests: they print figures and assert only that the
// measurement itself worked.
package bench

import (
	"cmp"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ovsnet/ovsnet/model"
	"github.com/ovsnet/ovsnet/test/cluster"
	"github.com/ovsnet/ovsnet/test/lab"
)

// BenchmarkEndpointReady measures endpoint-ready latency: from the attach
// call (REST connect) to the first successful ping from a container on
// another host, for 24 endpoints, on 2 and on 8 hosts.
//
// The prober pings the new endpoint's (static) address every 2 ms from
// before the attach call; its kernel re-sends ARP every 2 ms too, so the
// figure is not quantised by the default 1 s ARP retransmit timer.
func BenchmarkEndpointReady(b *testing.B) {
	for _, hosts := range []int{2, 8} {
		b.Run(fmt.Sprintf("hosts=%d", hosts), func(b *testing.B) {
			for range b.N {
				n := 24
				if v, err := strconv.Atoi(os.Getenv("BENCH_ENDPOINTS")); err == nil && v > 0 {
					n = v // longer runs, for profiles
				}
				measureReady(b, hosts, n)
			}
		})
	}
}

var replyTime = regexp.MustCompile(`\[(\d+\.\d+)\] \d+ bytes from`)

func measureReady(b *testing.B, hosts, endpoints int) {
	// BENCH_PROFILE_DIR: agents serve profiles, and the second host's
	// agent and the controller are profiled during the measurement.
	profDir := os.Getenv("BENCH_PROFILE_DIR")
	var agentArgs []string
	if profDir != "" {
		agentArgs = []string{"-pprof"}
	}
	// BENCH_LOG_LEVEL=debug: agents log each reconcile's phases (with BENCH_LOGS).
	level := cmp.Or(os.Getenv("BENCH_LOG_LEVEL"), "info")
	c := cluster.New(b, cluster.Options{Hosts: hosts, LogLevel: level, AgentArgs: agentArgs})
	c.CreateNetwork("bench", "--subnet", "10.0.0.0/16")
	// One prober per host, attached before measuring.
	probers := map[string]*lab.Container{}
	for _, h := range c.Lab.Hosts {
		p := c.Lab.AddContainer(h, "probe-"+h.Name)
		c.Connect("bench", p, nil)
		for _, s := range [][]string{
			{"sysctl", "-qw", "net.ipv4.neigh.eth0.retrans_time_ms=2"},
			{"sysctl", "-qw", "net.ipv4.neigh.eth0.mcast_solicit=5000"},
			{"sysctl", "-qw", "net.ipv4.neigh.eth0.ucast_solicit=5000"},
		} {
			cluster.Exec(b, p, s[0], s[1:]...)
		}
		probers[h.Name] = p
	}
	var ready, api []time.Duration
	if profDir != "" {
		stop := profileAgent(b, c.Lab.Hosts[1], filepath.Join(profDir, fmt.Sprintf("agent-%dhosts.pprof", hosts)))
		defer stop()
	}
	cpu0 := cpuByCommand()
	for i := 0; i < endpoints; i++ {
		h := c.Lab.Hosts[i%hosts]
		remote := c.Lab.Hosts[(i+1)%hosts]
		ct := c.Lab.AddContainer(h, fmt.Sprintf("ep%d", i))
		ip := fmt.Sprintf("10.0.1.%d", 10+i)

		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		pingOut := make(chan []byte, 1)
		go func() {
			out, _ := probers[remote.Name].Exec(ctx, "ping", "-D", "-n", "-c", "1", "-i", "0.002", "-w", "20", "-W", "1", ip)
			pingOut <- out
		}()
		time.Sleep(150 * time.Millisecond) // the prober is running and probing
		start := time.Now()
		ep, err := c.TryConnect("bench", ct, &model.EndpointSettings{IPAMConfig: &model.EndpointIPAMConfig{IPv4Address: ip}})
		apiDone := time.Since(start)
		if err != nil {
			cancel()
			b.Fatalf("connect %s: %v", ct.Name, err)
		}
		out := <-pingOut
		cancel()
		m := replyTime.FindSubmatch(out)
		if m == nil {
			b.Fatalf("no reply from %s (%s on %s) to the prober on %s:\n%s", ip, ep.ContainerName, h.Name, remote.Name, out)
		}
		secs, _ := strconv.ParseFloat(string(m[1]), 64)
		replied := time.Unix(0, int64(secs*1e9))
		ready = append(ready, replied.Sub(start))
		api = append(api, apiDone)
		if took := replied.Sub(start); took > 300*time.Millisecond {
			// A tail sample: say where it came from (the attach call, or
			// the data plane after it).
			b.Logf("slow sample: %s on %s (%s), probed from %s: ready after %.1f ms, the attach call returned after %.1f ms, attach started %s",
				ct.Name, h.Name, ip, remote.Name, ms(took), ms(apiDone), start.Format("15:04:05.000000"))
		}
	}
	cpu1 := cpuByCommand()
	b.Logf("CPU used during the measurement, by command (children counted with their parent): %s", cpuDiff(cpu0, cpu1))
	cpuPerEP := float64(cpuTotal(cpu0, cpu1)) / float64(endpoints)

	p50, p99, max := percentiles(ready)
	a50, a99, amax := percentiles(api)
	b.ReportMetric(ms(p50), "p50-ms")
	b.ReportMetric(ms(p99), "p99-ms")
	b.ReportMetric(ms(max), "max-ms")
	b.Logf("endpoint ready (attach call → first ping reply from another host), %d hosts, %d endpoints: p50 %.1f ms, p99 %.1f ms, max %.1f ms",
		hosts, endpoints, ms(p50), ms(p99), ms(max))
	b.Logf("attach call returned (agent reported ready): p50 %.1f ms, p99 %.1f ms, max %.1f ms", ms(a50), ms(a99), ms(amax))
	b.Logf("samples (ms): %s", join(ready))
	b.Logf("CPU per endpoint, all of the system's processes (%s): %.0f ms", strings.Join(systemProcesses, ", "), cpuPerEP)
	result(b, "ready", map[string]float64{"hosts": float64(hosts), "p50": ms(p50), "p99": ms(p99), "max": ms(max),
		"api_p50": ms(a50), "cpu_ms_per_ep": cpuPerEP})
	saveLogs(c)
}

func percentiles(d []time.Duration) (p50, p99, max time.Duration) {
	s := append([]time.Duration(nil), d...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	at := func(q float64) time.Duration {
		i := int(q*float64(len(s))+0.5) - 1
		return s[min(max0(i), len(s)-1)]
	}
	return at(0.50), at(0.99), s[len(s)-1]
}

func max0(i int) int {
	if i < 0 {
		return 0
	}
	return i
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func join(d []time.Duration) string {
	var parts []string
	for _, x := range d {
		parts = append(parts, strconv.FormatFloat(ms(x), 'f', 1, 64))
	}
	return strings.Join(parts, " ")
}

// profileSeconds is how long profiles last: set BENCH_ENDPOINTS high
// enough that the measurement lasts longer.
var profileSeconds = func() int {
	if v, err := strconv.Atoi(os.Getenv("BENCH_PROFILE_SECONDS")); err == nil && v > 0 {
		return v
	}
	return 4
}()

// profileAgent records a CPU profile of h's agent (run with -pprof) until
// stop is called.
func profileAgent(b *testing.B, h *lab.Host, file string) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		out, err := h.Exec(ctx, "curl", "-sf", "-o", file, "http://127.0.0.1:9474/debug/pprof/profile?seconds="+strconv.Itoa(profileSeconds)+"")
		if err != nil && ctx.Err() == nil {
			b.Logf("profiling the agent of %s: %v %s", h.Name, err, out)
		}
	}()
	return func() { cancel(); <-done; b.Logf("agent profile (its first %d s): %s", profileSeconds, file) }
}

// saveLogs writes the agents' and the controller's logs to $BENCH_LOGS.
func saveLogs(c *cluster.Cluster) {
	dir := os.Getenv("BENCH_LOGS")
	if dir == "" {
		return
	}
	_ = os.MkdirAll(dir, 0o755)
	for name, a := range c.Agents {
		_ = os.WriteFile(dir+"/agent-"+name+".log", []byte(a.Log()), 0o644)
	}
	_ = os.WriteFile(dir+"/controller.log", []byte(c.Controllers[0].Proc.Log()), 0o644)
}
