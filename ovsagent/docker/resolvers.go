package docker

import (
	"bufio"
	"encoding/json"
	"net/netip"
	"os"
	"strings"

	"github.com/ovsnet/ovsnet/model"
)

// Names on internal networks. Docker's embedded resolver (127.0.0.11)
// answers its own engine's containers and forwards every other query to
// the daemon's upstream resolvers from inside the container's namespace.
// A container whose only networks are internal has no route there, so it
// could not resolve containers on other hosts. Its Join therefore answers
// host routes to those resolvers through the network's gateway: the query
// reaches br-int, where table DNS steers it to the agent, which answers
// ovsnet's names and NXDOMAIN for the rest (never forwarded from an
// internal network). Nothing else can leave: Forward still has no flow to
// an internal network's gateway.

// joinRoute is one of the Join answer's StaticRoutes.
type joinRoute struct {
	Destination string `json:"Destination"`
	RouteType   int    `json:"RouteType"` // 0: through NextHop
	NextHop     string `json:"NextHop"`
}

// resolverRoutes are the host routes an internal network's endpoint needs
// to reach the resolver.
func (p *Plugin) resolverRoutes(ep *model.Endpoint, n *model.Network) []joinRoute {
	var routes []joinRoute
	for _, a := range p.resolvers(ep.IPv6.IsValid()) {
		switch {
		case a.Is4() && n.Gateway.IsValid():
			routes = append(routes, joinRoute{Destination: a.String() + "/32", NextHop: n.Gateway.String()})
		case a.Is6() && ep.IPv6.IsValid() && n.Gateway6.IsValid():
			routes = append(routes, joinRoute{Destination: a.String() + "/128", NextHop: n.Gateway6.String()})
		}
	}
	return routes
}

// Docker's defaults when the host has no usable resolver.
var dockerDefaultResolvers = []netip.Addr{netip.MustParseAddr("8.8.8.8"), netip.MustParseAddr("8.8.4.4")}
var dockerDefaultResolvers6 = []netip.Addr{netip.MustParseAddr("2001:4860:4860::8888"), netip.MustParseAddr("2001:4860:4860::8844")}

// resolvers returns the servers Docker's resolver forwards to, found as
// dockerd finds them: the configured list, else the daemon's "dns"
// setting, else the host's resolv.conf without loopback addresses
// (systemd-resolved's upstream list behind its stub), else Google's.
func (p *Plugin) resolvers(ipv6 bool) []netip.Addr {
	if len(p.cfg.Resolvers) > 0 {
		return p.cfg.Resolvers
	}
	if addrs := daemonJSONResolvers("/etc/docker/daemon.json"); len(addrs) > 0 {
		return addrs
	}
	addrs := resolvConfServers("/etc/resolv.conf")
	if len(addrs) == 0 {
		addrs = resolvConfServers("/run/systemd/resolve/resolv.conf")
	}
	if len(addrs) == 0 {
		addrs = append(addrs, dockerDefaultResolvers...)
		if ipv6 {
			addrs = append(addrs, dockerDefaultResolvers6...)
		}
	}
	return addrs
}

// daemonJSONResolvers reads the "dns" list of dockerd's configuration file.
func daemonJSONResolvers(path string) []netip.Addr {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil
	}
	var cfg struct {
		DNS []string `json:"dns"`
	}
	if json.Unmarshal(b, &cfg) != nil {
		return nil
	}
	var out []netip.Addr
	for _, s := range cfg.DNS {
		if a, err := netip.ParseAddr(s); err == nil && !a.IsLoopback() {
			out = append(out, a.Unmap())
		}
	}
	return out
}

// resolvConfServers reads the nameserver lines of a resolv.conf, without
// loopback addresses (Docker drops them: they mean nothing in a
// container).
func resolvConfServers(path string) []netip.Addr {
	f, err := os.Open(path)
	if err != nil {
		return nil
	}
	defer f.Close()
	var out []netip.Addr
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 2 || fields[0] != "nameserver" {
			continue
		}
		a, err := netip.ParseAddr(fields[1])
		if err != nil || a.IsLoopback() || a.Zone() != "" {
			continue
		}
		out = append(out, a.Unmap())
	}
	return out
}
