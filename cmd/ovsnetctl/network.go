package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/ovsnet/ovsnet/client"
)

// newNetworkCommand groups the `docker network`-like commands.
func (a *app) newNetworkCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "network",
		Short: "Manage networks",
		Example: `  ovsnetctl network ls
  ovsnetctl network create testnet02
  ovsnetctl network connect --help`,
		DisableFlagsInUseLine: true,
		Args:                  unknownSubcommand,
		RunE:                  showHelp,
	}
	cmd.AddCommand(
		a.newNetworkCreateCommand(),
		a.newNetworkListCommand(),
		a.newNetworkInspectCommand(),
		a.newNetworkRemoveCommand(),
		a.newNetworkConnectCommand(),
		a.newNetworkDisconnectCommand(),
		a.newNetworkPruneCommand(),
	)
	return cmd
}

// newNetworkRemoveCommand is `network rm`: it removes each network in turn,
// printing the name of each one removed and the error of each one not.
func (a *app) newNetworkRemoveCommand() *cobra.Command {
	var force bool
	cmd := &cobra.Command{
		Use:     "rm [OPTIONS] NETWORK [NETWORK...]",
		Aliases: []string{"remove"},
		Short:   "Remove one or more networks",
		Long: "Remove networks by name, ID or unique ID prefix. A network with endpoints on any host\n" +
			"is refused (disconnect them first).",
		Example: `  ovsnetctl network rm testnet04
  ovsnetctl network rm -f testnet08 testnet09     # no error for one that does not exist`,
		DisableFlagsInUseLine: true,
		Args:                  minArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := a.client()
			if err != nil {
				return err
			}
			failed := false
			for _, name := range args {
				if err := c.RemoveNetwork(cmd.Context(), name); err != nil {
					if force && client.IsNotFound(err) {
						continue
					}
					fmt.Fprintln(a.stderr, describeError(err))
					failed = true
					continue
				}
				fmt.Fprintln(a.stdout, name)
			}
			if failed {
				return &statusError{code: 1}
			}
			return nil
		},
	}
	cmd.Flags().BoolVarP(&force, "force", "f", false, "Do not error if the network does not exist")
	return cmd
}
