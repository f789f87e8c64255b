package main

import (
	"errors"
	"fmt"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/ovsnet/ovsnet/model"
)

// createOptions are `network create`'s flags.
type createOptions struct {
	driver     string
	scope      string
	internal   bool
	ipv6       bool
	attachable bool
	ingress    bool
	configOnly bool
	configFrom string
	opts       []string
	labels     []string
	host       string
	mtu        int
	ipamDriver string
	ipamOpts   []string
	ipam       ipamOptions
}

// newNetworkCreateCommand is `network create`: Docker's flags, plus --host
// for the owner of a bridge network and --mtu.
func (a *app) newNetworkCreateCommand() *cobra.Command {
	var o createOptions
	cmd := &cobra.Command{
		Use:   "create [OPTIONS] NETWORK",
		Short: "Create a network",
		Long: "Create a network. Overlay networks (the default driver) span every host; bridge\n" +
			"networks live on the one host named by --host. Every flag of `docker network create`\n" +
			"is understood: what ovsnet cannot do is refused with the reason, never ignored.",
		Example: `  ovsnetctl network create testnet02                                  # overlay, subnet from the default pools
  ovsnetctl network create --internal testnet03                       # no way out of the network
  ovsnetctl network create --subnet 10.0.1.0/24 --ipv6 --subnet fd00:4::/64 testnet04
  ovsnetctl network create -d bridge --host h1 testnet01              # a bridge network lives on one host
  ovsnetctl network create --subnet 10.0.9.0/24 --ip-range 10.0.9.128/25 --aux-address router=10.0.9.2 web`,
		DisableFlagsInUseLine: true,
		Args:                  exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			req, err := o.request(args[0], cmd.Flags().Changed)
			if err != nil {
				return err
			}
			c, err := a.client()
			if err != nil {
				return err
			}
			resp, err := c.CreateNetwork(cmd.Context(), req)
			if err != nil {
				return err
			}
			if resp.Warning != "" {
				fmt.Fprintln(a.stderr, "WARNING:", resp.Warning)
			}
			fmt.Fprintln(a.stdout, resp.ID)
			return nil
		},
	}
	flags := cmd.Flags()
	flags.StringVarP(&o.driver, "driver", "d", string(model.DriverOverlay), `Driver to manage the Network ("overlay" or "bridge")`)
	flags.BoolVar(&o.internal, "internal", false, "Restrict external access to the network")
	flags.BoolVar(&o.ipv6, "ipv6", false, "Enable IPv6 networking")
	flags.StringVar(&o.scope, "scope", "", `Control the network's scope ("global" or "swarm" for overlay, "local" for bridge; must fit the driver)`)
	flags.BoolVar(&o.attachable, "attachable", false, "Enable manual container attachment (every ovsnet network is attachable; --attachable=false is refused)")
	flags.BoolVar(&o.ingress, "ingress", false, "Create swarm routing-mesh network (not supported: refused)")
	flags.BoolVar(&o.configOnly, "config-only", false, "Create a configuration only network (not supported: refused)")
	flags.StringVar(&o.configFrom, "config-from", "", "The network from which to copy the configuration (not supported: refused)")
	flags.StringVar(&o.ipamDriver, "ipam-driver", "default", `IP Address Management Driver ("default" or "ovsnet": both are ovsnet's own allocator)`)
	flags.StringArrayVar(&o.ipamOpts, "ipam-opt", nil, "Set IPAM driver specific options (ovsnet's allocator takes none: refused)")
	flags.StringArrayVarP(&o.opts, "opt", "o", nil, "Set driver specific options (key=value)")
	flags.StringArrayVar(&o.labels, "label", nil, "Set metadata on a network (key=value)")
	flags.StringVar(&o.host, "host", "", "Host owning the network (bridge driver; sets option "+model.OptHost+")")
	flags.IntVar(&o.mtu, "mtu", 0, "MTU of the network's interfaces (sets option "+model.OptMTU+")")
	flags.StringSliceVar(&o.ipam.subnets, "subnet", nil, "Subnet in CIDR format that represents a network segment")
	flags.StringSliceVar(&o.ipam.gateways, "gateway", nil, "IPv4 or IPv6 Gateway for the master subnet")
	flags.StringSliceVar(&o.ipam.ipRanges, "ip-range", nil, "Allocate container ip from a sub-range")
	flags.StringArrayVar(&o.ipam.auxAddresses, "aux-address", nil, "Auxiliary IPv4 or IPv6 addresses used by Network driver (name=ip)")
	return cmd
}

// request builds the Docker-shaped create request, checking locally what
// can be checked without the controller (which has the last word).
func (o *createOptions) request(name string, given func(flag string) bool) (model.NetworkCreateRequest, error) {
	var req model.NetworkCreateRequest
	if err := model.ValidateName("network", name); err != nil {
		return req, err
	}
	if given("attachable") && !o.attachable {
		return req, errors.New("--attachable=false is not supported: every ovsnet network is attachable (containers join with `network connect`)")
	}
	if len(o.ipamOpts) > 0 {
		return req, errors.New("--ipam-opt is not supported: ovsnet's allocator takes no options (use --subnet, --ip-range, --gateway and --aux-address)")
	}
	switch o.ipamDriver {
	case "default", "ovsnet":
	default:
		return req, fmt.Errorf("--ipam-driver %s is not supported: ovsnet allocates addresses itself (use \"default\" or \"ovsnet\")", o.ipamDriver)
	}
	ipam, err := o.ipam.build()
	if err != nil {
		return req, err
	}
	ipam.Driver = o.ipamDriver
	var configFrom *model.ConfigReference
	if o.configFrom != "" {
		configFrom = &model.ConfigReference{Network: o.configFrom}
	}
	options, err := parseKeyValues("--opt", o.opts)
	if err != nil {
		return req, err
	}
	labels, err := parseKeyValues("--label", o.labels)
	if err != nil {
		return req, err
	}
	if o.host != "" {
		if err := model.ValidateName("host", o.host); err != nil {
			return req, fmt.Errorf("invalid --host: %w", err)
		}
		if err := setOption(&options, model.OptHost, o.host, "--host"); err != nil {
			return req, err
		}
	}
	if given("mtu") {
		if o.mtu <= 0 {
			return req, errors.New("invalid --mtu: must be a positive number of bytes")
		}
		if err := setOption(&options, model.OptMTU, strconv.Itoa(o.mtu), "--mtu"); err != nil {
			return req, err
		}
	}
	return model.NetworkCreateRequest{
		Name:           name,
		CheckDuplicate: true,
		Driver:         o.driver,
		Scope:          o.scope,
		EnableIPv6:     o.ipv6,
		IPAM:           ipam,
		Internal:       o.internal,
		Attachable:     o.attachable,
		Ingress:        o.ingress,
		ConfigOnly:     o.configOnly,
		ConfigFrom:     configFrom,
		Options:        options,
		Labels:         labels,
	}, nil
}
