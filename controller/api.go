package controller

import (
	"crypto/subtle"
	"encoding/json"

	"fmt"
	"io"
	"net/http"
	"net/url"
	"runtime"
	"sort"
	"strings"
	"time"

	"github.com/gorilla/mux"
	"github.com/ovsnet/ovsnet/model"
)

// Handler returns the controller's HTTP API: Docker Engine API shapes for
// networks (with or without a /v1.xx prefix) and ovsnet's own resources
// under /ovsnet/v1/.
func (c *Controller) Handler() http.Handler {
	r := mux.NewRouter()
	r.NotFoundHandler = http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		writeError(w, errorf(ErrNotFound, "page not found: %s %s", req.Method, req.URL.Path))
	})
	r.MethodNotAllowedHandler = http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		writeJSON(w, http.StatusMethodNotAllowed, model.ErrorResponse{Message: fmt.Sprintf("method %s not allowed on %s", req.Method, req.URL.Path)})
	})
	docker := func(r *mux.Router) {
		r.HandleFunc("/_ping", c.ping).Methods(http.MethodGet, http.MethodHead)
		r.HandleFunc("/version", c.version).Methods(http.MethodGet)
		r.HandleFunc("/networks", c.listNetworks).Methods(http.MethodGet)
		r.HandleFunc("/networks/create", c.write(c.createNetwork)).Methods(http.MethodPost)
		r.HandleFunc("/networks/{id}", c.inspectNetwork).Methods(http.MethodGet)
		r.HandleFunc("/networks/{id}", c.write(c.removeNetwork)).Methods(http.MethodDelete)
		r.HandleFunc("/networks/{id}/connect", c.write(c.connect)).Methods(http.MethodPost)
		r.HandleFunc("/networks/{id}/disconnect", c.write(c.disconnect)).Methods(http.MethodPost)
	}
	docker(r.PathPrefix("/v{version:[0-9]+\\.[0-9]+}").Subrouter())
	docker(r)

	o := r.PathPrefix("/ovsnet/v1").Subrouter()
	o.HandleFunc("/networks", c.listModelNetworks).Methods(http.MethodGet)
	o.HandleFunc("/hosts", c.listHosts).Methods(http.MethodGet)
	o.HandleFunc("/endpoints", c.listEndpoints).Methods(http.MethodGet)
	o.HandleFunc("/endpoints/{id}", c.getEndpoint).Methods(http.MethodGet)
	r.HandleFunc("/healthz", c.healthz).Methods(http.MethodGet)
	for _, register := range routeRegistrars {
		register(c, r, o)
	}
	return r
}

// routeRegistrars add the routes of optional parts of the API (web UI,
// metrics, traces, IPAM for the Docker plugin). Each lives in its own file
// and appends itself from init. root is the whole router, ovsnet the
// /ovsnet/v1 subrouter.
var routeRegistrars []func(c *Controller, root, ovsnet *mux.Router)

// write guards a mutating handler with the auth token, when one is set.
func (c *Controller) write(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if c.token != "" {
			got := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
			if subtle.ConstantTimeCompare([]byte(got), []byte(c.token)) != 1 {
				writeJSON(w, http.StatusUnauthorized, model.ErrorResponse{Message: "this controller requires a token for changes: pass --token or set OVSNET_TOKEN"})
				return
			}
		}
		h(w, r)
	}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	if v != nil {
		_ = json.NewEncoder(w).Encode(v)
	}
}

func writeError(w http.ResponseWriter, err error) {
	writeJSON(w, statusOf(err), errorBody{Message: err.Error(), Field: errorField(err)})
}

// decode reads a JSON body of at most 1 MiB.
func decode(r *http.Request, v any) error {
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20+1))
	if err != nil {
		return errorf(ErrInvalid, "reading request body: %v", err)
	}
	if len(body) > 1<<20 {
		return errorf(ErrInvalid, "request body too large (limit 1 MiB)")
	}
	if len(strings.TrimSpace(string(body))) == 0 {
		return errorf(ErrInvalid, "request body is empty; JSON expected")
	}
	if err := json.Unmarshal(body, v); err != nil {
		return errorf(ErrInvalid, "invalid JSON body: %v", err)
	}
	return nil
}

func (c *Controller) ping(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Api-Version", model.DockerAPIVersion)
	w.Header().Set("Ostype", "linux")
	w.Header().Set("Docker-Experimental", "false")
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-cache, no-store, must-revalidate")
	if r.Method == http.MethodHead {
		w.Header().Set("Content-Length", "0")
		return
	}
	_, _ = io.WriteString(w, "OK")
}

func (c *Controller) version(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{
		"Platform":      map[string]string{"Name": "ovsnet controller"},
		"Components":    []map[string]string{{"Name": "ovsnet", "Version": Version}},
		"Version":       Version,
		"ApiVersion":    model.DockerAPIVersion,
		"MinAPIVersion": "1.12",
		"Os":            "linux",
		"Arch":          runtime.GOARCH,
		"GoVersion":     runtime.Version(),
	})
}

func (c *Controller) healthz(w http.ResponseWriter, r *http.Request) {
	if err := c.watch.healthy(); err != nil {
		writeJSON(w, http.StatusServiceUnavailable, map[string]any{"status": "degraded", "consul": err.Error(), "leader": c.IsLeader()})
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"status": "ok", "leader": c.IsLeader()})
}

// networkResource renders a network in the Engine API's shape.
func networkResource(n *model.Network, eps []model.Endpoint) model.NetworkResource {
	res := model.NetworkResource{
		Name: n.Name, ID: n.ID, Created: n.Created.Format(time.RFC3339Nano), Scope: string(n.Scope),
		Driver: string(n.Driver), EnableIPv6: n.EnableIPv6, Internal: n.Internal, Attachable: true,
		IPAM:       model.IPAM{Driver: "default", Options: map[string]string{}},
		Containers: map[string]model.EndpointResource{}, Options: map[string]string{}, Labels: map[string]string{},
	}
	cfg := model.IPAMConfig{Subnet: n.Subnet.String(), Gateway: n.Gateway.String()}
	if n.IPRange.IsValid() {
		cfg.IPRange = n.IPRange.String()
	}
	res.IPAM.Config = append(res.IPAM.Config, cfg)
	if n.EnableIPv6 {
		res.IPAM.Config = append(res.IPAM.Config, model.IPAMConfig{Subnet: n.Subnet6.String(), Gateway: n.Gateway6.String()})
	}
	for k, v := range n.Options {
		res.Options[k] = v
	}
	for k, v := range n.Labels {
		res.Labels[k] = v
	}
	for _, ep := range eps {
		er := model.EndpointResource{Name: ep.ContainerName, EndpointID: ep.ID, MacAddress: ep.MAC.String(),
			IPv4Address: ep.IPv4.String(), Host: ep.Host}
		if ep.IPv6.IsValid() {
			er.IPv6Address = ep.IPv6.String()
		}
		res.Containers[ep.ContainerID] = er
	}
	return res
}

// filters parses Docker's filters query parameter, in both of its forms
// ({"name":{"x":true}} and {"name":["x"]}).
func filters(q url.Values) (map[string][]string, error) {
	raw := q.Get("filters")
	out := map[string][]string{}
	if raw == "" {
		return out, nil
	}
	var asMap map[string]map[string]bool
	if err := json.Unmarshal([]byte(raw), &asMap); err == nil {
		for k, vs := range asMap {
			for v, on := range vs {
				if on {
					out[k] = append(out[k], v)
				}
			}
		}
		return out, nil
	}
	var asList map[string][]string
	if err := json.Unmarshal([]byte(raw), &asList); err != nil {
		return nil, errorf(ErrInvalid, "invalid filters %q: %v", raw, err)
	}
	return asList, nil
}

func matchesFilters(n *model.Network, f map[string][]string) bool {
	anyOf := func(vals []string, ok func(string) bool) bool {
		if len(vals) == 0 {
			return true
		}
		for _, v := range vals {
			if ok(v) {
				return true
			}
		}
		return false
	}
	return anyOf(f["name"], func(v string) bool { return strings.Contains(n.Name, v) }) &&
		anyOf(f["id"], func(v string) bool { return strings.HasPrefix(n.ID, v) }) &&
		anyOf(f["driver"], func(v string) bool { return string(n.Driver) == v }) &&
		anyOf(f["scope"], func(v string) bool { return string(n.Scope) == v })
}

func (c *Controller) listNetworks(w http.ResponseWriter, r *http.Request) {
	f, err := filters(r.URL.Query())
	if err != nil {
		writeError(w, err)
		return
	}
	sn, err := c.snapshot(r.Context())
	if err != nil {
		writeError(w, err)
		return
	}
	out := []model.NetworkResource{}
	for i := range sn.Networks {
		n := &sn.Networks[i]
		if matchesFilters(n, f) {
			out = append(out, networkResource(n, sn.EndpointsOf(n.ID)))
		}
	}
	writeJSON(w, http.StatusOK, out)
}

func (c *Controller) inspectNetwork(w http.ResponseWriter, r *http.Request) {
	sn, err := c.snapshot(r.Context())
	if err != nil {
		writeError(w, err)
		return
	}
	n, err := sn.Network(mux.Vars(r)["id"])
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, networkResource(n, sn.EndpointsOf(n.ID)))
}

func (c *Controller) createNetwork(w http.ResponseWriter, r *http.Request) {
	var req model.NetworkCreateRequest
	if err := decode(r, &req); err != nil {
		writeError(w, err)
		return
	}
	n, err := c.CreateNetwork(r.Context(), req)
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusCreated, model.NetworkCreateResponse{ID: n.ID})
}

func (c *Controller) removeNetwork(w http.ResponseWriter, r *http.Request) {
	if err := c.RemoveNetwork(r.Context(), mux.Vars(r)["id"]); err != nil {
		writeError(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (c *Controller) connect(w http.ResponseWriter, r *http.Request) {
	var req model.NetworkConnectRequest
	if err := decode(r, &req); err != nil {
		writeError(w, err)
		return
	}
	view, err := c.Connect(r.Context(), mux.Vars(r)["id"], req)
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, view)
}

func (c *Controller) disconnect(w http.ResponseWriter, r *http.Request) {
	var req model.NetworkDisconnectRequest
	if err := decode(r, &req); err != nil {
		writeError(w, err)
		return
	}
	if err := c.Disconnect(r.Context(), mux.Vars(r)["id"], req); err != nil {
		writeError(w, err)
		return
	}
	w.WriteHeader(http.StatusOK)
}

func (c *Controller) listModelNetworks(w http.ResponseWriter, r *http.Request) {
	sn, err := c.snapshot(r.Context())
	if err != nil {
		writeError(w, err)
		return
	}
	out := sn.Networks
	if out == nil {
		out = []model.Network{}
	}
	writeJSON(w, http.StatusOK, out)
}

func (c *Controller) listHosts(w http.ResponseWriter, r *http.Request) {
	sn, err := c.snapshot(r.Context())
	if err != nil {
		writeError(w, err)
		return
	}
	out := append([]model.Host{}, sn.Hosts...)
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	writeJSON(w, http.StatusOK, out)
}

func (c *Controller) listEndpoints(w http.ResponseWriter, r *http.Request) {
	sn, err := c.snapshot(r.Context())
	if err != nil {
		writeError(w, err)
		return
	}
	q := r.URL.Query()
	netFilter, hostFilter := q.Get("network"), q.Get("host")
	var netID string
	if netFilter != "" {
		n, err := sn.Network(netFilter)
		if err != nil {
			writeError(w, err)
			return
		}
		netID = n.ID
	}
	out := []model.EndpointView{}
	for _, ep := range sn.Endpoints {
		if (netID != "" && ep.NetworkID != netID) || (hostFilter != "" && ep.Host != hostFilter) {
			continue
		}
		out = append(out, *c.view(sn, ep))
	}
	writeJSON(w, http.StatusOK, out)
}

func (c *Controller) getEndpoint(w http.ResponseWriter, r *http.Request) {
	v, err := c.EndpointByID(r.Context(), mux.Vars(r)["id"])
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, v)
}
