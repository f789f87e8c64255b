package ovsagent

import (
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/ovsnet/ovsnet/flows"
	"github.com/ovsnet/ovsnet/model"
)

// One DNAT per host port. A container that publishes the same port on two
// of its networks (Podman hands its ports to each) is reached through its
// earliest endpoint, whose network holds its default route, whatever the
// order of the state; internal networks and other hosts publish nothing.
func TestPublishRulesOnePerHostPort(t *testing.T) {
	r := newRig(t)
	net := func(id string, vni uint32, subnet string, internal bool) model.Network {
		p := netip.MustParsePrefix(subnet)
		return model.Network{ID: strings.Repeat(id, 64), Name: "n" + id, Driver: model.DriverOverlay, Scope: model.ScopeGlobal,
			Subnet: p, Gateway: p.Addr().Next(), VNI: vni, Internal: internal}
	}
	a, b, in := net("a", 4097, "10.1.0.0/24", false), net("b", 4098, "10.2.0.0/24", false), net("c", 4099, "10.3.0.0/24", true)
	t0 := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	web := []model.PortMapping{{Proto: "tcp", Port: 80, HostPort: 8081}}
	ep := func(id string, n model.Network, container, host string, created time.Time, ports []model.PortMapping) model.Endpoint {
		addr := n.Subnet.Addr().Next().Next()
		return model.Endpoint{ID: strings.Repeat(id, 64), NetworkID: n.ID, Host: host, ContainerID: strings.Repeat(container, 64),
			ContainerName: "c" + container, IPv4: netip.PrefixFrom(addr, 24), MAC: model.MACFromIPv4(addr), Created: created, Published: ports}
	}
	onA := ep("1", a, "x", "h1", t0, web)
	onB := ep("2", b, "x", "h1", t0.Add(time.Millisecond), web)
	dns := ep("3", b, "y", "h1", t0, []model.PortMapping{{Proto: "udp", Port: 53, HostPort: 5353}})
	internal := ep("4", in, "z", "h1", t0, []model.PortMapping{{Proto: "tcp", Port: 80, HostPort: 9000}})
	ofports := flows.OFPorts{onA.PortName(): 11, onB.PortName(): 12, dns.PortName(): 13, internal.PortName(): 14}
	transit := func(ofport int) netip.Addr {
		addr, ok := flows.PublishedAddress(r.a.cfg.Pipeline, ofport)
		if !ok {
			t.Fatalf("no transit address for ofport %d", ofport)
		}
		return addr
	}
	want := "tcp/8081→" + netip.AddrPortFrom(transit(11), 80).String() + " udp/5353→" + netip.AddrPortFrom(transit(13), 53).String()
	for _, order := range [][]model.Endpoint{{onA, onB, dns, internal}, {internal, dns, onB, onA}} {
		st := &model.HostState{Host: "h1", Networks: []model.Network{a, b, in}, Endpoints: order}
		var got []string
		for _, rule := range r.a.publishRules(st, ofports) {
			got = append(got, fmt.Sprintf("%s/%d→%s", rule.Proto, rule.HostPort, rule.To))
		}
		if strings.Join(got, " ") != want {
			t.Errorf("rules %v, want %s", got, want)
		}
	}
}
