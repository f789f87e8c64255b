package cni

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
	"time"

	"github.com/containernetworking/cni/pkg/types"

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
	UpdateEndpoint(ctx context.Context, id string, u model.EndpointUpdate) (model.EndpointView, error)
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
