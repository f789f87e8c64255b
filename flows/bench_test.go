package flows

import (
	"fmt"
	"net/netip"
	"strings"
	"testing"

	"github.com/ovsnet/ovsnet/model"
)

// bigState is one host's share of a network with n endpoints on 8 hosts.
func bigState(n int) (model.HostState, OFPorts) {
	net := model.Network{ID: strings.Repeat("a", 64), Name: "big", Driver: model.DriverOverlay, Scope: model.ScopeGlobal,
		Subnet: netip.MustParsePrefix("10.0.0.0/16"), Gateway: netip.MustParseAddr("10.0.0.1"), VNI: 4097}
	st := model.HostState{Host: "h1", Networks: []model.Network{net}}
	ports := OFPorts{}
	for i := 0; i < n; i++ {
		ip := netip.AddrFrom4([4]byte{10, 0, byte(i >> 8), byte(2 + i)})
		ep := model.Endpoint{ID: fmt.Sprintf("%064x", i+1), NetworkID: net.ID, Host: fmt.Sprintf("h%d", 1+i%8),
			ContainerName: fmt.Sprintf("c%d", i), IPv4: netip.PrefixFrom(ip, 16), MAC: model.MACFromIPv4(ip)}
		st.Endpoints = append(st.Endpoints, ep)
		if ep.Host == "h1" {
			ports[ep.PortName()] = 10 + i
		}
	}
	for h := 2; h <= 8; h++ {
		st.Hosts = append(st.Hosts, model.Host{Name: fmt.Sprintf("h%d", h), TunnelIP: netip.AddrFrom4([4]byte{192, 0, 2, byte(h)})})
	}
	return st, ports
}

func BenchmarkBuildAndDiff(b *testing.B) {
	st, ports := bigState(200)
	prev := Build(st, DefaultConfig(), ports)
	var installed []InstalledFlow
	for _, f := range prev {
		in, _ := ParseDumpLine(f.String())
		installed = append(installed, in)
	}
	b.ResetTimer()
	for range b.N {
		want := Build(st, DefaultConfig(), ports)
		d := ComputeDiff(want, installed)
		if !d.Empty() {
			b.Fatal("diff not empty")
		}
	}
	b.ReportMetric(float64(len(prev)), "flows")
}
