package ofconn

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/ovsnet/ovsnet/flows"
	"github.com/ovsnet/ovsnet/ovsagent/openflow"
)

// bundleFlags are the flags of every bundle: all or nothing, in order.
const bundleFlags = openflow.BundleAtomic | openflow.BundleOrdered

// maxRefusals is how many refused messages a RefusedError keeps.
const maxRefusals = 16

// discardTimeout bounds the discard sent after a bundle whose context
// ended.
const discardTimeout = 5 * time.Second

// Refusal is one bundle message the switch refused.
type Refusal struct {
	// Command is what the message asked: add, delete_strict, or delete (a
	// purge of Flow.Table and Flow.Cookie).
	Command openflow.Command
	// Flow is the refused flow (table and cookie only for a purge).
	Flow flows.Flow
	// Err is the switch's reason.
	Err *openflow.Error
}

// String names the refused change and the switch's error, e.g. "add of
// cookie=0x..., table=20, priority=200,... actions=goto_table:10:
// OFPET_BAD_INSTRUCTION/OFPBIC_BAD_TABLE_ID (...)".
func (r Refusal) String() string { return describe(r.Command, r.Flow) + ": " + r.Err.Error() }

// describe names one change of a bundle: the command and the flow's text,
// or the table and cookie of a purge.
func describe(cmd openflow.Command, f flows.Flow) string {
	if cmd == openflow.CommandDelete {
		return "delete of table " + strconv.Itoa(int(f.Table.ID)) + " cookie " + f.Cookie.String()
	}
	return cmd.String() + " of " + f.String()
}

// RefusedError is returned by Bundle when the switch refused messages of
// the bundle: nothing of it was applied.
type RefusedError struct {
	// Refusals are the first refused messages, in order.
	Refusals []Refusal
	// Total counts every refused message.
	Total int
	// Messages is the size of the bundle.
	Messages int
	// AtCommit says the switch refused them when committing (rather than
	// when they were added).
	AtCommit bool
}

// Error names the first refused flow and the switch's error.
func (e *RefusedError) Error() string {
	var s strings.Builder
	s.WriteString("ofconn: switch refused ")
	s.WriteString(strconv.Itoa(e.Total))
	s.WriteString(" of ")
	s.WriteString(strconv.Itoa(e.Messages))
	s.WriteString(" flow changes")
	if e.AtCommit {
		s.WriteString(" at commit")
	}
	s.WriteString(", bundle not applied")
	if len(e.Refusals) > 0 {
		s.WriteString("; first: ")
		s.WriteString(e.Refusals[0].String())
	}
	return s.String()
}

// Unwrap is the switch's error for the first refused message.
func (e *RefusedError) Unwrap() error {
	if len(e.Refusals) == 0 {
		return nil
	}
	return e.Refusals[0].Err
}

// bundleCall collects the errors the switch sends for a bundle's adds;
// the reader fills it under Conn.mu.
type bundleCall struct {
	first, n uint32 // xids of the adds
	refused  []refusedXid
	total    int
}

type refusedXid struct {
	index int
	err   *openflow.Error
}

func (b *bundleCall) owns(xid uint32) bool { return xid-b.first < b.n }

func (b *bundleCall) refuse(e *openflow.Error) {
	b.total++
	if len(b.refused) < maxRefusals {
		b.refused = append(b.refused, refusedXid{index: int(e.Xid - b.first), err: e})
	}
}

// op is the index-th flow mod of d's bundle: purges, strict deletes, adds.
func op(d *flows.Diff, index int) openflow.FlowMod {
	if index < len(d.Purge) {
		p := d.Purge[index]
		return openflow.DeleteFlows(p.Table, p.Cookie, ^flows.Cookie(0))
	}
	index -= len(d.Purge)
	if index < len(d.Delete) {
		return openflow.DeleteFlowStrict(d.Delete[index])
	}
	return openflow.AddFlow(d.Add[index-len(d.Delete)])
}

// Bundle applies d in one atomic, ordered bundle: purges (every flow of a
// table with an exact cookie), strict deletes, then adds. It returns once
// the switch committed it, or with an error after which nothing of d was
// applied: a *RefusedError naming the flows the switch refused, an
// encoding error naming the flow, or the connection's or ctx's error. If
// ctx ends or the connection dies after the commit was sent, whether it
// was applied is unknown: dump the table to find out.
func (c *Conn) Bundle(ctx context.Context, d flows.Diff) error {
	if d.Empty() {
		return nil
	}
	n := len(d.Purge) + len(d.Delete) + len(d.Add)
	if uint64(n) >= 1<<31 {
		return fmt.Errorf("ofconn: bundle of %d messages is too large", n)
	}
	id := c.bundleID.Add(1)
	openXid := c.reserveXids(uint32(n) + 2)
	bc := &bundleCall{first: openXid + 1, n: uint32(n)}
	barrierXid := openXid + 1 + uint32(n)

	openCall := &call{handle: bundleReply(id, openflow.BundleOpenReply), done: make(chan struct{})}
	barrier := &call{handle: replyOfType(openflow.TypeBarrierReply), done: make(chan struct{})}
	c.mu.Lock()
	c.bundles[bc] = struct{}{}
	c.calls[openXid] = openCall
	c.calls[barrierXid] = barrier
	c.mu.Unlock()
	defer func() {
		c.mu.Lock()
		delete(c.bundles, bc)
		delete(c.calls, openXid)
		delete(c.calls, barrierXid)
		c.mu.Unlock()
	}()
	c.inflight.Add(1)
	defer c.inflight.Add(-1)

	var encodeErr error
	err := c.write(ctx, func(w *bufio.Writer) error {
		if _, err := w.Write(openflow.AppendBundleControl(w.AvailableBuffer(), openXid,
			openflow.BundleControl{ID: id, Type: openflow.BundleOpenRequest, Flags: bundleFlags})); err != nil {
			return err
		}
		for i := range n {
			fm := op(&d, i)
			msg, err := openflow.AppendBundleFlowMod(w.AvailableBuffer(), bc.first+uint32(i), id, bundleFlags, fm)
			if err != nil {
				encodeErr = fmt.Errorf("ofconn: cannot encode %s: %w", describe(fm.Command, fm.Flow), err)
				_, err := w.Write(openflow.AppendBundleControl(w.AvailableBuffer(), c.nextXid(),
					openflow.BundleControl{ID: id, Type: openflow.BundleDiscardRequest, Flags: bundleFlags}))
				return err
			}
			if _, err := w.Write(msg); err != nil {
				return err
			}
		}
		_, err := w.Write(openflow.AppendBarrierRequest(w.AvailableBuffer(), barrierXid))
		return err
	})
	if err != nil {
		return fmt.Errorf("bundle of %d flow changes: %w", n, err)
	}
	if encodeErr != nil {
		return encodeErr
	}
	if err := c.wait(ctx, barrierXid, barrier, "bundle"); err != nil {
		c.discard(ctx, id)
		return err
	}
	// The switch answers in order: the open's reply and every add's error
	// came before the barrier's reply.
	c.mu.Lock()
	refused := bc.refusedError(&d, n, false)
	openErr := errors.New("no reply before the barrier's")
	select {
	case <-openCall.done:
		openErr = openCall.err
	default:
		delete(c.calls, openXid)
	}
	c.mu.Unlock()
	if openErr != nil {
		c.discard(ctx, id)
		return fmt.Errorf("ofconn: bundle open: %w", openErr)
	}
	if refused != nil {
		c.discard(ctx, id)
		return refused
	}

	err = c.request(ctx, "bundle commit", func(b []byte, xid uint32) []byte {
		return openflow.AppendBundleControl(b, xid, openflow.BundleControl{ID: id, Type: openflow.BundleCommitRequest, Flags: bundleFlags})
	}, bundleReply(id, openflow.BundleCommitReply))
	if err == nil {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if refused := bc.refusedError(&d, n, true); refused != nil {
		return refused
	}
	return err
}

// refusedError reports the refusals collected so far, or nil; call with
// Conn.mu held.
func (b *bundleCall) refusedError(d *flows.Diff, n int, atCommit bool) *RefusedError {
	if b.total == 0 {
		return nil
	}
	e := &RefusedError{Total: b.total, Messages: n, AtCommit: atCommit}
	for _, r := range b.refused {
		fm := op(d, r.index)
		e.Refusals = append(e.Refusals, Refusal{Command: fm.Command, Flow: fm.Flow, Err: r.err})
	}
	return e
}

// bundleReply completes a call on the BUNDLE_CONTROL reply of type t for
// bundle id.
func bundleReply(id uint32, t openflow.BundleCtrlType) func(openflow.Header, []byte) bool {
	return func(h openflow.Header, msg []byte) bool {
		if h.Type != openflow.TypeBundleControl {
			return false
		}
		bc, err := openflow.DecodeBundleControl(msg)
		return err == nil && bc.ID == id && bc.Type == t
	}
}

// discard asks the switch to drop bundle id and waits for the answer
// within ctx. When ctx has already ended it does so in the background: the
// stream is still whole, and the caller must not wait. The switch also
// drops open bundles when the connection closes.
func (c *Conn) discard(ctx context.Context, id uint32) {
	if ctx.Err() != nil {
		go func() {
			ctx, cancel := context.WithTimeout(context.Background(), discardTimeout)
			defer cancel()
			c.discard(ctx, id)
		}()
		return
	}
	c.request(ctx, "bundle discard", func(b []byte, xid uint32) []byte {
		return openflow.AppendBundleControl(b, xid, openflow.BundleControl{ID: id, Type: openflow.BundleDiscardRequest, Flags: bundleFlags})
	}, bundleReply(id, openflow.BundleDiscardReply))
}

// Dump returns the flows of every table whose cookie matches cookie under
// mask (mask 0: all flows). Flows the codec cannot read come back with
// their Err set (see openflow.DumpedFlow).
func (c *Conn) Dump(ctx context.Context, cookie, mask flows.Cookie) ([]openflow.DumpedFlow, error) {
	var out []openflow.DumpedFlow
	var decodeErr error
	err := c.request(ctx, "dump flows", func(b []byte, xid uint32) []byte {
		return openflow.AppendFlowStatsRequest(b, xid, cookie, mask)
	}, func(h openflow.Header, msg []byte) bool {
		if h.Type != openflow.TypeMultipartReply {
			return false
		}
		var more bool
		out, more, decodeErr = openflow.DecodeFlowStatsReply(out, msg)
		return decodeErr != nil || !more
	})
	if err != nil {
		return nil, err
	}
	if decodeErr != nil {
		return nil, fmt.Errorf("ofconn: dump flows: %w", decodeErr)
	}
	return out, nil
}
