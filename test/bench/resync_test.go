//go:build e2e

package bench

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ovsnet/ovsnet/flows"
	"github.com/ovsnet/ovsnet/model"
	"github.com/ovsnet/ovsnet/ovsagent"
	"github.com/ovsnet/ovsnet/ovsagent/fake"
	"github.com/ovsnet/ovsnet/ovsagent/vswitch"
	"github.com/ovsnet/ovsnet/test/lab"
)

// BenchmarkResync measures a full resync of one host holding 10,000
// endpoints' flows (one network, the endpoints on 50 other hosts, IPv6 on:
// ARP and ND answers and a tunnel forward each), on a real ovs-vswitchd,
// side by side with `ovs-ofctl --bundle add-flows` of the same flows:
//
//   - restore: OVS lost its flows (restarted); the agent reads the empty
//     table back and installs everything in one bundle;
//   - verify: the table is intact; the agent reads it back and finds
//     nothing to do;
//   - ovs-ofctl: the same flows' text installed by ovs-ofctl in one bundle.
func BenchmarkResync(b *testing.B) {
	for range b.N {
		measureResync(b, 10000, 5)
	}
}

func measureResync(b *testing.B, endpoints, rounds int) {
	l := lab.New(b, lab.Options{Hosts: 1})
	h := l.Hosts[0]
	ctx := context.Background()
	sw, err := vswitch.ConnectOVSDB(ctx, h.OVSDB(), slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		b.Fatal(err)
	}
	defer sw.Close()
	of := vswitch.NewOpenFlow(h.Mgmt("br-int"))
	defer of.Close()

	st := bigHostState(endpoints)
	cfg := ovsagent.Config{Host: "h1", TunnelIP: netip.MustParseAddr("192.0.2.1"), UnderlayMTU: 1500, Bridge: "br-int",
		DatapathType: "netdev", Pipeline: flows.DefaultConfig(), Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	a := ovsagent.New(cfg, nil, sw, of, fake.NewPlumber(), &fake.Kernel{}, fake.NewCluster())
	a.SetState(st)
	if res := a.ReconcileNow(ctx, true); res.Err != nil {
		b.Fatal(res.Err)
	}

	// The same flows as text, for ovs-ofctl.
	dump, err := h.Ofctl("--no-stats", "--no-names", "dump-flows", "br-int", "cookie="+flows.OwnerCookie.String()+"/"+flows.OwnerMask.String())
	if err != nil {
		b.Fatal(err)
	}
	var lines []string
	for _, line := range strings.Split(dump, "\n") {
		if strings.Contains(line, "actions=") {
			lines = append(lines, strings.TrimSpace(line))
		}
	}
	file := filepath.Join(l.Dir, "flows.txt")
	if err := os.WriteFile(file, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
		b.Fatal(err)
	}
	nflows := len(lines)

	wipe := func() {
		if _, err := h.Ofctl("del-flows", "br-int"); err != nil {
			b.Fatal(err)
		}
	}
	var restore, verify, ofctl []time.Duration
	for r := 0; r < rounds; r++ {
		wipe()
		res := a.ReconcileNow(ctx, true)
		if res.Err != nil || res.Added != nflows {
			b.Fatalf("restore: added %d of %d: %v", res.Added, nflows, res.Err)
		}
		restore = append(restore, res.Duration)

		res = a.ReconcileNow(ctx, true)
		if res.Err != nil || res.Added+res.Deleted != 0 {
			b.Fatalf("verify: %+v", res)
		}
		verify = append(verify, res.Duration)

		wipe()
		start := time.Now()
		cmd := exec.Command("ovs-ofctl", "-O", "OpenFlow14", "--bundle", "add-flows", h.Mgmt("br-int"), file)
		if out, err := cmd.CombinedOutput(); err != nil {
			b.Fatalf("ovs-ofctl add-flows: %v\n%s", err, out)
		}
		ofctl = append(ofctl, time.Since(start))
	}
	mr, mv, mo := median(restore), median(verify), median(ofctl)
	b.Logf("full resync of %d endpoints (%d flows), medians of %d: restore %.0f ms, verify %.0f ms; ovs-ofctl --bundle add-flows %.0f ms; restore/ovs-ofctl = %.2f",
		endpoints, nflows, rounds, ms(mr), ms(mv), ms(mo), float64(mr)/float64(mo))
	result(b, "resync", map[string]float64{"endpoints": float64(endpoints), "flows": float64(nflows), "restore_ms": ms(mr),
		"verify_ms": ms(mv), "ofctl_ms": ms(mo), "ratio": float64(mr) / float64(mo)})
}

// bigHostState is host h1 with one overlay network of n endpoints spread
// over 50 other hosts.
func bigHostState(n int) *model.HostState {
	net := model.Network{ID: strings.Repeat("a", 64), Name: "big", Driver: model.DriverOverlay, Scope: model.ScopeGlobal,
		Subnet: netip.MustParsePrefix("10.0.0.0/16"), Gateway: netip.MustParseAddr("10.0.0.1"), VNI: 4097,
		EnableIPv6: true, Subnet6: netip.MustParsePrefix("fd00:1::/64"), Gateway6: netip.MustParseAddr("fd00:1::1")}
	st := &model.HostState{Host: "h1", Networks: []model.Network{net}}
	for i := 0; i < n; i++ {
		ip := netip.AddrFrom4([4]byte{10, 0, byte((i + 2) >> 8), byte(i + 2)})
		ip6 := netip.AddrFrom16([16]byte{0xfd, 0, 0, 1, 14: byte((i + 2) >> 8), 15: byte(i + 2)})
		host := i%50 + 2
		st.Endpoints = append(st.Endpoints, model.Endpoint{ID: fmt.Sprintf("%064x", i+1), NetworkID: net.ID,
			Host: fmt.Sprintf("h%d", host), TunnelIP: netip.AddrFrom4([4]byte{192, 0, 2, byte(host)}),
			ContainerName: fmt.Sprintf("c%d", i), IPv4: netip.PrefixFrom(ip, 16), IPv6: netip.PrefixFrom(ip6, 64), MAC: model.MACFromIPv4(ip)})
	}
	return st
}

func median(d []time.Duration) time.Duration {
	p50, _, _ := percentiles(d)
	return p50
}
