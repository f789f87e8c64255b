package hostnet

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/ovsnet/ovsnet/model"
)

type fakeHops map[netip.Addr]NextHop

func (f fakeHops) Resolve(peer netip.Addr) (NextHop, bool, error) {
	h, ok := f[peer]
	return h, ok, nil
}

func TestTunnelNeighborsWritesWhatOVSLacks(t *testing.T) {
	mac := func(s string) net.HardwareAddr { m, _ := net.ParseMAC(s); return m }
	a, b, c, gw := netip.MustParseAddr("192.0.2.2"), netip.MustParseAddr("192.0.2.3"), netip.MustParseAddr("198.51.100.7"), netip.MustParseAddr("192.0.2.254")
	tn := NewTunnelNeighbors("", slog.New(slog.NewTextHandler(io.Discard, nil)))
	tn.hops = fakeHops{
		a: {Device: "br-phy", IP: a, MAC: mac("02:00:c0:00:02:02")},  // cached right
		b: {Device: "br-phy", IP: b, MAC: mac("02:00:c0:00:02:03")},  // cached with another MAC
		c: {Device: "br-phy", IP: gw, MAC: mac("02:00:c0:00:02:fe")}, // behind a gateway, not cached
		// 192.0.2.4 is not resolved yet
	}
	var calls []string
	tn.appctl = func(_ context.Context, args ...string) ([]byte, error) {
		calls = append(calls, strings.Join(args, " "))
		if slices.Contains(args, "tnl/neigh/show") {
			return []byte("IP                                            MAC                 Bridge\n" +
				"==========================================================================\n" +
				"192.0.2.2                                     02:00:c0:00:02:02   br-phy\n" +
				"192.0.2.3                                     02:00:c0:00:02:99   br-phy\n"), nil
		}
		return []byte("OK\n"), nil
	}
	tn.OnState(&model.HostState{Host: "h1", Hosts: []model.Host{
		{Name: "h1", TunnelIP: netip.MustParseAddr("192.0.2.1")},
		{Name: "h2", TunnelIP: a}, {Name: "h3", TunnelIP: b}, {Name: "h4", TunnelIP: netip.MustParseAddr("192.0.2.4")},
		{Name: "h5", TunnelIP: c}, {Name: "h6"},
	}})
	if len(tn.peers) != 4 {
		t.Fatalf("peers %v: want the four other hosts with a tunnel IP", tn.peers)
	}
	pending, err := tn.sync(context.Background(), tn.peers)
	if err != nil || pending != 1 {
		t.Fatalf("sync: pending %d, err %v; want 1 unresolved peer and no error", pending, err)
	}
	slices.Sort(calls)
	want := []string{
		"--timeout=5 tnl/neigh/set br-phy 192.0.2.254 02:00:c0:00:02:fe",
		"--timeout=5 tnl/neigh/set br-phy 192.0.2.3 02:00:c0:00:02:03",
		"--timeout=5 tnl/neigh/show",
	}
	if !slices.Equal(calls, want) {
		t.Fatalf("ovs-appctl calls:\n%s\nwant:\n%s", strings.Join(calls, "\n"), strings.Join(want, "\n"))
	}

	// Nothing to resolve: OVS is not asked at all.
	calls = nil
	if pending, err := tn.sync(context.Background(), []netip.Addr{netip.MustParseAddr("192.0.2.4")}); err != nil || pending != 1 || len(calls) != 0 {
		t.Fatalf("unresolved only: pending %d err %v calls %v", pending, err, calls)
	}
}
