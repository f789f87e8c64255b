package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/template"

	"github.com/spf13/cobra"

	"github.com/ovsnet/ovsnet/client"
)

// newNetworkInspectCommand is `network inspect`: the controller's JSON for
// each network as one indented array, or a Go template per network.
func (a *app) newNetworkInspectCommand() *cobra.Command {
	var format string
	cmd := &cobra.Command{
		Use:   "inspect [OPTIONS] NETWORK [NETWORK...]",
		Short: "Display detailed information on one or more networks",
		Example: `  ovsnetctl network inspect testnet02
  ovsnetctl network inspect -f '{{.Options}}' testnet02
  ovsnetctl network inspect -f '{{range .Containers}}{{.Name}} {{.IPv4Address}} {{.Host}}{{println}}{{end}}' testnet02`,
		DisableFlagsInUseLine: true,
		Args:                  minArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var tmpl *template.Template
			if format != "" {
				var err error
				if tmpl, err = parseTemplate(format); err != nil {
					return err
				}
			}
			c, err := a.client()
			if err != nil {
				return err
			}
			var raws [][]byte
			var typed []any
			var failures []string
			for _, ref := range args {
				n, raw, err := c.InspectNetworkRaw(cmd.Context(), ref)
				if err != nil {
					failures = append(failures, describeInspectError(ref, err))
					continue
				}
				raws = append(raws, raw)
				typed = append(typed, n)
			}
			if tmpl != nil {
				err = writeTemplated(a.stdout, tmpl, typed, raws)
			} else {
				err = writeIndentedArray(a.stdout, raws)
			}
			if err != nil {
				return err
			}
			if len(failures) > 0 {
				return &statusError{status: strings.Join(failures, "\n"), code: 1}
			}
			return nil
		},
	}
	cmd.Flags().StringVarP(&format, "format", "f", "", "Format the output using the given Go template")
	return cmd
}

// describeInspectError words an unknown network as Docker's CLI does.
func describeInspectError(ref string, err error) string {
	if client.IsNotFound(err) {
		return "Error: No such network: " + ref
	}
	return describeError(err)
}

// writeIndentedArray prints the networks' JSON as the controller sent it
// (so fields this client does not know show too) as one array indented by
// four spaces, like `docker network inspect`; "[]" when there are none.
func writeIndentedArray(out io.Writer, raws [][]byte) error {
	if len(raws) == 0 {
		_, err := fmt.Fprintln(out, "[]")
		return err
	}
	joined := append([]byte("["), bytes.Join(raws, []byte(","))...)
	joined = append(joined, ']')
	var indented bytes.Buffer
	if err := json.Indent(&indented, joined, "", "    "); err != nil {
		return fmt.Errorf("invalid JSON from the controller: %w", err)
	}
	indented.WriteByte('\n')
	_, err := indented.WriteTo(out)
	return err
}
