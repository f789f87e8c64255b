package main

import (
	"fmt"
	"sort"
	"strings"

	"github.com/spf13/cobra"

	"github.com/ovsnet/ovsnet/model"
)

// newNetworkListCommand is `network ls`, with Docker's columns.
func (a *app) newNetworkListCommand() *cobra.Command {
	var (
		quiet   bool
		noTrunc bool
		filters []string
		format  string
	)
	cmd := &cobra.Command{
		Use:     "ls [OPTIONS]",
		Aliases: []string{"list"},
		Short:   "List networks",
		Long: "List networks, every host's, as `docker network ls` does.\n\n" +
			"--format takes a Go template with the placeholders .ID, .Name, .Driver, .Scope,\n" +
			".IPv6, .Internal, .Labels, .Label \"KEY\" and .CreatedAt; \"table TEMPLATE\" adds a\n" +
			"header and aligns the columns, \"json\" prints each network as one line of JSON.",
		Example: `  ovsnetctl network ls
  ovsnetctl network ls -f driver=bridge -f label=tier=front
  ovsnetctl network ls --format '{{.Name}} {{.Driver}}'
  ovsnetctl network ls --format 'table {{.Name}}\t{{.Scope}}\t{{.Internal}}'
  ovsnetctl network ls -q --no-trunc`,
		DisableFlagsInUseLine: true,
		Args:                  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			match, err := parseNetworkFilters(filters)
			if err != nil {
				return err
			}
			render, err := networkListFormat(format, quiet)
			if err != nil {
				return err
			}
			c, err := a.client()
			if err != nil {
				return err
			}
			networks, err := c.ListNetworks(cmd.Context())
			if err != nil {
				return err
			}
			sort.SliceStable(networks, func(i, j int) bool { return naturalLess(networks[i].Name, networks[j].Name) })
			if render != nil {
				var rows []networkRow
				for _, n := range networks {
					if match(n) {
						rows = append(rows, networkRow{n: n, noTrunc: noTrunc})
					}
				}
				return render(a.stdout, rows)
			}
			if quiet {
				for _, n := range networks {
					if match(n) {
						fmt.Fprintln(a.stdout, shortID(n.ID, noTrunc))
					}
				}
				return nil
			}
			t := newTable(a.stdout, "NETWORK ID", "NAME", "DRIVER", "SCOPE")
			for _, n := range networks {
				if match(n) {
					t.row(shortID(n.ID, noTrunc), n.Name, n.Driver, n.Scope)
				}
			}
			return t.flush()
		},
	}
	flags := cmd.Flags()
	flags.BoolVarP(&quiet, "quiet", "q", false, "Only display network IDs")
	flags.BoolVar(&noTrunc, "no-trunc", false, "Do not truncate the output")
	flags.StringVar(&format, "format", "", `Pretty-print networks using a Go template ("table TEMPLATE", "json", or a template)`)
	flags.StringArrayVarP(&filters, "filter", "f", nil,
		"Provide filter values (e.g. 'driver=bridge'; also name, id, scope, label)")
	return cmd
}

// networkFilterKeys are the `network ls --filter` keys ovsnet understands,
// with Docker's meaning: name and id match any part, label matches a key or
// key=value, driver and scope match exactly. Values of one key are
// alternatives; different keys must all match.
var networkFilterKeys = map[string]func(n model.NetworkResource, value string) bool{
	"name":   func(n model.NetworkResource, v string) bool { return strings.Contains(n.Name, v) },
	"id":     func(n model.NetworkResource, v string) bool { return strings.Contains(n.ID, v) },
	"driver": func(n model.NetworkResource, v string) bool { return n.Driver == v },
	"scope":  func(n model.NetworkResource, v string) bool { return n.Scope == v },
	"label": func(n model.NetworkResource, v string) bool {
		key, value, hasValue := strings.Cut(v, "=")
		got, ok := n.Labels[key]
		return ok && (!hasValue || got == value)
	},
}

// parseNetworkFilters turns --filter key=value flags into a predicate.
func parseNetworkFilters(filters []string) (func(model.NetworkResource) bool, error) {
	byKey := map[string][]string{}
	for _, f := range filters {
		key, value, ok := strings.Cut(f, "=")
		if !ok {
			return nil, fmt.Errorf("bad format of filter (expected name=value): %s", f)
		}
		key = strings.ToLower(strings.TrimSpace(key))
		if networkFilterKeys[key] == nil {
			return nil, fmt.Errorf("invalid filter '%s'", key)
		}
		byKey[key] = append(byKey[key], value)
	}
	return func(n model.NetworkResource) bool {
		for key, values := range byKey {
			matches := networkFilterKeys[key]
			matched := false
			for _, v := range values {
				if matches(n, v) {
					matched = true
					break
				}
			}
			if !matched {
				return false
			}
		}
		return true
	}, nil
}
