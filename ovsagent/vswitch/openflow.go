package vswitch

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/ovsnet/ovsnet/flows"
	"github.com/ovsnet/ovsnet/ovsagent/openflow/ofconn"
)

// OpenFlow is the bridge's flow table over one persistent OpenFlow 1.4
// connection to its management socket (<rundir>/<bridge>.mgmt): changes go
// as bundles (atomic, ordered) of strict deletes and adds, the table is read
// back with flow-stats requests, OVS's errors come back naming the flow,
// and an echo keep-alive notices a dead switch. No process is started per
// change. When the connection is lost it is dialled again at the next use,
// and that use fails once: what the table holds after a reconnect (OVS may
// have restarted) is unknown until it is read back in full.
type OpenFlow struct {
	target string

	mu     sync.Mutex
	conn   *ofconn.Conn
	onLost func()
}

// NewOpenFlow returns the flow table behind target, "unix:/path/br-int.mgmt".
// Nothing is dialled until first use.
func NewOpenFlow(target string) *OpenFlow { return &OpenFlow{target: target} }

// Target is the management socket.
func (o *OpenFlow) Target() string { return o.target }

// OnLost registers f, called (from another goroutine) when an established
// connection dies, so the agent can resync at once rather than at its next
// change.
func (o *OpenFlow) OnLost(f func()) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.onLost = f
}

// errReconnected fails the first use of a new connection after one was lost.
var errReconnected = errors.New("the OpenFlow connection was re-established: the table must be read back")

// get returns the live connection, dialling when there is none. fresh
// says the connection is new after a lost one.
func (o *OpenFlow) get(ctx context.Context) (*ofconn.Conn, bool, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	lost := false
	if o.conn != nil {
		select {
		case <-o.conn.Done():
			o.conn, lost = nil, true
		default:
			return o.conn, false, nil
		}
	}
	c, err := ofconn.Dial(ctx, o.target, ofconn.Options{})
	if err != nil {
		return nil, false, fmt.Errorf("openflow %s: %w", o.target, err)
	}
	o.conn = c
	go o.watch(c)
	return c, lost, nil
}

func (o *OpenFlow) watch(c *ofconn.Conn) {
	<-c.Done()
	o.mu.Lock()
	f := o.onLost
	closed := o.conn == nil
	o.mu.Unlock()
	if f != nil && !closed && !errors.Is(c.Err(), ofconn.ErrClosed) {
		f()
	}
}

// Dump returns the ovsnet-owned flows installed on the bridge.
func (o *OpenFlow) Dump(ctx context.Context) ([]flows.InstalledFlow, error) {
	c, _, err := o.get(ctx)
	if err != nil {
		return nil, err
	}
	dumped, err := c.Dump(ctx, flows.OwnerCookie, flows.OwnerMask)
	if err != nil {
		return nil, fmt.Errorf("dump flows of %s: %w", o.target, err)
	}
	out := make([]flows.InstalledFlow, 0, len(dumped))
	for _, d := range dumped {
		out = append(out, d.Installed())
	}
	return out, nil
}

// Apply makes one atomic change: every packet sees the table either before
// or after it, never in between.
func (o *OpenFlow) Apply(ctx context.Context, d flows.Diff) error {
	if d.Empty() {
		return nil
	}
	c, fresh, err := o.get(ctx)
	if err != nil {
		return err
	}
	if fresh {
		return errReconnected
	}
	if err := c.Bundle(ctx, d); err != nil {
		return fmt.Errorf("flow bundle on %s (%d purges, %d deletes, %d adds): %w", o.target, len(d.Purge), len(d.Delete), len(d.Add), err)
	}
	return nil
}

// Close ends the connection.
func (o *OpenFlow) Close() {
	o.mu.Lock()
	c := o.conn
	o.conn = nil
	o.mu.Unlock()
	if c != nil {
		_ = c.Close()
	}
}
