package controller

import (
	"fmt"
	"net/http"

	"github.com/gorilla/mux"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/ovsnet/ovsnet/model"
)

// route is one entry of the API: every route the controller serves is in
// the table below, so one page shows the whole API.
type route struct {
	methods []string
	path    string
	handler func(c *Controller) http.Handler
	// docker routes are also served under a /vX.Y prefix, as the Engine
	// API is.
	docker bool
	// write routes change the cluster: they must be JSON from the
	// controller's own origin (auth.go). Every route that is not public
	// needs the token when one is set.
	write bool
	// local routes are answered by the replica itself; all others go to
	// the leader (see forward.go).
	local bool
	// prefix routes serve everything under path.
	prefix bool
	// public routes need no token: they show nothing of the cluster's
	// state (ping, health, metrics, the UI's static files, the OpenAPI
	// document).
	public bool
	// perClient routes are rate-limited per client (traces).
	perClient bool
}

func get(path string, h func(c *Controller) http.HandlerFunc) route {
	return route{methods: []string{http.MethodGet}, path: path, handler: wrap(h)}
}

func writeRoute(method, path string, h func(c *Controller) http.HandlerFunc) route {
	return route{methods: []string{method}, path: path, handler: wrap(h), write: true}
}

func wrap(h func(c *Controller) http.HandlerFunc) func(c *Controller) http.Handler {
	return func(c *Controller) http.Handler { return h(c) }
}

func (r route) dockerAPI() route { r.docker = true; return r }
func (r route) onReplica() route { r.local = true; return r }
func (r route) open() route      { r.public = true; return r }

// routes is the controller's API.
var routes = []route{
	// Docker Engine API (networks), with or without /vX.Y.
	{methods: []string{http.MethodGet, http.MethodHead}, path: "/_ping", handler: wrap(func(c *Controller) http.HandlerFunc { return c.ping }), docker: true, local: true, public: true},
	get("/version", func(c *Controller) http.HandlerFunc { return c.version }).dockerAPI().onReplica(),
	get("/networks", func(c *Controller) http.HandlerFunc { return c.listNetworks }).dockerAPI(),
	writeRoute(http.MethodPost, "/networks/create", func(c *Controller) http.HandlerFunc { return c.createNetwork }).dockerAPI(),
	writeRoute(http.MethodPost, "/networks/prune", func(c *Controller) http.HandlerFunc { return c.pruneNetworks }).dockerAPI(),
	get("/networks/{id}", func(c *Controller) http.HandlerFunc { return c.inspectNetwork }).dockerAPI(),
	writeRoute(http.MethodDelete, "/networks/{id}", func(c *Controller) http.HandlerFunc { return c.removeNetwork }).dockerAPI(),
	writeRoute(http.MethodPost, "/networks/{id}/connect", func(c *Controller) http.HandlerFunc { return c.connect }).dockerAPI(),
	writeRoute(http.MethodPost, "/networks/{id}/disconnect", func(c *Controller) http.HandlerFunc { return c.disconnect }).dockerAPI(),

	// ovsnet's own resources.
	get("/ovsnet/v1/networks", func(c *Controller) http.HandlerFunc { return c.listModelNetworks }),
	get("/ovsnet/v1/hosts", func(c *Controller) http.HandlerFunc { return c.listHosts }),
	writeRoute(http.MethodDelete, "/ovsnet/v1/hosts/{name}", func(c *Controller) http.HandlerFunc { return c.removeHostHandler }),
	get("/ovsnet/v1/endpoints", func(c *Controller) http.HandlerFunc { return c.listEndpoints }),
	get("/ovsnet/v1/endpoints/{id}", func(c *Controller) http.HandlerFunc { return c.getEndpoint }),
	writeRoute(http.MethodPatch, "/ovsnet/v1/endpoints/{id}", func(c *Controller) http.HandlerFunc { return c.updateEndpointHandler }),
	get("/ovsnet/v1/endpoints/{id}/reachable", func(c *Controller) http.HandlerFunc { return c.reachableHandler }),
	// Docker's IPAM through the agents' plugin: reservations ahead of
	// endpoints, and the next default pool.
	writeRoute(http.MethodPost, "/ovsnet/v1/networks/{id}/addresses", func(c *Controller) http.HandlerFunc { return c.reserveHandler }),
	writeRoute(http.MethodDelete, "/ovsnet/v1/networks/{id}/addresses/{addr}", func(c *Controller) http.HandlerFunc { return c.releaseHandler }),
	get("/ovsnet/v1/pools/next", func(c *Controller) http.HandlerFunc { return c.nextPoolHandler }),
	// The whole intent, saved and brought back. A backup holds namespace
	// paths and addresses: like every read, it needs the token when reads do.
	get("/ovsnet/v1/backup", func(c *Controller) http.HandlerFunc { return c.backupHandler }),
	writeRoute(http.MethodPost, "/ovsnet/v1/restore", func(c *Controller) http.HandlerFunc { return c.restoreHandler }),
	// The UI's live picture.
	get("/ovsnet/v1/topology", func(c *Controller) http.HandlerFunc { return c.topologyHandler }),
	get(eventsRoute, func(c *Controller) http.HandlerFunc { return c.eventsHandler }),
	// A trace makes hosts run commands and writes to Consul: a write.
	{methods: []string{http.MethodPost}, path: "/ovsnet/v1/traces", handler: wrap(func(c *Controller) http.HandlerFunc { return c.traceHandler }), write: true, perClient: true},
	get("/ovsnet/v1/openapi.json", func(c *Controller) http.HandlerFunc { return serveOpenAPI }).onReplica().open(),

	// Operations and the web UI, answered by every replica.
	get("/healthz", func(c *Controller) http.HandlerFunc { return c.healthz }).onReplica().open(),
	{methods: []string{http.MethodGet}, path: "/metrics", local: true, public: true, handler: func(c *Controller) http.Handler {
		return promhttp.HandlerFor(c.metrics.reg, promhttp.HandlerOpts{})
	}},
	{methods: []string{http.MethodGet, http.MethodHead}, path: "/", local: true, public: true, handler: wrap(func(c *Controller) http.HandlerFunc { return serveUIIndex })},
	{methods: []string{http.MethodGet, http.MethodHead}, path: "/ui/", local: true, prefix: true, public: true, handler: func(c *Controller) http.Handler { return uiAssets() }},
}

// Handler returns the controller's HTTP API: Docker Engine API shapes for
// networks (with or without a /v1.xx prefix), ovsnet's own resources under
// /ovsnet/v1/, operations endpoints and the web UI.
func (c *Controller) Handler() http.Handler {
	r := mux.NewRouter()
	r.NotFoundHandler = http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		writeError(w, errorf(ErrNotFound, "page not found: %s %s", req.Method, req.URL.Path))
	})
	r.MethodNotAllowedHandler = http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		writeJSON(w, http.StatusMethodNotAllowed, model.ErrorResponse{Message: fmt.Sprintf("method %s not allowed on %s", req.Method, req.URL.Path)})
	})
	r.Use(c.metrics.middleware)
	versioned := r.PathPrefix("/v{version:[0-9]+\\.[0-9]+}").Subrouter()
	for _, rt := range routes {
		h := rt.handler(c)
		if !rt.local {
			h = c.forward(h, rt.write)
		}
		if rt.perClient {
			h = c.limitPerClient(c.traceLimit, h)
		}
		if !rt.public {
			h = c.requireToken(h, rt.write) // auth.go
		}
		if rt.write {
			h = browserSafe(h)
		}
		add := func(m *mux.Router) {
			if rt.prefix {
				m.PathPrefix(rt.path).Handler(h).Methods(rt.methods...)
			} else {
				m.Handle(rt.path, h).Methods(rt.methods...)
			}
		}
		if rt.docker {
			add(versioned)
		}
		add(r)
	}
	return r
}
