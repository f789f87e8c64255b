package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/template"
)

// templateFuncs are the helpers Docker's --format templates offer.
var templateFuncs = template.FuncMap{
	"json": func(v any) string {
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(false)
		_ = enc.Encode(v)
		return strings.TrimSpace(buf.String())
	},
	"join":  strings.Join,
	"split": strings.Split,
	"lower": strings.ToLower,
	"upper": strings.ToUpper,
	"pad": func(s string, before, after int) string {
		return strings.Repeat(" ", before) + s + strings.Repeat(" ", after)
	},
	"truncate": func(s string, n int) string {
		if n < 0 || len(s) <= n {
			return s
		}
		return s[:n]
	},
}

// parseTemplate parses a --format template.
func parseTemplate(format string) (*template.Template, error) {
	tmpl, err := template.New("format").Funcs(templateFuncs).Parse(format)
	if err != nil {
		return nil, fmt.Errorf("template parsing error: %w", err)
	}
	return tmpl, nil
}

// writeTemplated executes tmpl once per element, each followed by a newline.
// Like Docker it first tries the typed value (Go field names: .ID, .IPAM)
// and, if that fails, the JSON as the controller sent it (JSON keys: .Id,
// and fields this client does not know).
func writeTemplated(out io.Writer, tmpl *template.Template, typed []any, raws [][]byte) error {
	for i := range typed {
		var buf bytes.Buffer
		if err := tmpl.Execute(&buf, typed[i]); err != nil {
			buf.Reset()
			var generic any
			if jsonErr := json.Unmarshal(raws[i], &generic); jsonErr != nil {
				return fmt.Errorf("template execution error: %w", err)
			}
			if rawErr := tmpl.Execute(&buf, generic); rawErr != nil {
				return fmt.Errorf("template execution error: %w", rawErr)
			}
		}
		buf.WriteByte('\n')
		if _, err := buf.WriteTo(out); err != nil {
			return err
		}
	}
	return nil
}
