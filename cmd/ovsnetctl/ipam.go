package main

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"

	"github.com/ovsnet/ovsnet/model"
)

// ipamOptions are `network create`'s address flags, each repeatable.
type ipamOptions struct {
	subnets      []string
	gateways     []string
	ipRanges     []string
	auxAddresses []string
}

// pool is one --subnet and what was matched to it.
type pool struct {
	subnet netip.Prefix
	config model.IPAMConfig
}

// build turns the flags into Docker's IPAM block: one Config entry per
// subnet, in the order given, each gateway, ip-range and aux-address joined
// to the subnet that contains it (so IPv4 and IPv6 values go to the subnet
// of their family). Like Docker's CLI it always sends the block, with the
// "default" IPAM driver.
func (o ipamOptions) build() (*model.IPAM, error) {
	if len(o.subnets) < len(o.gateways) || len(o.subnets) < len(o.ipRanges) {
		return nil, errors.New("every ip-range or gateway must have a corresponding subnet (--subnet)")
	}
	pools := make([]*pool, 0, len(o.subnets))
	for _, s := range o.subnets {
		subnet, err := netip.ParsePrefix(s)
		if err != nil {
			return nil, fmt.Errorf("invalid subnet %s: %w", s, err)
		}
		for _, p := range pools {
			if p.subnet.Overlaps(subnet) {
				return nil, fmt.Errorf("subnets %s and %s overlap: multiple overlapping subnet configuration is not supported", p.subnet, subnet)
			}
		}
		pools = append(pools, &pool{subnet: subnet, config: model.IPAMConfig{Subnet: s}})
	}

	for _, r := range o.ipRanges {
		ipRange, err := netip.ParsePrefix(r)
		if err != nil {
			return nil, fmt.Errorf("invalid ip-range %s: %w", r, err)
		}
		p := poolContaining(pools, ipRange.Addr())
		if p == nil {
			return nil, fmt.Errorf("no matching subnet for range %s", r)
		}
		if p.config.IPRange != "" {
			return nil, fmt.Errorf("cannot configure multiple ranges (%s, %s) on the same subnet (%s)", r, p.config.IPRange, p.config.Subnet)
		}
		p.config.IPRange = r
	}

	for _, g := range o.gateways {
		gw, err := netip.ParseAddr(g)
		if err != nil {
			return nil, fmt.Errorf("invalid gateway %s: %w", g, err)
		}
		p := poolContaining(pools, gw)
		if p == nil {
			return nil, fmt.Errorf("no matching subnet for gateway %s", g)
		}
		if p.config.Gateway != "" {
			return nil, fmt.Errorf("cannot configure multiple gateways (%s, %s) for the same subnet (%s)", g, p.config.Gateway, p.config.Subnet)
		}
		p.config.Gateway = g
	}

	for _, kv := range o.auxAddresses {
		name, addr, ok := strings.Cut(kv, "=")
		if !ok || name == "" {
			return nil, fmt.Errorf("invalid --aux-address %q: want name=ip", kv)
		}
		a, err := netip.ParseAddr(addr)
		if err != nil {
			return nil, fmt.Errorf("invalid --aux-address %s: %w", kv, err)
		}
		p := poolContaining(pools, a)
		if p == nil {
			return nil, fmt.Errorf("no matching subnet for aux-address %s", addr)
		}
		if p.config.AuxiliaryAddresses == nil {
			p.config.AuxiliaryAddresses = map[string]string{}
		}
		p.config.AuxiliaryAddresses[name] = addr
	}

	configs := make([]model.IPAMConfig, 0, len(pools))
	for _, p := range pools {
		configs = append(configs, p.config)
	}
	return &model.IPAM{Driver: "default", Options: map[string]string{}, Config: configs}, nil
}

func poolContaining(pools []*pool, a netip.Addr) *pool {
	for _, p := range pools {
		if p.subnet.Contains(a) {
			return p
		}
	}
	return nil
}
