package controller

import (
	"embed"
	"encoding/json"
	"fmt"
	"net/http"
	"path"
	"sort"
	"sync"
)

// The OpenAPI document of the controller's API, served at
// /ovsnet/v1/openapi.json. It is written by hand, one file per part of the
// API: openapi/ovsnet.json holds the info, the shared schemas and the core
// routes; every optional part that registers routes adds a file of its own
// with the same shape ({"paths": ..., "components": {"schemas": ...}}),
// merged here. TestOpenAPIMatchesRoutes fails when a served route is not
// documented or a documented one is not served.
//
//go:embed openapi/*.json
var openapiFiles embed.FS

var openapiDoc = sync.OnceValues(openapiDocument)

func serveOpenAPI(w http.ResponseWriter, r *http.Request) {
	doc, err := openapiDoc()
	if err != nil {
		writeError(w, err) // the embedded files are checked by the tests
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(doc)
}

// openapiDocument merges the embedded parts into one document.
func openapiDocument() ([]byte, error) {
	names, err := openapiFiles.ReadDir("openapi")
	if err != nil {
		return nil, fmt.Errorf("openapi: %w", err)
	}
	var files []string
	for _, n := range names {
		files = append(files, n.Name())
	}
	sort.Strings(files) // stable output whatever the directory order
	doc := map[string]any{}
	paths := map[string]any{}
	schemas := map[string]any{}
	for _, name := range files {
		b, err := openapiFiles.ReadFile(path.Join("openapi", name))
		if err != nil {
			return nil, fmt.Errorf("openapi: %w", err)
		}
		var part map[string]any
		if err := json.Unmarshal(b, &part); err != nil {
			return nil, fmt.Errorf("openapi/%s: %w", name, err)
		}
		for k, v := range part {
			if k != "paths" && k != "components" {
				doc[k] = v
			}
		}
		p, _ := part["paths"].(map[string]any)
		for route, item := range p {
			ops, _ := item.(map[string]any)
			merged, _ := paths[route].(map[string]any)
			if merged == nil {
				merged = map[string]any{}
			}
			for method, op := range ops {
				if _, dup := merged[method]; dup {
					return nil, fmt.Errorf("openapi/%s: %s %s is documented twice", name, method, route)
				}
				merged[method] = op
			}
			paths[route] = merged
		}
		comps, _ := part["components"].(map[string]any)
		for k, v := range comps {
			if k != "schemas" {
				all, _ := doc["components"].(map[string]any)
				if all == nil {
					all = map[string]any{}
				}
				all[k] = v
				doc["components"] = all
				continue
			}
			s, _ := v.(map[string]any)
			for name, schema := range s {
				if _, dup := schemas[name]; dup {
					return nil, fmt.Errorf("openapi: schema %s is defined twice", name)
				}
				schemas[name] = schema
			}
		}
	}
	comps, _ := doc["components"].(map[string]any)
	if comps == nil {
		comps = map[string]any{}
	}
	comps["schemas"] = schemas
	doc["components"] = comps
	doc["paths"] = paths
	return json.MarshalIndent(doc, "", " ")
}
