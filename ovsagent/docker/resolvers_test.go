package docker

import (
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/ovsnet/ovsnet/model"
)

func TestResolverRoutesOfInternalNetworks(t *testing.T) {
	dir := t.TempDir()
	rc := filepath.Join(dir, "resolv.conf")
	if err := os.WriteFile(rc, []byte("# x\nnameserver 127.0.0.53\nnameserver 192.0.2.53\nnameserver fe80::1%eth0\nnameserver 2001:db8::53\nsearch example.test\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if got, want := resolvConfServers(rc), []netip.Addr{netip.MustParseAddr("192.0.2.53"), netip.MustParseAddr("2001:db8::53")}; !reflect.DeepEqual(got, want) {
		t.Fatalf("resolv.conf servers %v, want %v (no loopback, no zoned)", got, want)
	}
	dj := filepath.Join(dir, "daemon.json")
	if err := os.WriteFile(dj, []byte(`{"dns":["198.51.100.1","::1","bogus"],"debug":true}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if got, want := daemonJSONResolvers(dj), []netip.Addr{netip.MustParseAddr("198.51.100.1")}; !reflect.DeepEqual(got, want) {
		t.Fatalf("daemon.json servers %v, want %v", got, want)
	}

	p := &Plugin{cfg: Config{Resolvers: []netip.Addr{netip.MustParseAddr("192.0.2.53"), netip.MustParseAddr("2001:db8::53")}}}
	n := &model.Network{Internal: true, Gateway: netip.MustParseAddr("10.5.0.1"), Gateway6: netip.MustParseAddr("fd00:5::1")}
	ep4 := &model.Endpoint{IPv4: netip.MustParsePrefix("10.5.0.2/24")}
	if got, want := p.resolverRoutes(ep4, n), []joinRoute{{Destination: "192.0.2.53/32", NextHop: "10.5.0.1"}}; !reflect.DeepEqual(got, want) {
		t.Fatalf("IPv4 endpoint routes %v, want %v", got, want)
	}
	ep6 := &model.Endpoint{IPv4: netip.MustParsePrefix("10.5.0.2/24"), IPv6: netip.MustParsePrefix("fd00:5::2/64")}
	want6 := []joinRoute{{Destination: "192.0.2.53/32", NextHop: "10.5.0.1"}, {Destination: "2001:db8::53/128", NextHop: "fd00:5::1"}}
	if got := p.resolverRoutes(ep6, n); !reflect.DeepEqual(got, want6) {
		t.Fatalf("dual-stack endpoint routes %v, want %v", got, want6)
	}
}
