package model

import (
	"net/netip"
	"strings"
	"testing"
)

func validOverlay() Network {
	return Network{
		ID: strings.Repeat("a", 64), Name: "testnet02", Driver: DriverOverlay, Scope: ScopeGlobal,
		Subnet: netip.MustParsePrefix("10.0.0.0/24"), Gateway: netip.MustParseAddr("10.0.0.1"), VNI: 4097,
	}
}

func TestNetworkValidate(t *testing.T) {
	cases := []struct {
		name   string
		mutate func(*Network)
		want   string
	}{
		{"valid overlay", func(*Network) {}, ""},
		{"bad name", func(n *Network) { n.Name = "-x" }, "invalid network name"},
		{"empty name", func(n *Network) { n.Name = "" }, "must not be empty"},
		{"unknown driver", func(n *Network) { n.Driver = "macvlan" }, `unknown driver "macvlan"`},
		{"bridge without host", func(n *Network) { n.Driver, n.Scope = DriverBridge, ScopeLocal }, "lives on one host"},
		{"host bits", func(n *Network) { n.Subnet = netip.MustParsePrefix("10.0.0.5/24") }, "host bits are set (did you mean 10.0.0.0/24?)"},
		{"v6 as v4", func(n *Network) { n.Subnet = netip.MustParsePrefix("fd00::/64") }, "not an IPv4 subnet"},
		{"gateway outside", func(n *Network) { n.Gateway = netip.MustParseAddr("10.0.1.1") }, "gateway 10.0.1.1 is not in subnet 10.0.0.0/24"},
		{"gateway broadcast", func(n *Network) { n.Gateway = netip.MustParseAddr("10.0.0.255") }, "broadcast"},
		{"range outside", func(n *Network) { n.IPRange = netip.MustParsePrefix("10.0.1.0/25") }, "not inside subnet"},
		{"range bigger", func(n *Network) { n.IPRange = netip.MustParsePrefix("10.0.0.0/16") }, "not inside subnet"},
		{"v6 without enable", func(n *Network) { n.Subnet6 = netip.MustParsePrefix("fd00::/64") }, "IPv6 is not enabled"},
		{"v6 missing subnet", func(n *Network) { n.EnableIPv6 = true }, "an IPv6 subnet is required"},
		{"tiny subnet", func(n *Network) {
			n.Subnet = netip.MustParsePrefix("10.0.0.0/31")
			n.Gateway = netip.MustParseAddr("10.0.0.1")
		}, "too small"},
		{"vni", func(n *Network) { n.VNI = 7 }, "VNI 7 out of range"},
		{"mtu", func(n *Network) { n.MTU = 100 }, "MTU 100 out of range"},
	}
	for _, c := range cases {
		n := validOverlay()
		c.mutate(&n)
		err := n.Validate()
		if c.want == "" {
			if err != nil {
				t.Errorf("%s: %v", c.name, err)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: err = %v, want %q", c.name, err, c.want)
		}
	}
}

func TestEndpointMTU(t *testing.T) {
	n := validOverlay()
	if got := n.EndpointMTU(1500); got != 1450 {
		t.Errorf("overlay MTU on 1500 underlay = %d, want 1450", got)
	}
	if got := n.EndpointMTU(0); got != 1450 {
		t.Errorf("overlay MTU with unknown underlay = %d, want 1450", got)
	}
	n.MTU = 1400
	if got := n.EndpointMTU(9000); got != 1400 {
		t.Errorf("configured MTU = %d, want 1400", got)
	}
}

func TestEndpointValidate(t *testing.T) {
	n := validOverlay()
	ep := Endpoint{ID: strings.Repeat("b", 64), NetworkID: n.ID, Host: "h1", ContainerName: "c1",
		MAC: MACFromIPv4(netip.MustParseAddr("10.0.0.2")), IPv4: netip.MustParsePrefix("10.0.0.2/24"), Netns: "/run/netns/c1"}
	if err := ep.Validate(&n); err != nil {
		t.Fatal(err)
	}
	if ep.MAC.String() != "02:42:0a:00:00:02" {
		t.Errorf("MAC = %s", ep.MAC)
	}
	if ep.PortName() != "ovsbbbbbbbbbbb" || len(ep.PortName()) > 15 {
		t.Errorf("port name %q", ep.PortName())
	}
	bad := ep
	bad.IPv4 = netip.MustParsePrefix("10.0.1.2/24")
	if err := bad.Validate(&n); err == nil {
		t.Error("address outside subnet accepted")
	}
	bad = ep
	bad.Aliases = []string{"bad alias"}
	if err := bad.Validate(&n); err == nil {
		t.Error("bad alias accepted")
	}
	bad = ep
	bad.MAC = HardwareAddr{1, 2, 3, 4, 5, 6}
	if err := bad.Validate(&n); err == nil {
		t.Error("multicast MAC accepted")
	}
	local := n
	local.Driver, local.Scope, local.Host = DriverBridge, ScopeLocal, "h2"
	if err := ep.Validate(&local); err == nil || !strings.Contains(err.Error(), "local to host h2") {
		t.Errorf("endpoint on other host of a bridge network: %v", err)
	}
}

func TestParseLink(t *testing.T) {
	l, err := ParseLink("mysql01:db")
	if err != nil || l != (Link{"mysql01", "db"}) {
		t.Fatalf("%v %v", l, err)
	}
	l, err = ParseLink("/mysql01")
	if err != nil || l != (Link{"mysql01", "mysql01"}) {
		t.Fatalf("%v %v", l, err)
	}
	if _, err := ParseLink("a:b:c"); err == nil {
		t.Fatal("a:b:c accepted")
	}
}

func TestLinkLocal(t *testing.T) {
	mac, _ := ParseMAC("02:42:0a:00:00:02")
	if got := LinkLocal(mac).String(); got != "fe80::42:aff:fe00:2" {
		t.Fatalf("LinkLocal = %s", got)
	}
}

func TestCompileSelectsWhatAHostNeeds(t *testing.T) {
	over := validOverlay()
	other := validOverlay()
	other.ID, other.Name, other.VNI = strings.Repeat("c", 64), "other", 4098
	br := Network{ID: strings.Repeat("d", 64), Name: "testnet01", Driver: DriverBridge, Scope: ScopeLocal, Host: "h1",
		Subnet: netip.MustParsePrefix("172.18.0.0/16"), Gateway: netip.MustParseAddr("172.18.0.1"), VNI: 4099}
	ep := func(id byte, net, host string) Endpoint {
		return Endpoint{ID: strings.Repeat(string(id), 64), NetworkID: net, Host: host, ContainerName: "c" + string(id)}
	}
	eps := []Endpoint{ep('1', over.ID, "h1"), ep('2', over.ID, "h2"), ep('3', other.ID, "h2"), ep('4', other.ID, "h3")}
	hosts := []Host{{Name: "h1", TunnelIP: netip.MustParseAddr("192.0.2.1")}, {Name: "h2", TunnelIP: netip.MustParseAddr("192.0.2.2")}, {Name: "h3"}}
	st := Compile("h1", []Network{over, other, br}, eps, hosts)
	if len(st.Networks) != 2 || st.Networks[0].Name != "testnet01" || st.Networks[1].Name != "testnet02" {
		t.Fatalf("networks = %+v", st.Networks)
	}
	if len(st.Endpoints) != 2 {
		t.Fatalf("endpoints = %+v", st.Endpoints)
	}
	// Every other host with a tunnel address is a peer (h3 has none yet).
	if len(st.Hosts) != 1 || st.Hosts[0].Name != "h2" {
		t.Fatalf("hosts = %+v", st.Hosts)
	}
	if len(st.Catalog) != 3 {
		t.Fatalf("catalog = %+v", st.Catalog)
	}
}
