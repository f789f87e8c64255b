package cni

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
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
	"time"

	"github.com/containernetworking/cni/pkg/types"
	current "github.com/containernetworking/cni/pkg/types/100"

	"github.com/ovsnet/ovsnet/client"
	"github.com/ovsnet/ovsnet/model"
)

// Agent is what the extension needs of the agent.
type Agent interface {
	// HostName is this host's name in the cluster.
	HostName() string
	// State is the current desired state, nil before any is known.
	State() *model.HostState
	// WaitReady waits until the agent has reported endpoint id ready.
	WaitReady(ctx context.Context, id string) error
	// Trigger asks for a reconcile that also looks at the local side.
	Trigger()
}

// Controller is what the extension asks of the controller
// (*client.Client).
type Controller interface {
	InspectNetwork(ctx context.Context, idOrName string) (model.NetworkResource, error)
	Connect(ctx context.Context, network string, req model.NetworkConnectRequest) (model.EndpointView, error)
	Disconnect(ctx context.Context, network string, req model.NetworkDisconnectRequest) error
	ListEndpoints(ctx context.Context, network, host string) ([]model.EndpointView, error)
}

// Namespaces is the host kernel as the extension sees it (hostnet has the
// real one).
type Namespaces interface {
	// Check says whether path is a container's network namespace: one,
	// and not the host's.
	Check(path string) error
	// Link describes interface ifname inside the namespace at path.
	Link(path, ifname string) (Link, error)
	// RemoveEndpoint deletes the veth behind an OVS port name (both ends
	// go); a missing veth is not an error.
	RemoveEndpoint(portName string) error
}

// Link is an interface inside a container.
type Link struct {
	MAC   model.HardwareAddr
	Up    bool
	MTU   int
	Addrs []netip.Prefix
	// Gateways are the next hops of the default routes through the link.
	Gateways []netip.Addr
}

// Config configures the extension.
type Config struct {
	// Socket is where the plugin finds the agent (DefaultSocket).
	Socket string
	// StateDir keeps the attachments (cni-attachments.json); "" keeps
	// them in memory only (tests).
	StateDir string
	// Timeout bounds one operation (default 2 minutes: an ADD waits for
	// the controller, which waits for the plumbing).
	Timeout time.Duration
	Logger  *slog.Logger
}

// Server is the agent extension serving the plugin.
type Server struct {
	cfg   Config
	a     Agent
	ctl   Controller
	ns    Namespaces
	log   *slog.Logger
	recs  *records
	locks keyedMutex
	// checkWait is how long CHECK gives a new endpoint to be reported
	// ready (the spec allows CHECK right after ADD).
	checkWait time.Duration
}

// New returns the extension for agent a.
func New(cfg Config, a Agent, ctl Controller, ns Namespaces) *Server {
	if cfg.Socket == "" {
		cfg.Socket = DefaultSocket
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = 2 * time.Minute
	}
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	return &Server{cfg: cfg, a: a, ctl: ctl, ns: ns, log: log.With("component", "cni"), checkWait: 3 * time.Second}
}

// Name implements ovsagent.Extension.
func (s *Server) Name() string { return "cni" }

// Load reads the attachments kept in the state dir (Run does it).
func (s *Server) Load() error {
	path := ""
	if s.cfg.StateDir != "" {
		path = filepath.Join(s.cfg.StateDir, "cni-attachments.json")
	}
	recs, err := loadRecords(path)
	var bad *badRecordsError
	if errors.As(err, &bad) {
		// A file the agent cannot read must not keep it from serving: the
		// attachments stay at the controller (DEL finds them there), only
		// GC cannot collect them. The file is kept for a person to look at.
		aside := path + ".unreadable"
		s.log.Error("CNI attachments unreadable; starting without them", "file", path, "moved_to", aside, "err", bad.err)
		if rerr := os.Rename(path, aside); rerr != nil {
			return fmt.Errorf("%w (and moving it aside: %v)", err, rerr)
		}
		recs, err = loadRecords(path)
	}
	if err != nil {
		return err
	}
	s.recs = recs
	return nil
}

// Run serves the socket until ctx ends.
func (s *Server) Run(ctx context.Context) error {
	if err := s.Load(); err != nil {
		return err
	}
	ln, err := listen(s.cfg.Socket)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: s.Handler(), ReadHeaderTimeout: 10 * time.Second, ReadTimeout: time.Minute,
		WriteTimeout: s.cfg.Timeout + time.Minute}
	go func() {
		<-ctx.Done()
		_ = srv.Close()
	}()
	s.log.Info("serving the CNI plugin", "socket", s.cfg.Socket)
	if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// listen opens the socket, 0600 (only root runs container runtimes' CNI
// plugins). A socket another process still serves is refused: two agents
// must not share one; a stale one is replaced.
func listen(path string) (net.Listener, error) {
	if !filepath.IsAbs(path) {
		return nil, fmt.Errorf("-cni-socket %q: want an absolute path", path)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("CNI socket: %w", err)
	}
	if c, err := net.DialTimeout("unix", path, time.Second); err == nil {
		c.Close()
		return nil, fmt.Errorf("CNI socket %s is served by another process (another ovsnet agent?): stop it, or give this agent another -cni-socket", path)
	}
	_ = os.Remove(path)
	ln, err := net.Listen("unix", path)
	if err != nil {
		return nil, fmt.Errorf("CNI socket: %w", err)
	}
	if err := os.Chmod(path, 0o600); err != nil {
		ln.Close()
		return nil, fmt.Errorf("CNI socket: %w", err)
	}
	return ln, nil
}

// Handler serves the plugin's requests: POST /cni/v1/{add,del,check,status,gc}.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	route := func(op string, fn func(context.Context, *Request) (any, error)) {
		mux.HandleFunc("POST /cni/v1/"+op, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			var req Request
			body, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
			if err == nil && len(body) > maxBody {
				err = fmt.Errorf("request of more than %d bytes", maxBody)
			}
			if err == nil {
				err = json.Unmarshal(body, &req)
			}
			if err != nil {
				writeError(w, &types.Error{Code: types.ErrDecodingFailure, Msg: "invalid request from the CNI plugin", Details: err.Error()})
				return
			}
			ctx, cancel := context.WithTimeout(r.Context(), s.cfg.Timeout)
			defer cancel()
			start := time.Now()
			res, err := fn(ctx, &req)
			log := s.log.With("op", op, "network", req.Network, "container", req.ContainerID, "ifname", req.IfName, "took", time.Since(start).Round(time.Millisecond))
			if err != nil {
				e := asCNIError(err, types.ErrInternal)
				log.Warn("CNI request failed", "code", e.Code, "err", e.Msg, "details", e.Details)
				writeError(w, e)
				return
			}
			log.Info("CNI request done")
			if res == nil {
				res = struct{}{}
			}
			_ = json.NewEncoder(w).Encode(res)
		})
	}
	route(OpAdd, func(ctx context.Context, r *Request) (any, error) { return s.Add(ctx, r) })
	route(OpDel, func(ctx context.Context, r *Request) (any, error) { return nil, s.Del(ctx, r) })
	route(OpCheck, func(ctx context.Context, r *Request) (any, error) { return nil, s.Check(ctx, r) })
	route(OpStatus, func(ctx context.Context, r *Request) (any, error) { return nil, s.Status(ctx, r) })
	route(OpGC, func(ctx context.Context, r *Request) (any, error) { return nil, s.GC(ctx, r) })
	return mux
}

func writeError(w http.ResponseWriter, e *types.Error) {
	w.WriteHeader(http.StatusInternalServerError)
	_ = json.NewEncoder(w).Encode(e)
}

// ---- input ----

// attachment is a request checked: what ADD, DEL and CHECK work on.
type attachment struct {
	*Request
	// id is ovsnet's container id for the runtime's container.
	id   string
	name string
	v4   netip.Addr
	v6   netip.Addr
	mac  model.HardwareAddr
}

// parse checks a request; needNetns for ADD and CHECK.
func (s *Server) parse(r *Request, needNetns bool) (*attachment, error) {
	at := &attachment{Request: r}
	if r.ContainerID == "" || !containerIDRE(r.ContainerID) {
		return nil, Errorf(types.ErrInvalidEnvironmentVariables, "CNI_CONTAINERID %q: want letters, digits, '_', '.' or '-', starting with a letter or digit", r.ContainerID)
	}
	if r.IfName == "" || len(r.IfName) > 15 || strings.ContainsAny(r.IfName, "/: \t\n") || r.IfName == "." || r.IfName == ".." {
		return nil, Errorf(types.ErrInvalidEnvironmentVariables, "CNI_IFNAME %q is not an interface name (at most 15 characters, no '/', ':' or spaces)", r.IfName)
	}
	if err := checkNetwork(r.Network); err != nil {
		return nil, err
	}
	if needNetns || r.Netns != "" {
		if r.Netns == "" {
			return nil, Errorf(types.ErrInvalidEnvironmentVariables, "CNI_NETNS is empty: the container's network namespace is required")
		}
		if err := model.CheckNetnsPath(r.Netns); err != nil {
			return nil, &types.Error{Code: types.ErrInvalidNetNS, Msg: "CNI_NETNS: " + err.Error()}
		}
	}
	at.id = s.containerID(r.ContainerID)
	at.name = r.Name
	if at.name == "" {
		switch {
		case model.IsID(r.ContainerID):
			at.name = model.ShortID(r.ContainerID)
		case model.ValidateName("container", r.ContainerID) == nil:
			at.name = r.ContainerID
		default:
			at.name = model.ShortID(at.id)
		}
	}
	if err := model.ValidateName("container", at.name); err != nil {
		return nil, Errorf(types.ErrInvalidEnvironmentVariables, "CNI_ARGS K8S_POD_NAME: %v", err)
	}
	for _, ip := range r.IPs {
		a, err := parseIP(ip)
		if err != nil {
			return nil, Errorf(types.ErrInvalidNetworkConfig, "requested address %q: %v", ip, err)
		}
		slot := &at.v4
		if a.Is6() {
			slot = &at.v6
		}
		if slot.IsValid() && *slot != a {
			return nil, Errorf(types.ErrInvalidNetworkConfig, "requested addresses %s and %s: an ovsnet endpoint has one address per IP version", *slot, a)
		}
		*slot = a
	}
	if r.MAC != "" {
		mac, err := model.ParseMAC(r.MAC)
		if err != nil {
			return nil, Errorf(types.ErrInvalidNetworkConfig, "requested MAC address: %v", err)
		}
		at.mac = mac
	}
	return at, nil
}

// checkNetwork checks the configuration's network name.
func checkNetwork(name string) error {
	if name == "" {
		return Errorf(types.ErrInvalidNetworkConfig, `no ovsnet network: set "network" (or "name") in the CNI configuration`)
	}
	if err := model.ValidateName("network", name); err != nil {
		return Errorf(types.ErrInvalidNetworkConfig, "network: %v", err)
	}
	return nil
}

func containerIDRE(id string) bool {
	for i, c := range id {
		alnum := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
		if !alnum && (i == 0 || c != '_' && c != '.' && c != '-') {
			return false
		}
	}
	return len(id) <= 256
}

// parseIP reads an address, alone or with its prefix length (runtimes
// send "10.0.0.5/24"; the prefix is the network's anyway).
func parseIP(s string) (netip.Addr, error) {
	if p, err := netip.ParsePrefix(s); err == nil {
		return p.Addr(), nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Addr{}, errors.New("not an IP address")
	}
	return a.Unmap(), nil
}

// containerID is ovsnet's id of a runtime's container: the runtime's own
// when it has ovsnet's form (Podman's, containerd's), else one derived
// from it and this host, so ids stay unique across the cluster.
func (s *Server) containerID(runtimeID string) string {
	if model.IsID(runtimeID) {
		return runtimeID
	}
	sum := sha256.Sum256([]byte("ovsnet-cni\x00" + s.a.HostName() + "\x00" + runtimeID))
	return hex.EncodeToString(sum[:])
}

// optContainerID is the connect option that sets ovsnet's container id
// (the controller's name for it comes from the Docker plugin, its first
// user).
const optContainerID = "ovsnet.docker.container-id"

// ---- the network ----

// network is what the result needs of a network.
type network struct {
	id, name string
	internal bool
	gw4, gw6 netip.Addr
}

// network looks the configuration's network up at the controller.
func (s *Server) network(ctx context.Context, ref string) (*network, error) {
	nr, err := s.ctl.InspectNetwork(ctx, ref)
	if client.IsNotFound(err) {
		return nil, &notFoundError{Errorf(types.ErrInvalidNetworkConfig,
			"ovsnet network %s does not exist: create it first (ovsnetctl network create %s)", ref, ref)}
	}
	if err != nil {
		return nil, controllerError(err, "looking up network "+ref)
	}
	n := &network{id: nr.ID, name: nr.Name, internal: nr.Internal}
	for _, c := range nr.IPAM.Config {
		if gw, err := netip.ParseAddr(c.Gateway); err == nil {
			if gw.Is4() {
				n.gw4 = gw
			} else {
				n.gw6 = gw
			}
		}
	}
	return n, nil
}

// notFoundError marks a network the controller does not have.
type notFoundError struct{ err *types.Error }

func (e *notFoundError) Error() string { return e.err.Error() }
func (e *notFoundError) Unwrap() error { return e.err }

// controllerError turns the controller's answer into a CNI error whose
// message is the controller's own explanation.
func controllerError(err error, doing string) error {
	var ae *client.APIError
	if !errors.As(err, &ae) {
		return &types.Error{Code: types.ErrTryAgainLater, Msg: "the ovsnet controller does not answer (" + doing + "); try again when it is back", Details: err.Error()}
	}
	code := ErrRefused
	switch ae.StatusCode {
	case http.StatusNotFound:
		code = types.ErrInvalidNetworkConfig
	case http.StatusForbidden:
		code = ErrAttached
	case http.StatusServiceUnavailable, http.StatusGatewayTimeout, http.StatusBadGateway, http.StatusTooManyRequests:
		code = types.ErrTryAgainLater
	case http.StatusUnauthorized:
		return &types.Error{Code: ErrRefused, Msg: "the ovsnet controller refused the agent's token (" + doing + "): check the agent's -token-file", Details: ae.Message}
	}
	return &types.Error{Code: code, Msg: ae.Message}
}

// endpoint finds the container's endpoint with this interface on n: by the
// record, else in the controller's listing (an ADD cut short, a record
// lost).
func (s *Server) endpoint(ctx context.Context, n *network, at *attachment) (*model.EndpointView, error) {
	eps, err := s.ctl.ListEndpoints(ctx, n.id, s.a.HostName())
	if err != nil {
		if client.IsNotFound(err) {
			return nil, nil
		}
		return nil, controllerError(err, "listing the endpoints of network "+n.name)
	}
	rec, hasRec := s.recs.get(attachmentKey(n.id, at.ContainerID, at.IfName))
	for i := range eps {
		ep := &eps[i]
		if hasRec && rec.EndpointID != "" && ep.ID == rec.EndpointID {
			return ep, nil
		}
		if ep.ContainerID == at.id && ep.IfName == at.IfName {
			return ep, nil
		}
	}
	return nil, nil
}

// ---- operations ----

// Add attaches the container's namespace to the network.
func (s *Server) Add(ctx context.Context, r *Request) (*current.Result, error) {
	at, err := s.parse(r, true)
	if err != nil {
		return nil, err
	}
	if err := s.ns.Check(r.Netns); err != nil {
		return nil, &types.Error{Code: types.ErrInvalidNetNS, Msg: "CNI_NETNS: " + err.Error()}
	}
	defer s.locks.lock(r.ContainerID + "/" + r.IfName)()
	n, err := s.network(ctx, r.Network)
	if err != nil {
		return nil, err
	}
	existing, err := s.endpoint(ctx, n, at)
	if err != nil {
		return nil, err
	}
	if existing != nil {
		// The spec: an interface of that name must not exist already.
		// Nothing changes; the runtime DELs it first.
		return nil, Errorf(ErrAttached, "container %s already has interface %s on ovsnet network %s (address %s, netns %s): DEL it first",
			at.name, r.IfName, n.name, existing.IPv4.Addr(), existing.Netns)
	}
	rec := record{ContainerID: r.ContainerID, IfName: r.IfName, NetworkID: n.id, Network: n.name, Netns: r.Netns, Created: time.Now().UTC()}
	if err := s.recs.put(rec); err != nil {
		return nil, &types.Error{Code: types.ErrIOFailure, Msg: "recording the attachment", Details: err.Error()}
	}
	settings := &model.EndpointSettings{
		Aliases: r.Aliases,
		DriverOpts: map[string]string{
			model.OptEndpointHost: s.a.HostName(), model.OptEndpointNetns: r.Netns, model.OptEndpointIfName: r.IfName,
			optContainerID: at.id,
		},
	}
	if at.mac != nil {
		settings.MacAddress = at.mac.String()
	}
	if at.v4.IsValid() || at.v6.IsValid() {
		settings.IPAMConfig = &model.EndpointIPAMConfig{}
		if at.v4.IsValid() {
			settings.IPAMConfig.IPv4Address = at.v4.String()
		}
		if at.v6.IsValid() {
			settings.IPAMConfig.IPv6Address = at.v6.String()
		}
	}
	// The controller allocates the addresses, stores the endpoint and
	// waits until this agent has plumbed it; on any failure it removes
	// the endpoint again, so nothing is left half made.
	view, err := s.ctl.Connect(ctx, n.id, model.NetworkConnectRequest{Container: at.name, EndpointConfig: settings})
	if err != nil {
		if rerr := s.recs.remove(rec.key()); rerr != nil {
			s.log.Error("forgetting a failed attachment", "err", rerr)
		}
		return nil, controllerError(err, "connecting the container")
	}
	rec.EndpointID = view.ID
	if err := s.recs.put(rec); err != nil {
		s.log.Error("recording an attachment", "endpoint", model.ShortID(view.ID), "err", err)
	}
	link, err := s.ns.Link(r.Netns, r.IfName)
	if err != nil {
		// Plumbed a moment ago; the result then says what was asked for.
		s.log.Warn("reading back a new endpoint's interface", "endpoint", model.ShortID(view.ID), "err", err)
		link = Link{MAC: view.MAC}
		if !n.internal && n.gw4.IsValid() {
			link.Gateways = []netip.Addr{n.gw4}
		}
	}
	return buildResult(&view.Endpoint, n, link), nil
}

// buildResult is ADD's answer: the container's interface, its addresses
// with the network's gateway, the default routes that go through it and
// the resolver (the agent answers DNS at the gateway address, internal
// networks included).
func buildResult(ep *model.Endpoint, n *network, link Link) *current.Result {
	r := &current.Result{
		CNIVersion: current.ImplementedSpecVersion,
		Interfaces: []*current.Interface{{Name: ep.IfName, Mac: ep.MAC.String(), Mtu: link.MTU, Sandbox: ep.Netns}},
	}
	add := func(p netip.Prefix, gw netip.Addr) {
		ipc := &current.IPConfig{Interface: current.Int(0), Address: *prefixNet(p)}
		if gw.IsValid() && !n.internal {
			ipc.Gateway = net.IP(gw.AsSlice())
		}
		r.IPs = append(r.IPs, ipc)
	}
	add(ep.IPv4, n.gw4)
	if ep.IPv6.IsValid() {
		add(ep.IPv6, n.gw6)
	}
	for _, gw := range link.Gateways {
		dst := netip.PrefixFrom(netip.IPv4Unspecified(), 0)
		if gw.Is6() {
			dst = netip.PrefixFrom(netip.IPv6Unspecified(), 0)
		}
		r.Routes = append(r.Routes, &types.Route{Dst: *prefixNet(dst), GW: net.IP(gw.AsSlice())})
	}
	for _, gw := range []netip.Addr{n.gw4, n.gw6} {
		if gw.IsValid() && (gw.Is4() || ep.IPv6.IsValid()) {
			r.DNS.Nameservers = append(r.DNS.Nameservers, gw.String())
		}
	}
	if len(r.DNS.Nameservers) > 0 {
		r.DNS.Options = []string{"ndots:0"}
	}
	return r
}

func prefixNet(p netip.Prefix) *net.IPNet {
	return &net.IPNet{IP: net.IP(p.Addr().AsSlice()), Mask: net.CIDRMask(p.Bits(), p.Addr().BitLen())}
}

// Del detaches the container: the endpoint goes, its addresses are free
// again. Whatever is already gone is no error.
func (s *Server) Del(ctx context.Context, r *Request) error {
	at, err := s.parse(r, false)
	if err != nil {
		return err
	}
	defer s.locks.lock(r.ContainerID + "/" + r.IfName)()
	n, err := s.network(ctx, r.Network)
	var nf *notFoundError
	if errors.As(err, &nf) {
		// The network is gone, and its endpoints with it.
		for _, rec := range s.recs.matching(func(rec record) bool {
			return rec.Network == r.Network && rec.ContainerID == r.ContainerID && rec.IfName == r.IfName
		}) {
			s.forget(rec)
		}
		return nil
	}
	if err != nil {
		return err
	}
	ep, err := s.endpoint(ctx, n, at)
	if err != nil {
		return err
	}
	if ep != nil {
		if err := s.detach(ctx, n, &ep.Endpoint); err != nil {
			return err
		}
	}
	if err := s.recs.remove(attachmentKey(n.id, r.ContainerID, r.IfName)); err != nil {
		return &types.Error{Code: types.ErrIOFailure, Msg: "forgetting the attachment", Details: err.Error()}
	}
	return nil
}

// detach removes an endpoint at the controller and its veth here at once
// (the reconciler would too, a moment later; the runtime may reuse the
// interface name as soon as DEL returns).
func (s *Server) detach(ctx context.Context, n *network, ep *model.Endpoint) error {
	err := s.ctl.Disconnect(ctx, n.id, model.NetworkDisconnectRequest{Container: ep.ID, Force: true})
	if err != nil && !client.IsNotFound(err) {
		return controllerError(err, "disconnecting the container")
	}
	if err := s.ns.RemoveEndpoint(ep.PortName()); err != nil {
		s.log.Warn("removing a detached endpoint's veth", "endpoint", model.ShortID(ep.ID), "err", err)
	}
	s.a.Trigger()
	return nil
}

// forget drops the record of an attachment whose network is gone, with
// its veth if one is left.
func (s *Server) forget(rec record) {
	if model.IsID(rec.EndpointID) {
		ep := model.Endpoint{ID: rec.EndpointID}
		if err := s.ns.RemoveEndpoint(ep.PortName()); err != nil {
			s.log.Warn("removing the veth of an endpoint whose network is gone", "endpoint", model.ShortID(rec.EndpointID), "err", err)
		}
	}
	if err := s.recs.remove(rec.key()); err != nil {
		s.log.Error("forgetting an attachment", "err", err)
	}
}

// Check compares the attachment with what ADD made and the runtime
// recorded (prevResult): the endpoint, its status on this host, the
// interface in the container and its addresses. Every difference found is
// reported at once.
func (s *Server) Check(ctx context.Context, r *Request) error {
	at, err := s.parse(r, true)
	if err != nil {
		return err
	}
	defer s.locks.lock(r.ContainerID + "/" + r.IfName)()
	n, err := s.network(ctx, r.Network)
	var nf *notFoundError
	if errors.As(err, &nf) {
		return Errorf(ErrDrift, "ovsnet network %s no longer exists", r.Network)
	}
	if err != nil {
		return err
	}
	ep, err := s.endpoint(ctx, n, at)
	if err != nil {
		return err
	}
	if ep == nil {
		return Errorf(ErrDrift, "container %s has no endpoint with interface %s on ovsnet network %s any more (removed outside the runtime?)", at.name, r.IfName, n.name)
	}
	var drift []string
	if ep.Netns != r.Netns {
		drift = append(drift, fmt.Sprintf("the endpoint is plumbed into %s, not %s", ep.Netns, r.Netns))
	}
	wctx, cancel := context.WithTimeout(ctx, s.checkWait)
	err = s.a.WaitReady(wctx, ep.ID)
	cancel()
	if err != nil {
		drift = append(drift, fmt.Sprintf("host %s does not report endpoint %s ready: %v", s.a.HostName(), model.ShortID(ep.ID), err))
	}
	link, err := s.ns.Link(r.Netns, r.IfName)
	if err != nil {
		drift = append(drift, fmt.Sprintf("interface %s: %v", r.IfName, err))
	} else {
		drift = append(drift, compareLink(&ep.Endpoint, link)...)
	}
	drift = append(drift, comparePrev(&ep.Endpoint, r.PrevResult)...)
	if len(drift) > 0 {
		return &types.Error{Code: ErrDrift, Msg: fmt.Sprintf("container %s on ovsnet network %s is not as ADD left it: %s", at.name, n.name, strings.Join(drift, "; "))}
	}
	return nil
}

// compareLink lists how the interface differs from the endpoint.
func compareLink(ep *model.Endpoint, l Link) []string {
	var out []string
	if l.MAC.String() != ep.MAC.String() {
		out = append(out, fmt.Sprintf("%s has MAC %s, ovsnet gave it %s", ep.IfName, l.MAC, ep.MAC))
	}
	if !l.Up {
		out = append(out, ep.IfName+" is down")
	}
	for _, want := range []netip.Prefix{ep.IPv4, ep.IPv6} {
		if !want.IsValid() {
			continue
		}
		found := false
		for _, a := range l.Addrs {
			if a == want {
				found = true
			}
		}
		if !found {
			out = append(out, fmt.Sprintf("%s lacks its address %s", ep.IfName, want))
		}
	}
	return out
}

// comparePrev lists how the runtime's record of the ADD differs from the
// endpoint ovsnet holds.
func comparePrev(ep *model.Endpoint, prev *current.Result) []string {
	if prev == nil {
		return nil
	}
	var out []string
	idx := -1
	for i, itf := range prev.Interfaces {
		if itf != nil && itf.Name == ep.IfName && (itf.Sandbox != "" || idx < 0) {
			idx = i
		}
	}
	if idx < 0 {
		return []string{fmt.Sprintf("the runtime's result has no interface %s", ep.IfName)}
	}
	if m := prev.Interfaces[idx].Mac; m != "" && !strings.EqualFold(m, ep.MAC.String()) {
		out = append(out, fmt.Sprintf("the runtime's result gives %s MAC %s, ovsnet holds %s", ep.IfName, m, ep.MAC))
	}
	for _, ipc := range prev.IPs {
		if ipc == nil || ipc.Interface == nil || *ipc.Interface != idx {
			continue
		}
		a, ok := netip.AddrFromSlice(ipc.Address.IP)
		if !ok {
			continue
		}
		a = a.Unmap()
		if a != ep.IPv4.Addr() && (!ep.IPv6.IsValid() || a != ep.IPv6.Addr()) {
			out = append(out, fmt.Sprintf("the runtime's result gives %s address %s, ovsnet holds %s for it", ep.IfName, a, ep.IPv4.Addr()))
		}
	}
	return out
}

// Status says whether an ADD on the network can succeed now.
func (s *Server) Status(ctx context.Context, r *Request) error {
	if err := checkNetwork(r.Network); err != nil {
		return err
	}
	if s.a.State() == nil {
		return Errorf(ErrNotAvailable, "the ovsnet agent on host %s has no state from the cluster yet (is Consul reachable?)", s.a.HostName())
	}
	_, err := s.network(ctx, r.Network)
	if err == nil {
		return nil
	}
	e := asCNIError(err, ErrNotAvailable)
	// Running containers keep their connectivity without the controller.
	return &types.Error{Code: ErrNotAvailable, Msg: e.Msg, Details: e.Details}
}

// GC removes the attachments to the network this host's runtime no longer
// has (Valid lists those it has). It goes on past errors and reports them
// together.
func (s *Server) GC(ctx context.Context, r *Request) error {
	if err := checkNetwork(r.Network); err != nil {
		return err
	}
	valid := map[string]bool{}
	for _, v := range r.Valid {
		valid[v.ContainerID+"/"+v.IfName] = true
	}
	n, err := s.network(ctx, r.Network)
	var nf *notFoundError
	gone := errors.As(err, &nf)
	if err != nil && !gone {
		return err
	}
	stale := s.recs.matching(func(rec record) bool {
		if valid[rec.ContainerID+"/"+rec.IfName] {
			return false
		}
		if gone {
			return rec.Network == r.Network
		}
		return rec.NetworkID == n.id
	})
	var failed []string
	for _, rec := range stale {
		if err := s.collect(ctx, n, rec); err != nil {
			failed = append(failed, fmt.Sprintf("%s/%s: %v", rec.ContainerID, rec.IfName, err))
		}
	}
	if len(stale) > 0 {
		s.log.Info("CNI garbage collection", "network", r.Network, "removed", len(stale)-len(failed), "failed", len(failed))
	}
	if len(failed) > 0 {
		return &types.Error{Code: types.ErrTryAgainLater, Msg: fmt.Sprintf("%d of %d stale attachments could not be removed", len(failed), len(stale)), Details: strings.Join(failed, "; ")}
	}
	return nil
}

// collect removes one stale attachment (n nil: its network is gone).
func (s *Server) collect(ctx context.Context, n *network, rec record) error {
	defer s.locks.lock(rec.ContainerID + "/" + rec.IfName)()
	if n == nil {
		s.forget(rec)
		return nil
	}
	at := &attachment{Request: &Request{ContainerID: rec.ContainerID, IfName: rec.IfName}, id: s.containerID(rec.ContainerID)}
	ep, err := s.endpoint(ctx, n, at)
	if err != nil {
		return err
	}
	if ep != nil {
		if err := s.detach(ctx, n, &ep.Endpoint); err != nil {
			return err
		}
	}
	return s.recs.remove(rec.key())
}
