package main

import (
	"fmt"
	"net/netip"
	"sort"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/ovsnet/ovsnet/model"
)

// newHostCommand groups ovsnet's host views.
func (a *app) newHostCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "host",
		Short: "Inspect hosts (machines running an ovsnet agent)",
		Example: `  ovsnetctl host ls
  ovsnetctl host rm h3`,
		DisableFlagsInUseLine: true,
		Args:                  unknownSubcommand,
		RunE:                  showHelp,
	}
	cmd.AddCommand(a.newHostListCommand(), a.newHostRemoveCommand())
	return cmd
}

// newHostRemoveCommand is `host rm`: a dead host goes with its endpoints,
// their addresses released.
func (a *app) newHostRemoveCommand() *cobra.Command {
	var force bool
	cmd := &cobra.Command{
		Use:     "rm [--force] HOST",
		Aliases: []string{"remove"},
		Short:   "Remove a host whose agent is gone, with its endpoints (their addresses are released)",
		Example: `  ovsnetctl host rm h3            # h3's agent is down or dead
  ovsnetctl host rm --force h3    # even though its agent is still alive`,
		DisableFlagsInUseLine: true,
		Args:                  exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := a.client()
			if err != nil {
				return err
			}
			n, err := c.RemoveHost(cmd.Context(), args[0], force)
			if err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "%s (%d endpoints removed)\n", args[0], n)
			return nil
		},
	}
	cmd.Flags().BoolVar(&force, "force", false, "remove the host even though its agent is alive")
	return cmd
}

// Host statuses shown by `host ls`.
const (
	hostAlive = "alive"
	hostDown  = "down"
	// hostDead is a host gone for longer than the controller's grace
	// period: `host rm` (or the controller's -reap-dead-hosts) removes it.
	hostDead = "dead"
	// hostUnregistered is a host that endpoints name but no agent has
	// registered: it never ran an agent, or its record is gone.
	hostUnregistered = "unregistered"
)

// newHostListCommand is `host ls`: each host, whether its agent is alive,
// how many endpoints it carries and when it last applied its state.
func (a *app) newHostListCommand() *cobra.Command {
	return &cobra.Command{
		Use:     "ls",
		Aliases: []string{"list"},
		Short:   "List hosts",
		Long: "List hosts: each one's tunnel address, status, endpoints, agent version and last sync.\n\n" +
			"STATUS is alive (its agent holds its Consul session), down (the agent is gone, for less\n" +
			"than the controller's -host-grace), dead (gone for longer: remove it with `host rm`, or\n" +
			"let -reap-dead-hosts do it) or unregistered (endpoints name it, but no agent ever\n" +
			"registered it).",
		Example:               `  ovsnetctl host ls`,
		DisableFlagsInUseLine: true,
		Args:                  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := a.client()
			if err != nil {
				return err
			}
			hosts, err := c.ListHosts(cmd.Context())
			if err != nil {
				return err
			}
			eps, err := c.ListEndpoints(cmd.Context(), "", "")
			if err != nil {
				return err
			}
			perHost := map[string]int{}
			for _, ep := range eps {
				perHost[ep.Host]++
			}
			registered := map[string]bool{}
			for _, h := range hosts {
				registered[h.Name] = true
			}
			for name := range perHost {
				if !registered[name] {
					hosts = append(hosts, model.Host{Name: name})
				}
			}
			sort.SliceStable(hosts, func(i, j int) bool { return naturalLess(hosts[i].Name, hosts[j].Name) })

			t := newTable(a.stdout, "NAME", "TUNNEL IP", "STATUS", "ENDPOINTS", "VERSION", "LAST SYNC")
			now := a.now()
			for _, h := range hosts {
				status := hostDown
				switch {
				case h.Alive:
					status = hostAlive
				case !registered[h.Name]:
					status = hostUnregistered
				case h.State == model.HostDead:
					status = hostDead
				}
				t.row(h.Name, addrString(h.TunnelIP), status, strconv.Itoa(perHost[h.Name]), h.Version, since(now, h.LastSync))
			}
			return t.flush()
		},
	}
}

// addrString is "" for an address that is not set.
func addrString(a netip.Addr) string {
	if !a.IsValid() {
		return ""
	}
	return a.String()
}

// prefixString is "" for a prefix that is not set.
func prefixString(p netip.Prefix) string {
	if !p.IsValid() {
		return ""
	}
	return p.String()
}
