package ovsagent

import (
	"github.com/ovsnet/ovsnet/flows"
)

// ownerKind says what a group of flows belongs to.
type ownerKind uint8

const (
	ownerPipeline ownerKind = iota
	ownerNetwork
	ownerEndpoint
	ownerPeer
)

// owner identifies the object a group of flows belongs to: the pipeline,
// a network, an endpoint (with its network) or a tunnel peer (by address).
type owner struct {
	kind ownerKind
	id   string
	net  string
}

// flowState is what the agent knows the flow table holds, grouped by
// owner, so that a change recomputes only the owners it touched and sends
// only their difference. Two owners may want the same flow (same table,
// priority and match): it is installed once and removed when the last of
// them lets go.
type flowState struct {
	byOwner map[owner][]flows.Flow
	byKey   map[string]*keyedFlow
	// perNet counts each network's flows (network and endpoint owners);
	// perTable the distinct flows of each table.
	perNet   map[string]int
	perTable map[string]int
}

type keyedFlow struct {
	flow flows.Flow
	refs int
}

func newFlowState() *flowState {
	return &flowState{byOwner: map[owner][]flows.Flow{}, byKey: map[string]*keyedFlow{}, perNet: map[string]int{}, perTable: map[string]int{}}
}

// set makes o own exactly fs, adding to d what the table must change.
func (s *flowState) set(o owner, fs []flows.Flow, d *flows.Diff) {
	old := s.byOwner[o]
	want := make(map[string]flows.Flow, len(fs))
	for _, f := range fs {
		want[f.Key()] = f
	}
	had := make(map[string]bool, len(old))
	for _, f := range old {
		k := f.Key()
		had[k] = true
		if _, keep := want[k]; keep {
			continue
		}
		e := s.byKey[k]
		if e == nil {
			continue
		}
		e.refs--
		if e.refs <= 0 {
			delete(s.byKey, k)
			s.perTable[e.flow.Table.Name]--
			d.Delete = append(d.Delete, e.flow)
		}
	}
	for k, f := range want {
		e := s.byKey[k]
		switch {
		case e == nil:
			s.byKey[k] = &keyedFlow{flow: f, refs: 1}
			s.perTable[f.Table.Name]++
			d.Add = append(d.Add, f)
		case e.flow.Cookie != f.Cookie || e.flow.ActionsText() != f.ActionsText():
			e.flow = f
			d.Add = append(d.Add, f) // an add with the same key replaces
			if !had[k] {
				e.refs++
			}
		case !had[k]:
			e.refs++
		}
	}
	if o.net != "" {
		s.perNet[o.net] += len(fs) - len(old)
		if s.perNet[o.net] <= 0 {
			delete(s.perNet, o.net)
		}
	}
	if len(fs) == 0 {
		delete(s.byOwner, o)
	} else {
		s.byOwner[o] = fs
	}
}

// owners lists the owners holding flows.
func (s *flowState) owners() []owner {
	out := make([]owner, 0, len(s.byOwner))
	for o := range s.byOwner {
		out = append(out, o)
	}
	return out
}

// all lists every flow the state holds, once each.
func (s *flowState) all() []flows.Flow {
	out := make([]flows.Flow, 0, len(s.byKey))
	for _, e := range s.byKey {
		out = append(out, e.flow)
	}
	return out
}

// count is the number of distinct flows.
func (s *flowState) count() int { return len(s.byKey) }

// tables counts the distinct flows per table name.
func (s *flowState) tables() map[string]int {
	out := make(map[string]int, len(s.perTable))
	for k, v := range s.perTable {
		if v > 0 {
			out[k] = v
		}
	}
	return out
}
