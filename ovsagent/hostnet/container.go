package hostnet

import (
	"errors"
	"fmt"
	"net"
	"net/netip"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"

	"github.com/ovsnet/ovsnet/model"
)

// What the CNI extension asks of a container's namespace before and after
// plumbing: is it one (refused before anything is made), and what does its
// interface look like (CHECK).

// CheckContainerNetns says whether path is a container's network
// namespace: the path's shape, and an open namespace that is neither the
// agent's nor PID 1's.
func CheckContainerNetns(path string) error {
	if err := model.CheckNetnsPath(path); err != nil {
		return err
	}
	ns, err := netns.GetFromPath(path)
	if err != nil {
		return fmt.Errorf("network namespace %s: %w", path, err)
	}
	defer ns.Close()
	return hostNamespaces.check(int(ns), path)
}

// ContainerLink is an interface inside a container, as the kernel has it.
type ContainerLink struct {
	MAC   net.HardwareAddr
	Up    bool
	MTU   int
	Addrs []netip.Prefix // global ones
	// Gateways are the next hops of the default routes through the link.
	Gateways []netip.Addr
}

// ErrNoLink says the container has no interface of that name.
var ErrNoLink = errors.New("no such interface in the container")

// InspectContainerLink reads interface ifname in the namespace at path.
func InspectContainerLink(path, ifname string) (ContainerLink, error) {
	var out ContainerLink
	if err := model.CheckNetnsPath(path); err != nil {
		return out, err
	}
	ns, err := netns.GetFromPath(path)
	if err != nil {
		return out, fmt.Errorf("network namespace %s: %w", path, err)
	}
	defer ns.Close()
	if err := hostNamespaces.check(int(ns), path); err != nil {
		return out, err
	}
	h, err := netlink.NewHandleAt(ns)
	if err != nil {
		return out, fmt.Errorf("enter namespace %s: %w", path, err)
	}
	defer h.Close()
	link, err := h.LinkByName(ifname)
	if err != nil {
		var nf netlink.LinkNotFoundError
		if errors.As(err, &nf) {
			return out, fmt.Errorf("%s: %w", ifname, ErrNoLink)
		}
		return out, fmt.Errorf("find %s: %w", ifname, err)
	}
	attrs := link.Attrs()
	out.MAC, out.Up, out.MTU = attrs.HardwareAddr, attrs.Flags&net.FlagUp != 0, attrs.MTU
	addrs, err := h.AddrList(link, netlink.FAMILY_ALL)
	if err != nil {
		return out, fmt.Errorf("addresses of %s: %w", ifname, err)
	}
	for _, a := range addrs {
		if a.Scope != unix.RT_SCOPE_UNIVERSE {
			continue
		}
		ip, ok := netip.AddrFromSlice(a.IP)
		if !ok {
			continue
		}
		ones, _ := a.Mask.Size()
		out.Addrs = append(out.Addrs, netip.PrefixFrom(ip.Unmap(), ones))
	}
	routes, err := h.RouteListFiltered(netlink.FAMILY_ALL, &netlink.Route{LinkIndex: attrs.Index, Table: unix.RT_TABLE_MAIN},
		netlink.RT_FILTER_OIF|netlink.RT_FILTER_TABLE)
	if err != nil {
		return out, fmt.Errorf("routes of %s: %w", ifname, err)
	}
	for _, r := range routes {
		if (r.Dst == nil || r.Dst.IP.IsUnspecified() && isZeroMask(r.Dst.Mask)) && r.Gw != nil {
			if gw, ok := netip.AddrFromSlice(r.Gw); ok {
				out.Gateways = append(out.Gateways, gw.Unmap())
			}
		}
	}
	return out, nil
}
