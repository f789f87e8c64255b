package controller

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"runtime"
	"strings"
	"time"

	"github.com/gorilla/mux"

	"github.com/ovsnet/ovsnet/internal/store"
	"github.com/ovsnet/ovsnet/model"
)

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

// maxBody bounds request bodies; maxBackup a restore's.
const (
	maxBody   = 1 << 20
	maxBackup = 256 << 20
)

// decode reads a JSON body of at most 1 MiB.
func decode(r *http.Request, v any) error { return decodeLimit(r, v, maxBody) }

// decodeLimit reads a JSON body of at most limit bytes.
func decodeLimit(r *http.Request, v any, limit int64) error {
	body, err := io.ReadAll(io.LimitReader(r.Body, limit+1))
	if err != nil {
		return errorf(ErrInvalid, "reading request body: %v", err)
	}
	if int64(len(body)) > limit {
		return errorf(ErrInvalid, "request body too large (limit %d MiB)", limit>>20)
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
	if err := c.healthy(); err != nil {
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
	out := []model.NetworkResource{}
	err = c.read(func(s *state) error {
		for _, n := range s.sortedNetworks() {
			if matchesFilters(&n, f) {
				out = append(out, networkResource(&n, s.endpointsOf(n.ID)))
			}
		}
		return nil
	})
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, out)
}

func (c *Controller) inspectNetwork(w http.ResponseWriter, r *http.Request) {
	var res model.NetworkResource
	err := c.read(func(s *state) error {
		ns, err := s.network(mux.Vars(r)["id"])
		if err != nil {
			return err
		}
		res = networkResource(&ns.Value, s.endpointsOf(ns.Value.ID))
		return nil
	})
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, res)
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
	var out []model.Network
	if err := c.read(func(s *state) error { out = s.sortedNetworks(); return nil }); err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, out)
}

func (c *Controller) listHosts(w http.ResponseWriter, r *http.Request) {
	var out []model.Host
	if err := c.read(func(s *state) error { out = s.sortedHosts(); return nil }); err != nil {
		writeError(w, err)
		return
	}
	for i := range out {
		c.liveness(&out[i])
	}
	if err := c.addHostStats(r.Context(), out); err != nil {
		c.log.Warn("host list without the agents' reports", "err", err)
	}
	writeJSON(w, http.StatusOK, out)
}

// listEndpoints lists endpoints, by network or host when asked, with their
// agents' reports (read for the hosts concerned only).
func (c *Controller) listEndpoints(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	netFilter, hostFilter := q.Get("network"), q.Get("host")
	out := []model.EndpointView{}
	hosts := map[string]bool{}
	err := c.read(func(s *state) error {
		var eps []model.Endpoint
		switch {
		case netFilter != "":
			ns, err := s.network(netFilter)
			if err != nil {
				return err
			}
			eps = s.endpointsOf(ns.Value.ID)
		case hostFilter != "":
			eps = s.endpointsOn(hostFilter)
		default:
			eps = s.allEndpoints()
		}
		for _, ep := range eps {
			if hostFilter != "" && ep.Host != hostFilter {
				continue
			}
			out = append(out, *s.view(ep))
			hosts[ep.Host] = true
		}
		return nil
	})
	if err != nil {
		writeError(w, err)
		return
	}
	statuses, err := c.statusesOf(r.Context(), hosts)
	if err != nil {
		c.log.Warn("endpoint list without the agents' reports", "err", err)
	}
	for i := range out {
		if st, ok := statuses[out[i].ID]; ok {
			out[i].Status = &st
		}
	}
	writeJSON(w, http.StatusOK, out)
}

// statusesOf reads the endpoint reports of some hosts (one prefix each,
// or the whole tree when many are asked for).
func (c *Controller) statusesOf(ctx context.Context, hosts map[string]bool) (map[string]model.EndpointStatus, error) {
	out := map[string]model.EndpointStatus{}
	prefixes := []string{c.st.K.Statuses()}
	if len(hosts) <= 8 {
		prefixes = prefixes[:0]
		for h := range hosts {
			prefixes = append(prefixes, c.st.K.StatusesOf(h))
		}
	}
	for _, p := range prefixes {
		pairs, _, err := c.st.B.List(ctx, p, store.Query{})
		if err != nil {
			return out, c.unavailable(err)
		}
		for _, kv := range pairs {
			var st model.EndpointStatus
			if store.Decode(kv, &st) == nil && st.EndpointID != "" {
				out[st.EndpointID] = st
			}
		}
	}
	return out, nil
}

func (c *Controller) getEndpoint(w http.ResponseWriter, r *http.Request) {
	v, err := c.EndpointByID(r.Context(), mux.Vars(r)["id"])
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, v)
}
