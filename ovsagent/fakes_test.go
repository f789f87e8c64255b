package ovsagent

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"sort"
	"sync"

	"github.com/ovsnet/ovsnet/flows"
	"github.com/ovsnet/ovsnet/internal/store"
	"github.com/ovsnet/ovsnet/model"
)

// Fakes of the reconciler's parts: each keeps the state a real one would
// change and records what it was asked to do, so tests check the exact
// bundles, OVSDB transactions and reports.

// fakeSwitch is OVSDB with ports and port numbers.
type fakeSwitch struct {
	mu      sync.Mutex
	bridges int
	ports   map[string]ActualPort
	txns    [][]string // port names of each SyncPorts, sorted
}

func newFakeSwitch() *fakeSwitch { return &fakeSwitch{ports: map[string]ActualPort{}} }

func (s *fakeSwitch) EnsureBridge(ctx context.Context, cfg BridgeConfig) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.bridges++
	return nil
}

func (s *fakeSwitch) Ports(ctx context.Context) (map[string]ActualPort, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string]ActualPort{}
	for k, v := range s.ports {
		out[k] = v
	}
	return out, nil
}

func (s *fakeSwitch) PlanOFPorts(ctx context.Context, desired []flows.Port) (flows.OFPorts, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := flows.OFPorts{}
	used := map[int]bool{}
	for _, p := range desired {
		if p.OFPort != 0 {
			out[p.Name], used[p.OFPort] = p.OFPort, true
		} else if a, ok := s.ports[p.Name]; ok {
			out[p.Name], used[a.OFPort] = a.OFPort, true
		}
	}
	next := flows.FirstDynamicOFPort
	for _, p := range desired {
		if _, ok := out[p.Name]; ok {
			continue
		}
		for used[next] {
			next++
		}
		out[p.Name], used[next] = next, true
	}
	return out, nil
}

func (s *fakeSwitch) SyncPorts(ctx context.Context, bridge string, desired []flows.Port, ofports flows.OFPorts) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	var names []string
	s.ports = map[string]ActualPort{}
	for _, p := range desired {
		s.ports[p.Name] = ActualPort{Name: p.Name, OFPort: ofports[p.Name], ExternalIDs: p.ExternalIDs}
		names = append(names, p.Name)
	}
	sort.Strings(names)
	s.txns = append(s.txns, names)
	return nil
}

func (s *fakeSwitch) Close() {}

func (s *fakeSwitch) transactions() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.txns)
}

// fakeFlowTable is a flow table changed atomically by bundles: strict
// deletes, purges by table and cookie, and adds that replace the same key.
type fakeFlowTable struct {
	mu      sync.Mutex
	flows   map[string]flows.Flow
	bundles []flows.Diff
	dumps   int
	// refuse makes the next bundle fail, changing nothing (as OVS does
	// with a bundle it cannot commit).
	refuse error
}

func newFakeFlowTable() *fakeFlowTable { return &fakeFlowTable{flows: map[string]flows.Flow{}} }

func (t *fakeFlowTable) Dump(ctx context.Context) ([]flows.InstalledFlow, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.dumps++
	var out []flows.InstalledFlow
	for _, f := range t.flows {
		in, err := flows.ParseDumpLine(f.String())
		if err != nil {
			return nil, err
		}
		out = append(out, in)
	}
	return out, nil
}

func (t *fakeFlowTable) Apply(ctx context.Context, d flows.Diff) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if d.Empty() {
		return nil
	}
	if err := t.refuse; err != nil {
		t.refuse = nil
		return err
	}
	t.bundles = append(t.bundles, d)
	for _, p := range d.Purge {
		for k, f := range t.flows {
			if f.Table.ID == p.Table.ID && f.Cookie == p.Cookie {
				delete(t.flows, k)
			}
		}
	}
	for _, f := range d.Delete {
		delete(t.flows, f.Key())
	}
	for _, f := range d.Add {
		t.flows[f.Key()] = f
	}
	return nil
}

func (t *fakeFlowTable) Target() string { return "fake" }

// lastBundle returns the newest bundle and forgets the history.
func (t *fakeFlowTable) takeBundles() []flows.Diff {
	t.mu.Lock()
	defer t.mu.Unlock()
	b := t.bundles
	t.bundles = nil
	return b
}

func (t *fakeFlowTable) wipe() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.flows = map[string]flows.Flow{}
}

func (t *fakeFlowTable) texts() []string {
	t.mu.Lock()
	defer t.mu.Unlock()
	var out []string
	for _, f := range t.flows {
		out = append(out, f.String())
	}
	sort.Strings(out)
	return out
}

// fakePlumber keeps the veths it was asked to create.
type fakePlumber struct {
	mu      sync.Mutex
	veths   map[string]bool
	ensured []string
	fail    map[string]error // by endpoint id
}

func newFakePlumber() *fakePlumber {
	return &fakePlumber{veths: map[string]bool{}, fail: map[string]error{}}
}

func (p *fakePlumber) EnsureEndpoint(ep *model.Endpoint, n *model.Network, mtu int) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.ensured = append(p.ensured, ep.ContainerName)
	if err := p.fail[ep.ID]; err != nil {
		return err
	}
	p.veths[ep.PortName()] = true
	return nil
}

func (p *fakePlumber) RemoveEndpoint(portName string) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	delete(p.veths, portName)
	return nil
}

func (p *fakePlumber) EndpointPorts() ([]EndpointPort, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []EndpointPort
	for name := range p.veths {
		out = append(out, EndpointPort{Name: name, Up: true})
	}
	return out, nil
}

func (p *fakePlumber) SetUp(name string) error { return nil }

func (p *fakePlumber) WatchEndpointPorts(ctx context.Context, changed func()) error {
	<-ctx.Done()
	return nil
}

func (p *fakePlumber) EnsureDockerVeth(ep *model.Endpoint, mtu int) (string, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.veths[ep.PortName()] = true
	return "ovt" + ep.ID[:11], nil
}

func (p *fakePlumber) Exists(name string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.veths[name]
}

func (p *fakePlumber) ConfigureInternal(name string, addrs []netip.Prefix, routes []flows.Route, mtu int) (bool, error) {
	return true, nil
}

func (p *fakePlumber) takeEnsured() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	e := p.ensured
	p.ensured = nil
	sort.Strings(e)
	return e
}

// fakeKernel records the rules it is given.
type fakeKernel struct {
	mu    sync.Mutex
	rules []KernelRules
}

func (k *fakeKernel) Apply(ctx context.Context, r KernelRules) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.rules = append(k.rules, r)
	return nil
}

// fakeCluster keeps what the agent reported.
type fakeCluster struct {
	mu       sync.Mutex
	statuses map[string]model.EndpointStatus
	applied  map[string]store.Applied
	stats    []store.HostStats
	writes   int
	lost     chan struct{}
	down     bool
}

func newFakeCluster() *fakeCluster {
	return &fakeCluster{statuses: map[string]model.EndpointStatus{}, applied: map[string]store.Applied{}, lost: make(chan struct{})}
}

var errFakeDown = errors.New("consul is down")

func (c *fakeCluster) check() error {
	if c.down {
		return errFakeDown
	}
	c.writes++
	return nil
}

func (c *fakeCluster) Register(ctx context.Context, h model.Host) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.check()
}

func (c *fakeCluster) SessionLost() <-chan struct{} { return c.lost }

func (c *fakeCluster) ReportStatus(ctx context.Context, st model.EndpointStatus) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.check(); err != nil {
		return err
	}
	c.statuses[st.EndpointID] = st
	return nil
}

func (c *fakeCluster) DeleteStatus(ctx context.Context, host, id string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.check(); err != nil {
		return err
	}
	delete(c.statuses, id)
	return nil
}

func (c *fakeCluster) Statuses(ctx context.Context, host string) (map[string]model.EndpointStatus, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := map[string]model.EndpointStatus{}
	for k, v := range c.statuses {
		out[k] = v
	}
	return out, nil
}

func (c *fakeCluster) ReportApplied(ctx context.Context, netID string, a store.Applied) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.check(); err != nil {
		return err
	}
	c.applied[netID] = a
	return nil
}

func (c *fakeCluster) DeleteApplied(ctx context.Context, netID string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.check(); err != nil {
		return err
	}
	delete(c.applied, netID)
	return nil
}

func (c *fakeCluster) Applied(ctx context.Context) (map[string]store.Applied, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := map[string]store.Applied{}
	for k, v := range c.applied {
		out[k] = v
	}
	return out, nil
}

func (c *fakeCluster) ReportStats(ctx context.Context, s store.HostStats) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.check(); err != nil {
		return err
	}
	c.stats = append(c.stats, s)
	return nil
}

func (c *fakeCluster) Close() {}

func (c *fakeCluster) status(id string) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	st, ok := c.statuses[id]
	if !ok {
		return "none"
	}
	if st.Error != "" {
		return fmt.Sprintf("%s: %s", st.State, st.Error)
	}
	return string(st.State)
}

func quietLog() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// nullSource publishes nothing: tests set the desired state themselves.
type nullSource struct{}

func (nullSource) Run(ctx context.Context, publish func(*Desired)) { <-ctx.Done() }
