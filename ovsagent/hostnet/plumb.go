package hostnet

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/netip"
	"os"
	"regexp"
	"slices"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netlink/nl"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"

	"github.com/ovsnet/ovsnet/flows"
	"github.com/ovsnet/ovsnet/model"
)

type Netlink struct{}

// NewPlumber returns the netlink-based Plumber of the agent's own namespace
// (the host's).
func NewPlumber() Netlink { return Netlink{} }

var endpointPortRE = regexp.MustCompile(`^ovs[0-9a-f]{11}$`)

func (Netlink) EnsureEndpoint(ep *model.Endpoint, n *model.Network, mtu int) error {
	if _, err := netlink.LinkByName(ep.PortName()); err == nil {
		return nil // plumbed before (possibly by a previous agent process)
	}
	if ep.Netns == "" {
		return fmt.Errorf("endpoint %s has no network namespace to plumb into", model.ShortID(ep.ID))
	}
	if err := model.CheckNetnsPath(ep.Netns); err != nil {
		return err
	}
	ns, err := netns.GetFromPath(ep.Netns)
	if err != nil {
		return fmt.Errorf("network namespace %s: %w", ep.Netns, err)
	}
	defer ns.Close()
	if err := hostNamespaces.check(int(ns), ep.Netns); err != nil {
		return err // netnscheck.go
	}
	inside, err := netlink.NewHandleAt(ns)
	if err != nil {
		return fmt.Errorf("enter namespace %s: %w", ep.Netns, err)
	}
	defer inside.Close()
	if _, err := inside.LinkByName(ep.IfName); err == nil {
		return fmt.Errorf("container %s already has an interface named %s", ep.ContainerName, ep.IfName)
	}
	// The peer is created inside the container's namespace with its final
	// name: moving a device between namespaces costs the kernel an RCU
	// grace period (~20 ms), creating it there does not.
	veth := &netlink.Veth{
		LinkAttrs:        netlink.LinkAttrs{Name: ep.PortName(), MTU: mtu},
		PeerName:         ep.IfName,
		PeerHardwareAddr: net.HardwareAddr(ep.MAC),
		PeerMTU:          uint32(mtu),
		PeerNamespace:    netlink.NsFd(int(ns)),
	}
	if err := netlink.LinkAdd(veth); err != nil {
		return fmt.Errorf("create veth %s: %w", ep.PortName(), err)
	}
	if err := configureEndpoint(ep, n, ns, inside); err != nil {
		if host, lerr := netlink.LinkByName(ep.PortName()); lerr == nil {
			_ = netlink.LinkDel(host)
		}
		return err
	}
	return nil
}

func configureEndpoint(ep *model.Endpoint, n *model.Network, ns netns.NsHandle, inside *netlink.Handle) error {
	link, err := inside.LinkByName(ep.IfName)
	if err != nil {
		return fmt.Errorf("find %s in container: %w", ep.IfName, err)
	}
	// The userspace datapath does not complete partial checksums: the
	// container must send full ones, or TCP stalls (ping still works).
	if err := disableTxChecksum(ns, ep.IfName); err != nil {
		return err
	}
	v4 := &netlink.Addr{IPNet: prefixNet(ep.IPv4)}
	if err := inside.AddrAdd(link, v4); err != nil {
		return fmt.Errorf("add %s: %w", ep.IPv4, err)
	}
	if ep.IPv6.IsValid() {
		// No duplicate address detection: the controller already made the
		// address unique, and DAD would delay the address by a second.
		v6 := &netlink.Addr{IPNet: prefixNet(ep.IPv6), Flags: unix.IFA_F_NODAD}
		if err := inside.AddrAdd(link, v6); err != nil {
			return fmt.Errorf("add %s: %w", ep.IPv6, err)
		}
	}
	if !ep.IPv6.IsValid() {
		// An IPv4-only network gets no IPv6 link-local address either, as
		// in Docker: the interface stays quiet (no DAD, no solicitations).
		if err := inside.LinkSetIP6AddrGenMode(link, nl.IN6_ADDR_GEN_MODE_NONE); err != nil && !errors.Is(err, unix.EAFNOSUPPORT) {
			return fmt.Errorf("set %s address generation: %w", ep.IfName, err)
		}
	}
	if err := inside.LinkSetUp(link); err != nil {
		return fmt.Errorf("set %s up: %w", ep.IfName, err)
	}
	if n.HasGateway() {
		if err := addDefaultRoute(inside, link, n.Gateway, unix.AF_INET); err != nil {
			return err
		}
		if ep.IPv6.IsValid() && n.Gateway6.IsValid() {
			if err := addDefaultRoute(inside, link, n.Gateway6, unix.AF_INET6); err != nil {
				return err
			}
		}
	}
	host, err := netlink.LinkByName(ep.PortName())
	if err != nil {
		return fmt.Errorf("find %s: %w", ep.PortName(), err)
	}
	if err := disableHostIPv6(ep.PortName()); err != nil {
		return err
	}
	if err := silenceHostARP(ep.PortName()); err != nil {
		return err
	}
	if err := netlink.LinkSetUp(host); err != nil {
		return fmt.Errorf("set %s up: %w", ep.PortName(), err)
	}
	return nil
}

// disableHostIPv6 turns IPv6 off on the host end of a veth before it comes
// up. That end is only an OVS port; left on, the kernel gives it a
// link-local address and runs DAD, MLD reports and router solicitations
// for it, which cost more kernel CPU per new endpoint than plumbing it.
func disableHostIPv6(name string) error {
	err := os.WriteFile("/proc/sys/net/ipv6/conf/"+name+"/disable_ipv6", []byte("1"), 0)
	if err != nil && !errors.Is(err, fs.ErrNotExist) { // no IPv6 in this kernel: nothing to do
		return fmt.Errorf("disable IPv6 on %s: %w", name, err)
	}
	return nil
}

// silenceHostARP keeps the host's kernel from answering ARP on the host end
// of a veth (arp_ignore 8: never). With the userspace datapath the kernel
// sees the container's frames on that end too, and would answer an ARP
// request for the host's own addresses — a bridge network's gateway, on
// its ovsgw port — with the veth's MAC, racing the pipeline's answer: a
// container that took the kernel's sends its traffic to a MAC no flow
// knows. (With the kernel datapath OVS takes the frames first; the setting
// changes nothing there.)
func silenceHostARP(name string) error {
	err := os.WriteFile("/proc/sys/net/ipv4/conf/"+name+"/arp_ignore", []byte("8"), 0)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("arp_ignore on %s: %w", name, err)
	}
	return nil
}

// addDefaultRoute adds a default route through gw unless the container has
// one already: its first network with a gateway keeps the default, as in
// Docker.
func addDefaultRoute(h *netlink.Handle, link netlink.Link, gw netip.Addr, family int) error {
	routes, err := h.RouteListFiltered(family, &netlink.Route{Table: unix.RT_TABLE_MAIN}, netlink.RT_FILTER_TABLE)
	if err != nil {
		return fmt.Errorf("list routes: %w", err)
	}
	for _, r := range routes {
		if r.Dst == nil || r.Dst.IP.IsUnspecified() && isZeroMask(r.Dst.Mask) {
			return nil
		}
	}
	r := &netlink.Route{LinkIndex: link.Attrs().Index, Gw: net.IP(gw.AsSlice())}
	if err := h.RouteAdd(r); err != nil {
		return fmt.Errorf("add default route via %s: %w", gw, err)
	}
	return nil
}

func isZeroMask(m net.IPMask) bool {
	ones, _ := m.Size()
	return ones == 0
}

func prefixNet(p netip.Prefix) *net.IPNet {
	return &net.IPNet{IP: net.IP(p.Addr().AsSlice()), Mask: net.CIDRMask(p.Bits(), p.Addr().BitLen())}
}

func (Netlink) RemoveEndpoint(portName string) error {
	link, err := netlink.LinkByName(portName)
	if err != nil {
		var nf netlink.LinkNotFoundError
		if errors.As(err, &nf) {
			return nil
		}
		return fmt.Errorf("find %s: %w", portName, err)
	}
	if err := netlink.LinkDel(link); err != nil {
		return fmt.Errorf("delete %s: %w", portName, err)
	}
	return nil
}

// EndpointPort is the host side of an endpoint's veth.
type EndpointPort struct {
	Name string
	Up   bool
}

func (Netlink) EndpointPorts() ([]EndpointPort, error) {
	links, err := netlink.LinkList()
	if err != nil {
		return nil, fmt.Errorf("list links: %w", err)
	}
	var out []EndpointPort
	for _, l := range links {
		if l.Type() == "veth" && endpointPortRE.MatchString(l.Attrs().Name) {
			out = append(out, EndpointPort{Name: l.Attrs().Name, Up: l.Attrs().Flags&net.FlagUp != 0})
		}
	}
	return out, nil
}

func (Netlink) SetUp(name string) error {
	link, err := netlink.LinkByName(name)
	if err != nil {
		return fmt.Errorf("find %s: %w", name, err)
	}
	if err := netlink.LinkSetUp(link); err != nil {
		return fmt.Errorf("set %s up: %w", name, err)
	}
	return nil
}

func (Netlink) WatchEndpointPorts(ctx context.Context, changed func()) error {
	updates := make(chan netlink.LinkUpdate, 64)
	done := make(chan struct{})
	defer close(done)
	if err := netlink.LinkSubscribeWithOptions(updates, done, netlink.LinkSubscribeOptions{
		ErrorCallback: func(err error) { changed() }, // a lost update: look anyway
		ListExisting:  true,                          // ports plumbed before this process started
	}); err != nil {
		return fmt.Errorf("watch links: %w", err)
	}
	// Only a port seen up that goes down counts: a new veth is announced
	// (down) several times before it is brought up.
	wasUp := map[string]bool{}
	for {
		select {
		case <-ctx.Done():
			return nil
		case u, ok := <-updates:
			if !ok {
				return errors.New("watch links: subscription ended")
			}
			if u.Link == nil || !endpointPortRE.MatchString(u.Link.Attrs().Name) {
				continue
			}
			name := u.Link.Attrs().Name
			if u.Header.Type == unix.RTM_DELLINK {
				delete(wasUp, name)
				continue
			}
			up := u.Link.Attrs().Flags&net.FlagUp != 0
			if wasUp[name] && !up {
				changed()
			}
			wasUp[name] = up
		}
	}
}

func (Netlink) ConfigureInternal(name string, addrs []netip.Prefix, routes []flows.Route, mtu int) (bool, error) {
	link, err := netlink.LinkByName(name)
	if err != nil {
		var nf netlink.LinkNotFoundError
		if errors.As(err, &nf) {
			return false, nil
		}
		return false, fmt.Errorf("find %s: %w", name, err)
	}
	if mtu > 0 && link.Attrs().MTU != mtu {
		if err := netlink.LinkSetMTU(link, mtu); err != nil {
			return false, fmt.Errorf("set MTU of %s: %w", name, err)
		}
	}
	for _, a := range addrs {
		addr := &netlink.Addr{IPNet: prefixNet(a)}
		if a.Addr().Is6() {
			addr.Flags = unix.IFA_F_NODAD
		}
		if err := netlink.AddrReplace(link, addr); err != nil {
			return false, fmt.Errorf("address %s on %s: %w", a, name, err)
		}
	}
	if !slices.ContainsFunc(addrs, func(a netip.Prefix) bool { return a.Addr().Is6() }) {
		// An IPv4-only port stays quiet on IPv6 (no link-local, no MLD
		// reports into the pipeline).
		if err := disableHostIPv6(name); err != nil {
			return false, err
		}
	}
	if link.Attrs().Flags&net.FlagUp == 0 {
		if err := netlink.LinkSetUp(link); err != nil {
			return false, fmt.Errorf("set %s up: %w", name, err)
		}
	}
	for _, r := range routes {
		route := &netlink.Route{LinkIndex: link.Attrs().Index, Dst: prefixNet(r.Dst), Gw: net.IP(r.Via.AsSlice())}
		if err := netlink.RouteReplace(route); err != nil {
			return false, fmt.Errorf("route %s via %s: %w", r.Dst, r.Via, err)
		}
	}
	return true, nil
}

// dockerPeerName is the container end of a Docker endpoint's veth until
// Docker moves and renames it.
func dockerPeerName(ep *model.Endpoint) string { return "ovt" + ep.ID[:11] }

func (Netlink) EnsureDockerVeth(ep *model.Endpoint, mtu int) (string, error) {
	peer := dockerPeerName(ep)
	if _, err := netlink.LinkByName(ep.PortName()); err == nil {
		return peer, nil
	}
	veth := &netlink.Veth{
		LinkAttrs:        netlink.LinkAttrs{Name: ep.PortName(), MTU: mtu},
		PeerName:         peer,
		PeerHardwareAddr: net.HardwareAddr(ep.MAC),
		PeerMTU:          uint32(mtu),
	}
	if err := netlink.LinkAdd(veth); err != nil {
		return "", fmt.Errorf("create veth %s: %w", ep.PortName(), err)
	}
	fail := func(err error) (string, error) {
		if l, lerr := netlink.LinkByName(ep.PortName()); lerr == nil {
			_ = netlink.LinkDel(l)
		}
		return "", err
	}
	self, err := netns.Get()
	if err != nil {
		return fail(err)
	}
	defer self.Close()
	// Feature flags travel with the device into the container.
	if err := disableTxChecksum(self, peer); err != nil {
		return fail(err)
	}
	host, err := netlink.LinkByName(ep.PortName())
	if err != nil {
		return fail(err)
	}
	if err := disableHostIPv6(ep.PortName()); err != nil {
		return fail(err)
	}
	if err := silenceHostARP(ep.PortName()); err != nil {
		return fail(err)
	}
	if err := netlink.LinkSetUp(host); err != nil {
		return fail(fmt.Errorf("set %s up: %w", ep.PortName(), err))
	}
	return peer, nil
}

func (Netlink) Exists(name string) bool {
	_, err := netlink.LinkByName(name)
	return err == nil
}
