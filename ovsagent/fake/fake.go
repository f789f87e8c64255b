// Package fake has in-memory parts for the agent's reconciler: an OVS
// database, a flow table changed by atomic bundles, a plumber, a kernel and
// a cluster link. Each keeps the state a real one would change and records
// what it was asked to do. The reconciler's table tests use them, and so do
// the scale benchmark's simulated hosts.
package fake

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"sort"
	"sync"

	"github.com/ovsnet/ovsnet/flows"
	"github.com/ovsnet/ovsnet/internal/store"
	"github.com/ovsnet/ovsnet/model"
	"github.com/ovsnet/ovsnet/ovsagent/hostnet"
	"github.com/ovsnet/ovsnet/ovsagent/vswitch"
)

// Switch is OVSDB with ports and port numbers.
type Switch struct {
	mu       sync.Mutex
	Bridges  int
	PortRows map[string]vswitch.ActualPort
	Txns     [][]string // port names of each SyncPorts, sorted
}

func NewSwitch() *Switch { return &Switch{PortRows: map[string]vswitch.ActualPort{}} }

func (s *Switch) EnsureBridge(ctx context.Context, cfg vswitch.BridgeConfig) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.Bridges++
	return nil
}

func (s *Switch) Ports(ctx context.Context) (map[string]vswitch.ActualPort, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string]vswitch.ActualPort{}
	for k, v := range s.PortRows {
		out[k] = v
	}
	return out, nil
}

func (s *Switch) PlanOFPorts(ctx context.Context, desired []flows.Port) (flows.OFPorts, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := flows.OFPorts{}
	used := map[int]bool{}
	for _, p := range desired {
		if p.OFPort != 0 {
			out[p.Name], used[p.OFPort] = p.OFPort, true
		} else if a, ok := s.PortRows[p.Name]; ok {
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

func (s *Switch) SyncPorts(ctx context.Context, bridge string, desired []flows.Port, ofports flows.OFPorts) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	var names []string
	s.PortRows = map[string]vswitch.ActualPort{}
	for _, p := range desired {
		s.PortRows[p.Name] = vswitch.ActualPort{Name: p.Name, OFPort: ofports[p.Name], ExternalIDs: p.ExternalIDs}
		names = append(names, p.Name)
	}
	sort.Strings(names)
	s.Txns = append(s.Txns, names)
	return nil
}

func (s *Switch) Close() {}

func (s *Switch) Transactions() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.Txns)
}

// FlowTable is a flow table changed atomically by bundles: strict
// deletes, purges by table and cookie, and adds that replace the same key.
type FlowTable struct {
	mu      sync.Mutex
	Flows   map[string]flows.Flow
	Bundles []flows.Diff
	Dumps   int
	// refuse makes the next bundle fail, changing nothing (as OVS does
	// with a bundle it cannot commit).
	Refuse error
}

func NewFlowTable() *FlowTable { return &FlowTable{Flows: map[string]flows.Flow{}} }

func (t *FlowTable) Dump(ctx context.Context) ([]flows.InstalledFlow, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.Dumps++
	var out []flows.InstalledFlow
	for _, f := range t.Flows {
		in, err := flows.ParseDumpLine(f.String())
		if err != nil {
			return nil, err
		}
		out = append(out, in)
	}
	return out, nil
}

func (t *FlowTable) Apply(ctx context.Context, d flows.Diff) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if d.Empty() {
		return nil
	}
	if err := t.Refuse; err != nil {
		t.Refuse = nil
		return err
	}
	t.Bundles = append(t.Bundles, d)
	for _, p := range d.Purge {
		for k, f := range t.Flows {
			if f.Table.ID == p.Table.ID && f.Cookie == p.Cookie {
				delete(t.Flows, k)
			}
		}
	}
	for _, f := range d.Delete {
		delete(t.Flows, f.Key())
	}
	for _, f := range d.Add {
		t.Flows[f.Key()] = f
	}
	return nil
}

func (t *FlowTable) Target() string { return "fake" }

// TakeBundles returns the bundles applied so far and forgets them.
func (t *FlowTable) TakeBundles() []flows.Diff {
	t.mu.Lock()
	defer t.mu.Unlock()
	b := t.Bundles
	t.Bundles = nil
	return b
}

func (t *FlowTable) Wipe() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.Flows = map[string]flows.Flow{}
}

func (t *FlowTable) Texts() []string {
	t.mu.Lock()
	defer t.mu.Unlock()
	var out []string
	for _, f := range t.Flows {
		out = append(out, f.String())
	}
	sort.Strings(out)
	return out
}

// Plumber keeps the veths it was asked to create.
type Plumber struct {
	mu      sync.Mutex
	Veths   map[string]bool
	Ensured []string
	Fail    map[string]error // by endpoint id
}

func NewPlumber() *Plumber {
	return &Plumber{Veths: map[string]bool{}, Fail: map[string]error{}}
}

func (p *Plumber) EnsureEndpoint(ep *model.Endpoint, n *model.Network, mtu int) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.Ensured = append(p.Ensured, ep.ContainerName)
	if err := p.Fail[ep.ID]; err != nil {
		return err
	}
	p.Veths[ep.PortName()] = true
	return nil
}

func (p *Plumber) RemoveEndpoint(portName string) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	delete(p.Veths, portName)
	return nil
}

func (p *Plumber) EndpointPorts() ([]hostnet.EndpointPort, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []hostnet.EndpointPort
	for name := range p.Veths {
		out = append(out, hostnet.EndpointPort{Name: name, Up: true})
	}
	return out, nil
}

func (p *Plumber) SetUp(name string) error { return nil }

func (p *Plumber) WatchEndpointPorts(ctx context.Context, changed func()) error {
	<-ctx.Done()
	return nil
}

func (p *Plumber) EnsureDockerVeth(ep *model.Endpoint, mtu int) (string, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.Veths[ep.PortName()] = true
	return "ovt" + ep.ID[:11], nil
}

func (p *Plumber) Exists(name string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.Veths[name]
}

func (p *Plumber) ConfigureInternal(name string, addrs []netip.Prefix, routes []flows.Route, mtu int) (bool, error) {
	return true, nil
}

func (p *Plumber) TakeEnsured() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	e := p.Ensured
	p.Ensured = nil
	sort.Strings(e)
	return e
}

// Kernel records the rules it is given.
type Kernel struct {
	mu    sync.Mutex
	Rules []hostnet.KernelRules
}

func (k *Kernel) Apply(ctx context.Context, r hostnet.KernelRules) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.Rules = append(k.Rules, r)
	return nil
}

// Cluster keeps what the agent reported.
type Cluster struct {
	mu           sync.Mutex
	StatusesByID map[string]model.EndpointStatus
	AppliedByNet map[string]store.Applied
	Stats        []store.HostStats
	Writes       int
	Lost         chan struct{}
	Down         bool
}

func NewCluster() *Cluster {
	return &Cluster{StatusesByID: map[string]model.EndpointStatus{}, AppliedByNet: map[string]store.Applied{}, Lost: make(chan struct{})}
}

var ErrDown = errors.New("consul is down")

func (c *Cluster) check() error {
	if c.Down {
		return ErrDown
	}
	c.Writes++
	return nil
}

func (c *Cluster) Register(ctx context.Context, h model.Host) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.check()
}

func (c *Cluster) SessionLost() <-chan struct{} { return c.Lost }

// Holds says the record is held (the fake has no one to take it away).
func (c *Cluster) Holds(ctx context.Context) (bool, error) { return true, nil }

func (c *Cluster) ReportStatus(ctx context.Context, st model.EndpointStatus) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.check(); err != nil {
		return err
	}
	c.StatusesByID[st.EndpointID] = st
	return nil
}

func (c *Cluster) DeleteStatus(ctx context.Context, host, id string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.check(); err != nil {
		return err
	}
	delete(c.StatusesByID, id)
	return nil
}

func (c *Cluster) Statuses(ctx context.Context, host string) (map[string]model.EndpointStatus, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := map[string]model.EndpointStatus{}
	for k, v := range c.StatusesByID {
		out[k] = v
	}
	return out, nil
}

func (c *Cluster) ReportApplied(ctx context.Context, netID string, a store.Applied) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.check(); err != nil {
		return err
	}
	c.AppliedByNet[netID] = a
	return nil
}

func (c *Cluster) DeleteApplied(ctx context.Context, netID string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.check(); err != nil {
		return err
	}
	delete(c.AppliedByNet, netID)
	return nil
}

func (c *Cluster) Applied(ctx context.Context) (map[string]store.Applied, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := map[string]store.Applied{}
	for k, v := range c.AppliedByNet {
		out[k] = v
	}
	return out, nil
}

func (c *Cluster) ReportStats(ctx context.Context, s store.HostStats) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.check(); err != nil {
		return err
	}
	c.Stats = append(c.Stats, s)
	return nil
}

func (c *Cluster) Close() {}

func (c *Cluster) Status(id string) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	st, ok := c.StatusesByID[id]
	if !ok {
		return "none"
	}
	if st.Error != "" {
		return fmt.Sprintf("%s: %s", st.State, st.Error)
	}
	return string(st.State)
}
