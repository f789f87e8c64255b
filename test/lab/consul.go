package lab

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"
)

// Consul is a single real Consul server (not -dev: its data survives a
// restart) on loopback ports chosen per run.
type Consul struct {
	Addr    string // HTTP API, "127.0.0.1:PORT" (root namespace, and every host namespace via Expose)
	Socket  string // HTTP API on a unix socket, "unix://<Dir>/consul.sock", reachable from any namespace
	DataDir string
	Ports   ConsulPorts
	// Server: a server (else a client agent).
	Server bool

	lab  *Lab
	proc *Process
}

// ConsulPorts are the listeners of one Consul server, none of them the
// defaults, so labs never collide with each other or a real Consul.
type ConsulPorts struct {
	HTTP, DNS, SerfLAN, SerfWAN, Server, GRPC int
}

const consulVersion = "1.14.11"

var consulBuild struct {
	sync.Mutex
	path string
}

// ConsulBinary returns the cached Consul server binary: $OVSNET_CONSUL, or
// ${OVSNET_CACHE:-/var/cache/ovsnet}/consul-1.14.11, which it builds with
// deploy/consul/build.sh (a few minutes, once per machine) if missing.
func ConsulBinary() (string, error) {
	if p := os.Getenv("OVSNET_CONSUL"); p != "" {
		return p, nil
	}
	consulBuild.Lock()
	defer consulBuild.Unlock()
	if consulBuild.path != "" {
		return consulBuild.path, nil
	}
	cache := os.Getenv("OVSNET_CACHE")
	if cache == "" {
		cache = "/var/cache/ovsnet"
	}
	bin := filepath.Join(cache, "consul-"+consulVersion)
	if _, err := os.Stat(bin); err != nil {
		root, err := repoRoot()
		if err != nil {
			return "", err
		}
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
		defer cancel()
		if _, err := run(ctx, nil, filepath.Join(root, "deploy", "consul", "build.sh")); err != nil {
			return "", fmt.Errorf("build consul: %w", err)
		}
		if _, err := os.Stat(bin); err != nil {
			return "", fmt.Errorf("build consul: %w", err)
		}
	}
	consulBuild.path = bin
	return bin, nil
}

// StartConsul starts a Consul server with a data dir under l.Dir and waits
// (≤ 30 s) until it has a leader. Its Addr is also reachable from inside
// every host namespace (see Expose), for agents that talk to Consul.
func (l *Lab) StartConsul() *Consul { return l.StartConsulWith(nil) }

// StartConsulWith starts a Consul server whose configuration also has
// extra (top-level keys, e.g. "limits" for the scale benchmark).
func (l *Lab) StartConsulWith(extra map[string]any) *Consul {
	l.t.Helper()
	c := l.newConsul(consulSpec{server: true, bootstrapExpect: 1, extra: extra})
	c.Start()
	l.Expose(c.Addr)
	return c
}

// ConsulCluster is Consul as people run it: a few servers, and a client
// agent on every host that the host's processes talk to.
type ConsulCluster struct {
	Servers []*Consul
	Clients []*Consul
}

// StartConsulCluster starts servers (3 or 5) that elect a leader among
// themselves, then one client agent per name in clients, joined to them,
// and waits (≤ 60 s) until every agent sees a leader.
func (l *Lab) StartConsulCluster(servers int, clients int) *ConsulCluster {
	l.t.Helper()
	cc := &ConsulCluster{}
	// Every server retry-joins the others, so the servers find each other
	// whatever order they start in (a server that depended on the clients'
	// joins stayed alone when it started after them, and no leader came).
	serverPorts := make([][]int, servers)
	var join []string
	for i := range serverPorts {
		ports, err := FreePorts(6)
		if err != nil {
			l.t.Fatalf("lab: consul ports: %v", err)
		}
		serverPorts[i] = ports
		join = append(join, fmt.Sprintf("127.0.0.1:%d", ports[2]))
	}
	for _, ports := range serverPorts {
		cc.Servers = append(cc.Servers, l.newConsul(consulSpec{server: true, bootstrapExpect: servers, join: join, ports: ports}))
	}
	for range clients {
		cc.Clients = append(cc.Clients, l.newConsul(consulSpec{join: join}))
	}
	start := time.Now()
	for _, c := range append(slices.Clone(cc.Servers), cc.Clients...) {
		if err := c.proc.start(); err != nil {
			l.t.Fatalf("lab: %v", err)
		}
	}
	for _, c := range append(slices.Clone(cc.Servers), cc.Clients...) {
		if err := c.waitLeader(60 * time.Second); err != nil {
			l.t.Fatalf("lab: consul %s: %v\n%s", c.Addr, err, cc.report())
		}
		l.Expose(c.Addr)
	}
	l.t.Logf("lab: consul cluster of %d servers and %d clients has a leader after %v", servers, clients, time.Since(start).Round(time.Millisecond))
	return cc
}

// report says, for a failure message, how every agent of the cluster
// stands, with the last lines of each one's log.
func (cc *ConsulCluster) report() string {
	var b strings.Builder
	for _, c := range append(slices.Clone(cc.Servers), cc.Clients...) {
		role := "client"
		if c.Server {
			role = "server"
		}
		fmt.Fprintf(&b, "--- %s %s (http %d, serf %d, rpc %d): %s\n%s\n",
			role, c.proc.Name, c.Ports.HTTP, c.Ports.SerfLAN, c.Ports.Server, c.proc.state(), tail(c.proc.Log(), 8))
	}
	return b.String()
}

// Leader returns the server that leads now, or nil.
func (cc *ConsulCluster) Leader() *Consul {
	for _, s := range cc.Servers {
		if !s.Running() {
			continue
		}
		leader, err := s.leaderAddr()
		if err != nil || leader == "" {
			continue
		}
		for _, cand := range cc.Servers {
			if leader == fmt.Sprintf("127.0.0.1:%d", cand.Ports.Server) {
				return cand
			}
		}
	}
	return nil
}

// consulSpec describes one Consul agent.
type consulSpec struct {
	server          bool
	bootstrapExpect int
	join            []string // serf LAN addresses to join (its own is skipped)
	ports           []int    // HTTP, DNS, serf LAN, serf WAN, server, gRPC; nil: chosen here
	extra           map[string]any
}

// newConsul prepares (does not start) a Consul agent with a data dir under
// l.Dir and ports of its own.
func (l *Lab) newConsul(spec consulSpec) *Consul {
	l.t.Helper()
	bin, err := ConsulBinary()
	if err != nil {
		l.t.Fatalf("lab: %v", err)
	}
	ports := spec.ports
	if ports == nil {
		if ports, err = FreePorts(6); err != nil {
			l.t.Fatalf("lab: consul ports: %v", err)
		}
	}
	l.mu.Lock()
	n := len(l.consuls) + 1
	l.mu.Unlock()
	name := "consul"
	if n > 1 {
		name = fmt.Sprintf("consul%d", n)
	}
	c := &Consul{
		DataDir: filepath.Join(l.Dir, name),
		Ports:   ConsulPorts{HTTP: ports[0], DNS: ports[1], SerfLAN: ports[2], SerfWAN: ports[3], Server: ports[4], GRPC: ports[5]},
		Server:  spec.server,
		lab:     l,
	}
	c.Addr = fmt.Sprintf("127.0.0.1:%d", c.Ports.HTTP)
	c.Socket = "unix://" + filepath.Join(l.Dir, name+".sock")
	if err := os.Mkdir(c.DataDir, 0o755); err != nil {
		l.t.Fatalf("lab: consul: %v", err)
	}
	cfg := map[string]any{
		"node_name":            l.Prefix + "-" + name,
		"disable_host_node_id": true,
		// No phoning home: tests may only talk to addresses the lab owns.
		"disable_update_check": true,
		// A unix socket crosses network namespaces, unlike 127.0.0.1.
		"addresses": map[string]string{"http": "127.0.0.1 " + c.Socket},
		"ports": map[string]int{
			"http": c.Ports.HTTP, "https": -1, "dns": c.Ports.DNS, "serf_lan": c.Ports.SerfLAN,
			"serf_wan": c.Ports.SerfWAN, "server": c.Ports.Server, "grpc": c.Ports.GRPC, "grpc_tls": -1,
		},
		// Fastest raft timings: a single server elects itself in about a second.
		"performance":        map[string]int{"raft_multiplier": 1},
		"leave_on_terminate": false,
	}
	for k, v := range spec.extra {
		cfg[k] = v
	}
	b, _ := json.MarshalIndent(cfg, "", "  ")
	cfgPath := filepath.Join(l.Dir, name+".json")
	if err := os.WriteFile(cfgPath, b, 0o644); err != nil {
		l.t.Fatalf("lab: consul: %v", err)
	}
	args := []string{bin, "agent", "-bind", "127.0.0.1", "-client", "127.0.0.1", "-data-dir", c.DataDir, "-config-file", cfgPath}
	if spec.server {
		args = append(args, "-server", "-bootstrap-expect", fmt.Sprint(spec.bootstrapExpect))
	}
	for _, j := range spec.join {
		if j != fmt.Sprintf("127.0.0.1:%d", c.Ports.SerfLAN) {
			args = append(args, "-retry-join", j, "-retry-interval", "1s")
		}
	}
	c.proc = l.newProcess(name, filepath.Join(l.Dir, name+".log"), nil, args)
	l.mu.Lock()
	l.consuls = append(l.consuls, c)
	l.mu.Unlock()
	return c
}

// URL is the base URL of the HTTP API.
func (c *Consul) URL() string { return "http://" + c.Addr }

// Stop stops the server (SIGTERM, wait, SIGKILL after 10 s), keeping its data.
func (c *Consul) Stop() {
	c.lab.t.Helper()
	err := c.proc.Stop()
	var ee *exec.ExitError
	if errors.As(err, &ee) && ee.ExitCode() == 1 {
		return // how Consul ends on SIGTERM when it does not leave the cluster
	}
	if err != nil {
		c.lab.t.Logf("lab: consul stop: %v", err)
	}
}

// Start starts the server again with the same ports and data and waits
// (≤ 30 s) for a leader. Call from the test goroutine.
func (c *Consul) Start() {
	c.lab.t.Helper()
	if c.proc.Running() {
		c.lab.t.Fatalf("lab: consul %s already running", c.Addr)
	}
	start := time.Now()
	if err := c.proc.start(); err != nil {
		c.lab.t.Fatalf("lab: %v", err)
	}
	if err := c.waitLeader(30 * time.Second); err != nil {
		c.lab.t.Fatalf("lab: consul %s: %v\n%s", c.Addr, err, tail(c.proc.Log(), 30))
	}
	c.lab.t.Logf("lab: consul %s has a leader after %v", c.Addr, time.Since(start).Round(time.Millisecond))
}

// Running reports whether the server process is running.
func (c *Consul) Running() bool { return c.proc.Running() }

// Log returns the server's output so far.
func (c *Consul) Log() string { return c.proc.Log() }

// leaderAddr asks this agent which server leads ("" for none).
func (c *Consul) leaderAddr() (string, error) {
	client := &http.Client{Timeout: time.Second}
	resp, err := client.Get(c.URL() + "/v1/status/leader")
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return "", err
	}
	var leader string
	if err := json.Unmarshal(body, &leader); err != nil {
		return "", fmt.Errorf("leader: %q: %w", body, err)
	}
	return strings.TrimSpace(leader), nil
}

func (c *Consul) waitLeader(timeout time.Duration) error {
	client := &http.Client{Timeout: time.Second}
	return poll(timeout, 100*time.Millisecond, func() error {
		if !c.proc.Running() {
			return errors.New("consul exited")
		}
		leader, err := c.leaderAddr()
		if err != nil {
			return err
		}
		if leader == "" {
			return errors.New("no leader yet")
		}
		// Sessions need the node in the catalog, which comes a moment
		// after the leader ("Missing node registration" until then).
		nodes, err := client.Get(c.URL() + "/v1/catalog/nodes")
		if err != nil {
			return err
		}
		defer nodes.Body.Close()
		var list []struct{ Node string }
		if err := json.NewDecoder(nodes.Body).Decode(&list); err != nil {
			return fmt.Errorf("catalog nodes: %w", err)
		}
		if len(list) == 0 {
			return errors.New("node not registered yet")
		}
		return nil
	})
}
