package flows

import (
	"strings"
	"testing"

	"github.com/ovsnet/ovsnet/model"
)

func dnsConfig() Config {
	cfg := DefaultConfig()
	cfg.DNS = DefaultDNSConfig()
	return cfg
}

func TestDNSPipelineGolden(t *testing.T) {
	st, ports := sampleState()
	var b strings.Builder
	for _, f := range Build(st, dnsConfig(), ports) {
		if err := f.Validate(); err != nil {
			t.Error(err)
		}
		if f.Table == DNS || strings.Contains(f.String(), "in_port=3") || strings.Contains(f.String(), "10.0.1.1") {
			b.WriteString(f.Named() + "\n")
		}
	}
	golden(t, "dns.golden", b.String())
}

func TestDNSMAC(t *testing.T) {
	for _, vni := range []uint32{4096, 4097, 0xabcdef, 1<<24 - 1} {
		mac := DNSMAC(vni)
		got, ok := DNSNetwork(mac)
		if !ok || got != vni {
			t.Errorf("DNSNetwork(DNSMAC(%d)=%s) = %d, %v", vni, mac, got, ok)
		}
		if mac[0]&1 != 0 || mac[0]&2 == 0 {
			t.Errorf("%s is not a locally administered unicast MAC", mac)
		}
	}
	for _, m := range []string{"02:42:0a:00:00:01", "02:6f:76:00:00:02", "02:6e:01:00:10:01"} {
		hw, _ := model.ParseMAC(m)
		if _, ok := DNSNetwork(hw); ok {
			t.Errorf("%s decoded as a DNS MAC", m)
		}
	}
}

func TestDNSSteering(t *testing.T) {
	st, ports := sampleState()
	fs := Build(st, dnsConfig(), ports)
	// Every network present gets a UDP steering flow and a return flow;
	// UDPv6 only where IPv6 is on (testnet02, VNI 4097).
	want := map[string]bool{
		"udp,reg0=0x1001": false, "udp6,reg0=0x1001": false, "udp,reg0=0x1002": false, "udp,reg0=0x1003": false,
	}
	for _, f := range fs {
		s := f.String()
		if f.Table == DNS && f.Priority != PriorityMiss {
			if !strings.Contains(s, "tp_dst=53") || !strings.HasSuffix(s, ",output:3") || !strings.Contains(s, "dl_dst=02:42:") {
				t.Errorf("DNS flow does not steer only port 53 to the gateway MAC into the DNS port: %s", s)
			}
			key := string(f.Protocol) + ",reg0=" + hex(uint64(f.Cookie.Object()))
			if _, ok := want[key]; !ok {
				t.Errorf("unexpected steering flow %s", s)
			}
			want[key] = true
			vni := f.Cookie.Object()
			if !strings.Contains(s, "set_field:"+DNSMAC(vni).String()+"->eth_dst") {
				t.Errorf("steering flow of VNI %d does not encode it in the MAC: %s", vni, s)
			}
		}
		if f.Table == Classify && strings.Contains(s, "in_port=3") {
			vni := f.Cookie.Object()
			if !strings.Contains(s, "dl_src="+DNSMAC(vni).String()) || !strings.Contains(s, "tp_src=53") ||
				!strings.Contains(s, "goto_table:70") || !strings.Contains(s, "set_field:"+hex(uint64(vni))+"->reg0") {
				t.Errorf("DNS answers of VNI %d not admitted exactly: %s", vni, s)
			}
		}
	}
	for k, seen := range want {
		if !seen {
			t.Errorf("no steering flow %s", k)
		}
	}
	// Without DNS: no port, no steering, no gateway ARP on the internal network.
	for _, f := range Build(st, DefaultConfig(), ports) {
		if (f.Table == DNS && f.Priority != PriorityMiss) || strings.Contains(f.String(), "in_port=3") {
			t.Errorf("DNS flow without DNS config: %s", f)
		}
	}
	for _, p := range DesiredPorts(st, DefaultConfig()) {
		if p.Kind == PortDNS {
			t.Errorf("DNS port without DNS config: %+v", p)
		}
	}
	var dnsPort *Port
	for _, p := range DesiredPorts(st, dnsConfig()) {
		if p.Kind == PortDNS {
			dnsPort = &p
		}
	}
	if dnsPort == nil || dnsPort.Name != "ovsnet-dns" || dnsPort.OFPort != 3 || dnsPort.Type != "internal" || len(dnsPort.Addrs) != 0 {
		t.Fatalf("DNS port %+v: want internal ovsnet-dns at ofport 3 without addresses", dnsPort)
	}
}

// An internal network answers ARP for its gateway (so endpoints reach the
// resolver on-link) but still has no way out.
func TestDNSInternalNetworkStillHasNoEgress(t *testing.T) {
	st, ports := sampleState()
	var arp bool
	for _, f := range Build(st, dnsConfig(), ports) {
		if f.Cookie.Object() != 4098 {
			continue
		}
		s := f.String()
		switch {
		case f.Table == Egress || f.Table == NATReturn || f.Table == Forward && strings.Contains(s, "dl_dst=02:42:0a:00:01:01"):
			t.Errorf("internal network has a flow that leads out: %s", f.Named())
		case f.Table == Neighbor && strings.Contains(s, "arp_tpa=10.0.1.1"):
			arp = true
		case strings.Contains(s, "10.0.1.1"):
			t.Errorf("unexpected flow for the internal gateway: %s", f.Named())
		}
	}
	if !arp {
		t.Fatal("internal network's gateway address is not answered by ARP")
	}
}
