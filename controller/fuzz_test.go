package controller

import (
	"encoding/json"
	"net/netip"
	"strings"
	"testing"

	"github.com/ovsnet/ovsnet/model"
)

// Whatever a create request holds, reading and planning it answers without
// panicking, and every network it accepts is valid.
func FuzzCreateNetworkRequest(f *testing.F) {
	for _, seed := range []string{
		`{"Name":"n","Driver":"overlay"}`,
		`{"Name":"b","Driver":"bridge","Options":{"ovsnet.host":"h1","com.docker.network.driver.mtu":"1400"},"IPAM":{"Config":[{"Subnet":"172.30.0.0/16","Gateway":"172.30.0.1","IPRange":"172.30.1.0/24","AuxiliaryAddresses":{"r":"172.30.0.9"}}]}}`,
		`{"Name":"v6","Driver":"overlay","EnableIPv6":true,"IPAM":{"Config":[{"Subnet":"fd00::/64"},{"Subnet":"10.1.0.0/24"}]}}`,
		`{"Name":"x","Options":{"ovsnet.aux.x":"zz"}}`,
		`{"Name":"x","Driver":"overlay","IPAM":{"Driver":"ovsnet","Config":[{"Subnet":"10.0.0.0/33"}]}}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		var req model.NetworkCreateRequest
		if json.Unmarshal(body, &req) != nil {
			return
		}
		n, err := networkFromRequest(req)
		if err != nil {
			if !isAPIError(err) {
				t.Fatalf("an error without a status: %v", err)
			}
			return
		}
		n.ID = strings.Repeat("a", 64)
		s := newState()
		cand, _, err := s.planNetwork(n)
		if err != nil {
			if !isAPIError(err) {
				t.Fatalf("an error without a status: %v", err)
			}
			return
		}
		if err := cand.Validate(); err != nil {
			t.Fatalf("planned an invalid network: %v\n%+v", err, cand)
		}
	})
}

// Whatever a connect request holds, reading and planning it answers
// without panicking, and every endpoint it plans is valid.
func FuzzConnectRequest(f *testing.F) {
	for _, seed := range []string{
		`{"Container":"a","EndpointConfig":{"DriverOpts":{"ovsnet.host":"h1","ovsnet.netns":"/run/netns/a"}}}`,
		`{"Container":"a","EndpointConfig":{"IPAMConfig":{"IPv4Address":"10.7.0.9","IPv6Address":"fd00::9"},"Aliases":["x"],"Links":["b:c"],"MacAddress":"02:00:00:00:00:01","DriverOpts":{"ovsnet.host":"h1","ovsnet.docker":"true","ovsnet.reserved":"true"}}}`,
		`{"Container":"` + strings.Repeat("f", 64) + `","EndpointConfig":{"EndpointID":"zz","DriverOpts":{"ovsnet.host":"h1","ovsnet.ifname":"eth0/x"}}}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		var req model.NetworkConnectRequest
		if json.Unmarshal(body, &req) != nil {
			return
		}
		in, err := parseConnect(req)
		if err != nil {
			return
		}
		s := newState()
		n := model.Network{ID: strings.Repeat("a", 64), Name: "n", Driver: model.DriverOverlay, Scope: model.ScopeGlobal,
			Subnet: netip.MustParsePrefix("10.7.0.0/24"), Gateway: netip.MustParseAddr("10.7.0.1"), VNI: 4097,
			EnableIPv6: true, Subnet6: netip.MustParsePrefix("fd00::/64"), Gateway6: netip.MustParseAddr("fd00::1")}
		s.putNetwork(n, 1)
		s.hosts["h1"] = model.Host{Name: "h1", TunnelIP: netip.MustParseAddr("192.0.2.1"), Alive: true}
		p, err := s.planConnect("n", in)
		if err != nil {
			return
		}
		if err := p.ep.Validate(&n); err != nil {
			t.Fatalf("planned an invalid endpoint: %v\n%+v", err, p.ep)
		}
	})
}
