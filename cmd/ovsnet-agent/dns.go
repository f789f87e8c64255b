package main

import (
	"flag"
	"fmt"
	"net"
	"net/netip"
	"strings"

	"github.com/ovsnet/ovsnet/flows"
	"github.com/ovsnet/ovsnet/ovsagent"
	"github.com/ovsnet/ovsnet/ovsagent/dns"
)

// DNS: the agent answers its containers' DNS queries, steered to it in OVS
// (docs/dns.md). On by default: containers need no configuration.
func init() {
	var (
		enabled    bool
		upstreams  string
		listen     string
		listenFwd  bool
		resolvConf bool
	)
	features = append(features, feature{
		name: "dns",
		flags: func(fs *flag.FlagSet) {
			fs.BoolVar(&enabled, "dns", true, "answer containers' DNS queries for the names of their networks' endpoints (steered to the agent in OVS)")
			fs.StringVar(&upstreams, "dns-upstream", "", "comma-separated upstream resolvers (ADDR or ADDR:PORT) for other names, asked only from non-internal networks; \"system\": the nameservers of the host's /etc/resolv.conf; empty: such queries are refused, so containers resolve no outside name")
			fs.StringVar(&listen, "dns-listen", "", "comma-separated UDP addresses (ADDR:PORT) in the host's namespace where the resolver also answers, for the host (NAME.NETWORK of every network on it)")
			fs.BoolVar(&listenFwd, "dns-listen-forward", false, "let the -dns-listen addresses forward other names to -dns-upstream too (off: they answer only ovsnet's names, so they are no open resolver)")
			fs.BoolVar(&resolvConf, "dns-resolvconf", true, "write /etc/netns/NAME/resolv.conf for containers that are network namespaces /run/netns/NAME")
		},
		setup: func(env *agentEnv) (build, error) {
			if !enabled {
				return nil, nil
			}
			if strings.TrimSpace(upstreams) == systemUpstreams {
				sys, err := systemResolvers(hostResolvConf)
				if err != nil {
					return nil, fmt.Errorf("-dns-upstream system: %w", err)
				}
				upstreams = sys
			}
			ups, err := parseAddrPorts(upstreams, 53)
			if err != nil {
				return nil, fmt.Errorf("-dns-upstream: %w", err)
			}
			lis, err := parseAddrPorts(listen, 0)
			if err != nil {
				return nil, fmt.Errorf("-dns-listen: %w", err)
			}
			env.Catalog = true
			port := flows.DefaultDNSConfig()
			env.Config.Pipeline.DNS = port
			cfg := dns.Config{
				Port: *port, Upstreams: ups, Listen: lis, ListenForward: listenFwd, ResolvConf: resolvConf,
				Host: env.Config.Host, StateDir: env.Config.StateDir,
			}
			return func(a *ovsagent.Agent) ovsagent.Extension { return dns.New(cfg, a, env.Log) }, nil
		},
	})
}

// parseAddrs parses "ADDR,...".
func parseAddrs(s string) ([]netip.Addr, error) {
	var out []netip.Addr
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f == "" {
			continue
		}
		a, err := netip.ParseAddr(f)
		if err != nil {
			return nil, fmt.Errorf("%q: not an IP address", f)
		}
		out = append(out, a)
	}
	return out, nil
}

// parseAddrPorts parses "ADDR[:PORT],..."; defPort 0 makes the port required.
func parseAddrPorts(s string, defPort uint16) ([]netip.AddrPort, error) {
	var out []netip.AddrPort
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		if ap, err := netip.ParseAddrPort(f); err == nil {
			out = append(out, ap)
			continue
		}
		a, err := netip.ParseAddr(strings.Trim(f, "[]"))
		if err != nil || defPort == 0 {
			if _, _, serr := net.SplitHostPort(f); serr != nil && defPort == 0 {
				return nil, fmt.Errorf("%q: want ADDR:PORT", f)
			}
			return nil, fmt.Errorf("%q: not an IP address (and port)", f)
		}
		out = append(out, netip.AddrPortFrom(a, defPort))
	}
	return out, nil
}
