//go:build e2e

package bench

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/ovsnet/ovsnet/model"
	"github.com/ovsnet/ovsnet/test/cluster"
	"github.com/ovsnet/ovsnet/test/lab"
)

// BenchmarkDNS measures the agent's resolver with dnsperf (DNS-OARC) on
// the lab: 3 hosts, 3 networks, 30 endpoints; queries for the names of the
// lab's endpoints (NAME.NETWORK A and AAAA, reverse PTR).
//
//   - host listener: dnsperf in h1's namespace against the agent's UDP
//     listener (-dns-listen 127.0.0.1:53): the maximum rate (unthrottled,
//     10 s) and the latency distribution at 20,000 queries per second.
//   - in OVS: dnsperf inside a container on h1 against its gateway address,
//     the path containers use (OVS userspace datapath, the DNS port, the
//     packet socket): maximum rate and latency at a fixed rate.
//
// dnsperf runs on the same two cores as the agent, OVS, Consul and the
// controller. Run with `make bench-dns`.
func BenchmarkDNS(b *testing.B) {
	for range b.N {
		measureDNS(b)
	}
}

func measureDNS(b *testing.B) {
	c := cluster.New(b, cluster.Options{Hosts: 3, AgentArgs: []string{"-dns-listen", "127.0.0.1:53"}})
	c.CreateNetwork("testnet02", "--ipv6", "--subnet", "10.0.0.0/24", "--subnet", "fd00:2::/64")
	c.CreateNetwork("testnet03", "--internal")
	c.CreateNetwork("testnet04", "--subnet", "10.0.1.0/24")
	var probe *lab.Container
	for i := 0; i < 24; i++ {
		h := c.Lab.Hosts[i%3]
		ct := c.Lab.AddContainer(h, fmt.Sprintf("c%02d", i))
		nets := []string{"testnet02", "testnet03", "testnet04"}[(i/3)%3:]
		if len(nets) > 2 {
			nets = nets[:2]
		}
		for _, n := range nets {
			c.Connect(n, ct, &model.EndpointSettings{Aliases: []string{fmt.Sprintf("svc%d", i%4)}})
		}
		if i == 0 {
			probe = ct // on testnet02 and testnet03, on h1
		}
	}
	h1 := c.Lab.Hosts[0]

	// Query files: every endpoint's qualified name (A, AAAA where it has
	// IPv6) and reverse name, for the host; the probe container's own
	// networks' names for the in-OVS path.
	var hostQ, ctQ []string
	for _, ep := range c.Endpoints("") {
		fq := ep.ContainerName + "." + ep.NetworkName
		rev, _ := dns.ReverseAddr(ep.IPv4.Addr().String())
		lines := []string{fq + " A", rev + " PTR"}
		if ep.IPv6.IsValid() {
			lines = append(lines, fq+" AAAA")
		}
		hostQ = append(hostQ, lines...)
		if ep.NetworkName == "testnet02" || ep.NetworkName == "testnet03" {
			ctQ = append(ctQ, lines...)
			ctQ = append(ctQ, ep.ContainerName+" A")
		}
	}
	hostFile := filepath.Join(c.Lab.Dir, "dns-host.queries")
	ctFile := filepath.Join(c.Lab.Dir, "dns-container.queries")
	writeLines(b, hostFile, hostQ)
	writeLines(b, ctFile, ctQ)

	hostRun := func(args ...string) string {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		out, err := h1.Exec(ctx, "dnsperf", args...)
		if err != nil {
			b.Fatalf("dnsperf %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	ctRun := func(args ...string) string {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		out, err := probe.Exec(ctx, "dnsperf", args...)
		if err != nil {
			b.Fatalf("dnsperf in %s %s: %v\n%s", probe.Name, strings.Join(args, " "), err, out)
		}
		return string(out)
	}

	// Every query of the files must be answered NOERROR before measuring.
	for _, run := range []struct {
		name string
		f    func(...string) string
		args []string
	}{
		{"host", hostRun, []string{"-s", "127.0.0.1", "-d", hostFile, "-n", "1"}},
		{"container", ctRun, []string{"-s", "10.0.0.1", "-d", ctFile, "-n", "1"}},
	} {
		out := run.f(run.args...)
		if s := summary(out); s.completed == 0 || s.noerror != s.completed || s.lost > 0 {
			b.Fatalf("%s: not every query answered NOERROR:\n%s", run.name, out)
		}
	}

	b.Logf("machine: %d CPUs (runtime.NumCPU); dnsperf 2.10 runs on the same cores as the agent, OVS, Consul and the controller", runtime.NumCPU())
	b.Logf("query files: host %d queries (%s), container %d queries (%s)", len(hostQ), hostFile, len(ctQ), ctFile)

	// Host listener: maximum rate, then latency at 20,000 QPS.
	agent := c.Agents["h1"].Pid()
	hostRun("-s", "127.0.0.1", "-d", hostFile, "-l", "3", "-c", "4", "-q", "200") // warm up
	load, cpu := loadavg(), cpuSeconds(agent)
	max := summary(hostRun("-s", "127.0.0.1", "-d", hostFile, "-l", "10", "-c", "8", "-T", "2", "-q", "500"))
	cpuUsed := cpuSeconds(agent) - cpu
	b.Logf("host listener, unthrottled (10 s, 8 clients, 500 outstanding): %.0f QPS, %d lost of %d, mean latency %.3f ms; agent CPU %.0f%% of a core, %.1f µs per query; load average before: %s",
		max.qps, max.lost, max.sent, max.meanMs, cpuUsed/10*100, cpuUsed/float64(max.completed)*1e6, load)
	load = loadavg()
	lat := latencies(hostRun("-s", "127.0.0.1", "-d", hostFile, "-l", "10", "-c", "4", "-Q", "20000", "-v"))
	b.Logf("host listener at 20,000 QPS (10 s): %.0f QPS answered, %d lost; latency p50 %.3f ms, p99 %.3f ms, p99.9 %.3f ms, max %.3f ms; load average before: %s",
		lat.qps, lat.lost, lat.p50, lat.p99, lat.p999, lat.max, load)

	b.ReportMetric(max.qps, "max-qps")
	b.ReportMetric(lat.p99, "p99-ms@20kqps")

	// In OVS, from a container: maximum rate, then latency at a fixed rate.
	ctRun("-s", "10.0.0.1", "-d", ctFile, "-l", "3", "-c", "4", "-q", "100") // warm up
	load = loadavg()
	// At most 200 outstanding: a burst of more overflows the userspace
	// datapath's receive socket on the container's port (256 packets).
	cmax := summary(ctRun("-s", "10.0.0.1", "-d", ctFile, "-l", "10", "-c", "8", "-T", "2", "-q", "200"))
	b.Logf("in OVS from a container, unthrottled (10 s, 8 clients, 200 outstanding): %.0f QPS, %d lost of %d, mean latency %.3f ms; load average before: %s",
		cmax.qps, cmax.lost, cmax.sent, cmax.meanMs, load)
	rate := 20000
	if cmax.qps < 25000 {
		rate = int(cmax.qps/2/1000) * 1000
	}
	clat := latencies(ctRun("-s", "10.0.0.1", "-d", ctFile, "-l", "10", "-c", "4", "-Q", strconv.Itoa(rate), "-v"))
	b.Logf("in OVS from a container at %d QPS (10 s): %.0f QPS answered, %d lost; latency p50 %.3f ms, p99 %.3f ms, p99.9 %.3f ms, max %.3f ms",
		rate, clat.qps, clat.lost, clat.p50, clat.p99, clat.p999, clat.max)
	b.ReportMetric(cmax.qps, "ovs-max-qps")
	b.ReportMetric(clat.p99, fmt.Sprintf("ovs-p99-ms@%dqps", rate))
	// A real host runs one agent and one OVS beside its clients: the
	// simulated hosts h2 and h3 share these cores, their agents' periodic
	// full syncs (an ovs-ofctl run each) included. Measure again with
	// their agents stopped (h1 keeps its state; nothing changes meanwhile).
	for _, h := range c.Lab.Hosts[1:] {
		if err := c.Agents[h.Name].Stop(); err != nil {
			b.Fatalf("stop agent of %s: %v", h.Name, err)
		}
	}
	load = loadavg()
	alone := latencies(hostRun("-s", "127.0.0.1", "-d", hostFile, "-l", "10", "-c", "4", "-Q", "20000", "-v"))
	b.Logf("host listener at 20,000 QPS, h2's and h3's agents stopped (10 s): %.0f QPS answered, %d lost; latency p50 %.3f ms, p99 %.3f ms, p99.9 %.3f ms, max %.3f ms; load average before: %s",
		alone.qps, alone.lost, alone.p50, alone.p99, alone.p999, alone.max, load)
	b.ReportMetric(alone.p99, "p99-ms@20kqps-1agent")

	if dir := os.Getenv("BENCH_LOGS"); dir != "" {
		_ = os.MkdirAll(dir, 0o755)
		_ = os.WriteFile(filepath.Join(dir, "agent-h1.log"), []byte(c.Agents["h1"].Log()), 0o644)
	}
}

// loadavg is the machine's 1, 5 and 15 minute load averages: other work on
// the same cores moves the tail latency most.
func loadavg() string {
	b, _ := os.ReadFile("/proc/loadavg")
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}

// cpuSeconds is the user and system CPU time a process has used.
func cpuSeconds(pid int) float64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	if len(f) < 13 {
		return 0
	}
	ut, _ := strconv.ParseFloat(f[11], 64)
	st, _ := strconv.ParseFloat(f[12], 64)
	return (ut + st) / 100 // USER_HZ
}

func writeLines(b *testing.B, path string, lines []string) {
	if err := os.WriteFile(path, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
		b.Fatal(err)
	}
}

// dnsperfSummary is what dnsperf's statistics say.
type dnsperfSummary struct {
	sent, completed, lost, noerror int
	qps, meanMs                    float64
}

var (
	reSent      = regexp.MustCompile(`Queries sent:\s+(\d+)`)
	reCompleted = regexp.MustCompile(`Queries completed:\s+(\d+)`)
	reLost      = regexp.MustCompile(`Queries lost:\s+(\d+)`)
	reNoerror   = regexp.MustCompile(`NOERROR (\d+)`)
	reQPS       = regexp.MustCompile(`Queries per second:\s+([\d.]+)`)
	reMean      = regexp.MustCompile(`Average Latency \(s\):\s+([\d.]+)`)
)

func summary(out string) dnsperfSummary {
	num := func(re *regexp.Regexp) float64 {
		m := re.FindStringSubmatch(out)
		if m == nil {
			return 0
		}
		v, _ := strconv.ParseFloat(m[1], 64)
		return v
	}
	return dnsperfSummary{sent: int(num(reSent)), completed: int(num(reCompleted)), lost: int(num(reLost)),
		noerror: int(num(reNoerror)), qps: num(reQPS), meanMs: num(reMean) * 1000}
}

// latencyStats are percentiles of dnsperf -v's per-response latencies.
type latencyStats struct {
	qps                 float64
	lost                int
	p50, p99, p999, max float64 // ms
}

// `dnsperf -v` prints one line per response: "> NOERROR name A 0.000123".
var reVerbose = regexp.MustCompile(`(?m)^> \S+ .* ([\d.]+)$`)

func latencies(out string) latencyStats {
	var ls []float64
	for _, m := range reVerbose.FindAllStringSubmatch(out, -1) {
		v, err := strconv.ParseFloat(m[1], 64)
		if err == nil {
			ls = append(ls, v*1000)
		}
	}
	s := summary(out)
	st := latencyStats{qps: s.qps, lost: s.lost}
	if len(ls) == 0 {
		return st
	}
	sort.Float64s(ls)
	at := func(q float64) float64 { return ls[min(len(ls)-1, int(q*float64(len(ls))))] }
	st.p50, st.p99, st.p999, st.max = at(0.50), at(0.99), at(0.999), ls[len(ls)-1]
	return st
}
