package main

import (
	"errors"
	"fmt"
	"net/netip"
	"path"

	"github.com/spf13/cobra"

	"github.com/ovsnet/ovsnet/model"
)

// connectOptions are `network connect`'s flags.
type connectOptions struct {
	ipv4         string
	ipv6         string
	aliases      []string
	links        []string
	linkLocalIPs []string
	driverOpts   []string
	mac          string
	// host, netns and ifname place a container that is a plain network
	// namespace (no Docker engine behind it).
	host    string
	netns   string
	ifname  string
	verbose bool
}

// newNetworkConnectCommand is `network connect`. It prints nothing on
// success, like Docker, unless -v asks for the endpoint made.
func (a *app) newNetworkConnectCommand() *cobra.Command {
	var o connectOptions
	cmd := &cobra.Command{
		Use:   "connect [OPTIONS] NETWORK CONTAINER",
		Short: "Connect a container to a network",
		Long: "Connect a container to a network. A container that is a plain network namespace is\n" +
			"placed the first time with --host and --netns; its further networks need only its name.\n" +
			"Containers of a Docker engine are connected by that engine through ovsnet's plugin\n" +
			"(docker network connect on their host). The command returns once the container's\n" +
			"host has plumbed the interface.",
		Example: `  ovsnetctl network connect --host h1 --netns /run/netns/web testnet02 web   # first network of a container
  ovsnetctl network connect --ip 10.0.1.100 --alias www testnet04 web         # further networks: by name
  ovsnetctl network connect --link db:mysql -v testnet02 app`,
		DisableFlagsInUseLine: true,
		Args:                  exactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			req, err := o.request(args[1])
			if err != nil {
				return err
			}
			c, err := a.client()
			if err != nil {
				return err
			}
			ep, err := c.Connect(cmd.Context(), args[0], req)
			if err != nil {
				return err
			}
			if o.verbose {
				return writeEndpoint(a.stdout, ep)
			}
			return nil
		},
	}
	flags := cmd.Flags()
	flags.StringVar(&o.ipv4, "ip", "", "IPv4 address (e.g., 172.30.100.104)")
	flags.StringVar(&o.ipv6, "ip6", "", "IPv6 address (e.g., 2001:db8::33)")
	flags.StringSliceVar(&o.aliases, "alias", nil, "Add network-scoped alias for the container")
	flags.StringArrayVar(&o.links, "link", nil, "Add link to another container (NAME[:ALIAS])")
	flags.StringSliceVar(&o.linkLocalIPs, "link-local-ip", nil, "Add a link-local address for the container (not supported: refused)")
	flags.StringArrayVar(&o.driverOpts, "driver-opt", nil, "driver options for the network (key=value)")
	flags.StringVar(&o.mac, "mac-address", "", "Container MAC address (e.g., 92:d0:c6:0a:29:33)")
	flags.StringVar(&o.host, "host", "", "Host the container runs on (plain network namespace containers)")
	flags.StringVar(&o.netns, "netns", "", "Path of the container's network namespace on --host (e.g., /run/netns/c1)")
	flags.StringVar(&o.ifname, "ifname", "", "Interface name inside the container (default: next free ethN)")
	flags.BoolVarP(&o.verbose, "verbose", "v", false, "Print the endpoint created")
	return cmd
}

// request builds Docker's connect body. ovsnet's placement flags travel as
// endpoint driver options, which the Docker API already carries.
func (o *connectOptions) request(container string) (model.NetworkConnectRequest, error) {
	var req model.NetworkConnectRequest
	if err := model.ValidateName("container", container); err != nil {
		return req, err
	}
	if o.ipv4 != "" {
		if a, err := netip.ParseAddr(o.ipv4); err != nil || !a.Is4() {
			return req, fmt.Errorf("invalid --ip %s: not an IPv4 address", o.ipv4)
		}
	}
	if o.ipv6 != "" {
		if a, err := netip.ParseAddr(o.ipv6); err != nil || !a.Is6() || a.Is4In6() {
			return req, fmt.Errorf("invalid --ip6 %s: not an IPv6 address", o.ipv6)
		}
	}
	if len(o.linkLocalIPs) > 0 {
		return req, errors.New("--link-local-ip is not supported: ovsnet gives a container exactly its --ip and --ip6 addresses (and the IPv6 link-local address of its MAC)")
	}
	if o.mac != "" {
		if _, err := model.ParseMAC(o.mac); err != nil {
			return req, err
		}
	}
	for _, l := range o.links {
		if _, err := model.ParseLink(l); err != nil {
			return req, err
		}
	}
	for _, alias := range o.aliases {
		if alias == "" {
			return req, errors.New("invalid --alias: must not be empty")
		}
	}
	if o.netns != "" {
		if !path.IsAbs(o.netns) {
			return req, fmt.Errorf("invalid --netns %s: must be an absolute path", o.netns)
		}
		if o.host == "" {
			return req, errors.New("--netns needs --host: the host whose namespace it is")
		}
	}
	if o.host != "" {
		if err := model.ValidateName("host", o.host); err != nil {
			return req, fmt.Errorf("invalid --host: %w", err)
		}
	}

	driverOpts, err := parseKeyValues("--driver-opt", o.driverOpts)
	if err != nil {
		return req, err
	}
	for _, placement := range []struct{ flag, key, value string }{
		{"--host", model.OptEndpointHost, o.host},
		{"--netns", model.OptEndpointNetns, o.netns},
		{"--ifname", model.OptEndpointIfName, o.ifname},
	} {
		if placement.value == "" {
			continue
		}
		if err := setOption(&driverOpts, placement.key, placement.value, placement.flag); err != nil {
			return req, err
		}
	}

	return model.NetworkConnectRequest{
		Container: container,
		EndpointConfig: &model.EndpointSettings{
			IPAMConfig: &model.EndpointIPAMConfig{
				IPv4Address:  o.ipv4,
				IPv6Address:  o.ipv6,
				LinkLocalIPs: o.linkLocalIPs,
			},
			Links:      o.links,
			Aliases:    o.aliases,
			MacAddress: o.mac,
			DriverOpts: driverOpts,
		},
	}, nil
}

// newNetworkDisconnectCommand is `network disconnect`.
func (a *app) newNetworkDisconnectCommand() *cobra.Command {
	var force bool
	cmd := &cobra.Command{
		Use:   "disconnect [OPTIONS] NETWORK CONTAINER",
		Short: "Disconnect a container from a network",
		Long: "Disconnect a container from a network: its endpoint is removed from the cluster at once\n" +
			"and its address released, whether or not the container, or its host, is still there\n" +
			"(a host that is down unplugs the interface when its agent comes back).",
		Example: `  ovsnetctl network disconnect testnet04 web
  ovsnetctl network disconnect testnet02 3f2a9c1e5b7d        # a container ID, or an endpoint ID`,
		DisableFlagsInUseLine: true,
		Args:                  exactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			if force {
				return errors.New("--force is not supported, nor needed: ovsnet always disconnects at once, even when the container or its host is gone")
			}
			c, err := a.client()
			if err != nil {
				return err
			}
			return c.Disconnect(cmd.Context(), args[0], model.NetworkDisconnectRequest{Container: args[1]})
		},
	}
	cmd.Flags().BoolVarP(&force, "force", "f", false, "Force the container to disconnect from a network (refused: every disconnect is forced)")
	return cmd
}
