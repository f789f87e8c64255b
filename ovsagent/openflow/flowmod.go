package openflow

import (
	"encoding/binary"
	"strconv"

	"github.com/ovsnet/ovsnet/flows"
)

// Command is a FLOW_MOD command (ofp_flow_mod_command).
type Command uint8

// The commands the agent uses.
const (
	// CommandAdd adds a flow, replacing one with the same table, priority
	// and match.
	CommandAdd Command = 0
	// CommandDelete removes every flow of the table (or TableAll) that the
	// match covers and whose cookie matches under CookieMask.
	CommandDelete Command = 3
	// CommandDeleteStrict removes the one flow with exactly this table,
	// priority and match, if its cookie matches under CookieMask.
	CommandDeleteStrict Command = 4
)

// String is the command as ovs-ofctl names it.
func (c Command) String() string {
	switch c {
	case CommandAdd:
		return "add"
	case CommandDelete:
		return "delete"
	case CommandDeleteStrict:
		return "delete_strict"
	}
	return "command " + strconv.Itoa(int(c))
}

// FlowMod is one FLOW_MOD: a command applied to a flow.
type FlowMod struct {
	// Command is what to do with Flow.
	Command Command
	// Flow gives the table, priority, cookie, protocol and match; its
	// actions are sent for CommandAdd only.
	Flow flows.Flow
	// CookieMask says which bits of Flow.Cookie a delete requires (0: any
	// cookie). Adds ignore it.
	CookieMask flows.Cookie
}

// AddFlow adds (or overwrites) f.
func AddFlow(f flows.Flow) FlowMod { return FlowMod{Command: CommandAdd, Flow: f} }

// DeleteFlowStrict removes exactly f: same table, priority, match and
// cookie.
func DeleteFlowStrict(f flows.Flow) FlowMod {
	return FlowMod{Command: CommandDeleteStrict, Flow: f, CookieMask: ^flows.Cookie(0)}
}

// DeleteFlows removes every flow of table t whose cookie matches cookie
// under mask, whatever its priority and match (a purge).
func DeleteFlows(t flows.Table, cookie, mask flows.Cookie) FlowMod {
	return FlowMod{Command: CommandDelete, Flow: flows.Flow{Table: t, Cookie: cookie}, CookieMask: mask}
}

// flowModLen is the fixed part of ofp_flow_mod, header included.
const flowModLen = 48

// AppendFlowMod appends a FLOW_MOD.
func AppendFlowMod(b []byte, xid uint32, fm FlowMod) ([]byte, error) {
	start := len(b)
	b = startMessage(b, TypeFlowMod, xid)
	var err error
	if b, err = appendFlowModBody(b, fm); err != nil {
		return b[:start], err
	}
	return finishMessage(b, start)
}

func appendFlowModBody(b []byte, fm FlowMod) ([]byte, error) {
	f := fm.Flow
	var mask flows.Cookie
	switch fm.Command {
	case CommandAdd:
	case CommandDelete, CommandDeleteStrict:
		mask = fm.CookieMask
	default:
		return b, unsupported("flow mod command %d", fm.Command)
	}
	b = binary.BigEndian.AppendUint64(b, uint64(f.Cookie))
	b = binary.BigEndian.AppendUint64(b, uint64(mask))
	b = append(b, f.Table.ID, byte(fm.Command), 0, 0, 0, 0) // idle and hard timeouts 0
	b = binary.BigEndian.AppendUint16(b, f.Priority)
	b = binary.BigEndian.AppendUint32(b, noBuffer)
	b = binary.BigEndian.AppendUint32(b, PortAny)
	b = binary.BigEndian.AppendUint32(b, GroupAny)
	b = append(b, 0, 0, 0, 0) // flags, importance
	b, err := appendMatch(b, f.Protocol, f.Match)
	if err != nil {
		return b, err
	}
	if fm.Command == CommandAdd {
		return appendInstructions(b, f.Protocol, f.Actions)
	}
	return b, nil
}

// DecodeFlowMod decodes a FLOW_MOD of one of the commands above.
func DecodeFlowMod(msg []byte) (FlowMod, error) {
	_, body, err := parseMessage(msg, TypeFlowMod)
	if err != nil {
		return FlowMod{}, err
	}
	if len(body) < flowModLen-HeaderLen {
		return FlowMod{}, malformed("FLOW_MOD body of %d bytes", len(body))
	}
	fm := FlowMod{Command: Command(body[17])}
	f := &fm.Flow
	f.Cookie = flows.Cookie(binary.BigEndian.Uint64(body))
	fm.CookieMask = flows.Cookie(binary.BigEndian.Uint64(body[8:]))
	f.Table = table(body[16])
	f.Priority = binary.BigEndian.Uint16(body[22:])
	switch fm.Command {
	case CommandAdd, CommandDelete, CommandDeleteStrict:
	default:
		return fm, unsupported("flow mod command %d", fm.Command)
	}
	if idle, hard := binary.BigEndian.Uint16(body[18:]), binary.BigEndian.Uint16(body[20:]); idle != 0 || hard != 0 {
		return fm, unsupported("flow timeouts idle=%d hard=%d", idle, hard)
	}
	proto, ms, size, err := decodeMatch(body[flowModLen-HeaderLen:])
	if err != nil {
		return fm, err
	}
	f.Protocol, f.Match = proto, ms
	if fm.Command == CommandAdd {
		if f.Actions, err = decodeInstructions(body[flowModLen-HeaderLen+size:], proto); err != nil {
			return fm, err
		}
	}
	return fm, nil
}
