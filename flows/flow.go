package flows

import (
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/digitalocean/go-openvswitch/ovs"
)

// Flow is one OpenFlow flow of the pipeline, as a typed value.
type Flow struct {
	Table    Table
	Priority uint16
	Cookie   Cookie
	Protocol ovs.Protocol
	Match    []Match
	Actions  []Action
}

// Key identifies the flow inside OVS: table, priority and match (order-free).
// Two flows with the same key cannot both be installed.
func (f Flow) Key() string {
	return flowKey(f.Table.ID, f.Priority, f.matchTokens())
}

func flowKey(table uint8, prio uint16, tokens []string) string {
	sorted := append([]string(nil), tokens...)
	sort.Strings(sorted)
	return "table=" + strconv.Itoa(int(table)) + ",priority=" + strconv.Itoa(int(prio)) + "," + strings.Join(sorted, ",")
}

func (f Flow) matchTokens() []string {
	var out []string
	if f.Protocol != "" {
		out = append(out, string(f.Protocol))
	}
	for _, m := range f.Match {
		b, err := m.MarshalText()
		if err != nil {
			out = append(out, "!"+err.Error())
			continue
		}
		out = append(out, string(b))
	}
	return out
}

// ActionsText is the flow's actions as `ovs-ofctl dump-flows` prints them.
func (f Flow) ActionsText() string {
	parts := make([]string, 0, len(f.Actions))
	for _, a := range f.Actions {
		b, err := a.MarshalText()
		if err != nil {
			parts = append(parts, "!"+err.Error())
			continue
		}
		parts = append(parts, string(b))
	}
	return strings.Join(parts, ",")
}

// String renders the flow like `ovs-ofctl --no-stats dump-flows`.
func (f Flow) String() string { return f.render(strconv.Itoa(int(f.Table.ID))) }

// Named renders the flow like `ovs-ofctl --names --no-stats dump-flows`,
// with the table's name: the form the docs and golden tests use.
func (f Flow) Named() string { return f.render(f.Table.Name) }

func (f Flow) render(table string) string {
	m := strings.Join(f.matchTokens(), ",")
	if m != "" {
		m = "," + m
	}
	return fmt.Sprintf("cookie=%s, table=%s, priority=%d%s actions=%s", f.Cookie, table, f.Priority, m, f.ActionsText())
}

// Validate checks that the flow renders and names a pipeline table.
func (f Flow) Validate() error {
	for _, t := range append(f.matchTokens(), f.ActionsText()) {
		if strings.Contains(t, "!") {
			return fmt.Errorf("flow %s: does not render", f.Named())
		}
	}
	for _, t := range Pipeline {
		if t == f.Table {
			return nil
		}
	}
	return fmt.Errorf("flow %s: table %d is not in the pipeline", f.Named(), f.Table.ID)
}

// InstalledFlow is a flow as read back from OVS.
type InstalledFlow struct {
	Cookie  Cookie
	Table   uint8
	Key     string
	Actions string
	Text    string
}

// ErrNotAFlow is returned for dump lines that are not flows (headers).
var ErrNotAFlow = errors.New("not a flow line")

// ParseDumpLine reads one line of `ovs-ofctl --no-stats --no-names
// dump-flows`. It only splits the line; comparing keys and action texts is
// enough to diff, since OVS prints flows in a canonical form (pinned by the
// agent's tests against a real OVS).
func ParseDumpLine(line string) (InstalledFlow, error) {
	line = strings.TrimSpace(line)
	matchPart, actions, ok := strings.Cut(line, " actions=")
	if !ok {
		return InstalledFlow{}, ErrNotAFlow
	}
	out := InstalledFlow{Actions: actions, Text: line}
	var prio uint64 = 32768
	var tokens []string
	for _, tok := range strings.Split(strings.ReplaceAll(matchPart, ", ", ","), ",") {
		name, val, _ := strings.Cut(tok, "=")
		switch name {
		case "":
		case "cookie":
			c, err := strconv.ParseUint(val, 0, 64)
			if err != nil {
				return InstalledFlow{}, fmt.Errorf("bad cookie in %q: %w", line, err)
			}
			out.Cookie = Cookie(c)
		case "table":
			t, err := strconv.ParseUint(val, 10, 8)
			if err != nil {
				return InstalledFlow{}, fmt.Errorf("bad table in %q (dump without --names): %w", line, err)
			}
			out.Table = uint8(t)
		case "priority":
			p, err := strconv.ParseUint(val, 10, 16)
			if err != nil {
				return InstalledFlow{}, fmt.Errorf("bad priority in %q: %w", line, err)
			}
			prio = p
		case "duration", "n_packets", "n_bytes", "idle_age", "hard_age", "reset_counts":
		default:
			tokens = append(tokens, tok)
		}
	}
	out.Key = flowKey(out.Table, uint16(prio), tokens)
	return out, nil
}

// Diff is what must change in OVS to go from installed to desired. Applied
// in one bundle, in this order: purges, strict deletes, adds.
type Diff struct {
	// Purge removes every flow of a table with a cookie (a non-strict
	// delete): for stale flows whose match this package cannot read back.
	Purge []TableCookie
	// Delete are installed flows to remove exactly (strict: table,
	// priority, match and cookie).
	Delete []Flow
	// Add are flows to add or overwrite (the same key replaces in place).
	Add []Flow
}

// TableCookie selects the flows of one owner cookie in one table.
type TableCookie struct {
	Table  Table
	Cookie Cookie
}

// Empty says whether nothing needs to change.
func (d Diff) Empty() bool { return len(d.Purge) == 0 && len(d.Delete) == 0 && len(d.Add) == 0 }

// ComputeDiff compares desired flows with installed ones (keys and actions
// as ParseDumpLine gives them). Installed flows not owned by ovsnet are
// left alone. Stale flows are deleted strictly; one that cannot be read
// back into a Flow is purged with its table and cookie, and every desired
// flow of that table and cookie is added again after it.
func ComputeDiff(desired []Flow, installed []InstalledFlow) Diff {
	want := make(map[string]Flow, len(desired))
	for _, f := range desired {
		want[f.Key()] = f
	}
	have := make(map[string]InstalledFlow, len(installed))
	for _, in := range installed {
		have[in.Key] = in
	}
	var d Diff
	added := map[string]bool{}
	for _, f := range desired {
		in, ok := have[f.Key()]
		if ok && in.Cookie == f.Cookie && in.Actions == f.ActionsText() {
			continue
		}
		if !added[f.Key()] {
			d.Add = append(d.Add, f)
			added[f.Key()] = true
		}
	}
	purged := map[TableCookie]bool{}
	for _, in := range installed {
		if !in.Cookie.Owned() {
			continue
		}
		if f, ok := want[in.Key]; ok && f.Cookie == in.Cookie {
			continue // kept, or overwritten in place by an add
		}
		if stale, ok := FlowFromInstalled(in); ok {
			d.Delete = append(d.Delete, stale)
			continue
		}
		tc := TableCookie{Table: tableOf(in.Table), Cookie: in.Cookie}
		if purged[tc] {
			continue
		}
		purged[tc] = true
		d.Purge = append(d.Purge, tc)
		for _, f := range desired {
			if !added[f.Key()] && f.Table.ID == in.Table && f.Cookie == in.Cookie {
				d.Add = append(d.Add, f)
				added[f.Key()] = true
			}
		}
	}
	return d
}

func tableOf(id uint8) Table {
	if t, ok := TableByID(int(id)); ok {
		return t
	}
	return Table{ID: id, Name: strconv.Itoa(int(id))}
}

// FlowFromInstalled rebuilds a Flow from a dumped one, enough to delete it
// strictly: table, priority, cookie and typed match. ok is false when a
// match token is not one of this package's fields.
func FlowFromInstalled(in InstalledFlow) (Flow, bool) {
	f := Flow{Table: tableOf(in.Table), Cookie: in.Cookie}
	_, rest, _ := strings.Cut(in.Key, ",priority=")
	prio, tokens, _ := strings.Cut(rest, ",")
	p, err := strconv.Atoi(prio)
	if err != nil {
		return Flow{}, false
	}
	f.Priority = uint16(p)
	for _, tok := range strings.Split(tokens, ",") {
		if tok == "" {
			continue
		}
		if !strings.Contains(tok, "=") {
			if f.Protocol != "" || !knownProtocol(tok) {
				return Flow{}, false
			}
			f.Protocol = ovs.Protocol(tok)
			continue
		}
		m, err := ParseMatch(tok)
		if err != nil {
			return Flow{}, false
		}
		f.Match = append(f.Match, m)
	}
	return f, true
}

// Protocols the pipeline matches on, as OVS names them.
var protocols = []ovs.Protocol{ovs.ProtocolARP, ovs.ProtocolIPv4, ovs.ProtocolIPv6, ovs.ProtocolICMPv6,
	ovs.ProtocolUDPv4, ovs.ProtocolUDPv6, ovs.ProtocolTCPv4}

func knownProtocol(s string) bool {
	for _, p := range protocols {
		if string(p) == s {
			return true
		}
	}
	return false
}
