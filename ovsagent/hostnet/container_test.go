//go:build integration

package hostnet

import (
	"errors"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/ovsnet/ovsnet/test/lab"
)

// What CNI's ADD and CHECK read from a container's namespace, against the
// real kernel: a plumbed interface as it is, a missing one, and paths that
// are no container's namespace.
func TestContainerNetnsAndLink(t *testing.T) {
	l := lab.New(t, lab.Options{Hosts: 1})
	h := l.Hosts[0]
	ct := l.AddContainer(h, "c1")
	st := testState()
	ep := st.Endpoints[0]
	ep.Netns = ct.Netns
	pl := NewPlumber()
	inHost(t, h, func() {
		if err := CheckContainerNetns(ct.Netns); err != nil {
			t.Errorf("a container's namespace: %v", err)
		}
		for _, path := range []string{"/proc/self/ns/net", "/proc/1/ns/net"} {
			if err := CheckContainerNetns(path); err == nil {
				t.Errorf("%s accepted", path)
			}
		}
		if err := pl.EnsureEndpoint(&ep, &st.Networks[1], 1450); err != nil {
			t.Error(err)
		}
	})
	file := filepath.Join(l.Dir, "not-a-netns")
	os.WriteFile(file, nil, 0o644)
	if err := CheckContainerNetns(file); err == nil || !strings.Contains(err.Error(), "not a container's network namespace") {
		t.Errorf("a file: %v", err)
	}
	if err := CheckContainerNetns("/run/netns/" + l.Prefix + "-none"); err == nil || !strings.Contains(err.Error(), "no such file") {
		t.Errorf("a missing namespace: %v", err)
	}
	link, err := InspectContainerLink(ct.Netns, "eth0")
	if err != nil {
		t.Fatal(err)
	}
	if link.MAC.String() != ep.MAC.String() || !link.Up || link.MTU != 1450 ||
		!slices.Contains(link.Addrs, ep.IPv4) || !slices.Contains(link.Addrs, ep.IPv6) {
		t.Errorf("eth0 read as %+v, endpoint %+v", link, ep)
	}
	if !slices.Equal(link.Gateways, []netip.Addr{netip.MustParseAddr("10.0.0.1"), netip.MustParseAddr("fd00:2::1")}) {
		t.Errorf("default routes via %v", link.Gateways)
	}
	if _, err := InspectContainerLink(ct.Netns, "eth7"); !errors.Is(err, ErrNoLink) {
		t.Errorf("a missing interface: %v", err)
	}
	inHost(t, h, func() {
		if err := pl.RemoveEndpoint(ep.PortName()); err != nil {
			t.Error(err)
		}
	})
}
