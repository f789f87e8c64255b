package vswitch

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"sort"
	"strings"
	"time"

	"github.com/cenkalti/backoff/v4"
	"github.com/go-logr/logr"
	"github.com/ovn-org/libovsdb/client"
	"github.com/ovn-org/libovsdb/model"
	"github.com/ovn-org/libovsdb/ovsdb"

	"github.com/ovsnet/ovsnet/flows"
	"github.com/ovsnet/ovsnet/ovsagent/vswitch/ovsdbmodel"
)

// BridgeConfig is how the integration bridge must look.
type BridgeConfig struct {
	Name         string
	DatapathType string
}

// ActualPort is an ovsnet-owned port of the bridge as OVSDB has it.
type ActualPort struct {
	PortUUID, IfaceUUID string
	Name                string
	Type                string
	OFPortRequest       int
	OFPort              int
	MAC                 string
	MTURequest          int
	Options             map[string]string
	ExternalIDs         map[string]string
	Error               string
}

// OVSDB is the integration bridge and its ports in the host's Open_vSwitch
// database, through libovsdb.
type OVSDB struct {
	c      client.Client
	bridge string
	log    *slog.Logger
}

// ConnectOVSDB connects to a host's ovsdb-server (e.g. unix:/run/openvswitch/db.sock)
// and mirrors the tables the agent uses into libovsdb's cache. The client
// reconnects on its own; transactions then wait (bounded by their context).
func ConnectOVSDB(ctx context.Context, endpoint string, log *slog.Logger) (*OVSDB, error) {
	dbModel, err := ovsdbmodel.FullDatabaseModel()
	if err != nil {
		return nil, fmt.Errorf("ovsdb model: %w", err)
	}
	lg := logr.FromSlogHandler(log.With("component", "libovsdb").Handler())
	bo := backoff.NewExponentialBackOff()
	bo.MaxInterval = 2 * time.Second
	bo.MaxElapsedTime = 0
	c, err := client.NewOVSDBClient(dbModel, client.WithEndpoint(endpoint), client.WithLogger(&lg),
		client.WithReconnect(5*time.Second, bo))
	if err != nil {
		return nil, fmt.Errorf("ovsdb client: %w", err)
	}
	if err := c.Connect(ctx); err != nil {
		return nil, fmt.Errorf("connect to OVSDB at %s: %w", endpoint, err)
	}
	_, err = c.Monitor(ctx, c.NewMonitor(
		client.WithTable(&ovsdbmodel.OpenvSwitch{}),
		client.WithTable(&ovsdbmodel.Bridge{}),
		client.WithTable(&ovsdbmodel.Port{}),
		client.WithTable(&ovsdbmodel.Interface{}),
		client.WithTable(&ovsdbmodel.FlowTable{}),
	))
	if err != nil {
		c.Close()
		return nil, fmt.Errorf("monitor OVSDB at %s: %w", endpoint, err)
	}
	return &OVSDB{c: c, log: log}, nil
}

func (s *OVSDB) Close() { s.c.Close() }

func (s *OVSDB) transact(ctx context.Context, ops []ovsdb.Operation) error {
	if len(ops) == 0 {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	res, err := s.c.Transact(ctx, ops...)
	if err != nil {
		return fmt.Errorf("ovsdb transaction: %w", err)
	}
	if _, err := ovsdb.CheckOperationResults(res, ops); err != nil {
		return fmt.Errorf("ovsdb transaction: %w", err)
	}
	return nil
}

// settle waits (bounded) until the cache shows what a transaction wrote, so
// the next read does not act on pre-transaction state.
func (s *OVSDB) settle(ctx context.Context, done func() bool) {
	deadline := time.Now().Add(2 * time.Second)
	for !done() && time.Now().Before(deadline) && ctx.Err() == nil {
		time.Sleep(2 * time.Millisecond)
	}
}

func (s *OVSDB) findBridge(ctx context.Context, name string) (*ovsdbmodel.Bridge, error) {
	var brs []ovsdbmodel.Bridge
	if err := s.c.WhereCache(func(b *ovsdbmodel.Bridge) bool { return b.Name == name }).List(ctx, &brs); err != nil {
		return nil, err
	}
	if len(brs) == 0 {
		return nil, nil
	}
	return &brs[0], nil
}

func (s *OVSDB) EnsureBridge(ctx context.Context, cfg BridgeConfig) error {
	s.bridge = cfg.Name
	br, err := s.findBridge(ctx, cfg.Name)
	if err != nil {
		return err
	}
	secure := ovsdbmodel.BridgeFailModeSecure
	protocols := []ovsdbmodel.BridgeProtocols{ovsdbmodel.BridgeProtocolsOpenflow13, ovsdbmodel.BridgeProtocolsOpenflow14}
	var ops []ovsdb.Operation
	if br == nil {
		var roots []ovsdbmodel.OpenvSwitch
		if err := s.c.List(ctx, &roots); err != nil {
			return err
		}
		if len(roots) == 0 {
			return fmt.Errorf("the Open_vSwitch table is empty: run `ovs-vsctl init` first")
		}
		iface := &ovsdbmodel.Interface{UUID: "newiface", Name: cfg.Name, Type: "internal"}
		port := &ovsdbmodel.Port{UUID: "newport", Name: cfg.Name, Interfaces: []string{iface.UUID}}
		newBr := &ovsdbmodel.Bridge{UUID: "newbridge", Name: cfg.Name, DatapathType: cfg.DatapathType,
			FailMode: &secure, Protocols: protocols, Ports: []string{port.UUID},
			ExternalIDs: map[string]string{flows.ExtOwner: flows.OwnerValue}}
		create, err := s.c.Create(iface, port, newBr)
		if err != nil {
			return err
		}
		root := &roots[0]
		mut, err := s.c.Where(root).Mutate(root, model.Mutation{Field: &root.Bridges, Mutator: ovsdb.MutateOperationInsert, Value: []string{newBr.UUID}})
		if err != nil {
			return err
		}
		ops = append(append(ops, create...), mut...)
		s.log.Info("creating integration bridge", "bridge", cfg.Name, "datapath", cfg.DatapathType)
		if err := s.transact(ctx, ops); err != nil {
			return fmt.Errorf("create bridge %s: %w", cfg.Name, err)
		}
		s.settle(ctx, func() bool { b, _ := s.findBridge(ctx, cfg.Name); return b != nil })
		if br, err = s.findBridge(ctx, cfg.Name); err != nil || br == nil {
			return fmt.Errorf("bridge %s did not appear after creating it", cfg.Name)
		}
		ops = nil
	}

	// Correct what someone changed by hand; leave flows and ports alone.
	var fields []interface{}
	if br.FailMode == nil || *br.FailMode != secure {
		br.FailMode = &secure
		fields = append(fields, &br.FailMode)
	}
	if !sameProtocols(br.Protocols, protocols) {
		br.Protocols = protocols
		fields = append(fields, &br.Protocols)
	}
	if br.DatapathType != cfg.DatapathType {
		s.log.Warn("bridge has another datapath type; changing it", "bridge", cfg.Name, "have", br.DatapathType, "want", cfg.DatapathType)
		br.DatapathType = cfg.DatapathType
		fields = append(fields, &br.DatapathType)
	}
	if br.ExternalIDs[flows.ExtOwner] != flows.OwnerValue {
		if br.ExternalIDs == nil {
			br.ExternalIDs = map[string]string{}
		}
		br.ExternalIDs[flows.ExtOwner] = flows.OwnerValue
		fields = append(fields, &br.ExternalIDs)
	}
	// Name the pipeline's tables so `ovs-ofctl --names` shows them.
	tableOps, tables, err := s.flowTableOps(ctx, br)
	if err != nil {
		return err
	}
	if tables != nil {
		br.FlowTables = tables
		fields = append(fields, &br.FlowTables)
	}
	ops = append(ops, tableOps...)
	if len(fields) > 0 {
		upd, err := s.c.Where(br).Update(br, fields...)
		if err != nil {
			return err
		}
		ops = append(ops, upd...)
	}
	if err := s.transact(ctx, ops); err != nil {
		return fmt.Errorf("configure bridge %s: %w", cfg.Name, err)
	}
	if len(ops) > 0 {
		s.settle(ctx, func() bool {
			b, _ := s.findBridge(ctx, cfg.Name)
			return b != nil && b.FailMode != nil && *b.FailMode == secure && len(b.FlowTables) == len(flows.Pipeline)
		})
	}
	return nil
}

func sameProtocols(a, b []ovsdbmodel.BridgeProtocols) bool {
	if len(a) != len(b) {
		return false
	}
	as := append([]ovsdbmodel.BridgeProtocols(nil), a...)
	sort.Slice(as, func(i, j int) bool { return as[i] < as[j] })
	for i := range as {
		if as[i] != b[i] {
			return false
		}
	}
	return true
}

// flowTableOps returns operations creating Flow_Table rows for tables the
// bridge does not name correctly yet, and the bridge's new flow_tables map
// (nil when nothing changes).
func (s *OVSDB) flowTableOps(ctx context.Context, br *ovsdbmodel.Bridge) ([]ovsdb.Operation, map[int]string, error) {
	var existing []ovsdbmodel.FlowTable
	if err := s.c.List(ctx, &existing); err != nil {
		return nil, nil, err
	}
	byUUID := map[string]ovsdbmodel.FlowTable{}
	for _, t := range existing {
		byUUID[t.UUID] = t
	}
	want := map[int]string{}
	maps.Copy(want, br.FlowTables)
	var ops []ovsdb.Operation
	changed := false
	for _, t := range flows.Pipeline {
		if ft, ok := byUUID[br.FlowTables[int(t.ID)]]; ok && ft.Name != nil && *ft.Name == t.Name {
			continue
		}
		name := t.Name
		row := &ovsdbmodel.FlowTable{UUID: "table" + t.Name, Name: &name,
			ExternalIDs: map[string]string{flows.ExtOwner: flows.OwnerValue}}
		op, err := s.c.Create(row)
		if err != nil {
			return nil, nil, err
		}
		ops = append(ops, op...)
		want[int(t.ID)] = row.UUID
		changed = true
	}
	if !changed {
		return nil, nil, nil
	}
	return ops, want, nil
}

func (s *OVSDB) Ports(ctx context.Context) (map[string]ActualPort, error) {
	br, err := s.findBridge(ctx, s.bridge)
	if err != nil {
		return nil, err
	}
	if br == nil {
		return nil, fmt.Errorf("bridge %s does not exist", s.bridge)
	}
	onBridge := map[string]bool{}
	for _, u := range br.Ports {
		onBridge[u] = true
	}
	var ports []ovsdbmodel.Port
	if err := s.c.WhereCache(func(p *ovsdbmodel.Port) bool {
		return onBridge[p.UUID] && p.ExternalIDs[flows.ExtOwner] == flows.OwnerValue
	}).List(ctx, &ports); err != nil {
		return nil, err
	}
	out := map[string]ActualPort{}
	for _, p := range ports {
		ap := ActualPort{PortUUID: p.UUID, Name: p.Name, ExternalIDs: p.ExternalIDs}
		if len(p.Interfaces) > 0 {
			iface := &ovsdbmodel.Interface{UUID: p.Interfaces[0]}
			if err := s.c.Get(ctx, iface); err == nil {
				ap.IfaceUUID = iface.UUID
				ap.Type = iface.Type
				ap.Options = iface.Options
				ap.ExternalIDs = iface.ExternalIDs
				if iface.OfportRequest != nil {
					ap.OFPortRequest = *iface.OfportRequest
				}
				if iface.Ofport != nil {
					ap.OFPort = *iface.Ofport
				}
				if iface.MAC != nil {
					ap.MAC = *iface.MAC
				}
				if iface.MTURequest != nil {
					ap.MTURequest = *iface.MTURequest
				}
				if iface.Error != nil {
					ap.Error = *iface.Error
				}
			}
		}
		out[p.Name] = ap
	}
	return out, nil
}

func (s *OVSDB) PlanOFPorts(ctx context.Context, desired []flows.Port) (flows.OFPorts, error) {
	actual, err := s.Ports(ctx)
	if err != nil {
		return nil, err
	}
	// Numbers in use: requested by owned ports and taken by any port.
	taken := map[int]bool{}
	var all []ovsdbmodel.Interface
	if err := s.c.List(ctx, &all); err != nil {
		return nil, err
	}
	for _, i := range all {
		if i.Ofport != nil {
			taken[*i.Ofport] = true
		}
		if i.OfportRequest != nil {
			taken[*i.OfportRequest] = true
		}
	}
	ofports := flows.OFPorts{}
	for _, d := range desired {
		if d.OFPort != 0 {
			ofports[d.Name] = d.OFPort
		} else if a, ok := actual[d.Name]; ok && a.OFPortRequest != 0 {
			ofports[d.Name] = a.OFPortRequest
		}
	}
	next := flows.FirstDynamicOFPort
	for _, d := range desired {
		if _, ok := ofports[d.Name]; ok {
			continue
		}
		for taken[next] {
			next++
		}
		ofports[d.Name] = next
		taken[next] = true
	}
	return ofports, nil
}

func (s *OVSDB) SyncPorts(ctx context.Context, bridge string, desired []flows.Port, ofports flows.OFPorts) error {
	actual, err := s.Ports(ctx)
	if err != nil {
		return err
	}
	br, err := s.findBridge(ctx, bridge)
	if err != nil || br == nil {
		return fmt.Errorf("bridge %s: %w", bridge, errors.Join(err, errors.New("not found")))
	}
	var ops []ovsdb.Operation
	var newPorts []string
	want := map[string]bool{}
	for _, d := range desired {
		want[d.Name] = true
		iface := desiredInterface(d, ofports[d.Name])
		a, ok := actual[d.Name]
		if !ok {
			iface.UUID = "iface" + sanitize(d.Name)
			port := &ovsdbmodel.Port{UUID: "port" + sanitize(d.Name), Name: d.Name, Interfaces: []string{iface.UUID},
				ExternalIDs: d.ExternalIDs}
			if d.Kind == flows.PortEndpoint {
				// ovs-ctl --delete-transient-ports removes container ports
				// after a host reboot, when their veths are gone anyway.
				port.OtherConfig = map[string]string{"transient": "true"}
			}
			create, err := s.c.Create(iface, port)
			if err != nil {
				return err
			}
			ops = append(ops, create...)
			newPorts = append(newPorts, port.UUID)
			continue
		}
		fields := interfaceDiff(a, iface)
		if fields != nil {
			iface.UUID = a.IfaceUUID
			upd, err := s.c.Where(iface).Update(iface, fields(iface)...)
			if err != nil {
				return err
			}
			ops = append(ops, upd...)
		}
	}
	var gone []string
	for name, a := range actual {
		if want[name] {
			continue
		}
		p := &ovsdbmodel.Port{UUID: a.PortUUID}
		del, err := s.c.Where(p).Delete()
		if err != nil {
			return err
		}
		ops = append(ops, del...)
		gone = append(gone, a.PortUUID)
	}
	if len(newPorts) > 0 || len(gone) > 0 {
		var muts []model.Mutation
		if len(newPorts) > 0 {
			muts = append(muts, model.Mutation{Field: &br.Ports, Mutator: ovsdb.MutateOperationInsert, Value: newPorts})
		}
		if len(gone) > 0 {
			muts = append(muts, model.Mutation{Field: &br.Ports, Mutator: ovsdb.MutateOperationDelete, Value: gone})
		}
		mut, err := s.c.Where(br).Mutate(br, muts...)
		if err != nil {
			return err
		}
		ops = append(ops, mut...)
	}
	if err := s.transact(ctx, ops); err != nil {
		return fmt.Errorf("sync ports of %s: %w", bridge, err)
	}
	if len(ops) > 0 {
		s.settle(ctx, func() bool {
			now, err := s.Ports(ctx)
			if err != nil {
				return false
			}
			for _, d := range desired {
				if _, ok := now[d.Name]; !ok {
					return false
				}
			}
			return len(now) == len(desired)
		})
		s.log.Debug("synced ports", "bridge", bridge, "created", len(newPorts), "deleted", len(gone))
	}
	return nil
}

func desiredInterface(d flows.Port, ofport int) *ovsdbmodel.Interface {
	iface := &ovsdbmodel.Interface{Name: d.Name, Type: d.Type, Options: d.Options, ExternalIDs: d.ExternalIDs}
	iface.OfportRequest = &ofport
	if d.MAC != nil {
		mac := d.MAC.String()
		iface.MAC = &mac
	}
	if d.MTU != 0 {
		mtu := d.MTU
		iface.MTURequest = &mtu
	}
	return iface
}

// interfaceDiff says which columns of an existing interface differ from the
// desired one; nil when none.
func interfaceDiff(a ActualPort, want *ovsdbmodel.Interface) func(*ovsdbmodel.Interface) []interface{} {
	var cols []func(*ovsdbmodel.Interface) interface{}
	if a.Type != want.Type {
		cols = append(cols, func(i *ovsdbmodel.Interface) interface{} { return &i.Type })
	}
	if !maps.Equal(nonNil(a.Options), nonNil(want.Options)) {
		cols = append(cols, func(i *ovsdbmodel.Interface) interface{} { return &i.Options })
	}
	if !maps.Equal(nonNil(a.ExternalIDs), nonNil(want.ExternalIDs)) {
		cols = append(cols, func(i *ovsdbmodel.Interface) interface{} { return &i.ExternalIDs })
	}
	if a.OFPortRequest != *want.OfportRequest {
		cols = append(cols, func(i *ovsdbmodel.Interface) interface{} { return &i.OfportRequest })
	}
	if want.MAC != nil && !strings.EqualFold(a.MAC, *want.MAC) {
		cols = append(cols, func(i *ovsdbmodel.Interface) interface{} { return &i.MAC })
	}
	if want.MTURequest != nil && a.MTURequest != *want.MTURequest {
		cols = append(cols, func(i *ovsdbmodel.Interface) interface{} { return &i.MTURequest })
	}
	if len(cols) == 0 {
		return nil
	}
	return func(i *ovsdbmodel.Interface) []interface{} {
		out := make([]interface{}, 0, len(cols))
		for _, c := range cols {
			out = append(out, c(i))
		}
		return out
	}
}

func nonNil(m map[string]string) map[string]string {
	if m == nil {
		return map[string]string{}
	}
	return m
}

// sanitize makes a port name usable in a named UUID ([_a-zA-Z0-9]).
func sanitize(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' {
			return r
		}
		return '_'
	}, s)
}
