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
	"strings"
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

// ---- IPAM ----

func (p *Plugin) requestPool(ctx context.Context, body []byte) (any, error) {
	var req struct {
		AddressSpace string
		Pool         string
		SubPool      string
		Options      map[string]string
		V6           bool
	}
	if err := decodeBody(body, &req); err != nil {
		return nil, err
	}
	family := "v4"
	if req.V6 {
		family = "v6"
	}
	if id := req.Options[optNetworkID]; id != "" {
		n, err := p.waitNetwork(ctx, id)
		if err != nil {
			return nil, err
		}
		pool := n.Subnet
		if req.V6 {
			pool = n.Subnet6
		}
		if req.Pool != "" && req.Pool != pool.String() {
			return nil, &pluginError{fmt.Sprintf("network %s has subnet %s, not %s", n.Name, pool, req.Pool)}
		}
		return map[string]any{"PoolID": "ovsnet:" + id + ":" + family, "Pool": pool.String(), "Data": map[string]string{}}, nil
	}
	// A network a user creates in this engine: ovsnet allocates its pool
	// now and registers the network under its name right after.
	pool := req.Pool
	if pool == "" {
		if req.V6 {
			pool = model.DefaultSubnet6(newRandomID()).String()
		} else {
			pfx, err := p.api.NextPool(ctx, model.DriverOverlay, p.pendingPools()...)
			if err != nil {
				return nil, apiError(err)
			}
			pool = pfx.String()
		}
	}
	if _, err := netip.ParsePrefix(pool); err != nil {
		return nil, &pluginError{fmt.Sprintf("invalid pool %q", pool)}
	}
	id := pendingPoolID(family, pool, req.SubPool)
	return map[string]any{"PoolID": id, "Pool": pool, "Data": map[string]string{}}, nil
}

// Pool ids: "ovsnet:<network id>:v4|v6" for a network ovsnet knows, and
// "pending:v4|v6:<pool>[;<sub-pool>]" for one a user is creating in Docker.
// pendingPools are the IPv4 pools of networks created in this engine and
// not registered with the controller yet: the next default pool must not be
// one of them (`docker network create --subnet 10.0.1.0/24 a; docker
// network create b` in quick succession).
func (p *Plugin) pendingPools() []netip.Prefix {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []netip.Prefix
	for _, pn := range p.pending {
		if pfx, err := netip.ParsePrefix(pn.v4.Pool); err == nil {
			out = append(out, pfx)
		}
	}
	return out
}

func pendingPoolID(family, pool, subPool string) string {
	id := "pending:" + family + ":" + pool
	if subPool != "" {
		id += ";" + subPool
	}
	return id
}

// poolNetwork resolves a pool id to the ovsnet network and the pool.
func (p *Plugin) poolNetwork(ctx context.Context, poolID string) (string, bool, error) {
	parts := strings.SplitN(poolID, ":", 3)
	switch {
	case len(parts) == 3 && parts[0] == "ovsnet":
		return parts[1], parts[2] == "v6", nil
	case len(parts) == 3 && parts[0] == "pending":
		for {
			p.mu.Lock()
			id, ok := p.pools[poolID]
			p.mu.Unlock()
			if ok {
				return id, parts[1] == "v6", nil
			}
			p.trigger()
			select {
			case <-ctx.Done():
				return "", false, &pluginError{"the network is still being registered with ovsnet; try again in a moment"}
			case <-time.After(20 * time.Millisecond):
			}
		}
	}
	return "", false, &pluginError{fmt.Sprintf("unknown pool %q", poolID)}
}

func (p *Plugin) requestAddress(ctx context.Context, body []byte) (any, error) {
	var req struct {
		PoolID  string
		Address string
		Options map[string]string
	}
	if err := decodeBody(body, &req); err != nil {
		return nil, err
	}
	if req.Options[optAddrType] == gatewayType {
		return p.gatewayAddress(ctx, req.PoolID, req.Address)
	}
	id, v6, err := p.poolNetwork(ctx, req.PoolID)
	if err != nil {
		return nil, err
	}
	addr, err := p.api.Reserve(ctx, id, model.ReserveRequest{Address: req.Address, IPv6: v6, Host: p.a.HostName()})
	if err != nil {
		return nil, apiError(err)
	}
	return map[string]any{"Address": addr.String(), "Data": map[string]string{}}, nil
}

// gatewayAddress answers Docker's request for the network's gateway.
func (p *Plugin) gatewayAddress(ctx context.Context, poolID, preferred string) (any, error) {
	parts := strings.SplitN(poolID, ":", 3)
	if len(parts) == 3 && parts[0] == "pending" {
		cidr, _, _ := strings.Cut(parts[2], ";")
		pool, err := netip.ParsePrefix(cidr)
		if err != nil {
			return nil, &pluginError{fmt.Sprintf("unknown pool %q", poolID)}
		}
		gw := model.FirstHost(pool)
		if preferred != "" {
			if gw, err = netip.ParseAddr(preferred); err != nil || !pool.Contains(gw) {
				return nil, &pluginError{fmt.Sprintf("gateway %s is not in subnet %s", preferred, pool)}
			}
		}
		return map[string]any{"Address": netip.PrefixFrom(gw, pool.Bits()).String()}, nil
	}
	id, v6, err := p.poolNetwork(ctx, poolID)
	if err != nil {
		return nil, err
	}
	n, err := p.waitNetwork(ctx, id)
	if err != nil {
		return nil, err
	}
	gw := netip.PrefixFrom(n.Gateway, n.Subnet.Bits())
	if v6 {
		gw = netip.PrefixFrom(n.Gateway6, n.Subnet6.Bits())
	}
	return map[string]any{"Address": gw.String()}, nil
}

func (p *Plugin) releaseAddress(ctx context.Context, body []byte) (any, error) {
	var req struct{ PoolID, Address string }
	if err := decodeBody(body, &req); err != nil {
		return nil, err
	}
	if strings.HasPrefix(req.PoolID, "pending:") {
		return nil, nil // a gateway of a network that was never registered
	}
	id, _, err := p.poolNetwork(ctx, req.PoolID)
	if err != nil {
		return nil, nil // unknown: nothing to release
	}
	a, err := netip.ParseAddr(req.Address)
	if err != nil {
		return nil, nil
	}
	if err := p.api.Release(ctx, id, a); err != nil && !client.IsNotFound(err) {
		return nil, apiError(err)
	}
	return nil, nil
}

// ---- networks ----

func (p *Plugin) createNetwork(ctx context.Context, body []byte) (any, error) {
	var req struct {
		NetworkID string
		Options   map[string]json.RawMessage
		IPv4Data  []ipamData
		IPv6Data  []ipamData
	}
	if err := decodeBody(body, &req); err != nil {
		return nil, err
	}
	for _, d := range append(req.IPv4Data, req.IPv6Data...) {
		if d.AddressSpace != addressSpace {
			return nil, &pluginError{"ovsnet networks take their addresses from ovsnet: create the network with --ipam-driver ovsnet"}
		}
	}
	generic := map[string]string{}
	if raw, ok := req.Options[optGeneric]; ok {
		var g map[string]any
		_ = json.Unmarshal(raw, &g)
		for k, v := range g {
			generic[k] = fmt.Sprint(v)
		}
	}
	if _, ok := generic[model.OptEncrypted]; ok {
		return nil, &pluginError{model.EncryptionRefused}
	}
	if id := generic[optNetworkID]; id != "" {
		p.mu.Lock()
		p.nets[req.NetworkID] = id
		p.saveBindings()
		p.mu.Unlock()
		return nil, nil
	}
	pn := pendingNetwork{options: generic, created: time.Now()}
	if len(req.IPv4Data) > 0 {
		pn.v4 = req.IPv4Data[0]
	}
	if len(req.IPv6Data) > 0 {
		pn.v6, pn.ipv6 = req.IPv6Data[0], true
	}
	_ = json.Unmarshal(req.Options[optInternal], &pn.internal)
	p.mu.Lock()
	p.pending[req.NetworkID] = pn
	p.mu.Unlock()
	p.trigger() // registers it as soon as the engine has committed it
	return nil, nil
}

func (p *Plugin) deleteNetwork(ctx context.Context, body []byte) (any, error) {
	var req struct{ NetworkID string }
	if err := decodeBody(body, &req); err != nil {
		return nil, err
	}
	p.mu.Lock()
	id, known := p.nets[req.NetworkID]
	delete(p.pending, req.NetworkID)
	agentInitiated := p.removing[id]
	p.mu.Unlock()
	if !known || agentInitiated {
		return nil, nil
	}
	if _, inCluster := p.network(id); !inCluster {
		return nil, nil
	}
	// `docker network rm` on this host removes the network cluster-wide;
	// the controller refuses while any host has containers on it.
	if err := p.api.RemoveNetwork(ctx, id); err != nil && !client.IsNotFound(err) {
		return nil, apiError(err)
	}
	p.mu.Lock()
	delete(p.nets, req.NetworkID)
	p.saveBindings()
	p.mu.Unlock()
	p.log.Info("network removed from the cluster through Docker", "network", id)
	return nil, nil
}

// ---- endpoints ----

func (p *Plugin) createEndpoint(ctx context.Context, body []byte) (any, error) {
	var req struct {
		NetworkID  string
		EndpointID string
		Options    map[string]json.RawMessage
		Interface  *struct{ Address, AddressIPv6, MacAddress string }
	}
	if err := decodeBody(body, &req); err != nil {
		return nil, err
	}
	id, err := p.ovsnetID(ctx, req.NetworkID)
	if err != nil {
		return nil, err
	}
	if req.Interface == nil || req.Interface.Address == "" {
		return nil, &pluginError{"no address from ovsnet's IPAM: create the network with --ipam-driver ovsnet"}
	}
	v4, err := netip.ParsePrefix(req.Interface.Address)
	if err != nil {
		return nil, &pluginError{fmt.Sprintf("invalid address %q", req.Interface.Address)}
	}
	mac := req.Interface.MacAddress
	if mac == "" {
		mac = model.MACFromIPv4(v4.Addr()).String()
	}
	ipam := &model.EndpointIPAMConfig{IPv4Address: v4.Addr().String()}
	if req.Interface.AddressIPv6 != "" {
		v6, err := netip.ParsePrefix(req.Interface.AddressIPv6)
		if err != nil {
			return nil, &pluginError{fmt.Sprintf("invalid address %q", req.Interface.AddressIPv6)}
		}
		ipam.IPv6Address = v6.Addr().String()
	}
	_, err = p.api.Connect(ctx, id, model.NetworkConnectRequest{
		Container: placeholderPrefix + model.ShortID(req.EndpointID),
		EndpointConfig: &model.EndpointSettings{
			EndpointID: req.EndpointID, MacAddress: mac, IPAMConfig: ipam,
			DriverOpts: map[string]string{model.OptEndpointHost: p.a.HostName(), "ovsnet.docker": "true",
				"ovsnet.docker.container-id": req.EndpointID, "ovsnet.reserved": "true"},
		},
	})
	if err != nil {
		return nil, apiError(err)
	}
	if req.Interface.MacAddress == "" {
		return map[string]any{"Interface": map[string]string{"MacAddress": mac}}, nil
	}
	return nil, nil
}

func (p *Plugin) deleteEndpoint(ctx context.Context, body []byte) (any, error) {
	var req struct{ NetworkID, EndpointID string }
	if err := decodeBody(body, &req); err != nil {
		return nil, err
	}
	id, err := p.ovsnetID(ctx, req.NetworkID)
	if err != nil {
		return nil, nil // unknown network: nothing of ours to delete
	}
	if err := p.api.Disconnect(ctx, id, model.NetworkDisconnectRequest{Container: req.EndpointID, Force: true}); err != nil && !client.IsNotFound(err) {
		return nil, apiError(err)
	}
	return nil, nil
}

// endpoint finds a Docker endpoint in the host's state, waiting (bounded)
// for the state that includes it.
func (p *Plugin) endpoint(ctx context.Context, id string) (*model.Endpoint, *model.Network, error) {
	for {
		if st := p.a.State(); st != nil {
			for i := range st.Endpoints {
				if ep := &st.Endpoints[i]; ep.ID == id && ep.Host == p.a.HostName() {
					for j := range st.Networks {
						if st.Networks[j].ID == ep.NetworkID {
							return ep, &st.Networks[j], nil
						}
					}
				}
			}
		}
		select {
		case <-ctx.Done():
			return nil, nil, &pluginError{fmt.Sprintf("endpoint %s has not reached host %s", model.ShortID(id), p.a.HostName())}
		case <-time.After(5 * time.Millisecond):
		}
	}
}

func (p *Plugin) join(ctx context.Context, body []byte) (any, error) {
	var req struct{ NetworkID, EndpointID, SandboxKey string }
	if err := decodeBody(body, &req); err != nil {
		return nil, err
	}
	ep, n, err := p.endpoint(ctx, req.EndpointID)
	if err != nil {
		return nil, err
	}
	peer, err := p.pl.EnsureDockerVeth(ep, n.EndpointMTU(p.cfg.UnderlayMTU))
	if err != nil {
		return nil, err
	}
	// Answer once the port and its flows are in place, so the container's
	// first packet already finds its way.
	p.a.Trigger()
	if err := p.a.WaitReady(ctx, ep.ID); err != nil {
		return nil, &pluginError{fmt.Sprintf("endpoint %s is not ready on host %s: %v", model.ShortID(ep.ID), p.a.HostName(), err)}
	}
	// And until the other hosts of the network know it, so that answers to
	// the container's first packets find their way back.
	if err := p.api.WaitReachable(ctx, ep.ID, 3*time.Second); err != nil {
		p.log.Warn("endpoint ready here, not yet everywhere", "endpoint", model.ShortID(ep.ID), "err", err)
	}
	res := map[string]any{"InterfaceName": map[string]string{"SrcName": peer, "DstPrefix": "eth"}}
	if n.HasGateway() {
		res["Gateway"] = n.Gateway.String()
		if ep.IPv6.IsValid() && n.Gateway6.IsValid() {
			res["GatewayIPv6"] = n.Gateway6.String()
		}
	} else if routes := p.resolverRoutes(ep, n); len(routes) > 0 {
		res["StaticRoutes"] = routes
	}
	return res, nil
}

func (p *Plugin) leave(ctx context.Context, body []byte) (any, error) {
	var req struct{ NetworkID, EndpointID string }
	if err := decodeBody(body, &req); err != nil {
		return nil, err
	}
	if model.IsID(req.EndpointID) {
		ep := model.Endpoint{ID: req.EndpointID}
		if err := p.pl.RemoveEndpoint(ep.PortName()); err != nil {
			p.log.Warn("removing a left endpoint's veth", "endpoint", model.ShortID(req.EndpointID), "err", err)
		}
		p.a.Trigger()
	}
	return nil, nil
}

// portMap is one entry of Docker's com.docker.network.portmap option.
type portMap struct {
	Proto       int    `json:"Proto"` // 6 tcp, 17 udp
	IP          string `json:"IP"`
	Port        uint16 `json:"Port"`
	HostIP      string `json:"HostIP"`
	HostPort    uint16 `json:"HostPort"`
	HostPortEnd uint16 `json:"HostPortEnd"`
}

func (p *Plugin) programExternal(ctx context.Context, body []byte) (any, error) {
	var req struct {
		NetworkID, EndpointID string
		Options               map[string]json.RawMessage
	}
	if err := decodeBody(body, &req); err != nil {
		return nil, err
	}
	var maps []portMap
	if raw, ok := req.Options[optPortMap]; ok {
		if err := json.Unmarshal(raw, &maps); err != nil {
			return nil, &pluginError{fmt.Sprintf("invalid port map: %v", err)}
		}
	}
	published := []model.PortMapping{}
	for _, m := range maps {
		proto := map[int]string{6: "tcp", 17: "udp"}[m.Proto]
		if proto == "" {
			return nil, &pluginError{fmt.Sprintf("protocol %d cannot be published", m.Proto)}
		}
		if m.HostPort == 0 {
			return nil, &pluginError{fmt.Sprintf("publishing %s/%d needs an explicit host port (-p HOSTPORT:%d)", proto, m.Port, m.Port)}
		}
		if m.HostPortEnd > m.HostPort {
			return nil, &pluginError{"host port ranges are not supported"}
		}
		published = append(published, model.PortMapping{Proto: proto, Port: m.Port, HostPort: m.HostPort})
	}
	if len(published) == 0 {
		return nil, nil
	}
	if _, err := p.api.UpdateEndpoint(ctx, req.EndpointID, model.EndpointUpdate{Published: &published}); err != nil {
		return nil, apiError(err)
	}
	return nil, nil
}

func (p *Plugin) revokeExternal(ctx context.Context, body []byte) (any, error) {
	var req struct{ NetworkID, EndpointID string }
	if err := decodeBody(body, &req); err != nil {
		return nil, err
	}
	none := []model.PortMapping{}
	if _, err := p.api.UpdateEndpoint(ctx, req.EndpointID, model.EndpointUpdate{Published: &none}); err != nil && !client.IsNotFound(err) {
		return nil, apiError(err)
	}
	return nil, nil
}

func newRandomID() string { return fmt.Sprintf("%d-%d", time.Now().UnixNano(), os.Getpid()) }
