package flows

import (
	"regexp"
	"strconv"
	"strings"

	"github.com/ovsnet/ovsnet/model"
)

// TableByID finds a pipeline table by its OpenFlow number.
func TableByID(id int) (Table, bool) {
	for _, t := range Pipeline {
		if int(t.ID) == id {
			return t, true
		}
	}
	return Table{}, false
}

// Lines of `ovs-appctl ofproto/trace` output that the parser reads:
//
//	bridge("br-int")
//	 0. in_port=10, priority 200, cookie 0xe03000000001001
//	    set_field:0x1001->reg0
//	    goto_table:10
//	     -> output to native tunnel
//	20. priority 0, cookie 0xe01000000000000
//	 0. No match.
//	Datapath actions: drop
//
// ofproto/trace prints table numbers even with --names, so names come
// from the pipeline registry.
var (
	traceBridgeRE = regexp.MustCompile(`^bridge\("([^"]+)"\)$`)
	traceStepRE   = regexp.MustCompile(`^(\d+)\. (.*)$`)
	tracePrioRE   = regexp.MustCompile(`^(?:(.*?), )?priority (\d+)(?:, cookie (0x[0-9a-f]+))?$`)
)

// ParseTrace reads ofproto/trace's output: the table steps in order (table
// names filled in for integrationBridge) and the final datapath actions.
func ParseTrace(output, integrationBridge string) ([]model.TraceStep, string) {
	var steps []model.TraceStep
	bridge := ""
	datapath := ""
	var cur *model.TraceStep
	flush := func() {
		if cur != nil {
			steps = append(steps, *cur)
			cur = nil
		}
	}
	for _, raw := range strings.Split(output, "\n") {
		line := strings.TrimSpace(raw)
		switch {
		case line == "" || strings.HasPrefix(line, "----"):
			continue
		case strings.HasPrefix(line, "Datapath actions:"):
			flush()
			datapath = strings.TrimSpace(strings.TrimPrefix(line, "Datapath actions:"))
			continue
		case strings.HasPrefix(line, "Final flow:"), strings.HasPrefix(line, "Megaflow:"), strings.HasPrefix(line, "Flow:"):
			flush()
			continue
		}
		if m := traceBridgeRE.FindStringSubmatch(line); m != nil {
			flush()
			bridge = m[1]
			continue
		}
		if m := traceStepRE.FindStringSubmatch(line); m != nil && bridge != "" {
			flush()
			table, _ := strconv.Atoi(m[1])
			cur = &model.TraceStep{Bridge: bridge, Table: table, Actions: []string{}}
			rest := m[2]
			if strings.HasPrefix(rest, "No match") {
				cur.NoMatch = true
			} else if p := tracePrioRE.FindStringSubmatch(rest); p != nil {
				cur.Match = p[1]
				cur.Priority, _ = strconv.Atoi(p[2])
				cur.Cookie = p[3]
			} else {
				cur.Match = rest
			}
			if bridge == integrationBridge {
				if t, ok := TableByID(table); ok {
					cur.TableName, cur.TableDoc = t.Name, t.Doc
				}
			}
			continue
		}
		// Actions and notes are indented under their step; anything less
		// indented (recirculation banners, NAT notes) ends the step.
		if indent := len(raw) - len(strings.TrimLeft(raw, " ")); indent < 4 {
			flush()
		}
		if cur == nil {
			continue
		}
		if note, ok := strings.CutPrefix(line, "->"); ok {
			cur.Notes = append(cur.Notes, strings.TrimSpace(note))
			continue
		}
		cur.Actions = append(cur.Actions, line)
	}
	flush()
	return steps, datapath
}
