package controller

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"testing"

	"github.com/ovsnet/ovsnet/internal/docsection"
)

//go:generate env OVSNET_UPDATE_DOCS=1 go test -run TestAPIReference .

// docs/api.md is the OpenAPI document (openapi/*.json, served at
// /ovsnet/v1/openapi.json) rendered for reading: a route or schema changed
// there and not here fails this test.
func TestAPIReference(t *testing.T) {
	raw, err := openapiDocument()
	if err != nil {
		t.Fatal(err)
	}
	var doc apiDoc
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	docsection.CheckFile(t, docsection.RepoFile("docs/api.md"), renderAPI(&doc), "go generate ./controller")
}

type apiDoc struct {
	Info struct {
		Title, Description string
	} `json:"info"`
	Tags []struct {
		Name, Description string
	} `json:"tags"`
	Paths      map[string]map[string]json.RawMessage `json:"paths"`
	Components struct {
		Schemas map[string]*apiSchema `json:"schemas"`
	} `json:"components"`
}

type apiOp struct {
	Summary     string     `json:"summary"`
	Description string     `json:"description"`
	Tags        []string   `json:"tags"`
	Parameters  []apiParam `json:"parameters"`
	RequestBody *apiBody   `json:"requestBody"`
	Responses   map[string]struct {
		Description string                                 `json:"description"`
		Content     map[string]struct{ Schema *apiSchema } `json:"content"`
	} `json:"responses"`
}

type apiParam struct {
	Name, In, Description string
	Required              bool
	Schema                *apiSchema
}

type apiBody struct {
	Required bool                                   `json:"required"`
	Content  map[string]struct{ Schema *apiSchema } `json:"content"`
}

type apiSchema struct {
	Ref                  string                `json:"$ref"`
	Type                 string                `json:"type"`
	Format               string                `json:"format"`
	Description          string                `json:"description"`
	Enum                 []any                 `json:"enum"`
	Items                *apiSchema            `json:"items"`
	Properties           map[string]*apiSchema `json:"properties"`
	AdditionalProperties *apiSchema            `json:"additionalProperties"`
	Required             []string              `json:"required"`
	Pattern              string                `json:"pattern"`
}

// typeName is a schema's type in a few words, schemas as links.
func (s *apiSchema) typeName() string {
	if s == nil {
		return ""
	}
	switch {
	case s.Ref != "":
		name := strings.TrimPrefix(s.Ref, "#/components/schemas/")
		return fmt.Sprintf("[%s](#%s)", name, strings.ToLower(name))
	case s.Type == "array":
		return "array of " + s.Items.typeName()
	case s.Type == "object" && s.AdditionalProperties != nil && len(s.Properties) == 0:
		return "map of " + s.AdditionalProperties.typeName()
	}
	t := s.Type
	if s.Format != "" {
		t += " (" + s.Format + ")"
	}
	if len(s.Enum) > 0 {
		var vals []string
		for _, v := range s.Enum {
			vals = append(vals, fmt.Sprintf("`%v`", v))
		}
		t += ": " + strings.Join(vals, ", ")
	}
	return t
}

var methodOrder = []string{"get", "head", "post", "put", "patch", "delete"}

func renderAPI(doc *apiDoc) string {
	var b strings.Builder
	fmt.Fprintf(&b, "# %s\n\n", doc.Info.Title)
	b.WriteString("<!-- Generated from controller/openapi/*.json by `go generate ./controller`; edit those, not this. -->\n\n")
	fmt.Fprintf(&b, "%s\n\n", doc.Info.Description)
	b.WriteString("The document itself is served by every controller at `/ovsnet/v1/openapi.json` " +
		"(OpenAPI 3). Docker's routes are also served under a version prefix (`/v1.41/networks`), " +
		"so the stock `docker` CLI works against a controller (`docker -H tcp://CONTROLLER:8080 network ls`). " +
		"Errors are `{\"message\": \"...\"}` with the status: 400 bad input, 401 no or wrong token, " +
		"403 refused, 404 not found, 409 conflict, 503 Consul unreachable or no leader, 504 an agent did not answer in time.\n\n")

	// Routes by tag, each once: a versioned Docker route is noted on its
	// unversioned twin.
	type entry struct{ path, method string }
	byTag := map[string][]entry{}
	versioned := map[string]bool{}
	var paths []string
	for p := range doc.Paths {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	for _, p := range paths {
		if strings.HasPrefix(p, "/v{version}/") {
			versioned[strings.TrimPrefix(p, "/v{version}")] = true
			continue
		}
		for _, m := range methodOrder {
			raw, ok := doc.Paths[p][m]
			if !ok {
				continue
			}
			var op apiOp
			_ = json.Unmarshal(raw, &op)
			tag := "other"
			if len(op.Tags) > 0 {
				tag = op.Tags[0]
			}
			byTag[tag] = append(byTag[tag], entry{p, m})
		}
	}
	var tags []string
	seen := map[string]bool{}
	for _, t := range doc.Tags {
		tags = append(tags, t.Name)
		seen[t.Name] = true
	}
	var extra []string
	for t := range byTag {
		if !seen[t] {
			extra = append(extra, t)
		}
	}
	sort.Strings(extra)
	tags = append(tags, extra...)
	descriptions := map[string]string{}
	for _, t := range doc.Tags {
		descriptions[t.Name] = t.Description
	}

	b.WriteString("## Routes\n\n| route | |\n|---|---|\n")
	for _, tag := range tags {
		for _, e := range byTag[tag] {
			var op apiOp
			_ = json.Unmarshal(doc.Paths[e.path][e.method], &op)
			fmt.Fprintf(&b, "| [`%s %s`](#%s) | %s |\n", strings.ToUpper(e.method), e.path, routeAnchor(e.method, e.path), op.Summary)
		}
	}
	b.WriteString("\n")
	for _, tag := range tags {
		if len(byTag[tag]) == 0 {
			continue
		}
		title := tag
		if d := descriptions[tag]; d != "" {
			title += ": " + d
		}
		fmt.Fprintf(&b, "## %s\n\n", title)
		for _, e := range byTag[tag] {
			var op apiOp
			_ = json.Unmarshal(doc.Paths[e.path][e.method], &op)
			fmt.Fprintf(&b, "### %s %s\n\n", strings.ToUpper(e.method), e.path)
			fmt.Fprintf(&b, "%s.", strings.TrimSuffix(op.Summary, "."))
			if op.Description != "" {
				fmt.Fprintf(&b, " %s", op.Description)
			}
			b.WriteString("\n\n")
			if versioned[e.path] {
				fmt.Fprintf(&b, "Also served as `%s %s` (e.g. `/v1.41%s`).\n\n", strings.ToUpper(e.method), "/v{version}"+e.path, e.path)
			}
			var params []apiParam
			for _, p := range op.Parameters {
				if p.Name != "version" || p.In != "path" {
					params = append(params, p)
				}
			}
			if len(params) > 0 {
				b.WriteString("| parameter | in | type | |\n|---|---|---|---|\n")
				for _, p := range params {
					req := ""
					if p.Required {
						req = " (required)"
					}
					fmt.Fprintf(&b, "| `%s` | %s | %s | %s%s |\n", p.Name, p.In, p.Schema.typeName(), cell(p.Description), req)
				}
				b.WriteString("\n")
			}
			if op.RequestBody != nil {
				for ct, c := range op.RequestBody.Content {
					fmt.Fprintf(&b, "Request body (`%s`): %s.\n\n", ct, c.Schema.typeName())
				}
			}
			var codes []string
			for code := range op.Responses {
				codes = append(codes, code)
			}
			sort.Strings(codes)
			b.WriteString("| status | | body |\n|---|---|---|\n")
			for _, code := range codes {
				r := op.Responses[code]
				var body []string
				var cts []string
				for ct := range r.Content {
					cts = append(cts, ct)
				}
				sort.Strings(cts)
				for _, ct := range cts {
					body = append(body, fmt.Sprintf("%s (`%s`)", r.Content[ct].Schema.typeName(), ct))
				}
				fmt.Fprintf(&b, "| %s | %s | %s |\n", code, cell(r.Description), strings.Join(body, ", "))
			}
			b.WriteString("\n")
		}
	}

	b.WriteString("## Schemas\n\n")
	var names []string
	for n := range doc.Components.Schemas {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		s := doc.Components.Schemas[n]
		fmt.Fprintf(&b, "### %s\n\n", n)
		if s.Description != "" {
			fmt.Fprintf(&b, "%s\n\n", s.Description)
		}
		if len(s.Properties) == 0 {
			fmt.Fprintf(&b, "%s.\n\n", s.typeName())
			continue
		}
		b.WriteString("| field | type | |\n|---|---|---|\n")
		writeProperties(&b, "", s)
		b.WriteString("\n")
	}
	return b.String()
}

// writeProperties lists an object's fields, nested objects' fields as
// parent.child rows.
func writeProperties(b *strings.Builder, prefix string, s *apiSchema) {
	var keys []string
	for k := range s.Properties {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	required := map[string]bool{}
	for _, r := range s.Required {
		required[r] = true
	}
	for _, k := range keys {
		p := s.Properties[k]
		desc := cell(p.Description)
		if required[k] {
			desc = strings.TrimSpace("(required) " + desc)
		}
		typ := p.typeName()
		if p.Type == "object" && len(p.Properties) > 0 {
			typ = "object"
			if p.AdditionalProperties != nil {
				typ = "map of " + p.AdditionalProperties.typeName() + "; keys:"
			}
		}
		fmt.Fprintf(b, "| `%s%s` | %s | %s |\n", prefix, k, typ, desc)
		if p.Type == "object" && len(p.Properties) > 0 {
			writeProperties(b, prefix+k+".", p)
		}
	}
}

// cell makes text fit a table cell.
func cell(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, "|", `\|`), "\n", " ")
}

// routeAnchor is GitHub's anchor of a "### METHOD /path" heading.
func routeAnchor(method, path string) string {
	h := strings.ToLower(method + " " + path)
	var out strings.Builder
	for _, r := range h {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9', r == '-', r == '_':
			out.WriteRune(r)
		case r == ' ':
			out.WriteRune('-')
		}
	}
	return out.String()
}
