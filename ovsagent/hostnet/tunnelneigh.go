package hostnet

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/ovsnet/ovsnet/model"
	"github.com/ovsnet/ovsnet/ovsagent/vswitch"
)

// TunnelNeighbors keeps ovs-vswitchd's tunnel neighbour cache filled with
// every tunnel peer's next hop, for the userspace (netdev) datapath.
//
// That datapath resolves a VXLAN peer's next hop itself: on a cache miss it
// sends its own ARP request and drops the packet, so the first packet to a
// peer — a new container's first ping, its first SYN — is lost. It fills
// the cache only from ARP replies it happens to see, and misses them when
// the kernel already knows the peer (no ARP is sent) or resolved it before
// the peer's OVS was up. So the agent does not rely on snooping: it asks
// the kernel for each peer's next hop (resolving it if needed) and compares
// with OVS's cache (tnl/neigh/show), writing what is missing or wrong with
// tnl/neigh/set. It checks when a new peer appears and every Period, which
// also restores entries after an OVS restart or a flush.
type TunnelNeighbors struct {
	// Period is how often the cache is checked when nothing changes.
	Period time.Duration

	rundir string
	log    *slog.Logger
	hops   NextHops
	appctl func(ctx context.Context, args ...string) ([]byte, error)

	wake  chan struct{}
	mu    sync.Mutex
	peers []netip.Addr // tunnel IPs of the other hosts, sorted
	self  string
}

// NextHops is the kernel's routing and neighbour table, as far as tunnel
// peers need it.
type NextHops interface {
	// Resolve returns the next hop towards peer: the device it leaves by,
	// its address and MAC. ok is false while the MAC is not known yet;
	// Resolve then starts resolving it.
	Resolve(peer netip.Addr) (hop NextHop, ok bool, err error)
}

// NextHop is where packets to a tunnel peer go first.
type NextHop struct {
	Device string
	IP     netip.Addr
	MAC    net.HardwareAddr
}

// NewTunnelNeighbors returns the keeper for the OVS whose run directory is
// rundir ("" for ovs-appctl's default).
func NewTunnelNeighbors(rundir string, log *slog.Logger) *TunnelNeighbors {
	return &TunnelNeighbors{Period: 10 * time.Second, rundir: rundir, log: log.With("part", "tunnel-neighbors"),
		hops: kernelNextHops{}, appctl: vswitch.Appctl, wake: make(chan struct{}, 1)}
}

func (t *TunnelNeighbors) Name() string { return "tunnel-neighbors" }

// OnState notes the tunnel peers; a new one is resolved at once.
func (t *TunnelNeighbors) OnState(st *model.HostState) {
	var peers []netip.Addr
	for _, h := range st.Hosts {
		if h.Name != st.Host && h.TunnelIP.IsValid() {
			peers = append(peers, h.TunnelIP)
		}
	}
	slices.SortFunc(peers, netip.Addr.Compare)
	peers = slices.Compact(peers)
	t.mu.Lock()
	changed := !slices.Equal(peers, t.peers)
	t.peers = peers
	t.mu.Unlock()
	if changed {
		select {
		case t.wake <- struct{}{}:
		default:
		}
	}
}

// EnsurePeers makes OVS's cache hold these peers' next hops now, waiting
// (bounded by ctx) for the kernel to resolve them: the agent calls it for
// new peers before it reports their endpoints applied, so the first packet
// towards them is not the one the datapath drops.
func (t *TunnelNeighbors) EnsurePeers(ctx context.Context, peers []netip.Addr) error {
	for {
		pending, err := t.sync(ctx, peers)
		if err == nil && pending == 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			if err == nil {
				err = fmt.Errorf("%d tunnel peers not resolved yet", pending)
			}
			return err
		case <-time.After(5 * time.Millisecond):
		}
	}
}

// retryUnresolved is how soon a peer whose next hop the kernel has not
// resolved yet is looked at again.
const retryUnresolved = 100 * time.Millisecond

func (t *TunnelNeighbors) Run(ctx context.Context) error {
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.wake:
		case <-timer.C:
		}
		t.mu.Lock()
		peers := t.peers
		t.mu.Unlock()
		next := t.Period
		if pending, err := t.sync(ctx, peers); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			t.log.Warn("checking OVS's tunnel neighbours failed; retrying", "err", err)
			next = time.Second
		} else if pending > 0 {
			next = retryUnresolved
		}
		timer.Reset(next)
	}
}

// sync makes OVS's cache hold every peer's next hop. It returns how many
// peers the kernel has not resolved yet.
func (t *TunnelNeighbors) sync(ctx context.Context, peers []netip.Addr) (pending int, err error) {
	if len(peers) == 0 {
		return 0, nil
	}
	want := map[netip.Addr]NextHop{}
	var errs []error
	for _, p := range peers {
		hop, ok, err := t.hops.Resolve(p)
		switch {
		case err != nil:
			errs = append(errs, err)
		case !ok:
			pending++
		default:
			want[hop.IP] = hop
		}
	}
	if len(want) == 0 {
		return pending, errors.Join(errs...)
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	out, err := t.run(ctx, "tnl/neigh/show")
	if err != nil {
		return pending, errors.Join(append(errs, err)...)
	}
	have := parseTunnelNeighbors(string(out))
	for _, hop := range want {
		if mac, ok := have[hop.IP]; ok && strings.EqualFold(mac, hop.MAC.String()) {
			continue
		}
		if _, err := t.run(ctx, "tnl/neigh/set", hop.Device, hop.IP.String(), hop.MAC.String()); err != nil {
			errs = append(errs, err)
			continue
		}
		t.log.Debug("set tunnel neighbour", "ip", hop.IP, "mac", hop.MAC.String(), "bridge", hop.Device, "had", have[hop.IP])
	}
	return pending, errors.Join(errs...)
}

func (t *TunnelNeighbors) run(ctx context.Context, args ...string) ([]byte, error) {
	pre := []string{"--timeout=5"}
	if t.rundir != "" {
		ctl, err := vswitch.VswitchdControl(t.rundir)
		if err != nil {
			return nil, err
		}
		pre = append(pre, "-t", ctl)
	}
	return t.appctl(ctx, append(pre, args...)...)
}

// parseTunnelNeighbors reads `ovs-appctl tnl/neigh/show`: a header, a rule,
// then "IP MAC BRIDGE" per entry.
func parseTunnelNeighbors(out string) map[netip.Addr]string {
	m := map[netip.Addr]string{}
	for _, line := range strings.Split(out, "\n") {
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		ip, err := netip.ParseAddr(f[0])
		if err != nil {
			continue // the header and the rule
		}
		m[ip.Unmap()] = f[1]
	}
	return m
}

// kernelNextHops resolves next hops with the kernel's tables (netlink).
type kernelNextHops struct{}

// usable neighbour states: the MAC is known (possibly to be re-confirmed).
const usableNeigh = unix.NUD_REACHABLE | unix.NUD_STALE | unix.NUD_DELAY | unix.NUD_PROBE | unix.NUD_PERMANENT

func (kernelNextHops) Resolve(peer netip.Addr) (NextHop, bool, error) {
	routes, err := netlink.RouteGet(peer.AsSlice())
	if err != nil || len(routes) == 0 {
		return NextHop{}, false, fmt.Errorf("route to tunnel peer %s: %w", peer, err)
	}
	r := routes[0]
	hop := peer
	if gw, ok := netip.AddrFromSlice(r.Gw); ok && gw.IsValid() && !gw.IsUnspecified() {
		hop = gw.Unmap()
	}
	link, err := netlink.LinkByIndex(r.LinkIndex)
	if err != nil {
		return NextHop{}, false, fmt.Errorf("device towards tunnel peer %s: %w", peer, err)
	}
	family := netlink.FAMILY_V4
	if hop.Is6() {
		family = netlink.FAMILY_V6
	}
	neighs, err := netlink.NeighList(r.LinkIndex, family)
	if err != nil {
		return NextHop{}, false, fmt.Errorf("neighbours on %s: %w", link.Attrs().Name, err)
	}
	for _, n := range neighs {
		if a, ok := netip.AddrFromSlice(n.IP); ok && a.Unmap() == hop && n.State&usableNeigh != 0 && len(n.HardwareAddr) == 6 {
			return NextHop{Device: link.Attrs().Name, IP: hop, MAC: n.HardwareAddr}, true, nil
		}
	}
	// A datagram to the peer's discard port makes the kernel resolve it.
	if conn, err := net.DialUDP("udp", nil, net.UDPAddrFromAddrPort(netip.AddrPortFrom(peer, 9))); err == nil {
		_, _ = conn.Write([]byte{0})
		_ = conn.Close()
	}
	return NextHop{}, false, nil
}
