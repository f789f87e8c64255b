package ovsagent

import (
	"context"
	"errors"
	"net/netip"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/ovsnet/ovsnet/flows"
	"github.com/ovsnet/ovsnet/model"
	"github.com/ovsnet/ovsnet/ovsagent/fake"
)

// The reconciler driven through sequences of desired states against fakes
// of its parts. After every step the fake flow table must equal what
// flows.Build compiles from scratch for that state: incremental changes
// add up to the same table as a full recompute.

type rig struct {
	t    *testing.T
	a    *Agent
	sw   *fake.Switch
	of   *fake.FlowTable
	pl   *fake.Plumber
	kern *fake.Kernel
	cl   *fake.Cluster
}

func newRig(t *testing.T) *rig {
	r := &rig{t: t, sw: fake.NewSwitch(), of: fake.NewFlowTable(), pl: fake.NewPlumber(), kern: &fake.Kernel{}, cl: fake.NewCluster()}
	cfg := Config{Host: "h1", TunnelIP: netip.MustParseAddr("192.0.2.1"), UnderlayMTU: 1500, Bridge: "br-int",
		DatapathType: "netdev", StateDir: t.TempDir(), Pipeline: flows.DefaultConfig(), Logger: quietLog()}
	r.a = New(cfg, nullSource{}, r.sw, r.of, r.pl, r.kern, r.cl)
	return r
}

// step reconciles d the way the loop would.
func (r *rig) step(d *Desired, full bool) ReconcileResult {
	r.t.Helper()
	res, _ := r.a.rec.reconcile(context.Background(), d, full, false)
	return res
}

// check asserts the table equals a from-scratch compile of d.
func (r *rig) check(d *Desired) {
	r.t.Helper()
	st := d.HostState()
	ofports, _ := r.sw.PlanOFPorts(context.Background(), flows.DesiredPorts(*st, r.a.cfg.Pipeline))
	var want []string
	for _, f := range flows.Build(*st, r.a.cfg.Pipeline, ofports) {
		want = append(want, f.String())
	}
	sort.Strings(want)
	want = slices.Compact(want)
	if got := r.of.Texts(); !slices.Equal(got, want) {
		r.t.Fatalf("flow table differs from a full compile:\n got %d flows\nwant %d flows\n%s", len(got), len(want), setDiff(got, want))
	}
}

func setDiff(got, want []string) string {
	var b strings.Builder
	g := map[string]bool{}
	for _, s := range got {
		g[s] = true
	}
	w := map[string]bool{}
	for _, s := range want {
		w[s] = true
		if !g[s] {
			b.WriteString("missing: " + s + "\n")
		}
	}
	for _, s := range got {
		if !w[s] {
			b.WriteString("extra:   " + s + "\n")
		}
	}
	return b.String()
}

// bundleTexts renders one bundle as sorted "del ..."/"add ..." lines
// without cookies' owner noise.
func bundleTexts(d flows.Diff) (adds, dels []string) {
	for _, f := range d.Add {
		adds = append(adds, f.Named())
	}
	for _, f := range d.Delete {
		dels = append(dels, f.Named())
	}
	sort.Strings(adds)
	sort.Strings(dels)
	return adds, dels
}

// A small cluster in desired-state form. with() returns a new version the
// way the source makes them: only the changed network's inner map is new.

var (
	overlayNet = &model.Network{ID: strings.Repeat("a", 64), Name: "over", Driver: model.DriverOverlay, Scope: model.ScopeGlobal,
		Subnet: netip.MustParsePrefix("10.0.0.0/24"), Gateway: netip.MustParseAddr("10.0.0.1"), VNI: 4097}
	bridgeNet = &model.Network{ID: strings.Repeat("b", 64), Name: "br", Driver: model.DriverBridge, Scope: model.ScopeLocal, Host: "h1",
		Subnet: netip.MustParsePrefix("172.18.0.0/16"), Gateway: netip.MustParseAddr("172.18.0.1"), VNI: 4098}
)

func endpoint(c byte, n *model.Network, host, tunnel, ip string) *model.Endpoint {
	id := strings.Repeat(string(c), 64)
	p := netip.PrefixFrom(netip.MustParseAddr(ip), n.Subnet.Bits())
	ep := &model.Endpoint{ID: id, NetworkID: n.ID, Host: host, ContainerID: strings.Repeat("f", 63) + string(c), ContainerName: "c" + string(c),
		Netns: "/run/netns/c" + string(c), IfName: "eth0", IPv4: p, MAC: model.MACFromIPv4(p.Addr())}
	if tunnel != "" {
		ep.TunnelIP = netip.MustParseAddr(tunnel)
	}
	return ep
}

func with(d *Desired, index uint64, f func(nets map[string]*model.Network, eps func(netID string) map[string]*model.Endpoint)) *Desired {
	out := d.clone()
	f(out.Networks, func(netID string) map[string]*model.Endpoint {
		m := map[string]*model.Endpoint{}
		for k, v := range out.Endpoints[netID] {
			m[k] = v
		}
		out.Endpoints[netID] = m
		out.Index[netID] = index
		return m
	})
	for id := range out.Endpoints {
		if out.Networks[id] == nil {
			delete(out.Endpoints, id)
			delete(out.Index, id)
		}
	}
	return out
}

func TestReconcileSequence(t *testing.T) {
	r := newRig(t)
	c1 := endpoint('1', overlayNet, "h1", "192.0.2.1", "10.0.0.2")
	c2 := endpoint('2', overlayNet, "h2", "192.0.2.2", "10.0.0.3")
	c3 := endpoint('3', bridgeNet, "h1", "", "172.18.0.2")
	c4 := endpoint('4', overlayNet, "h3", "192.0.2.3", "10.0.0.4")
	c5 := endpoint('5', overlayNet, "h2", "192.0.2.2", "10.0.0.5")
	c6 := endpoint('6', overlayNet, "h1", "192.0.2.1", "10.0.0.6")

	// The host joins: a full reconcile installs everything in one bundle,
	// plumbs the local containers, creates the ports in one OVSDB
	// transaction and reports.
	d1 := with(NewDesired("h1"), 10, func(nets map[string]*model.Network, eps func(string) map[string]*model.Endpoint) {
		nets[overlayNet.ID], nets[bridgeNet.ID] = overlayNet, bridgeNet
		o := eps(overlayNet.ID)
		o[c1.ID], o[c2.ID] = c1, c2
		eps(bridgeNet.ID)[c3.ID] = c3
	})
	res := r.step(d1, true)
	if res.Err != nil || !res.Full {
		t.Fatalf("first reconcile: %+v", res)
	}
	r.check(d1)
	if b := r.of.TakeBundles(); len(b) != 1 || len(b[0].Delete) != 0 || len(b[0].Add) != res.Flows {
		t.Fatalf("first reconcile: %d bundles, want one adding all %d flows", len(b), res.Flows)
	}
	if got := r.pl.TakeEnsured(); !slices.Equal(got, []string{"c1", "c3"}) {
		t.Fatalf("plumbed %v, want the local c1 and c3", got)
	}
	if n := r.sw.Transactions(); n != 1 {
		t.Fatalf("%d OVSDB transactions, want 1", n)
	}
	if got := r.sw.Txns[0]; !slices.Equal(got, []string{"ovs11111111111", "ovs33333333333", "ovsgw4098", "ovsnet-egress", "vxlan0"}) {
		t.Fatalf("ports %v", got)
	}
	if r.cl.Status(c1.ID) != "ready" || r.cl.Status(c3.ID) != "ready" || r.cl.Status(c2.ID) != "none" {
		t.Fatalf("statuses c1=%s c3=%s c2=%s", r.cl.Status(c1.ID), r.cl.Status(c3.ID), r.cl.Status(c2.ID))
	}
	if r.cl.AppliedByNet[overlayNet.ID].Index != 10 || r.cl.AppliedByNet[bridgeNet.ID].Index != 10 {
		t.Fatalf("applied %+v", r.cl.AppliedByNet)
	}

	// The steps that follow are incremental; each checks its bundle.
	steps := []struct {
		name       string
		d          func(prev *Desired) *Desired
		adds, dels []string // substrings, one per flow, in sorted order of the flows
		plumbed    []string
		ovsdb      bool
		// owners bounds how many owners the step recomputes (0: not
		// checked): a local attach recomputes the new endpoint, not every
		// local endpoint.
		owners int
	}{{
		name: "remote endpoint on a new host",
		d: func(p *Desired) *Desired {
			return with(p, 11, func(_ map[string]*model.Network, eps func(string) map[string]*model.Endpoint) {
				eps(overlayNet.ID)[c4.ID] = c4
			})
		},
		adds: []string{"table=Classify, priority=200,in_port=1,tun_src=192.0.2.3", "table=Forward, priority=200,reg0=0x1001,dl_dst=02:42:0a:00:00:04",
			"table=Neighbor, priority=200,arp,reg0=0x1001,arp_op=1,arp_tpa=10.0.0.4"},
	}, {
		name: "remote endpoint on a known host",
		d: func(p *Desired) *Desired {
			return with(p, 12, func(_ map[string]*model.Network, eps func(string) map[string]*model.Endpoint) {
				eps(overlayNet.ID)[c5.ID] = c5
			})
		},
		adds: []string{"table=Forward, priority=200,reg0=0x1001,dl_dst=02:42:0a:00:00:05", "table=Neighbor, priority=200,arp,reg0=0x1001,arp_op=1,arp_tpa=10.0.0.5"},
	}, {
		name: "the last endpoint of a host leaves",
		d: func(p *Desired) *Desired {
			return with(p, 13, func(_ map[string]*model.Network, eps func(string) map[string]*model.Endpoint) {
				delete(eps(overlayNet.ID), c4.ID)
			})
		},
		dels: []string{"table=Classify, priority=200,in_port=1,tun_src=192.0.2.3", "table=Forward, priority=200,reg0=0x1001,dl_dst=02:42:0a:00:00:04",
			"table=Neighbor, priority=200,arp,reg0=0x1001,arp_op=1,arp_tpa=10.0.0.4"},
	}, {
		name: "local endpoint added",
		d: func(p *Desired) *Desired {
			return with(p, 14, func(_ map[string]*model.Network, eps func(string) map[string]*model.Endpoint) {
				eps(overlayNet.ID)[c6.ID] = c6
			})
		},
		adds: []string{"table=Classify, priority=200,in_port=13 actions=set_field:0x1001->reg0", "table=SpoofGuard, priority=200,ip,in_port=13",
			"table=SpoofGuard, priority=200,arp,in_port=13", "table=Neighbor, priority=200,arp,reg0=0x1001,arp_op=1,arp_tpa=10.0.0.6",
			"table=NATReturn, priority=200,ip,ct_state=-new+trk,ct_mark=0x1001,nw_dst=10.0.0.6", "table=LocalDeliver, priority=200,reg0=0x1001,dl_dst=02:42:0a:00:00:06 actions=output:13"},
		plumbed: []string{"c6"}, ovsdb: true, owners: 1,
	}, {
		name: "bridge network removed",
		d: func(p *Desired) *Desired {
			return with(p, 15, func(nets map[string]*model.Network, _ func(string) map[string]*model.Endpoint) {
				delete(nets, bridgeNet.ID)
			})
		},
		// The gateway port is 10, c3's 12.
		dels: []string{"table=Classify, priority=200,in_port=10", "table=Classify, priority=200,in_port=12", "table=Egress, priority=200,reg0=0x1002",
			"table=Forward, priority=200,reg0=0x1002", "table=LocalDeliver, priority=200,reg0=0x1002", "table=Neighbor, priority=200,arp,reg0=0x1002,arp_op=1,arp_tpa=172.18.0.1",
			"table=Neighbor, priority=200,arp,reg0=0x1002,arp_op=1,arp_tpa=172.18.0.2", "table=SpoofGuard, priority=200,arp,in_port=12", "table=SpoofGuard, priority=200,ip,in_port=12"},
		ovsdb: true,
	}}
	d := d1
	for _, s := range steps {
		before := r.sw.Transactions()
		d = s.d(d)
		res := r.step(d, false)
		if res.Err != nil || res.Full {
			t.Fatalf("%s: %+v", s.name, res)
		}
		r.check(d)
		b := r.of.TakeBundles()
		if len(b) != 1 {
			t.Fatalf("%s: %d bundles, want 1", s.name, len(b))
		}
		adds, dels := bundleTexts(b[0])
		matchAll(t, s.name+": adds", adds, s.adds)
		matchAll(t, s.name+": deletes", dels, s.dels)
		if got := r.pl.TakeEnsured(); !slices.Equal(got, s.plumbed) {
			t.Errorf("%s: plumbed %v, want %v", s.name, got, s.plumbed)
		}
		if got := r.sw.Transactions() > before; got != s.ovsdb {
			t.Errorf("%s: OVSDB transaction %v, want %v", s.name, got, s.ovsdb)
		}
		if s.owners > 0 && res.Owners > s.owners {
			t.Errorf("%s: recomputed %d owners, want at most %d", s.name, res.Owners, s.owners)
		}
	}
	if r.cl.Status(c6.ID) != "ready" || r.cl.Status(c3.ID) != "none" {
		t.Errorf("statuses after the steps: c6=%s c3=%s (the removed network's endpoint must be forgotten)", r.cl.Status(c6.ID), r.cl.Status(c3.ID))
	}
	// The last report of the overlay network is the last change of another
	// host's endpoint (13): its own endpoint c6 (14) needs none.
	if _, ok := r.cl.AppliedByNet[bridgeNet.ID]; ok || r.cl.AppliedByNet[overlayNet.ID].Index != 13 {
		t.Errorf("applied after the steps: %+v", r.cl.AppliedByNet)
	}

	// OVS lost its flows (restarted): the next full reconcile puts every
	// flow back in one bundle.
	r.of.Wipe()
	if res := r.step(d, true); res.Err != nil || res.Added != res.Flows {
		t.Fatalf("resync after OVS lost its flows: %+v", res)
	}
	r.check(d)
	r.of.TakeBundles()

	// A bundle OVS refuses changes nothing; the next reconcile is full and
	// installs the change.
	r.of.Refuse = errors.New("OFPBFC_MSG_FAILED")
	d = with(d, 16, func(_ map[string]*model.Network, eps func(string) map[string]*model.Endpoint) {
		eps(overlayNet.ID)[c4.ID] = c4
	})
	before := r.of.Texts()
	if res := r.step(d, false); res.Err == nil {
		t.Fatal("a refused bundle reported no error")
	}
	if !slices.Equal(r.of.Texts(), before) {
		t.Fatal("a refused bundle changed the table")
	}
	if res := r.step(d, false); res.Err != nil || !res.Full {
		t.Fatalf("after a refused bundle the next reconcile must read the table back: %+v", res)
	}
	r.check(d)
	if r.cl.AppliedByNet[overlayNet.ID].Index != 16 {
		t.Errorf("applied after the retry: %+v", r.cl.AppliedByNet[overlayNet.ID])
	}
}

// matchAll checks that got has exactly one line per want substring.
func matchAll(t *testing.T, what string, got, want []string) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%s: %d flows, want %d:\n%s", what, len(got), len(want), strings.Join(got, "\n"))
		return
	}
	used := make([]bool, len(got))
	for _, w := range want {
		found := false
		for i, g := range got {
			if !used[i] && strings.Contains(g, w) {
				used[i], found = true, true
				break
			}
		}
		if !found {
			t.Errorf("%s: no flow like %q in:\n%s", what, w, strings.Join(got, "\n"))
		}
	}
}

// A local endpoint that cannot be plumbed is reported with the reason and
// gets no port; fixed, it is plumbed at the next look.
func TestReconcileReportsPlumbingFailure(t *testing.T) {
	r := newRig(t)
	c1 := endpoint('1', overlayNet, "h1", "192.0.2.1", "10.0.0.2")
	r.pl.Fail[c1.ID] = errors.New("no such network namespace")
	d := with(NewDesired("h1"), 5, func(nets map[string]*model.Network, eps func(string) map[string]*model.Endpoint) {
		nets[overlayNet.ID] = overlayNet
		eps(overlayNet.ID)[c1.ID] = c1
	})
	r.step(d, true)
	if got := r.cl.Status(c1.ID); got != "error: no such network namespace" {
		t.Fatalf("status %q", got)
	}
	if _, ok := r.sw.PortRows[c1.PortName()]; ok {
		t.Fatal("a port for an endpoint that could not be plumbed")
	}
	delete(r.pl.Fail, c1.ID)
	res, _ := r.a.rec.reconcile(context.Background(), d, false, true)
	if res.Err != nil || r.cl.Status(c1.ID) != "ready" {
		t.Fatalf("after the fix: %v, status %s", res.Err, r.cl.Status(c1.ID))
	}
}
