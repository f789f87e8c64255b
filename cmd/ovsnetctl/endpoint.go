package main

import (
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/spf13/cobra"

	"github.com/ovsnet/ovsnet/model"
)

// newEndpointCommand groups ovsnet's endpoint views.
func (a *app) newEndpointCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "endpoint",
		Short: "Inspect endpoints (containers attached to networks)",
		Example: `  ovsnetctl endpoint ls
  ovsnetctl endpoint ls --host h1`,
		DisableFlagsInUseLine: true,
		Args:                  unknownSubcommand,
		RunE:                  showHelp,
	}
	cmd.AddCommand(a.newEndpointListCommand())
	return cmd
}

// newEndpointListCommand is `endpoint ls`: every endpoint with its
// addresses and what its host's agent reports about it.
func (a *app) newEndpointListCommand() *cobra.Command {
	var (
		network, host string
		quiet         bool
		noTrunc       bool
	)
	cmd := &cobra.Command{
		Use:     "ls [OPTIONS]",
		Aliases: []string{"list"},
		Short:   "List endpoints",
		Long: "List endpoints with their addresses and what their host's agent reports: STATUS is\n" +
			"pending (not reported yet), ready (plumbed) or error (the agent's reason is in\n" +
			"`ovsnetctl network connect -v` and the agent's log). PORTS are the ports published\n" +
			"on the endpoint's host (docker run -p, podman run -p): HOSTPORT->PORT/PROTO.",
		Example: `  ovsnetctl endpoint ls
  ovsnetctl endpoint ls --network testnet02
  ovsnetctl endpoint ls --host h1 -q --no-trunc`,
		DisableFlagsInUseLine: true,
		Args:                  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := a.client()
			if err != nil {
				return err
			}
			eps, err := c.ListEndpoints(cmd.Context(), network, host)
			if err != nil {
				return err
			}
			sortEndpointViews(eps)
			if quiet {
				for _, ep := range eps {
					fmt.Fprintln(a.stdout, shortID(ep.ID, noTrunc))
				}
				return nil
			}
			t := newTable(a.stdout, "ENDPOINT ID", "NETWORK", "HOST", "CONTAINER", "IPV4", "IPV6", "MAC", "STATUS", "PORTS")
			for _, ep := range eps {
				t.row(shortID(ep.ID, noTrunc), endpointNetwork(ep), ep.Host, endpointContainer(ep),
					prefixString(ep.IPv4), prefixString(ep.IPv6), ep.MAC.String(), endpointState(ep), publishedPorts(ep.Published))
			}
			return t.flush()
		},
	}
	flags := cmd.Flags()
	flags.StringVar(&network, "network", "", "Only endpoints of this network (name or ID)")
	flags.StringVar(&host, "host", "", "Only endpoints on this host")
	flags.BoolVarP(&quiet, "quiet", "q", false, "Only display endpoint IDs")
	flags.BoolVar(&noTrunc, "no-trunc", false, "Do not truncate the output")
	return cmd
}

// publishedPorts lists an endpoint's published ports as docker ps does
// (HOSTPORT->PORT/PROTO, on every address of the host).
func publishedPorts(ps []model.PortMapping) string {
	out := make([]string, 0, len(ps))
	for _, p := range ps {
		out = append(out, fmt.Sprintf("%d->%d/%s", p.HostPort, p.Port, p.Proto))
	}
	return strings.Join(out, ", ")
}

// sortEndpointViews orders endpoints by network name, host and container.
func sortEndpointViews(eps []model.EndpointView) {
	sort.SliceStable(eps, func(i, j int) bool {
		a, b := eps[i], eps[j]
		if na, nb := endpointNetwork(a), endpointNetwork(b); na != nb {
			return naturalLess(na, nb)
		}
		if a.Host != b.Host {
			return naturalLess(a.Host, b.Host)
		}
		if ca, cb := endpointContainer(a), endpointContainer(b); ca != cb {
			return naturalLess(ca, cb)
		}
		return a.ID < b.ID
	})
}

// endpointNetwork is the network's name, or its short id when the
// controller did not name it.
func endpointNetwork(ep model.EndpointView) string {
	if ep.NetworkName != "" {
		return ep.NetworkName
	}
	return model.ShortID(ep.NetworkID)
}

// endpointContainer is the container's name, or its short id.
func endpointContainer(ep model.EndpointView) string {
	if ep.ContainerName != "" {
		return ep.ContainerName
	}
	return model.ShortID(ep.ContainerID)
}

// endpointState is what the host's agent last reported, or "pending" until
// it has reported anything.
func endpointState(ep model.EndpointView) string {
	if ep.Status == nil || ep.Status.State == "" {
		return "pending"
	}
	return string(ep.Status.State)
}

// writeEndpoint prints one endpoint as aligned "Key: value" lines, for
// `network connect -v`.
func writeEndpoint(out io.Writer, ep model.EndpointView) error {
	if ep.ID == "" {
		_, err := fmt.Fprintln(out, "connected (the controller did not report the endpoint)")
		return err
	}
	t := newTable(out, "Endpoint:", ep.ID)
	t.row("Network:", endpointNetwork(ep))
	t.row("Container:", endpointContainer(ep))
	t.row("Host:", ep.Host)
	if ep.IfName != "" {
		t.row("Interface:", ep.IfName)
	}
	t.row("IPv4:", prefixString(ep.IPv4))
	if ep.IPv6.IsValid() {
		t.row("IPv6:", prefixString(ep.IPv6))
	}
	t.row("MAC:", ep.MAC.String())
	t.row("Status:", endpointState(ep))
	return t.flush()
}
