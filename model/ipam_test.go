package model

import (
	"net/netip"
	"strings"
	"testing"
)

func TestDefaultSubnetFollowsDockerPools(t *testing.T) {
	p := netip.MustParsePrefix
	cases := []struct {
		driver Driver
		taken  []netip.Prefix
		want   string
	}{
		{DriverOverlay, nil, "10.0.0.0/24"},
		{DriverOverlay, []netip.Prefix{p("10.0.0.0/24")}, "10.0.1.0/24"},
		{DriverOverlay, []netip.Prefix{p("10.0.0.0/24"), p("10.0.1.0/24"), p("172.18.0.0/16")}, "10.0.2.0/24"},
		{DriverOverlay, []netip.Prefix{p("10.0.0.0/23")}, "10.0.2.0/24"},
		{DriverBridge, nil, "172.18.0.0/16"},
		{DriverBridge, []netip.Prefix{p("172.18.0.0/16")}, "172.19.0.0/16"},
		{DriverBridge, []netip.Prefix{p("172.16.0.0/12")}, "192.168.0.0/20"},
	}
	for _, c := range cases {
		got, err := DefaultSubnet(c.driver, c.taken)
		if err != nil || got.String() != c.want {
			t.Errorf("DefaultSubnet(%s, %v) = %v, %v; want %s", c.driver, c.taken, got, err, c.want)
		}
	}
	if _, err := DefaultSubnet(DriverBridge, []netip.Prefix{p("0.0.0.0/0")}); err == nil {
		t.Error("DefaultSubnet with everything taken: want an error")
	}
}

func TestAllocateLowestSkipsReservedAndUsed(t *testing.T) {
	subnet := netip.MustParsePrefix("10.0.1.0/24")
	gw := netip.MustParseAddr("10.0.1.1")
	used := map[netip.Addr]bool{}
	var got []string
	for range 3 {
		a, err := AllocateLowest(subnet, netip.Prefix{}, gw, used)
		if err != nil {
			t.Fatal(err)
		}
		used[a] = true
		got = append(got, a.String())
	}
	if strings.Join(got, " ") != "10.0.1.2 10.0.1.3 10.0.1.4" {
		t.Fatalf("allocations = %v", got)
	}
	// Freed addresses are handed out again, lowest first.
	delete(used, netip.MustParseAddr("10.0.1.3"))
	if a, _ := AllocateLowest(subnet, netip.Prefix{}, gw, used); a.String() != "10.0.1.3" {
		t.Fatalf("after release got %s, want 10.0.1.3", a)
	}
}

func TestAllocateLowestHonoursRangeAndExhaustion(t *testing.T) {
	subnet := netip.MustParsePrefix("10.0.1.0/24")
	gw := netip.MustParseAddr("10.0.1.1")
	rng := netip.MustParsePrefix("10.0.1.128/30")
	used := map[netip.Addr]bool{}
	var got []string
	for {
		a, err := AllocateLowest(subnet, rng, gw, used)
		if err != nil {
			if err != ErrPoolExhausted {
				t.Fatalf("err = %v, want ErrPoolExhausted", err)
			}
			break
		}
		used[a] = true
		got = append(got, a.String())
		if len(got) > 10 {
			t.Fatal("range allocation does not stop")
		}
	}
	if strings.Join(got, " ") != "10.0.1.128 10.0.1.129 10.0.1.130 10.0.1.131" {
		t.Fatalf("range allocations = %v", got)
	}
	// A /30 subnet has two host addresses, one of them the gateway.
	small := netip.MustParsePrefix("10.9.0.0/30")
	a, err := AllocateLowest(small, netip.Prefix{}, FirstHost(small), map[netip.Addr]bool{})
	if err != nil || a.String() != "10.9.0.2" {
		t.Fatalf("/30 = %v %v", a, err)
	}
	if _, err := AllocateLowest(small, netip.Prefix{}, FirstHost(small), map[netip.Addr]bool{a: true}); err != ErrPoolExhausted {
		t.Fatalf("/30 full: err = %v", err)
	}
}

func TestAllocateIPv6(t *testing.T) {
	subnet := netip.MustParsePrefix("fd00:1::/64")
	gw := FirstHost(subnet)
	if gw.String() != "fd00:1::1" {
		t.Fatalf("gateway = %s", gw)
	}
	a, err := AllocateLowest(subnet, netip.Prefix{}, gw, map[netip.Addr]bool{})
	if err != nil || a.String() != "fd00:1::2" {
		t.Fatalf("first v6 = %v %v", a, err)
	}
	d := DefaultSubnet6("abc")
	if d.Bits() != 64 || d.Addr().As16()[0] != 0xfd || d != DefaultSubnet6("abc") || d == DefaultSubnet6("abd") {
		t.Fatalf("DefaultSubnet6 = %s: want a stable fd00::/8 /64 per id", d)
	}
}

func TestCheckPreferred(t *testing.T) {
	n := &Network{Name: "testnet04", Subnet: netip.MustParsePrefix("10.0.1.0/24"), Gateway: netip.MustParseAddr("10.0.1.1"),
		EnableIPv6: true, Subnet6: netip.MustParsePrefix("fd00:4::/64"), Gateway6: netip.MustParseAddr("fd00:4::1")}
	cases := map[string]string{
		"10.0.1.100": "",
		"fd00:4::64": "",
		"10.0.2.100": "Invalid preferred address 10.0.2.100: It does not belong to any of this network's subnets",
		"fd00:5::1":  "Invalid preferred address fd00:5::1: It does not belong",
		"10.0.1.1":   "it is the gateway",
		"10.0.1.255": "broadcast",
		"10.0.1.0":   "network address",
	}
	for addr, want := range cases {
		err := CheckPreferred(n, netip.MustParseAddr(addr))
		switch {
		case want == "" && err != nil:
			t.Errorf("%s: unexpected error %v", addr, err)
		case want != "" && (err == nil || !strings.Contains(err.Error(), want)):
			t.Errorf("%s: err = %v, want it to contain %q", addr, err, want)
		}
	}
}
