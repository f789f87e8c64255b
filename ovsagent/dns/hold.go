package dns

import (
	"context"
	"sync"
	"time"

	"github.com/ovsnet/ovsnet/model"
)

// Names that are still on their way. Docker creates an endpoint (through
// the plugin) before it knows which container it is for; the plugin learns
// the container's name, aliases and links from the engine once the
// container has joined, and they reach every agent a few tens of
// milliseconds later — after the container's first instruction may have
// asked for them (`docker run --link mysql01:db busybox ping db`). So a
// query that would be answered NXDOMAIN, from a network where a Docker
// endpoint is still nameless, is held until a new state answers it or
// holdMax passes, then answered from what is known. A Docker endpoint is
// nameless until the plugin describes it, at most namelessWindow after this
// agent first saw it: one that stays nameless (its description failed)
// never delays answers for long.
const (
	holdMax        = 1500 * time.Millisecond
	namelessWindow = 10 * time.Second
	// maxHeld bounds the queries held at once; beyond, they are answered.
	maxHeld = 1024
)

// frameSink is where a held query's reply frame goes (the packet socket it
// came from).
type frameSink interface {
	Write(frame []byte) error
	isClosed() bool
}

// heldQuery is a query waiting for names.
type heldQuery struct {
	sock     frameSink
	frame    dnsFrame // payload copied
	deadline time.Time
}

// holdQueue keeps held queries and answers them when a new index arrives
// or their time is up.
type holdQueue struct {
	mu   sync.Mutex
	q    []heldQuery
	kick chan struct{}
	// seen is when this agent first saw each nameless Docker endpoint.
	seen map[string]time.Time
}

func newHoldQueue() *holdQueue {
	return &holdQueue{kick: make(chan struct{}, 1), seen: map[string]time.Time{}}
}

// namelessUntil returns, per network id, until when a query for an unknown
// name on it may wait for names; it updates h.seen from st. OnState calls
// it, one call at a time.
func (h *holdQueue) namelessUntil(st *model.HostState, now time.Time) map[string]time.Time {
	out := map[string]time.Time{}
	seen := make(map[string]time.Time, len(h.seen))
	for i := range st.Endpoints {
		ep := &st.Endpoints[i]
		if !ep.AwaitingDockerName() {
			continue
		}
		first, ok := h.seen[ep.ID]
		if !ok {
			first = now
		}
		seen[ep.ID] = first
		if until := first.Add(namelessWindow); until.After(now) && until.After(out[ep.NetworkID]) {
			out[ep.NetworkID] = until
		}
	}
	h.seen = seen
	return out
}

// add holds a query; false when the queue is full (answer it now).
func (h *holdQueue) add(sock frameSink, f *dnsFrame, now time.Time) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.q) >= maxHeld {
		return false
	}
	fr := *f
	fr.payload = append([]byte(nil), f.payload...)
	h.q = append(h.q, heldQuery{sock: sock, frame: fr, deadline: now.Add(holdMax)})
	return true
}

// wake asks for held queries to be looked at again (a new index).
func (h *holdQueue) wake() {
	select {
	case h.kick <- struct{}{}:
	default:
	}
}

// serveHeld answers held queries as names arrive or time runs out, until
// ctx ends.
func (d *Resolver) serveHeld(ctx context.Context) {
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	out := make([]byte, 2048)
	for {
		select {
		case <-ctx.Done():
			return
		case <-d.held.kick:
		case <-tick.C:
		}
		d.released.Add(uint64(d.releaseHeld(time.Now(), out)))
	}
}

// releaseHeld answers the held queries that the current index answers, or
// whose time is up, and returns how many it answered.
func (d *Resolver) releaseHeld(now time.Time, out []byte) int {
	h := d.held
	h.mu.Lock()
	q := h.q
	h.q = nil
	h.mu.Unlock()
	if len(q) == 0 {
		return 0
	}
	ix := d.index.Load()
	var keep []heldQuery
	answered := 0
	for _, hq := range q {
		f := &hq.frame
		v := ix.views[dnsViewKey{f.vni, f.src}]
		hdr := f.headerLen()
		reply, act, maxSize := ix.answer(v, f.payload, out[hdr:hdr])
		if act == dnsReply && isNXDomain(reply) && v.awaitingNames(now) && now.Before(hq.deadline) && !hq.sock.isClosed() {
			keep = append(keep, hq)
			continue
		}
		answered++
		switch act {
		case dnsReply:
			buf := make([]byte, hdr+len(reply))
			copy(buf[hdr:], reply)
			_ = hq.sock.Write(writeReplyFrame(buf, f, len(reply)))
		case dnsForward:
			d.forwarded.Add(1)
			fr := *f
			d.fwd.forward(f.payload, maxSize, func(resp []byte) {
				buf := make([]byte, fr.headerLen()+len(resp))
				copy(buf[fr.headerLen():], resp)
				_ = hq.sock.Write(writeReplyFrame(buf, &fr, len(resp)))
			})
		}
	}
	if len(keep) > 0 {
		h.mu.Lock()
		h.q = append(keep, h.q...)
		h.mu.Unlock()
	}
	return answered
}

// isNXDomain says whether a reply's rcode is NXDOMAIN.
func isNXDomain(reply []byte) bool { return len(reply) >= 4 && reply[3]&0xf == 3 }

// awaitingNames says whether a query from this view may still be
// answered by names on their way.
func (v *dnsView) awaitingNames(now time.Time) bool {
	if v == nil {
		return false
	}
	for _, n := range v.nets {
		if n.namelessUntil.After(now) {
			return true
		}
	}
	return false
}
