package flows

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	"github.com/digitalocean/go-openvswitch/ovs"

	"github.com/ovsnet/ovsnet/model"
)

// Action is one step of a flow's instructions, as a typed value. The set is
// closed: these types are everything the pipeline does, and the OpenFlow
// codec encodes exactly these. Text comes from go-openvswitch where it has
// the action, in the form `ovs-ofctl dump-flows` prints.
type Action interface {
	MarshalText() ([]byte, error)
	isAction()
}

// Output sends the packet to an OpenFlow port.
type Output struct{ Port uint32 }

// OutputInPort sends the packet back out of the port it came in on.
type OutputInPort struct{}

// GotoTable continues the pipeline in a later table (an instruction).
type GotoTable struct{ Table Table }

// Drop ends the pipeline: a flow whose only action is Drop has no
// instructions at all.
type Drop struct{}

// SetField writes a constant into a field.
type SetField struct {
	Field FieldID
	Value []byte
}

// Move copies one whole field into another of the same width.
type Move struct{ Src, Dst FieldID }

// CT sends the packet through connection tracking (OVS's ct action).
type CT struct {
	Commit bool
	// Table to recirculate to after tracking; nil for none.
	Table *Table
	Zone  uint16
	// NAT, when set, translates addresses (see NAT).
	NAT *NAT
	// Mark is stored in ct_mark on commit; 0 for none.
	Mark uint32
}

// NATKind says what a NAT inside CT does.
type NATKind uint8

const (
	// NATUndo applies the connection's existing translation (plain "nat").
	NATUndo NATKind = iota
	// NATSource rewrites the source to Addr.
	NATSource
	// NATDest rewrites the destination to Addr:Port.
	NATDest
)

// NAT is the nat() clause of a CT action.
type NAT struct {
	Kind NATKind
	Addr netip.Addr
	Port uint16 // NATDest only; 0 keeps the port
}

func (Output) isAction()       {}
func (OutputInPort) isAction() {}
func (GotoTable) isAction()    {}
func (Drop) isAction()         {}
func (SetField) isAction()     {}
func (Move) isAction()         {}
func (CT) isAction()           {}

func (a Output) MarshalText() ([]byte, error) { return ovs.Output(int(a.Port)).MarshalText() }

// MarshalText spells IN_PORT as OVS prints it.
func (OutputInPort) MarshalText() ([]byte, error) { return []byte("IN_PORT"), nil }

// MarshalText: go-openvswitch lacks goto_table (an OpenFlow 1.1+ instruction).
func (a GotoTable) MarshalText() ([]byte, error) {
	return []byte("goto_table:" + strconv.Itoa(int(a.Table.ID))), nil
}

func (Drop) MarshalText() ([]byte, error) { return ovs.Drop().MarshalText() }

func (a SetField) MarshalText() ([]byte, error) {
	f, ok := Fields[a.Field]
	if !ok {
		return nil, fmt.Errorf("set_field: unknown field %d", a.Field)
	}
	return ovs.SetField(formatValue(f, a.Value, nil), f.SetName).MarshalText()
}

func (a Move) MarshalText() ([]byte, error) {
	src, dst := Fields[a.Src], Fields[a.Dst]
	if src.NXM == "" || dst.NXM == "" || src.Bytes != dst.Bytes {
		return nil, fmt.Errorf("move: fields %d -> %d cannot be moved", a.Src, a.Dst)
	}
	return ovs.Move(src.NXM+"[]", dst.NXM+"[]").MarshalText()
}

// MarshalText prints the clauses in the order `ovs-ofctl dump-flows` uses,
// so installed flows compare equal.
func (a CT) MarshalText() ([]byte, error) {
	var parts []string
	if a.Commit {
		parts = append(parts, "commit")
	}
	if a.Table != nil {
		parts = append(parts, "table="+strconv.Itoa(int(a.Table.ID)))
	}
	parts = append(parts, "zone="+strconv.Itoa(int(a.Zone)))
	if a.NAT != nil {
		switch a.NAT.Kind {
		case NATUndo:
			parts = append(parts, "nat")
		case NATSource:
			parts = append(parts, "nat(src="+a.NAT.Addr.String()+")")
		case NATDest:
			dst := a.NAT.Addr.String()
			if a.NAT.Port != 0 {
				dst += ":" + strconv.Itoa(int(a.NAT.Port))
			}
			parts = append(parts, "nat(dst="+dst+")")
		}
	}
	if a.Mark != 0 {
		parts = append(parts, "exec(set_field:"+hex(uint64(a.Mark))+"->ct_mark)")
	}
	return []byte("ct(" + strings.Join(parts, ",") + ")"), nil
}

func actionText(a Action) string {
	b, err := a.MarshalText()
	if err != nil {
		return "!" + err.Error()
	}
	return string(b)
}

// Constructors used by the pipeline.

func output(port int) Action       { return Output{Port: uint32(port)} }
func dropAction() Action           { return Drop{} }
func gotoTable(t Table) Action     { return GotoTable{Table: t} }
func inPort() Action               { return OutputInPort{} }
func move(src, dst FieldID) Action { return Move{Src: src, Dst: dst} }

func setUint(f FieldID, v uint64) Action {
	return SetField{Field: f, Value: uintBytes(v, Fields[f].Bytes)}
}

func setMAC(f FieldID, mac model.HardwareAddr) Action {
	return SetField{Field: f, Value: append([]byte(nil), mac...)}
}

func setAddr(f FieldID, a netip.Addr) Action { return SetField{Field: f, Value: a.AsSlice()} }
