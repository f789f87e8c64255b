package main

import (
	"bufio"
	"fmt"
	"strings"

	"github.com/spf13/cobra"
)

// pruneWarning is Docker's question before a prune.
const pruneWarning = "WARNING! This will remove all custom networks not used by at least one container.\nAre you sure you want to continue? [y/N] "

// newNetworkPruneCommand is `network prune`: every network with no endpoint
// on any host goes, after a confirmation unless --force.
func (a *app) newNetworkPruneCommand() *cobra.Command {
	var (
		force   bool
		filters []string
	)
	cmd := &cobra.Command{
		Use:   "prune [OPTIONS]",
		Short: "Remove all unused networks",
		Long: "Remove every network that has no endpoint on any host (the controller checks, network by\n" +
			"network, as it removes them; a network connected to meanwhile is kept).\n\n" +
			"Filters: label=KEY or label=KEY=VALUE (networks with the label), label!=... (without it),\n" +
			"until=DURATION|TIMESTAMP (created before then: 24h, 2026-11-30T12:00:00Z, Unix seconds).",
		Example: `  ovsnetctl network prune                       # asks first
  ovsnetctl network prune -f --filter until=24h
  ovsnetctl network prune -f --filter label=env=test --filter 'label!=keep'`,
		DisableFlagsInUseLine: true,
		Args:                  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			f := map[string][]string{}
			for _, kv := range filters {
				key, value, ok := strings.Cut(kv, "=")
				if !ok {
					return fmt.Errorf("bad format of filter (expected name=value): %s", kv)
				}
				// "label!=x" cuts as key "label!", value "x".
				key = strings.ToLower(strings.TrimSpace(key))
				switch key {
				case "label", "label!", "until":
				default:
					return fmt.Errorf("invalid filter '%s'", key)
				}
				f[key] = append(f[key], value)
			}
			if !force {
				fmt.Fprint(a.stdout, pruneWarning)
				answer, _ := bufio.NewReader(cmd.InOrStdin()).ReadString('\n')
				if a := strings.ToLower(strings.TrimSpace(answer)); a != "y" && a != "yes" {
					return nil
				}
			}
			c, err := a.client()
			if err != nil {
				return err
			}
			deleted, err := c.PruneNetworks(cmd.Context(), f)
			if err != nil {
				return err
			}
			if len(deleted) > 0 {
				fmt.Fprintln(a.stdout, "Deleted Networks:")
				for _, name := range deleted {
					fmt.Fprintln(a.stdout, name)
				}
			}
			return nil
		},
	}
	flags := cmd.Flags()
	flags.BoolVarP(&force, "force", "f", false, "Do not prompt for confirmation")
	flags.StringArrayVar(&filters, "filter", nil, "Provide filter values (e.g. 'until=<timestamp>', 'label=key=value')")
	return cmd
}
