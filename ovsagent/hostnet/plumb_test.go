//go:build integration

package hostnet

import (
	"context"
	"net/netip"
	"runtime"
	"strings"
	"testing"

	"github.com/vishvananda/netns"

	"github.com/ovsnet/ovsnet/model"
	"github.com/ovsnet/ovsnet/test/lab"
)

// Plumbing against the real kernel, in a lab host.

func testState() model.HostState {
	id := func(c string) string { return strings.Repeat(c, 64) }
	over := model.Network{ID: id("a"), Name: "over", Driver: model.DriverOverlay, Scope: model.ScopeGlobal,
		Subnet: netip.MustParsePrefix("10.0.0.0/24"), Gateway: netip.MustParseAddr("10.0.0.1"), VNI: 4097,
		EnableIPv6: true, Subnet6: netip.MustParsePrefix("fd00:2::/64"), Gateway6: netip.MustParseAddr("fd00:2::1")}
	br := model.Network{ID: id("b"), Name: "br", Driver: model.DriverBridge, Scope: model.ScopeLocal, Host: "h1",
		Subnet: netip.MustParsePrefix("172.18.0.0/16"), Gateway: netip.MustParseAddr("172.18.0.1"), VNI: 4098}
	ep := func(c, net, host, ip, ip6 string) model.Endpoint {
		e := model.Endpoint{ID: id(c), NetworkID: net, Host: host, ContainerID: id("f"), ContainerName: "c" + c, IfName: "eth0",
			IPv4: netip.MustParsePrefix(ip), MAC: model.MACFromIPv4(netip.MustParsePrefix(ip).Addr())}
		if ip6 != "" {
			e.IPv6 = netip.MustParsePrefix(ip6)
		}
		return e
	}
	return model.HostState{Host: "h1", Networks: []model.Network{br, over},
		Endpoints: []model.Endpoint{ep("1", over.ID, "h1", "10.0.0.2/24", "fd00:2::2/64"), ep("2", over.ID, "h2", "10.0.0.3/24", "fd00:2::3/64"),
			ep("3", br.ID, "h1", "172.18.0.2/16", "")},
		Hosts: []model.Host{{Name: "h2", TunnelIP: netip.MustParseAddr("192.0.2.2")}}}
}

func TestPlumbEndpoint(t *testing.T) {
	l := lab.New(t, lab.Options{Hosts: 1})
	h := l.Hosts[0]
	ct := l.AddContainer(h, "c1")
	st := testState()
	ep := st.Endpoints[0]
	ep.Netns = ct.Netns
	n := &st.Networks[1]
	pl := NewPlumber()
	inHost(t, h, func() {
		for range 2 { // idempotent
			if err := pl.EnsureEndpoint(&ep, n, 1450); err != nil {
				t.Error(err)
				return
			}
		}
		ports, err := pl.EndpointPorts()
		if err != nil || len(ports) != 1 || ports[0] != (EndpointPort{Name: ep.PortName(), Up: true}) {
			t.Errorf("endpoint ports = %v %v", ports, err)
		}
	})
	ctx := context.Background()
	out, _ := ct.Exec(ctx, "ip", "-o", "addr", "show", "eth0")
	for _, want := range []string{"10.0.0.2/24", "fd00:2::2/64"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("eth0 lacks %s: %s", want, out)
		}
	}
	link, _ := ct.Exec(ctx, "ip", "-o", "link", "show", "eth0")
	if !strings.Contains(string(link), "mtu 1450") || !strings.Contains(string(link), ep.MAC.String()) || !strings.Contains(string(link), "state UP") {
		t.Errorf("eth0: %s", link)
	}
	routes, _ := ct.Exec(ctx, "ip", "route")
	if !strings.Contains(string(routes), "default via 10.0.0.1 dev eth0") {
		t.Errorf("routes: %s", routes)
	}
	feats, _ := ct.Exec(ctx, "ethtool", "-k", "eth0")
	if !strings.Contains(string(feats), "tx-checksumming: off") {
		t.Errorf("tx checksum offload still on:\n%s", feats)
	}
	// A second endpoint in the same container keeps the first default route.
	ep2 := st.Endpoints[2]
	ep2.Netns, ep2.IfName = ct.Netns, "eth1"
	inHost(t, h, func() {
		if err := pl.EnsureEndpoint(&ep2, &st.Networks[0], 1500); err != nil {
			t.Error(err)
		}
	})
	routes, _ = ct.Exec(ctx, "ip", "route")
	if strings.Count(string(routes), "default") != 1 {
		t.Errorf("two default routes: %s", routes)
	}
	// A name already taken inside the container fails cleanly.
	clash := ep2
	clash.ID = strings.Repeat("9", 64)
	inHost(t, h, func() {
		if err := pl.EnsureEndpoint(&clash, &st.Networks[0], 1500); err == nil || !strings.Contains(err.Error(), "already has an interface named eth1") {
			t.Errorf("clashing name: %v", err)
		}
		if err := pl.RemoveEndpoint(ep.PortName()); err != nil {
			t.Error(err)
		}
		if err := pl.RemoveEndpoint(ep.PortName()); err != nil {
			t.Errorf("removing twice: %v", err)
		}
	})
	if out, _ := ct.Exec(ctx, "ip", "-o", "link"); strings.Contains(string(out), "eth0") {
		t.Errorf("eth0 survived removal: %s", out)
	}
}

// inHost runs f on a thread inside the lab host's network namespace, as
// the agent runs there.
func inHost(t *testing.T, h *lab.Host, f func()) {
	t.Helper()
	done := make(chan struct{})
	go func() {
		defer close(done)
		// The thread stays locked (and dies with the goroutine) unless it is
		// back in its own namespace: Go keeps the main thread alive, and a
		// main thread left in the lab namespace would look like a leftover.
		runtime.LockOSThread()
		orig, err := netns.Get()
		if err != nil {
			t.Error(err)
			return
		}
		defer orig.Close()
		target, err := netns.GetFromName(h.Netns)
		if err != nil {
			t.Error(err)
			return
		}
		defer target.Close()
		if err := netns.Set(target); err != nil {
			t.Error(err)
			return
		}
		defer func() {
			if err := netns.Set(orig); err == nil {
				runtime.UnlockOSThread()
			}
		}()
		f()
	}()
	<-done
}
