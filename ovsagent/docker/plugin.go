// Package docker is the agent's Docker network and IPAM plugin: an agent
// extension serving Docker's remote NetworkDriver and IpamDriver protocols
// for the host's engine, backed by the controller.
package docker

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/ovsnet/ovsnet/client"
	"github.com/ovsnet/ovsnet/model"
)

// The Docker plugin serves Docker's remote NetworkDriver and IpamDriver
// protocols (libnetwork's remote.md and ipam.md) on one socket, for the
// host's own engine, under the driver name "ovsnet".
//
// Docker's view is per host (scope local: each engine has its own network
// ids); ovsnet's is the cluster's. The plugin keys everything on ovsnet's
// network id, which rides in each Docker network's options ("ovsnet.id")
// when the agent created it there; networks users create with
// `docker network create -d ovsnet` are registered with the controller under
// their Docker name and found by name afterwards. Addresses come from the
// controller (IpamDriver.RequestAddress reserves one centrally), so they
// never collide across hosts.
//
// Docker does not tell a driver which container an endpoint belongs to, nor
// the network's name; the plugin learns both from the engine's API and
// events after the fact.

const (
	// dockerDriver is the driver and IPAM driver name (the socket's name).
	dockerDriver = "ovsnet"
	// optNetworkID carries ovsnet's network id in a Docker network's driver
	// and IPAM options.
	optNetworkID = "ovsnet.id"
	// addressSpace is the IPAM address space ovsnet's pools live in; a
	// network whose pools come from elsewhere was made with another IPAM
	// driver.
	addressSpace = "ovsnet"

	optGeneric    = "com.docker.network.generic"
	optEnableIPv6 = "com.docker.network.enable_ipv6"
	optInternal   = "com.docker.network.internal"
	optPortMap    = "com.docker.network.portmap"
	optAddrType   = "RequestAddressType"
	gatewayType   = "com.docker.network.gateway"

	// placeholderPrefix names Docker endpoints until the plugin learns their
	// container.
	placeholderPrefix = "docker-"
)

// Agent is what the plugin needs of the agent: the desired state and its
// changes, and endpoints plumbed and reported ready.
type Agent interface {
	// HostName is this host's name in the cluster.
	HostName() string
	// State is the current desired state, nil before any is known.
	State() *model.HostState
	// OnState registers f to be called with every new desired state.
	OnState(f func(*model.HostState))
	// Trigger asks for a reconcile that also looks at the local side.
	Trigger()
	// WaitReady waits until the agent has reported endpoint id ready.
	WaitReady(ctx context.Context, id string) error
}

// Plumber is the host plumbing the plugin does itself, outside the
// reconciler (hostnet's Plumber has it).
type Plumber interface {
	// EnsureDockerVeth creates a Docker endpoint's veth in the host's
	// namespace and returns the name of the peer Docker moves into the
	// container. Idempotent.
	EnsureDockerVeth(ep *model.Endpoint, mtu int) (string, error)
	// RemoveEndpoint deletes the veth behind an OVS port name; a missing
	// veth is not an error.
	RemoveEndpoint(portName string) error
}

// Config configures the plugin.
type Config struct {
	// Socket is where Docker finds the plugin: /run/docker/plugins/ovsnet.sock.
	Socket string
	// Engine is the host's engine API socket.
	Engine string
	// API is the controller.
	API *client.Client
	// Plumber creates and removes Docker endpoints' veths.
	Plumber Plumber
	// UnderlayMTU is the host's underlay MTU, endpoints' MTUs derive from.
	UnderlayMTU int
	// StateDir keeps the bindings of engine networks to ovsnet's
	// (docker-networks.json).
	StateDir string
	// Resolvers are the upstream DNS servers Docker's embedded resolver
	// forwards to; empty: found as Docker finds them (resolvers.go).
	Resolvers []netip.Addr
	Logger    *slog.Logger
}

// Plugin is the agent extension serving the plugin socket.
type Plugin struct {
	cfg Config
	a   Agent
	// callTimeout bounds each call from Docker.
	callTimeout time.Duration
	api         *client.Client
	pl          Plumber
	log         *slog.Logger
	engine      *dockerAPI

	mu sync.Mutex
	// nets maps this engine's network ids to ovsnet network ids.
	nets map[string]string
	// pending are networks users created in this engine, not yet registered.
	pending map[string]pendingNetwork
	// pools maps pending pool ids to the ovsnet network that took them over.
	pools map[string]string
	// removing are ovsnet ids whose Docker networks the agent itself removes.
	removing map[string]bool
	// orphans are Docker endpoints the engine lacked in the last pass.
	orphans map[string]bool
	// orphanAfter is how old an endpoint must be before it can be taken
	// for lost (Docker creates it before the container joins).
	orphanAfter time.Duration
	kick        chan struct{}
}

// New returns the plugin extension for agent a.
func New(cfg Config, a Agent) *Plugin {
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	return &Plugin{cfg: cfg, a: a, api: cfg.API, pl: cfg.Plumber, log: log.With("component", "docker-plugin"), callTimeout: 30 * time.Second, orphanAfter: 2 * time.Minute}
}

type pendingNetwork struct {
	v4, v6   ipamData
	internal bool
	ipv6     bool
	options  map[string]string
	created  time.Time
}

type ipamData struct {
	AddressSpace string            `json:"AddressSpace"`
	Pool         string            `json:"Pool"`
	Gateway      string            `json:"Gateway"`
	AuxAddresses map[string]string `json:"AuxAddresses"`
}

// prepare sets up the plugin's state (Run does it).
func (p *Plugin) prepare() {
	p.engine = newDockerAPI(p.cfg.Engine)
	p.nets, p.pending, p.pools, p.removing = map[string]string{}, map[string]pendingNetwork{}, map[string]string{}, map[string]bool{}
	p.kick = make(chan struct{}, 1)
	p.loadBindings()
}

// listenSocket opens the plugin socket at path. A socket someone still
// serves there is another agent's (two agents must never share one: the
// engine would talk to the wrong one): refused. A stale one is replaced.
// The socket appears at its path with its final permissions (0600): it is
// made in a private directory and renamed into place.
func listenSocket(path string) (net.Listener, error) {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	if c, err := net.DialTimeout("unix", path, time.Second); err == nil {
		c.Close()
		return nil, fmt.Errorf("plugin socket %s is served by another process (another ovsnet agent?): stop it, or give this agent another -plugin-socket", path)
	}
	private, err := os.MkdirTemp(dir, ".ovsnet-plugin-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(private)
	tmp := filepath.Join(private, "sock")
	ln, err := net.Listen("unix", tmp)
	if err != nil {
		return nil, fmt.Errorf("plugin socket: %w", err)
	}
	if err := os.Chmod(tmp, 0o600); err != nil {
		ln.Close()
		return nil, err
	}
	if err := os.Rename(tmp, path); err != nil {
		ln.Close()
		return nil, fmt.Errorf("plugin socket: %w", err)
	}
	if ul, ok := ln.(*net.UnixListener); ok {
		ul.SetUnlinkOnClose(false) // the listener knows the temporary name; removing path is ours
	}
	return &socketListener{Listener: ln, path: path}, nil
}

// socketListener removes its socket file when closed.
type socketListener struct {
	net.Listener
	path string
}

func (l *socketListener) Close() error {
	err := l.Listener.Close()
	_ = os.Remove(l.path)
	return err
}

// Name implements ovsagent.Extension.
func (p *Plugin) Name() string { return "docker-plugin" }

// Run serves the socket and keeps the engine's networks in sync with the
// cluster until ctx ends.
func (p *Plugin) Run(ctx context.Context) error {
	p.prepare()
	ln, err := listenSocket(p.cfg.Socket)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: p.handler(), ReadHeaderTimeout: 10 * time.Second, ReadTimeout: time.Minute,
		WriteTimeout: 2 * time.Minute, IdleTimeout: 5 * time.Minute} // Docker waits for Join
	go func() {
		<-ctx.Done()
		_ = srv.Close()
	}()
	p.a.OnState(func(*model.HostState) { p.trigger() })
	go p.syncLoop(ctx)
	go p.eventLoop(ctx)
	p.log.Info("serving Docker's network and IPAM plugin protocols", "socket", p.cfg.Socket, "engine", p.cfg.Engine)
	if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

func (p *Plugin) trigger() {
	select {
	case p.kick <- struct{}{}:
	default:
	}
}

// maxRequest bounds a plugin request's body: Docker's are a few KB.
const maxRequest = 1 << 20

// pluginError is a failure reported to Docker; its text reaches the user.
type pluginError struct{ msg string }

func (e *pluginError) Error() string { return e.msg }

func (p *Plugin) handler() http.Handler {
	mux := http.NewServeMux()
	type call func(ctx context.Context, body []byte) (any, error)
	route := func(name string, fn call) {
		mux.HandleFunc("/"+name, func(w http.ResponseWriter, r *http.Request) {
			body, err := io.ReadAll(io.LimitReader(r.Body, maxRequest+1))
			if err == nil && len(body) > maxRequest {
				err = fmt.Errorf("request of more than %d bytes", maxRequest)
			}
			if err != nil {
				p.log.Warn("plugin call refused", "call", name, "err", err)
				w.Header().Set("Content-Type", "application/vnd.docker.plugins.v1+json")
				w.WriteHeader(http.StatusBadRequest)
				_ = json.NewEncoder(w).Encode(map[string]string{"Err": "ovsnet: " + err.Error()})
				return
			}
			ctx, cancel := context.WithTimeout(r.Context(), p.callTimeout)
			defer cancel()
			p.log.Debug("plugin call", "call", name, "body", string(body))
			res, err := fn(ctx, body)
			w.Header().Set("Content-Type", "application/vnd.docker.plugins.v1+json")
			if err != nil {
				p.log.Warn("plugin call failed", "call", name, "err", err)
				w.WriteHeader(http.StatusInternalServerError)
				_ = json.NewEncoder(w).Encode(map[string]string{"Err": err.Error()})
				return
			}
			if res == nil {
				res = struct{}{}
			}
			_ = json.NewEncoder(w).Encode(res)
		})
	}
	empty := func(context.Context, []byte) (any, error) { return nil, nil }
	route("Plugin.Activate", func(context.Context, []byte) (any, error) {
		return map[string][]string{"Implements": {"NetworkDriver", "IpamDriver"}}, nil
	})
	route("NetworkDriver.GetCapabilities", func(context.Context, []byte) (any, error) {
		return map[string]string{"Scope": "local", "ConnectivityScope": "global"}, nil
	})
	route("NetworkDriver.CreateNetwork", p.createNetwork)
	route("NetworkDriver.DeleteNetwork", p.deleteNetwork)
	route("NetworkDriver.CreateEndpoint", p.createEndpoint)
	route("NetworkDriver.EndpointOperInfo", func(context.Context, []byte) (any, error) {
		return map[string]any{"Value": map[string]string{"host": p.a.HostName()}}, nil
	})
	route("NetworkDriver.DeleteEndpoint", p.deleteEndpoint)
	route("NetworkDriver.Join", p.join)
	route("NetworkDriver.Leave", p.leave)
	route("NetworkDriver.ProgramExternalConnectivity", p.programExternal)
	route("NetworkDriver.RevokeExternalConnectivity", p.revokeExternal)
	route("NetworkDriver.DiscoverNew", empty)
	route("NetworkDriver.DiscoverDelete", empty)
	route("NetworkDriver.AllocateNetwork", func(context.Context, []byte) (any, error) {
		return map[string]any{"Options": map[string]string{}}, nil
	})
	route("NetworkDriver.FreeNetwork", empty)
	route("IpamDriver.GetCapabilities", func(context.Context, []byte) (any, error) {
		return map[string]bool{"RequiresMACAddress": false, "RequiresRequestReplay": false}, nil
	})
	route("IpamDriver.GetDefaultAddressSpaces", func(context.Context, []byte) (any, error) {
		return map[string]string{"LocalDefaultAddressSpace": addressSpace, "GlobalDefaultAddressSpace": addressSpace}, nil
	})
	route("IpamDriver.RequestPool", p.requestPool)
	route("IpamDriver.ReleasePool", empty)
	route("IpamDriver.RequestAddress", p.requestAddress)
	route("IpamDriver.ReleaseAddress", p.releaseAddress)
	// Unknown calls: 404 tells Docker "not implemented" rather than failed.
	mux.HandleFunc("/", http.NotFound)
	return mux
}

// network returns the catalog entry of an ovsnet network id.
func (p *Plugin) network(id string) (*model.Network, bool) {
	st := p.a.State()
	if st == nil {
		return nil, false
	}
	for i := range st.Catalog {
		if st.Catalog[i].ID == id {
			return &st.Catalog[i], true
		}
	}
	return nil, false
}

func (p *Plugin) networkByName(name string) (*model.Network, bool) {
	st := p.a.State()
	if st == nil {
		return nil, false
	}
	for i := range st.Catalog {
		if st.Catalog[i].Name == name {
			return &st.Catalog[i], true
		}
	}
	return nil, false
}

// waitNetwork waits, briefly, for an ovsnet network to reach this host's
// state: a network just created or registered through the controller takes
// a few milliseconds to be published here. A network the controller no
// longer has fails at once (the agent may be mirroring a network that was
// removed a moment ago).
func (p *Plugin) waitNetwork(ctx context.Context, id string) (*model.Network, error) {
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	checked := false
	for {
		if n, ok := p.network(id); ok {
			return n, nil
		}
		if !checked {
			checked = true
			if _, err := p.api.InspectNetwork(ctx, id); client.IsNotFound(err) {
				return nil, &pluginError{fmt.Sprintf("ovsnet network %s does not exist (any more)", model.ShortID(id))}
			}
		}
		select {
		case <-ctx.Done():
			return nil, &pluginError{fmt.Sprintf("ovsnet network %s is not known on host %s yet", model.ShortID(id), p.a.HostName())}
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// ovsnetID maps one of the engine's network ids to ovsnet's.
func (p *Plugin) ovsnetID(ctx context.Context, dockerID string) (string, error) {
	p.mu.Lock()
	id, ok := p.nets[dockerID]
	p.mu.Unlock()
	if ok {
		return id, nil
	}
	// Not seen yet (agent restarted): ask the engine.
	dn, err := p.engine.network(ctx, dockerID)
	if err != nil {
		return "", err
	}
	if id = dn.Options[optNetworkID]; id == "" {
		if n, ok := p.networkByName(dn.Name); ok {
			id = n.ID
		}
	}
	if id == "" {
		return "", &pluginError{fmt.Sprintf("network %s is not registered with ovsnet yet; try again in a moment", dn.Name)}
	}
	p.mu.Lock()
	p.nets[dockerID] = id
	p.mu.Unlock()
	return id, nil
}

func decodeBody(body []byte, v any) error {
	if len(body) == 0 {
		return nil
	}
	if err := json.Unmarshal(body, v); err != nil {
		return &pluginError{fmt.Sprintf("invalid request: %v", err)}
	}
	return nil
}

// apiError turns a controller error into the message Docker shows.
func apiError(err error) error {
	var ae *client.APIError
	if errors.As(err, &ae) {
		return &pluginError{ae.Message}
	}
	return err
}
