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
	internal   bool
	ipv6       bool
	attachable bool
	opts       []string
	labels     []string
	host       string
	mtu        int
	ipam       ipamOptions
}

// newNetworkCreateCommand is `network create`: Docker's flags, plus --host
// for the owner of a bridge network and --mtu.
func (a *app) newNetworkCreateCommand() *cobra.Command {
	var o createOptions
	cmd := &cobra.Command{
		Use:                   "create [OPTIONS] NETWORK",
		Short:                 "Create a network",
		DisableFlagsInUseLine: true,
		Args:                  exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			req, err := o.request(args[0], cmd.Flags().Changed("mtu"))
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
	flags.BoolVar(&o.attachable, "attachable", false, "Enable manual container attachment")
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
func (o *createOptions) request(name string, mtuGiven bool) (model.NetworkCreateRequest, error) {
	var req model.NetworkCreateRequest
	if err := model.ValidateName("network", name); err != nil {
		return req, err
	}
	ipam, err := o.ipam.build()
	if err != nil {
		return req, err
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
	if mtuGiven {
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
		EnableIPv6:     o.ipv6,
		IPAM:           ipam,
		Internal:       o.internal,
		Attachable:     o.attachable,
		Options:        options,
		Labels:         labels,
	}, nil
}
