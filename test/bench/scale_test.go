//go:build e2e

package bench

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ovsnet/ovsnet/client"
	"github.com/ovsnet/ovsnet/flows"
	"github.com/ovsnet/ovsnet/internal/store"
	"github.com/ovsnet/ovsnet/model"
	"github.com/ovsnet/ovsnet/ovsagent"
	"github.com/ovsnet/ovsnet/ovsagent/fake"
	"github.com/ovsnet/ovsnet/test/lab"
)

// BenchmarkScale grows one cluster — the real controller and a real Consul
// server, with simulated hosts — to 1,000 hosts, 2,000 networks and 50,000
// endpoints, and measures single attaches at each size: bytes written to
// and read from Consul, controller CPU, hosts touched, and the latency
// from the attach call to every peer host having applied it.
//
// A simulated host is the real agent (the same Source watching Consul, the
// same reconciler, the same reports) with in-memory parts instead of OVS
// and the kernel (ovsagent/fake), all in this process. Each network spans
// scaleSpan consecutive hosts with scaleEndpointsPerNet endpoints; a
// measured attach adds one endpoint to an existing network.
//
// BENCH_SCALE_SIZES limits the steps ("10,100" for the first two).
func BenchmarkScale(b *testing.B) {
	for range b.N {
		runScale(b)
	}
}

const (
	scaleSpan            = 5  // hosts per network
	scaleEndpointsPerNet = 25 // endpoints per network at each size
	scaleAttaches        = 40 // measured attaches per size
)

var scaleSizes = []struct{ hosts, networks int }{{10, 20}, {100, 200}, {1000, 2000}}

type scaleRig struct {
	b      testing.TB
	api    *client.Client
	ctlURL string
	ctl    *lab.Process
	st     *store.Store
	count  *countingBackend
	prefix string

	mu      sync.Mutex
	agents  []*simHost
	touched map[string]bool
	watch   atomic.Bool
	errors  atomic.Int64
	nextCtr atomic.Int64
}

type simHost struct {
	name   string
	cancel context.CancelFunc
	done   chan struct{}
}

func runScale(b testing.TB) {
	l := lab.New(b, lab.Options{})
	// Thousands of watches come from this one process: lift Consul's
	// per-client connection limit, as a deployment with one Consul client
	// agent per host never needs.
	consul := l.StartConsulWith(map[string]any{"limits": map[string]any{"http_max_conns_per_client": 15000}})
	bins := lab.Build(b)
	prefix := "scale-" + l.Prefix
	port := freeTCPPort(b)
	r := &scaleRig{b: b, ctlURL: fmt.Sprintf("http://127.0.0.1:%d", port), prefix: prefix, touched: map[string]bool{}}
	r.ctl = l.Start("controller", "", nil, bins["ovsnet-controller"], "-listen", fmt.Sprintf("127.0.0.1:%d", port),
		"-consul", consul.Addr, "-prefix", prefix, "-id", "c1", "-log-level", "warn", "-ready-timeout", "60s")
	api, err := client.New(r.ctlURL)
	if err != nil {
		b.Fatal(err)
	}
	r.api = api
	backend, err := store.NewConsul(consul.Addr, nil)
	if err != nil {
		b.Fatal(err)
	}
	r.count = &countingBackend{Backend: backend}
	r.st = store.New(r.count, prefix)
	defer r.stopAgents()

	sizes := scaleSizes
	if s := os.Getenv("BENCH_SCALE_SIZES"); s != "" {
		sizes = nil
		for _, f := range strings.Split(s, ",") {
			for _, sz := range scaleSizes {
				if strconv.Itoa(sz.hosts) == strings.TrimSpace(f) {
					sizes = append(sizes, sz)
				}
			}
		}
	}
	networks := 0
	b.Logf("%-6s %-9s %-10s | %-14s %-14s %-13s %-13s | %-10s %-8s | %-22s", "hosts", "networks", "endpoints",
		"ctl written/at", "ctl read/at", "agents wr/at", "agents rd/at", "ctl CPU/at", "touched", "attach→applied p50/p99")
	for _, size := range sizes {
		start := time.Now()
		r.addHosts(size.hosts)
		for ; networks < size.networks; networks++ {
			r.createNetwork(networks)
		}
		r.populate(size.hosts, size.networks)
		b.Logf("grew to %d hosts, %d networks in %s", size.hosts, size.networks, time.Since(start).Round(time.Second))
		r.measure(size.hosts, size.networks)
	}
	if n := r.errors.Load(); n > 0 {
		b.Errorf("%d Consul or API errors during the run", n)
	}
}

// addHosts starts simulated hosts up to n.
func (r *scaleRig) addHosts(n int) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	for i := len(r.agents); i < n; i++ {
		name := fmt.Sprintf("sim%04d", i)
		cfg := ovsagent.Config{Host: name, TunnelIP: netip.AddrFrom4([4]byte{10, 200, byte(i >> 8), byte(i)}), UnderlayMTU: 1500,
			Bridge: "br-int", DatapathType: "netdev", Pipeline: flows.DefaultConfig(), Resync: time.Hour, Logger: log}
		a := ovsagent.New(cfg, ovsagent.NewConsulSource(r.st, name, false, log), fake.NewSwitch(), fake.NewFlowTable(),
			fake.NewPlumber(), &fake.Kernel{}, ovsagent.NewCluster(r.st, name, log))
		a.Reconciled = func(res ovsagent.ReconcileResult) {
			if r.watch.Load() && res.Added+res.Deleted > 0 {
				r.mu.Lock()
				r.touched[name] = true
				r.mu.Unlock()
			}
		}
		ctx, cancel := context.WithCancel(context.Background())
		h := &simHost{name: name, cancel: cancel, done: make(chan struct{})}
		go func() { _ = a.Run(ctx); close(h.done) }()
		r.agents = append(r.agents, h)
	}
	deadline := time.Now().Add(5 * time.Minute)
	for {
		hosts, err := r.api.ListHosts(context.Background())
		alive := 0
		for _, h := range hosts {
			if h.Alive {
				alive++
			}
		}
		if err == nil && alive >= n {
			return
		}
		if time.Now().After(deadline) {
			r.b.Fatalf("only %d of %d hosts registered: %v", alive, n, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func (r *scaleRig) stopAgents() {
	for _, h := range r.agents {
		h.cancel()
	}
	for _, h := range r.agents {
		<-h.done
	}
}

func netName(j int) string { return fmt.Sprintf("net%04d", j) }

func (r *scaleRig) createNetwork(j int) {
	subnet := fmt.Sprintf("10.%d.%d.0/24", 100+j/256, j%256)
	if _, err := r.api.CreateNetwork(context.Background(), model.NetworkCreateRequest{Name: netName(j), Driver: "overlay",
		IPAM: &model.IPAM{Config: []model.IPAMConfig{{Subnet: subnet}}}}); err != nil {
		r.b.Fatalf("create %s: %v", netName(j), err)
	}
}

// hostOf places the k-th endpoint of network j among its span of hosts.
func hostOf(j, k, hosts int) string {
	return fmt.Sprintf("sim%04d", (j*scaleSpan+k%scaleSpan)%hosts)
}

// connect attaches a new container of host to network j, waiting (as a
// connect does) for its agent and its peers.
func (r *scaleRig) connect(ctx context.Context, j int, host string) error {
	n := r.nextCtr.Add(1)
	_, err := r.api.Connect(ctx, netName(j), model.NetworkConnectRequest{Container: fmt.Sprintf("c%06d", n),
		EndpointConfig: &model.EndpointSettings{DriverOpts: map[string]string{
			model.OptEndpointHost: host, model.OptEndpointNetns: "/run/netns/sim"}}})
	return err
}

// populate fills every network up to scaleEndpointsPerNet endpoints, many
// connects at a time.
func (r *scaleRig) populate(hosts, networks int) {
	eps, err := r.api.ListEndpoints(context.Background(), "", "")
	if err != nil {
		r.b.Fatal(err)
	}
	have := map[string]int{}
	for _, ep := range eps {
		have[ep.NetworkName]++
	}
	type job struct {
		j int
		h string
	}
	jobs := make(chan job)
	var wg sync.WaitGroup
	for w := 0; w < 32; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for jb := range jobs {
				ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
				if err := r.connect(ctx, jb.j, jb.h); err != nil {
					r.errors.Add(1)
					r.b.Logf("populate %s on %s: %v", netName(jb.j), jb.h, err)
				}
				cancel()
			}
		}()
	}
	for j := 0; j < networks; j++ {
		for k := have[netName(j)]; k < scaleEndpointsPerNet; k++ {
			jobs <- job{j, hostOf(j, k, hosts)}
		}
	}
	close(jobs)
	wg.Wait()
}

// measure attaches scaleAttaches endpoints one at a time and prints what
// each cost.
func (r *scaleRig) measure(hosts, networks int) {
	ctx := context.Background()
	ctlBefore := r.ctlCounters()
	cpuBefore := procCPU(r.ctl.Pid())
	agentsW, agentsR := r.count.written.Load(), r.count.read.Load()
	var lat []time.Duration
	touched := 0
	for i := 0; i < scaleAttaches; i++ {
		j := (i * 37) % networks
		host := hostOf(j, i, hosts)
		r.mu.Lock()
		r.touched = map[string]bool{}
		r.mu.Unlock()
		r.watch.Store(true)
		start := time.Now()
		if err := r.connect(ctx, j, host); err != nil {
			r.errors.Add(1)
			r.b.Errorf("attach to %s on %s: %v", netName(j), host, err)
			continue
		}
		lat = append(lat, time.Since(start))
		time.Sleep(50 * time.Millisecond) // stragglers would show here
		r.watch.Store(false)
		r.mu.Lock()
		touched += len(r.touched)
		r.mu.Unlock()
	}
	ctlAfter := r.ctlCounters()
	cpu := procCPU(r.ctl.Pid()) - cpuBefore
	n := float64(len(lat))
	eps := 0
	if list, err := r.api.ListEndpoints(ctx, "", ""); err == nil {
		eps = len(list)
	}
	p50, p99, _ := percentiles(lat)
	r.b.Logf("%-6d %-9d %-10d | %-14s %-14s %-13s %-13s | %-10s %-8.1f | %.1f / %.1f ms", hosts, networks, eps,
		kb((ctlAfter["written"]-ctlBefore["written"])/n), kb((ctlAfter["read"]-ctlBefore["read"])/n),
		kb(float64(r.count.written.Load()-agentsW)/n), kb(float64(r.count.read.Load()-agentsR)/n),
		fmt.Sprintf("%.2f ms", float64(cpu.Milliseconds())/n), float64(touched)/n, ms(p50), ms(p99))
	r.b.Logf("(a network spans %d hosts: an attach should touch at most %d)", scaleSpan, scaleSpan)
}

func kb(bytes float64) string { return fmt.Sprintf("%.2f KB", bytes/1024) }

var consulBytesRE = regexp.MustCompile(`^ovsnet_controller_consul_bytes_total\{direction="(\w+)"\} (\S+)$`)

// ctlCounters reads the controller's Consul byte counters.
func (r *scaleRig) ctlCounters() map[string]float64 {
	out := map[string]float64{}
	resp, err := http.Get(r.ctlURL + "/metrics")
	if err != nil {
		r.b.Fatal(err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if m := consulBytesRE.FindStringSubmatch(sc.Text()); m != nil {
			v, _ := strconv.ParseFloat(m[2], 64)
			out[m[1]] = v
		}
	}
	return out
}

// procCPU is a process's user+system CPU time.
func procCPU(pid int) time.Duration {
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return 0
	}
	s := string(b)
	f := strings.Fields(s[strings.LastIndex(s, ")")+2:])
	ut, _ := strconv.Atoi(f[11])
	st, _ := strconv.Atoi(f[12])
	return time.Duration(ut+st) * 10 * time.Millisecond
}

// countingBackend counts the bytes the simulated agents move.
type countingBackend struct {
	store.Backend
	written, read atomic.Int64
}

func (c *countingBackend) Get(ctx context.Context, key string, q store.Query) (*store.Pair, uint64, error) {
	p, idx, err := c.Backend.Get(ctx, key, q)
	if p != nil {
		c.read.Add(int64(len(p.Key) + len(p.Value)))
	}
	return p, idx, err
}

func (c *countingBackend) List(ctx context.Context, prefix string, q store.Query) ([]store.Pair, uint64, error) {
	ps, idx, err := c.Backend.List(ctx, prefix, q)
	n := 0
	for _, p := range ps {
		n += len(p.Key) + len(p.Value)
	}
	c.read.Add(int64(n))
	return ps, idx, err
}

func (c *countingBackend) Txn(ctx context.Context, ops []store.Op) (uint64, error) {
	n := 0
	for _, op := range ops {
		n += len(op.Key) + len(op.Value)
	}
	c.written.Add(int64(n))
	return c.Backend.Txn(ctx, ops)
}

func (c *countingBackend) Acquire(ctx context.Context, key string, value []byte, session string) (bool, error) {
	c.written.Add(int64(len(key) + len(value)))
	return c.Backend.Acquire(ctx, key, value, session)
}

func freeTCPPort(b testing.TB) int {
	ports, err := lab.FreePorts(1)
	if err != nil {
		b.Fatal(err)
	}
	return ports[0]
}
