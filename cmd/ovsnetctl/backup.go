package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"

	"github.com/ovsnet/ovsnet/model"
)

// newBackupCommand is `backup`: the whole intent as JSON on stdout.
func (a *app) newBackupCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "backup",
		Short: "Save the whole intent (networks, endpoints and their addresses) as JSON on stdout",
		Long: "backup writes every network (with its id, VNI and subnets), every endpoint (with its\n" +
			"addresses) and the addresses held by reservations, so that `ovsnetctl restore` can bring\n" +
			"them back into a wiped or rebuilt Consul without renumbering a container.",
		Example:               "  ovsnetctl backup > ovsnet-$(date +%F).json",
		DisableFlagsInUseLine: true,
		Args:                  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := a.client()
			if err != nil {
				return err
			}
			b, err := c.Backup(cmd.Context())
			if err != nil {
				return err
			}
			enc := json.NewEncoder(a.stdout)
			enc.SetIndent("", " ")
			return enc.Encode(b)
		},
	}
}

// newRestoreCommand is `restore [FILE]`: a backup written back.
func (a *app) newRestoreCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "restore [FILE]",
		Short: "Write a backup back (from FILE, or stdin)",
		Long: "restore creates what the backup holds and the cluster lacks, with the same ids, VNIs and\n" +
			"addresses; what is there already, as saved, is skipped, so an interrupted restore can be\n" +
			"run again. If a name, VNI or address of the backup is taken by something else, nothing is\n" +
			"written.",
		Example:               "  ovsnetctl restore < ovsnet-2026-11-30.json\n  ovsnetctl restore ovsnet-2026-11-30.json",
		DisableFlagsInUseLine: true,
		Args:                  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var in io.Reader = cmd.InOrStdin()
			if len(args) == 1 {
				f, err := os.Open(args[0])
				if err != nil {
					return err
				}
				defer f.Close()
				in = f
			}
			var b model.Backup
			if err := json.NewDecoder(in).Decode(&b); err != nil {
				return fmt.Errorf("reading the backup: %w", err)
			}
			c, err := a.client()
			if err != nil {
				return err
			}
			res, err := c.Restore(cmd.Context(), &b)
			if err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "restored %d networks, %d endpoints, %d held addresses (%d already there)\n",
				res.Networks, res.Endpoints, res.Addresses, res.Skipped)
			return nil
		},
	}
}
