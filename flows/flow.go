package flows

import (
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/digitalocean/go-openvswitch/ovs"
)

// Match and Action are go-openvswitch's typed flow parts; this package adds
// the few actions the library lacks (goto_table, IN_PORT, typed ct).
type (
	Match  = ovs.Match
	Action = ovs.Action
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

// OVS converts the flow to go-openvswitch's form, for adding.
func (f Flow) OVS() *ovs.Flow {
	return &ovs.Flow{
		Table:    int(f.Table.ID),
		Priority: int(f.Priority),
		Cookie:   uint64(f.Cookie),
		Protocol: f.Protocol,
		Matches:  f.Match,
		Actions:  f.Actions,
	}
}

// DeleteMatch converts the flow to the go-openvswitch form that deletes it:
// its table, match and exact cookie. OpenFlow's non-strict delete also takes
// flows whose match is a superset; see Diff for how those are restored.
func (f Flow) DeleteMatch() *ovs.MatchFlow {
	return &ovs.MatchFlow{
		Table:    int(f.Table.ID),
		Cookie:   uint64(f.Cookie),
		Protocol: f.Protocol,
		Matches:  f.Match,
	}
}

// Validate checks that the flow marshals and names a pipeline table.
func (f Flow) Validate() error {
	if _, err := f.OVS().MarshalText(); err != nil {
		return fmt.Errorf("flow %s: %w", f.Named(), err)
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

// Diff is what must change in OVS to go from installed to desired.
type Diff struct {
	// Delete are installed flows to remove (by table, match and cookie).
	Delete []Flow
	// Add are flows to add or overwrite (same key replaces in place).
	Add []Flow
}

// Empty says whether nothing needs to change.
func (d Diff) Empty() bool { return len(d.Delete) == 0 && len(d.Add) == 0 }

// ComputeDiff compares desired flows with installed ones (keys and actions as
// ParseDumpLine gives them). Installed flows not owned by ovsnet are left
// alone. Deletes are non-strict in OpenFlow, so any desired flow that a
// delete would also remove (same table and cookie, match a superset) is
// added again after it; one bundle applies it all atomically.
func ComputeDiff(desired []Flow, installed []InstalledFlow, parse func(InstalledFlow) (Flow, bool)) Diff {
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
	for _, in := range installed {
		if !in.Cookie.Owned() {
			continue
		}
		if f, ok := want[in.Key]; ok && f.Cookie == in.Cookie {
			continue // kept or overwritten in place by an add
		}
		stale, ok := parse(in)
		if !ok {
			continue
		}
		d.Delete = append(d.Delete, stale)
		for _, f := range desired {
			if !added[f.Key()] && f.Table == stale.Table && f.Cookie == stale.Cookie && covers(stale, f) {
				d.Add = append(d.Add, f)
				added[f.Key()] = true
			}
		}
	}
	return d
}

// covers says whether a non-strict delete of del would remove f: every match
// token of del is also in f.
func covers(del, f Flow) bool {
	have := map[string]bool{}
	for _, t := range f.matchTokens() {
		have[t] = true
	}
	for _, t := range del.matchTokens() {
		if !have[t] {
			return false
		}
	}
	return true
}

// FlowFromInstalled rebuilds a deletable Flow from a dumped flow: its match
// tokens become field matches. Only table, cookie and match matter for a
// delete, so the actions are not parsed.
func FlowFromInstalled(in InstalledFlow) (Flow, bool) {
	var table Table
	found := false
	for _, t := range Pipeline {
		if t.ID == in.Table {
			table, found = t, true
		}
	}
	if !found {
		table = Table{ID: in.Table, Name: strconv.Itoa(int(in.Table))}
	}
	f := Flow{Table: table, Cookie: in.Cookie}
	_, rest, _ := strings.Cut(in.Key, ",priority=")
	prio, tokens, _ := strings.Cut(rest, ",")
	p, _ := strconv.Atoi(prio)
	f.Priority = uint16(p)
	for _, tok := range strings.Split(tokens, ",") {
		if tok == "" {
			continue
		}
		name, val, hasVal := strings.Cut(tok, "=")
		if !hasVal {
			if f.Protocol == "" {
				f.Protocol = ovs.Protocol(name)
				continue
			}
			f.Match = append(f.Match, rawMatch(tok))
			continue
		}
		f.Match = append(f.Match, field(name, val))
	}
	return f, true
}

// rawMatch is a match written exactly as given (a bare protocol keyword).
type rawMatch string

func (m rawMatch) MarshalText() ([]byte, error) { return []byte(m), nil }
func (m rawMatch) GoString() string             { return fmt.Sprintf("flows.rawMatch(%q)", string(m)) }
