package controller

import (
	"fmt"
	"net/netip"
	"testing"

	"github.com/ovsnet/ovsnet/model"
)

// Every validation message of a network create names the field the UI
// shows it next to.
func TestErrorFieldOfCreateErrors(t *testing.T) {
	ipam := func(cfgs ...model.IPAMConfig) *model.IPAM { return &model.IPAM{Config: cfgs} }
	cases := []struct {
		req   model.NetworkCreateRequest
		field string
	}{
		{model.NetworkCreateRequest{Name: ""}, fieldName},
		{model.NetworkCreateRequest{Name: "bad name"}, fieldName},
		{model.NetworkCreateRequest{Name: "n", Driver: "macvlan"}, fieldDriver},
		{model.NetworkCreateRequest{Name: "n", Driver: "bridge", Scope: "global"}, fieldDriver},
		{model.NetworkCreateRequest{Name: "n", Options: map[string]string{model.OptMTU: "big"}}, fieldMTU},
		{model.NetworkCreateRequest{Name: "n", Options: map[string]string{model.OptHost: "bad host"}}, fieldHost},
		{model.NetworkCreateRequest{Name: "n", IPAM: ipam(model.IPAMConfig{Subnet: "10.0.0.0/33"})}, fieldSubnet},
		{model.NetworkCreateRequest{Name: "n", IPAM: ipam(model.IPAMConfig{Subnet: "10.0.0.0/24", Gateway: "10.0.0.300"})}, fieldGateway},
		{model.NetworkCreateRequest{Name: "n", IPAM: ipam(model.IPAMConfig{Subnet: "10.0.0.0/24", IPRange: "x"})}, fieldIPRange},
		{model.NetworkCreateRequest{Name: "n", IPAM: ipam(model.IPAMConfig{Gateway: "10.0.0.1"})}, fieldSubnet},
		{model.NetworkCreateRequest{Name: "n", IPAM: ipam(model.IPAMConfig{Subnet: "10.0.0.0/24"}, model.IPAMConfig{Subnet: "10.1.0.0/24"})}, fieldSubnet},
		{model.NetworkCreateRequest{Name: "n", IPAM: ipam(model.IPAMConfig{Subnet: "fd00::/129"})}, fieldSubnet6},
		{model.NetworkCreateRequest{Name: "n", IPAM: ipam(model.IPAMConfig{Subnet: "fd00::/64"})}, fieldSubnet6}, // IPv6 not enabled
		{model.NetworkCreateRequest{Name: "n", IPAM: ipam(model.IPAMConfig{Subnet: "fd00::/64", IPRange: "fd00::/80"})}, fieldIPRange},
	}
	for _, tc := range cases {
		_, err := networkFromRequest(tc.req)
		if err == nil {
			t.Errorf("%+v: accepted", tc.req)
			continue
		}
		if got := errorField(err); got != tc.field {
			t.Errorf("%q: field %q, want %q", err, got, tc.field)
		}
	}
}

// Checks that run once defaults are filled (model.Network.Validate) and
// those against other networks, as CreateNetwork wraps them.
func TestErrorFieldOfCompleteNetworkErrors(t *testing.T) {
	base := model.Network{ID: "x", Name: "n", Driver: model.DriverOverlay, Scope: model.ScopeGlobal, VNI: 4097,
		Subnet: netip.MustParsePrefix("10.0.0.0/24"), Gateway: netip.MustParseAddr("10.0.0.1")}
	cases := []struct {
		change func(n *model.Network)
		field  string
	}{
		{func(n *model.Network) { n.Subnet = netip.MustParsePrefix("10.0.0.1/24") }, fieldSubnet},
		{func(n *model.Network) { n.Subnet = netip.MustParsePrefix("10.0.0.0/31") }, fieldSubnet},
		{func(n *model.Network) { n.Gateway = netip.MustParseAddr("10.9.0.1") }, fieldGateway},
		{func(n *model.Network) { n.Gateway = netip.MustParseAddr("10.0.0.255") }, fieldGateway},
		{func(n *model.Network) { n.IPRange = netip.MustParsePrefix("10.1.0.0/25") }, fieldIPRange},
		{func(n *model.Network) { n.IPRange = netip.MustParsePrefix("10.0.0.1/25") }, fieldIPRange},
		{func(n *model.Network) { n.MTU = 100 }, fieldMTU},
		{func(n *model.Network) { n.Driver, n.Scope = model.DriverBridge, model.ScopeLocal }, fieldHost},
		{func(n *model.Network) { n.Host = "h1" }, fieldHost},
		{func(n *model.Network) {
			n.EnableIPv6, n.Subnet6, n.Gateway6 = true, netip.MustParsePrefix("fd00::/64"), netip.MustParseAddr("fd01::1")
		}, fieldGateway6},
		{func(n *model.Network) { n.EnableIPv6, n.Gateway6 = true, netip.MustParseAddr("fd01::1") }, fieldSubnet6},
		{func(n *model.Network) {
			n.EnableIPv6, n.Subnet6, n.Gateway6 = true, netip.MustParsePrefix("fd00::/64"), netip.MustParseAddr("10.0.0.9")
		}, fieldGateway6},
	}
	for i, tc := range cases {
		n := base
		tc.change(&n)
		verr := n.Validate()
		if verr == nil {
			t.Errorf("case %d: valid", i)
			continue
		}
		err := invalid(verr)
		if got := errorField(err); got != tc.field {
			t.Errorf("%q: field %q, want %q", err, got, tc.field)
		}
	}
	// Checks against the other networks name their field too.
	s := newState()
	taken := base
	taken.Driver, taken.Scope, taken.Host, taken.Subnet = model.DriverBridge, model.ScopeLocal, "h1", netip.MustParsePrefix("172.18.0.0/16")
	s.putNetwork(taken, 1)
	dup := taken
	dup.ID = "y"
	if _, _, err := s.planNetwork(dup); errorField(err) != fieldName {
		t.Errorf("same name: %v (field %q)", err, errorField(err))
	}
	dup.Name = "other"
	if _, _, err := s.planNetwork(dup); errorField(err) != fieldSubnet {
		t.Errorf("overlapping bridge subnet: %v (field %q)", err, errorField(err))
	}
	for msg, field := range map[error]string{
		errorf(ErrUnavailable, "cluster store unavailable (Consul at x): subnet"): "",
		fmt.Errorf("plain"): "",
	} {
		if got := errorField(msg); got != field {
			t.Errorf("%q: field %q, want %q", msg, got, field)
		}
	}
}
