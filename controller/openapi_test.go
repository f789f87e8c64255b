package controller

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/gorilla/mux"
)

// The OpenAPI document lists exactly the routes the controller serves:
// every (path, method) the router has is documented, and every documented
// one is routed.
func TestOpenAPIMatchesRoutes(t *testing.T) {
	c, err := New(Config{ConsulAddr: "127.0.0.1:1", Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	h := c.Handler()
	served := map[string]bool{}
	varRE := regexp.MustCompile(`\{([^}:]+)(:[^}]*)?\}`)
	err = h.(*mux.Router).Walk(func(route *mux.Route, router *mux.Router, ancestors []*mux.Route) error {
		tpl, err := route.GetPathTemplate()
		if err != nil {
			return nil // a subrouter's own prefix route
		}
		methods, err := route.GetMethods()
		if err != nil {
			return nil // matches no method: a subrouter mount
		}
		path := varRE.ReplaceAllString(tpl, "{$1}")
		// A PathPrefix route serves everything under its prefix.
		if re, _ := route.GetPathRegexp(); !strings.HasSuffix(re, "$") {
			path += "{path}"
		}
		for _, m := range methods {
			served[strings.ToLower(m)+" "+path] = true
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}

	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/ovsnet/v1/openapi.json", nil))
	if rec.Code != http.StatusOK || rec.Header().Get("Content-Type") != "application/json" {
		t.Fatalf("GET /ovsnet/v1/openapi.json: %d %s", rec.Code, rec.Header().Get("Content-Type"))
	}
	var doc struct {
		OpenAPI    string                                `json:"openapi"`
		Paths      map[string]map[string]json.RawMessage `json:"paths"`
		Components struct {
			Schemas map[string]json.RawMessage `json:"schemas"`
		} `json:"components"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &doc); err != nil {
		t.Fatalf("the document is not JSON: %v", err)
	}
	if !strings.HasPrefix(doc.OpenAPI, "3.") {
		t.Fatalf("openapi version %q", doc.OpenAPI)
	}
	documented := map[string]bool{}
	for path, ops := range doc.Paths {
		for m := range ops {
			if m == "parameters" || m == "summary" || m == "description" {
				continue
			}
			documented[m+" "+path] = true
		}
	}
	var missing, extra []string
	for r := range served {
		if !documented[r] {
			missing = append(missing, r)
		}
	}
	for r := range documented {
		if !served[r] {
			extra = append(extra, r)
		}
	}
	sort.Strings(missing)
	sort.Strings(extra)
	for _, r := range missing {
		t.Errorf("served but not in the OpenAPI document (add it to controller/openapi/*.json): %s", r)
	}
	for _, r := range extra {
		t.Errorf("in the OpenAPI document but not served: %s", r)
	}
	if len(served) < 30 {
		t.Errorf("only %d routes walked: the walk is broken", len(served))
	}

	// Every $ref points at a schema the document defines.
	refRE := regexp.MustCompile(`"\$ref":\s*"#/components/schemas/([^"]+)"`)
	for _, m := range refRE.FindAllStringSubmatch(rec.Body.String(), -1) {
		if _, ok := doc.Components.Schemas[m[1]]; !ok {
			t.Errorf("$ref to undefined schema %s", m[1])
		}
	}
}
