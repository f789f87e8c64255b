// Package ofconn is a persistent OpenFlow 1.4 connection to one Open
// vSwitch bridge (its <rundir>/<bridge>.mgmt socket), speaking the
// messages of package openflow.
//
// One reader goroutine owns the socket's read side: it answers the
// switch's echo requests and hands every reply to the call waiting for its
// xid. A keep-alive goroutine sends an echo request every EchoInterval and
// declares the connection dead after EchoMisses intervals without hearing
// from the switch. Once dead (or closed), Done is closed and Err says why;
// the caller redials and resynchronises the whole table, since it cannot
// know what the switch applied.
package ofconn

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ovsnet/ovsnet/ovsagent/openflow"
)

// Defaults of Options.
const (
	DefaultEchoInterval = 5 * time.Second
	DefaultEchoMisses   = 3
	// handshakeTimeout bounds Dial when ctx has no deadline.
	handshakeTimeout = 10 * time.Second
	// controlWriteTimeout bounds small writes (echo, barrier, requests)
	// when the caller's context has no deadline.
	controlWriteTimeout = 10 * time.Second
)

// ErrClosed is Err after Close.
var ErrClosed = errors.New("ofconn: connection closed")

// ErrDead is wrapped by Err when the switch stopped answering echo
// requests.
var ErrDead = errors.New("switch does not answer")

// Options tune a connection; the zero value uses the defaults.
type Options struct {
	// EchoInterval is the time between keep-alive echo requests.
	EchoInterval time.Duration
	// EchoMisses is how many intervals may pass without any message from
	// the switch before the connection is declared dead. Bundles in flight
	// pause the count: the switch says nothing while it applies one, and
	// the bundle's own context bounds it.
	EchoMisses int
}

// Conn is a negotiated OpenFlow 1.4 connection. Its methods are safe for
// concurrent use.
type Conn struct {
	nc     net.Conn
	target string
	opts   Options

	// wmu serialises writes; bw buffers them.
	wmu sync.Mutex
	bw  *bufio.Writer

	xid      atomic.Uint32
	bundleID atomic.Uint32

	mu      sync.Mutex
	calls   map[uint32]*call
	bundles map[*bundleCall]struct{}

	lastRecv atomic.Int64 // unix nanoseconds of the last message read
	inflight atomic.Int32 // bundles whose messages the switch is working through

	echoReqs chan echoReq
	done     chan struct{}
	dieOnce  sync.Once
	err      error // set before done is closed
	wg       sync.WaitGroup
}

type echoReq struct {
	xid  uint32
	data []byte
}

// call waits for the reply (or replies) to one request.
type call struct {
	// handle runs on the reader goroutine for each reply with the call's
	// xid; msg is only valid during the call. It returns true when the
	// call is complete.
	handle func(h openflow.Header, msg []byte) bool
	done   chan struct{}
	err    error
}

// Dial connects to target ("unix:<path>" or "tcp:<host>:<port>"),
// negotiates OpenFlow 1.4 and starts the reader and keep-alive. ctx bounds
// the handshake.
func Dial(ctx context.Context, target string, opts Options) (*Conn, error) {
	network, addr, ok := strings.Cut(target, ":")
	if !ok || (network != "unix" && network != "tcp") || addr == "" {
		return nil, fmt.Errorf("ofconn: target %q: want unix:<path> or tcp:<host>:<port>", target)
	}
	if opts.EchoInterval <= 0 {
		opts.EchoInterval = DefaultEchoInterval
	}
	if opts.EchoMisses <= 0 {
		opts.EchoMisses = DefaultEchoMisses
	}
	var d net.Dialer
	nc, err := d.DialContext(ctx, network, addr)
	if err != nil {
		return nil, fmt.Errorf("ofconn: dial %s: %w", target, err)
	}
	c := &Conn{
		nc: nc, target: target, opts: opts,
		bw:       bufio.NewWriterSize(nc, 256<<10),
		calls:    map[uint32]*call{},
		bundles:  map[*bundleCall]struct{}{},
		echoReqs: make(chan echoReq, 16),
		done:     make(chan struct{}),
	}
	br := bufio.NewReaderSize(nc, 256<<10)
	if err := c.handshake(ctx, br); err != nil {
		nc.Close()
		return nil, fmt.Errorf("ofconn: %s: %w", target, err)
	}
	c.lastRecv.Store(time.Now().UnixNano())
	c.wg.Add(2)
	go c.readLoop(br)
	go c.keepAlive()
	return c, nil
}

// handshake exchanges HELLOs and checks that both sides speak 1.4.
func (c *Conn) handshake(ctx context.Context, br *bufio.Reader) error {
	deadline, ok := ctx.Deadline()
	if !ok {
		deadline = time.Now().Add(handshakeTimeout)
	}
	c.nc.SetDeadline(deadline)
	defer c.nc.SetDeadline(time.Time{})
	stop := context.AfterFunc(ctx, func() { c.nc.SetDeadline(time.Now()) })
	defer stop()

	if _, err := c.nc.Write(openflow.AppendHello(nil, c.nextXid())); err != nil {
		return ctxErr(ctx, fmt.Errorf("send HELLO: %w", err))
	}
	var buf []byte
	for {
		msg, err := readMessage(br, &buf)
		if err != nil {
			return ctxErr(ctx, fmt.Errorf("waiting for HELLO: %w", err))
		}
		h, _ := openflow.ParseHeader(msg)
		switch h.Type {
		case openflow.TypeHello:
			versions, err := openflow.DecodeHello(msg)
			if err != nil {
				return err
			}
			if versions&(1<<openflow.Version) == 0 {
				return fmt.Errorf("switch does not offer OpenFlow 1.4 (version bitmap 0x%x); set the bridge's protocols to include OpenFlow14", versions)
			}
			return nil
		case openflow.TypeError:
			e, err := openflow.DecodeError(msg)
			if err != nil {
				return err
			}
			return fmt.Errorf("switch refused HELLO: %w", e)
		}
		// Anything else before HELLO is ignored.
	}
}

// ctxErr prefers the context's error when it caused err.
func ctxErr(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return fmt.Errorf("%w (%w)", ctx.Err(), err)
	}
	return err
}

// readMessage reads one whole message into *buf (grown as needed) and
// returns it; the slice is valid until the next call.
func readMessage(r *bufio.Reader, buf *[]byte) ([]byte, error) {
	if cap(*buf) < openflow.HeaderLen {
		*buf = make([]byte, 0, 64<<10)
	}
	b := (*buf)[:openflow.HeaderLen]
	if _, err := io.ReadFull(r, b); err != nil {
		return nil, err
	}
	h, err := openflow.ParseHeader(b)
	if err != nil {
		return nil, err
	}
	if int(h.Length) > cap(b) {
		nb := make([]byte, h.Length, openflow.MaxMessageLen)
		copy(nb, b)
		*buf, b = nb[:0], nb
	}
	b = b[:h.Length]
	if _, err := io.ReadFull(r, b[openflow.HeaderLen:]); err != nil {
		return nil, err
	}
	return b, nil
}

// Target is what the connection was dialled to.
func (c *Conn) Target() string { return c.target }

// Done is closed when the connection is dead or closed.
func (c *Conn) Done() <-chan struct{} { return c.done }

// Err is why the connection ended (ErrClosed after Close), or nil while it
// is up.
func (c *Conn) Err() error {
	select {
	case <-c.done:
		return c.err
	default:
		return nil
	}
}

// Close ends the connection and waits for its goroutines. An open bundle
// that was not committed is discarded by the switch.
func (c *Conn) Close() error {
	c.die(ErrClosed)
	c.wg.Wait()
	return nil
}

// die records why the connection ended (the first reason wins), closes
// the socket and wakes everyone waiting.
func (c *Conn) die(err error) {
	c.dieOnce.Do(func() {
		c.err = err
		close(c.done)
		c.nc.Close()
	})
}

// nextXid returns a fresh xid, never 0 (the switch's unsolicited xid).
func (c *Conn) nextXid() uint32 { return c.reserveXids(1) }

// reserveXids returns the first of n consecutive fresh xids, none of them 0.
func (c *Conn) reserveXids(n uint32) uint32 {
	for {
		end := c.xid.Add(n)
		start := end - n + 1
		if start != 0 && start <= end {
			return start
		}
	}
}

func (c *Conn) readLoop(br *bufio.Reader) {
	defer c.wg.Done()
	var buf []byte
	for {
		msg, err := readMessage(br, &buf)
		if err != nil {
			select {
			case <-c.done:
			default:
				if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
					err = fmt.Errorf("ofconn: %s: switch closed the connection: %w", c.target, err)
				} else {
					err = fmt.Errorf("ofconn: %s: read: %w", c.target, err)
				}
				c.die(err)
			}
			return
		}
		c.lastRecv.Store(time.Now().UnixNano())
		c.dispatch(msg)
	}
}

// dispatch handles one message on the reader goroutine. It never blocks.
func (c *Conn) dispatch(msg []byte) {
	h, _ := openflow.ParseHeader(msg) // readMessage checked it
	switch h.Type {
	case openflow.TypeEchoRequest:
		select {
		case c.echoReqs <- echoReq{xid: h.Xid, data: append([]byte(nil), msg[openflow.HeaderLen:]...)}:
		default: // the writer is busy; the switch will ask again
		}
		return
	case openflow.TypeError:
		e, err := openflow.DecodeError(msg)
		if err != nil {
			return
		}
		c.mu.Lock()
		defer c.mu.Unlock()
		if cl, ok := c.calls[h.Xid]; ok {
			delete(c.calls, h.Xid)
			cl.err = e
			close(cl.done)
			return
		}
		for b := range c.bundles {
			if b.owns(h.Xid) {
				b.refuse(e)
				return
			}
		}
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if cl, ok := c.calls[h.Xid]; ok && cl.handle(h, msg) {
		delete(c.calls, h.Xid)
		close(cl.done)
	}
}

// register makes cl receive the replies to xid.
func (c *Conn) register(xid uint32, cl *call) {
	c.mu.Lock()
	c.calls[xid] = cl
	c.mu.Unlock()
}

func (c *Conn) unregister(xid uint32) {
	c.mu.Lock()
	delete(c.calls, xid)
	c.mu.Unlock()
}

// wait blocks until cl completes, ctx ends or the connection dies.
func (c *Conn) wait(ctx context.Context, xid uint32, cl *call, what string) error {
	select {
	case <-cl.done:
		if cl.err != nil {
			return fmt.Errorf("ofconn: %s: %w", what, cl.err)
		}
		return nil
	case <-ctx.Done():
		c.unregister(xid)
		return fmt.Errorf("ofconn: %s: %w", what, ctx.Err())
	case <-c.done:
		c.unregister(xid)
		return fmt.Errorf("%s: %w", what, c.err)
	}
}

// write sends the messages fill writes, under the write lock, within
// ctx's deadline (or controlWriteTimeout). fill must write whole messages
// only. A failed write leaves the stream in an unknown state, so it kills
// the connection; the error returned is then the connection's (Err).
func (c *Conn) write(ctx context.Context, fill func(w *bufio.Writer) error) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	select {
	case <-c.done:
		return c.err
	default:
	}
	deadline, ok := ctx.Deadline()
	if !ok {
		deadline = time.Now().Add(controlWriteTimeout)
	}
	c.nc.SetWriteDeadline(deadline)
	stop := context.AfterFunc(ctx, func() { c.nc.SetWriteDeadline(time.Now()) })
	err := fill(c.bw)
	if err == nil {
		err = c.bw.Flush()
	}
	stop()
	if err != nil {
		c.die(fmt.Errorf("ofconn: %s: write: %w", c.target, ctxErr(ctx, err)))
		c.bw.Reset(c.nc)
		return c.err
	}
	return nil
}

// request sends one message and waits for its reply; handle sees each
// reply (see call).
func (c *Conn) request(ctx context.Context, what string, build func(b []byte, xid uint32) []byte, handle func(openflow.Header, []byte) bool) error {
	xid := c.nextXid()
	cl := &call{handle: handle, done: make(chan struct{})}
	c.register(xid, cl)
	err := c.write(ctx, func(w *bufio.Writer) error {
		_, err := w.Write(build(w.AvailableBuffer(), xid))
		return err
	})
	if err != nil {
		c.unregister(xid)
		return fmt.Errorf("%s: %w", what, err)
	}
	return c.wait(ctx, xid, cl, what)
}

// Barrier returns once the switch has processed every earlier message.
func (c *Conn) Barrier(ctx context.Context) error {
	return c.request(ctx, "barrier", openflow.AppendBarrierRequest, replyOfType(openflow.TypeBarrierReply))
}

// Echo measures one round trip to the switch.
func (c *Conn) Echo(ctx context.Context) (time.Duration, error) {
	start := time.Now()
	err := c.request(ctx, "echo", func(b []byte, xid uint32) []byte {
		return openflow.AppendEchoRequest(b, xid, nil)
	}, replyOfType(openflow.TypeEchoReply))
	return time.Since(start), err
}

// replyOfType completes a call on the first message of type t.
func replyOfType(t openflow.Type) func(openflow.Header, []byte) bool {
	return func(h openflow.Header, _ []byte) bool { return h.Type == t }
}

// keepAlive answers the switch's echo requests, probes a quiet switch
// with echo requests and declares it dead after EchoMisses intervals of
// silence (not counting time a bundle was in flight).
func (c *Conn) keepAlive() {
	defer c.wg.Done()
	tick := time.NewTicker(c.opts.EchoInterval)
	defer tick.Stop()
	limit := time.Duration(c.opts.EchoMisses) * c.opts.EchoInterval
	var busyAt time.Time
	for {
		select {
		case <-c.done:
			return
		case req := <-c.echoReqs:
			c.write(context.Background(), func(w *bufio.Writer) error {
				_, err := w.Write(openflow.AppendEchoReply(w.AvailableBuffer(), req.xid, req.data))
				return err
			})
		case now := <-tick.C:
			if c.inflight.Load() > 0 {
				busyAt = now
			}
			last := time.Unix(0, c.lastRecv.Load())
			quiet := last
			if busyAt.After(quiet) {
				quiet = busyAt
			}
			if now.Sub(quiet) > limit {
				c.die(fmt.Errorf("ofconn: %s: %w: nothing heard for %v", c.target, ErrDead, now.Sub(last).Round(time.Millisecond)))
				return
			}
			if now.Sub(last) >= c.opts.EchoInterval/2 {
				xid := c.nextXid()
				c.write(context.Background(), func(w *bufio.Writer) error {
					_, err := w.Write(openflow.AppendEchoRequest(w.AvailableBuffer(), xid, nil))
					return err
				})
			}
		}
	}
}
