// Package cluster runs ovsnet for real on a lab (package lab): Consul, one
// or more controllers and an agent on every host, and gives tests the
// operations they need (connect a container, run ovsnetctl, wait for
// state). It is shared by the end-to-end tests and the benchmarks.
package cluster

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ovsnet/ovsnet/client"
	"github.com/ovsnet/ovsnet/model"
	"github.com/ovsnet/ovsnet/test/lab"
)

// Options says what to start.
type Options struct {
	Hosts   int
	Outside bool
	// Controllers is how many controller replicas to run (default 1).
	Controllers int
	// AgentArgs are extra flags for every agent; ControllerArgs for every
	// controller.
	AgentArgs      []string
	ControllerArgs []string
	// Docker starts a Docker engine on every host, its agent serving the
	// ovsnet plugin to it.
	Docker bool
	// CNI makes every agent serve the CNI plugin (-cni-socket, at
	// CNISocket(host)).
	CNI bool
	// Agents is how many hosts start with an agent (default all); the
	// others can be started later with StartAgent.
	Agents int
	// LogLevel of controllers and agents: "debug" (the default, for the
	// diagnostics of failed tests) or "info" (benchmarks).
	LogLevel string
	// Token is the API token every controller requires (given them in a
	// file); the cluster's clients and the agents' Docker plugins send it.
	Token string
	// ConsulACL runs Consul with ACLs (default deny); the controllers and
	// each agent use a token of their own (security.go). One Consul
	// server only.
	ConsulACL bool
	// ConsulServers > 1 runs Consul as people run it: that many servers,
	// and a client agent for every host and controller, which they talk
	// to. Default: one server everything talks to.
	ConsulServers int
}

// Cluster is ovsnet running on a lab.
type Cluster struct {
	T   testing.TB
	Lab *lab.Lab
	// Consul is the single server, or with Options.ConsulServers the first
	// host's client agent.
	Consul *lab.Consul
	// ConsulCluster is set with Options.ConsulServers.
	ConsulCluster *lab.ConsulCluster
	Bins          map[string]string
	Prefix        string

	Controllers []*Controller
	Agents      map[string]*lab.Process
	// Dockers are the hosts' engines (Options.Docker), by host name.
	Dockers map[string]*lab.Docker
	// API talks to the first controller.
	API *client.Client

	docker         bool
	cni            bool
	logLevel       string
	controllerArgs []string
	sec            security
	// consulOf is the Consul client agent of each host and controller
	// (ConsulServers); the next controller takes spare clients in order.
	consulOf     map[string]*lab.Consul
	spareClients []*lab.Consul
}

// Controller is one running controller replica.
type Controller struct {
	Addr   string // 127.0.0.1:PORT, also exposed in every host namespace
	Socket string // unix socket path
	URL    string
	Proc   *lab.Process
}

// New builds the lab and starts everything, waiting until every agent has
// registered its host.
func New(t testing.TB, opts Options) *Cluster {
	t.Helper()
	if opts.Controllers == 0 {
		opts.Controllers = 1
	}
	l := lab.New(t, lab.Options{Hosts: opts.Hosts, Outside: opts.Outside})
	c := &Cluster{T: t, Lab: l, Bins: lab.Build(t), Prefix: "ovsnet-" + l.Prefix, Agents: map[string]*lab.Process{},
		Dockers: map[string]*lab.Docker{}, docker: opts.Docker, cni: opts.CNI, logLevel: opts.LogLevel}
	if c.logLevel == "" {
		c.logLevel = "debug"
	}
	for _, b := range []string{"ovsnet-controller", "ovsnet-agent", "ovsnetctl"} {
		if c.Bins[b] == "" {
			t.Fatalf("cluster: binary %s was not built", b)
		}
	}
	c.consulOf = map[string]*lab.Consul{}
	if opts.ConsulServers > 1 {
		// A client per host, per controller, and two spare controllers.
		cc := l.StartConsulCluster(opts.ConsulServers, len(l.Hosts)+opts.Controllers+2)
		c.ConsulCluster = cc
		for i, h := range l.Hosts {
			c.consulOf[h.Name] = cc.Clients[i]
		}
		c.spareClients = cc.Clients[len(l.Hosts):]
		c.Consul = cc.Clients[0]
	} else {
		c.Consul = l.StartConsulWith(c.consulConfig(opts))
	}
	c.setupSecurity(opts)
	c.controllerArgs = append(c.securityArgs(), opts.ControllerArgs...)
	for i := 0; i < opts.Controllers; i++ {
		c.StartController()
	}
	api, err := client.New(c.Controllers[0].URL, c.clientOptions()...)
	if err != nil {
		t.Fatalf("cluster: %v", err)
	}
	c.API = api
	if opts.Agents == 0 {
		opts.Agents = len(l.Hosts)
	}
	for _, h := range l.Hosts[:opts.Agents] {
		c.StartAgent(h, opts.AgentArgs...)
	}
	c.WaitHostsAlive(30*time.Second, l.Hosts[:opts.Agents]...)
	if opts.Docker {
		for _, h := range l.Hosts {
			c.Dockers[h.Name] = h.StartDocker()
		}
	}
	return c
}

func freePort(t testing.TB) int {
	ports, err := lab.FreePorts(1)
	if err != nil {
		t.Fatalf("cluster: free port: %v", err)
	}
	return ports[0]
}

// StartController starts one more controller replica.
func (c *Cluster) StartController() *Controller {
	c.T.Helper()
	n := len(c.Controllers) + 1
	port := freePort(c.T)
	ctl := &Controller{
		Addr:   "127.0.0.1:" + strconv.Itoa(port),
		Socket: filepath.Join(c.Lab.Dir, fmt.Sprintf("controller%d.sock", n)),
	}
	ctl.URL = "http://" + ctl.Addr
	consul := c.Consul
	if c.ConsulCluster != nil {
		if len(c.spareClients) == 0 {
			c.T.Fatal("cluster: no Consul client agent left for another controller")
		}
		consul, c.spareClients = c.spareClients[0], c.spareClients[1:]
	}
	ctl.Proc = c.Lab.Start(fmt.Sprintf("controller%d", n), "", c.controllerEnv(), c.Bins["ovsnet-controller"],
		append([]string{"-listen", ctl.Addr + ",unix:" + ctl.Socket, "-consul", consul.Addr, "-prefix", c.Prefix,
			"-id", fmt.Sprintf("controller%d", n), "-log-level", c.logLevel}, c.controllerArgs...)...)
	c.Lab.Expose(ctl.Addr)
	if err := poll(20*time.Second, func() error {
		resp, err := httpGet(ctl.URL + "/_ping")
		if err != nil {
			return err
		}
		if resp != "OK" {
			return fmt.Errorf("ping answered %q", resp)
		}
		return nil
	}); err != nil {
		c.T.Fatalf("cluster: controller %d did not come up: %v\n%s", n, err, ctl.Proc.Log())
	}
	c.Controllers = append(c.Controllers, ctl)
	return ctl
}

// AgentArgs are the flags an agent on h runs with.
func (c *Cluster) AgentArgs(h *lab.Host, extra ...string) []string {
	if c.cni {
		extra = append([]string{"-cni-socket", c.CNISocket(h)}, extra...)
	}
	if c.docker {
		sock, plugins := h.DockerPaths()
		extra = append([]string{"-plugin-socket", filepath.Join(plugins, "ovsnet.sock"), "-docker-host", "unix://" + sock,
			"-controller", "unix://" + c.Controllers[0].Socket}, append(c.agentSecurityArgs(), extra...)...)
	} else if c.cni {
		extra = append([]string{"-controller", "unix://" + c.Controllers[0].Socket}, append(c.agentSecurityArgs(), extra...)...)
	}
	consul := c.Consul
	if cl := c.consulOf[h.Name]; cl != nil {
		consul = cl
	}
	return append([]string{
		"-host", h.Name, "-tunnel-ip", h.TunnelIP.String(), "-ovsdb", h.OVSDB(), "-ovs-rundir", h.OVSDir,
		"-datapath-type", "netdev", "-consul", consul.Socket, "-prefix", c.Prefix,
		"-state-dir", filepath.Join(c.Lab.Dir, "agent-state"), "-log-level", c.logLevel,
	}, extra...)
}

// CNISocket is where h's agent serves the CNI plugin (Options.CNI).
func (c *Cluster) CNISocket(h *lab.Host) string {
	return filepath.Join(c.Lab.Dir, h.Name+"-cni.sock")
}

// StartAgent starts the agent of host h.
func (c *Cluster) StartAgent(h *lab.Host, extra ...string) *lab.Process {
	c.T.Helper()
	p := c.Lab.Start("agent-"+h.Name, h.Netns, c.agentEnv(h), c.Bins["ovsnet-agent"], c.AgentArgs(h, extra...)...)
	c.Agents[h.Name] = p
	return p
}

// WaitHostsAlive waits until these lab hosts (default all) are registered
// and alive.
func (c *Cluster) WaitHostsAlive(timeout time.Duration, which ...*lab.Host) {
	c.T.Helper()
	if len(which) == 0 {
		which = c.Lab.Hosts
	}
	err := poll(timeout, func() error {
		hosts, err := c.API.ListHosts(context.Background())
		if err != nil {
			return err
		}
		alive := map[string]bool{}
		for _, h := range hosts {
			alive[h.Name] = h.Alive
		}
		for _, h := range which {
			if !alive[h.Name] {
				return fmt.Errorf("host %s not alive (hosts: %+v)", h.Name, hosts)
			}
		}
		return nil
	})
	if err != nil {
		c.T.Fatalf("cluster: %v", err)
	}
}

// Ctl runs ovsnetctl against the first controller and returns its combined
// output.
func (c *Cluster) Ctl(args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, c.Bins["ovsnetctl"], append([]string{"--controller", c.Controllers[0].URL}, args...)...)
	cmd.Env = append(os.Environ(), c.ctlEnv()...)
	out, err := cmd.CombinedOutput()
	return strings.TrimSpace(string(out)), err
}

// MustCtl runs ovsnetctl and fails the test if it fails.
func (c *Cluster) MustCtl(args ...string) string {
	c.T.Helper()
	out, err := c.Ctl(args...)
	if err != nil {
		c.T.Fatalf("ovsnetctl %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

// CreateNetwork creates a network with ovsnetctl flags and returns its id.
func (c *Cluster) CreateNetwork(name string, flags ...string) string {
	c.T.Helper()
	out := c.MustCtl(append(append([]string{"network", "create"}, flags...), name)...)
	return strings.TrimSpace(out)
}

// Connect attaches a lab container to a network through the REST API and
// returns the endpoint (ready: the call waits for the agent).
func (c *Cluster) Connect(network string, ct *lab.Container, cfg *model.EndpointSettings) model.EndpointView {
	c.T.Helper()
	ep, err := c.TryConnect(network, ct, cfg)
	if err != nil {
		c.T.Fatalf("connect %s to %s: %v", ct.Name, network, err)
	}
	return ep
}

// TryConnect is Connect returning the error.
func (c *Cluster) TryConnect(network string, ct *lab.Container, cfg *model.EndpointSettings) (model.EndpointView, error) {
	if cfg == nil {
		cfg = &model.EndpointSettings{}
	}
	if cfg.DriverOpts == nil {
		cfg.DriverOpts = map[string]string{}
	}
	cfg.DriverOpts[model.OptEndpointHost] = ct.Host.Name
	cfg.DriverOpts[model.OptEndpointNetns] = ct.Netns
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	return c.API.Connect(ctx, network, model.NetworkConnectRequest{Container: ct.Name, EndpointConfig: cfg})
}

// Endpoints lists endpoints, optionally of one network.
func (c *Cluster) Endpoints(network string) []model.EndpointView {
	c.T.Helper()
	eps, err := c.API.ListEndpoints(context.Background(), network, "")
	if err != nil {
		c.T.Fatalf("list endpoints: %v", err)
	}
	return eps
}

// WaitPing polls until ct reaches addr (one probe per try), bounded.
func WaitPing(t testing.TB, ct *lab.Container, addr string, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if ct.PingOnce(addr, 500*time.Millisecond) {
			return
		}
	}
	t.Fatalf("%s cannot reach %s within %s", ct.Name, addr, timeout)
}

// Exec runs a command in a container and returns its output, failing on
// error.
func Exec(t testing.TB, ct *lab.Container, name string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	out, err := ct.Exec(ctx, name, args...)
	if err != nil {
		t.Fatalf("%s: %s %s: %v\n%s", ct.Name, name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

// Addrs lists a container's interfaces and their addresses (ip -j addr).
func Addrs(t testing.TB, ct *lab.Container) map[string][]string {
	t.Helper()
	var links []struct {
		IfName   string `json:"ifname"`
		AddrInfo []struct {
			Local     string `json:"local"`
			PrefixLen int    `json:"prefixlen"`
			Scope     string `json:"scope"`
		} `json:"addr_info"`
		MTU     int    `json:"mtu"`
		Address string `json:"address"`
	}
	if err := json.Unmarshal([]byte(Exec(t, ct, "ip", "-j", "addr")), &links); err != nil {
		t.Fatalf("ip -j addr: %v", err)
	}
	out := map[string][]string{}
	for _, l := range links {
		for _, a := range l.AddrInfo {
			if a.Scope == "global" {
				out[l.IfName] = append(out[l.IfName], fmt.Sprintf("%s/%d", a.Local, a.PrefixLen))
			}
		}
		if _, ok := out[l.IfName]; !ok {
			out[l.IfName] = nil
		}
	}
	return out
}

func poll(timeout time.Duration, f func() error) error {
	deadline := time.Now().Add(timeout)
	var err error
	for {
		if err = f(); err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return err
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Poll retries f every 50 ms until it succeeds or timeout passes.
func Poll(t testing.TB, timeout time.Duration, what string, f func() error) {
	t.Helper()
	if err := poll(timeout, f); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}
