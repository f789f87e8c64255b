package flows

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/digitalocean/go-openvswitch/ovs"
)

func field(name, value string) Match               { return ovs.FieldMatch(name, value) }
func setField(value, field string) Action          { return ovs.SetField(value, field) }
func move(src, dst string) Action                  { return ovs.Move(src, dst) }
func output(port int) Action                       { return ovs.Output(port) }
func dropAction() Action                           { return ovs.Drop() }
func gotoTable(t Table) Action                     { return gotoAction{t} }
func inPort() Action                               { return inPortAction{} }
func inPortMatch(port int) Match                   { return field("in_port", strconv.Itoa(port)) }
func macMatch(name string, mac fmt.Stringer) Match { return field(name, mac.String()) }

// gotoAction is OpenFlow 1.1+'s goto_table, which go-openvswitch lacks.
type gotoAction struct{ t Table }

func (a gotoAction) MarshalText() ([]byte, error) {
	return []byte("goto_table:" + strconv.Itoa(int(a.t.ID))), nil
}
func (a gotoAction) GoString() string { return "flows.gotoTable(" + a.t.Name + ")" }

// inPortAction outputs back to the ingress port, spelt as OVS prints it.
type inPortAction struct{}

func (inPortAction) MarshalText() ([]byte, error) { return []byte("IN_PORT"), nil }
func (inPortAction) GoString() string             { return "flows.inPort()" }

// conntrack is OVS's ct() action, typed. Fields are printed in the order
// `ovs-ofctl dump-flows` uses, so installed flows compare equal.
type conntrack struct {
	Commit bool
	// Table to recirculate to after tracking; nil for none.
	Table *Table
	Zone  uint16
	// NAT: nil for no NAT; "" for "undo NAT of the connection" (plain nat);
	// an address for SNAT to it.
	NAT *string
	// DNAT, when set, translates the destination to this address:port.
	DNAT string
	// Mark is stored in ct_mark on commit; 0 for none.
	Mark uint32
}

func (c conntrack) MarshalText() ([]byte, error) {
	var parts []string
	if c.Commit {
		parts = append(parts, "commit")
	}
	if c.Table != nil {
		parts = append(parts, "table="+strconv.Itoa(int(c.Table.ID)))
	}
	parts = append(parts, "zone="+strconv.Itoa(int(c.Zone)))
	if c.DNAT != "" {
		parts = append(parts, "nat(dst="+c.DNAT+")")
	} else if c.NAT != nil {
		if *c.NAT == "" {
			parts = append(parts, "nat")
		} else {
			parts = append(parts, "nat(src="+*c.NAT+")")
		}
	}
	if c.Mark != 0 {
		parts = append(parts, "exec(set_field:"+hex(uint64(c.Mark))+"->ct_mark)")
	}
	return []byte("ct(" + strings.Join(parts, ",") + ")"), nil
}

func (c conntrack) GoString() string { return fmt.Sprintf("flows.conntrack(%+v)", c) }
