// Command ovsnet-agent runs on every host: it makes the host's Open vSwitch
// match the state the controller compiled for it, plumbs containers and
// reports endpoints and the host's liveness through Consul.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/vishvananda/netlink"

	"github.com/ovsnet/ovsnet/flows"
	"github.com/ovsnet/ovsnet/internal/store"
	"github.com/ovsnet/ovsnet/internal/version"
	"github.com/ovsnet/ovsnet/ovsagent"
	"github.com/ovsnet/ovsnet/ovsagent/hostnet"
	"github.com/ovsnet/ovsnet/ovsagent/vswitch"
)

func main() {
	host := flag.String("host", "", "this host's name in the cluster (default: the system host name)")
	tunnelIP := flag.String("tunnel-ip", "", "this host's underlay (VXLAN) address (required)")
	mtu := flag.Int("underlay-mtu", 0, "underlay MTU (default: the MTU of the interface holding -tunnel-ip)")
	ovsdb := flag.String("ovsdb", "unix:/run/openvswitch/db.sock", "OVSDB endpoint of this host")
	ovsRundir := flag.String("ovs-rundir", "", "OVS run directory holding <bridge>.mgmt (default: ovs-ofctl's own)")
	bridge := flag.String("bridge", "br-int", "integration bridge")
	datapath := flag.String("datapath-type", "system", `OVS datapath of the bridge ("system" or "netdev")`)
	consul := flag.String("consul", envOr("CONSUL_HTTP_ADDR", "127.0.0.1:8500"), "Consul HTTP address")
	prefix := flag.String("prefix", "ovsnet", "Consul KV prefix of ovsnet's state")
	stateDir := flag.String("state-dir", "/var/lib/ovsnet", "where the agent keeps its last known state")
	logLevel := flag.String("log-level", "info", "debug, info, warn or error")
	registerFeatureFlags(flag.CommandLine)
	help.Parse(flag.CommandLine, os.Args[1:], version.Version)

	var level slog.Level
	if err := level.UnmarshalText([]byte(*logLevel)); err != nil {
		fail("invalid -log-level %q", *logLevel)
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	slog.SetDefault(log)

	if *host == "" {
		h, err := os.Hostname()
		if err != nil {
			fail("no -host given and no host name: %v", err)
		}
		*host = h
	}
	tip, err := netip.ParseAddr(*tunnelIP)
	if err != nil || !tip.Is4() {
		fail("-tunnel-ip must be this host's IPv4 underlay address (got %q)", *tunnelIP)
	}
	if *mtu == 0 {
		*mtu = mtuOf(tip)
	}
	rundir := *ovsRundir
	if rundir == "" {
		rundir = "/var/run/openvswitch"
	}
	target := "unix:" + filepath.Join(rundir, *bridge+".mgmt")
	log = log.With("host", *host)

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	sw, err := vswitch.ConnectOVSDB(ctx, *ovsdb, log)
	if err != nil {
		fail("%v", err)
	}
	defer sw.Close()
	backend, err := store.NewConsul(*consul, nil)
	if err != nil {
		fail("%v", err)
	}
	_ = os.Unsetenv("CONSUL_HTTP_TOKEN") // read by the client above; the commands the agent runs do not inherit it
	st := store.New(backend, *prefix)
	cfg := ovsagent.Config{
		Host: *host, TunnelIP: tip, UnderlayMTU: *mtu, Bridge: *bridge, DatapathType: *datapath,
		StateDir: filepath.Join(*stateDir, *host), Pipeline: flows.DefaultConfig(), Version: version.Version, Logger: log,
	}
	pl := hostnet.NewPlumber()
	env := &agentEnv{Log: log, Config: &cfg, Store: st, Plumber: pl, OVSRundir: *ovsRundir}
	var builds []build
	for _, f := range features {
		b, err := f.setup(env)
		if err != nil {
			fail("%s: %v", f.name, err)
		}
		if b != nil {
			builds = append(builds, b)
		}
	}
	src := ovsagent.NewConsulSource(st, *host, env.Catalog, log)
	a := ovsagent.New(cfg, src, sw, vswitch.NewOpenFlow(target), pl, hostnet.NewKernel(),
		ovsagent.NewCluster(st, *host, log))
	for _, b := range builds {
		a.AddExtension(b(a))
	}
	if *datapath == "netdev" {
		tn := hostnet.NewTunnelNeighbors(*ovsRundir, log)
		a.AddExtension(tn)
		a.ResolvePeersWith(tn)
	}
	log.Info("ovsnet agent starting", "tunnel_ip", tip, "underlay_mtu", *mtu, "bridge", *bridge, "datapath", *datapath,
		"ovsdb", *ovsdb, "consul", *consul, "version", version.Version)
	if err := a.Run(ctx); err != nil && !errors.Is(err, context.Canceled) {
		fail("%v", err)
	}
}

// mtuOf finds the MTU of the interface that holds addr.
func mtuOf(addr netip.Addr) int {
	addrs, err := netlink.AddrList(nil, netlink.FAMILY_V4)
	if err == nil {
		for _, a := range addrs {
			if ip, ok := netip.AddrFromSlice(a.IP); ok && ip.Unmap() == addr {
				if l, err := netlink.LinkByIndex(a.LinkIndex); err == nil {
					return l.Attrs().MTU
				}
			}
		}
	}
	return 1500
}

func fail(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "ovsnet-agent: "+format+"\n", args...)
	os.Exit(1)
}

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}
