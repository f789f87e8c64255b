package ofconn

import (
	"bufio"
	"maps"
	"net"
	"path/filepath"
	"slices"
	"sync"
	"testing"

	"github.com/ovsnet/ovsnet/flows"
	"github.com/ovsnet/ovsnet/ovsagent/openflow"
)

// fakeSwitch speaks just enough OpenFlow 1.4 to test Conn: HELLO, echo,
// barrier, bundles of flow mods applied at commit, and flow-stats dumps.
type fakeSwitch struct {
	t      *testing.T
	ln     net.Listener
	target string

	mu    sync.Mutex
	table map[string]flows.Flow // by Key
	// versions is the HELLO bitmap offered.
	versions uint32
	// rejectAdd and rejectCommit may refuse a flow mod when it is added to
	// a bundle, or when the bundle is committed.
	rejectAdd, rejectCommit func(openflow.FlowMod) *openflow.Error
	// silent stops all answers (echo included); ignoreBarrier only
	// barriers.
	silent, ignoreBarrier bool
	// dumpChunk is how many flows go in each flow-stats reply.
	dumpChunk int
	// seen counts messages by type.
	seen     map[openflow.Type]int
	discards int
	echoed   chan uint32 // xids of our echo requests the client answered
	conns    []net.Conn
}

type fakeBundle struct {
	flags openflow.BundleFlags
	mods  []fakeMod
}

type fakeMod struct {
	xid uint32
	raw []byte
	fm  openflow.FlowMod
}

func newFakeSwitch(t *testing.T) *fakeSwitch {
	path := filepath.Join(t.TempDir(), "br-int.mgmt")
	ln, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	s := &fakeSwitch{t: t, ln: ln, target: "unix:" + path, table: map[string]flows.Flow{}, versions: 0x30,
		dumpChunk: 7, seen: map[openflow.Type]int{}, echoed: make(chan uint32, 16)}
	t.Cleanup(func() {
		ln.Close()
		s.mu.Lock()
		for _, c := range s.conns {
			c.Close()
		}
		s.mu.Unlock()
	})
	go s.accept()
	return s
}

func (s *fakeSwitch) accept() {
	for {
		nc, err := s.ln.Accept()
		if err != nil {
			return
		}
		s.mu.Lock()
		s.conns = append(s.conns, nc)
		s.mu.Unlock()
		go s.serve(nc)
	}
}

// closeConns drops every connection, as a switch restart would.
func (s *fakeSwitch) closeConns() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range s.conns {
		c.Close()
	}
}

func (s *fakeSwitch) flows() []flows.Flow {
	s.mu.Lock()
	defer s.mu.Unlock()
	keys := slices.Sorted(maps.Keys(s.table))
	out := make([]flows.Flow, 0, len(keys))
	for _, k := range keys {
		out = append(out, s.table[k])
	}
	return out
}

// set changes the switch's behaviour under its lock.
func (s *fakeSwitch) set(f func(s *fakeSwitch)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f(s)
}

func (s *fakeSwitch) discarded() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.discards
}

func (s *fakeSwitch) count(t openflow.Type) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.seen[t]
}

func (s *fakeSwitch) serve(nc net.Conn) {
	br := bufio.NewReader(nc)
	w := bufio.NewWriter(nc)
	send := func(b []byte) {
		w.Write(b)
		w.Flush()
	}
	s.mu.Lock()
	versions := s.versions
	s.mu.Unlock()
	hello, _ := openflow.AppendMessage(nil, openflow.TypeHello, 1, []byte{0, 1, 0, 8, 0, 0, 0, byte(versions)})
	send(hello)
	bundles := map[uint32]*fakeBundle{}
	var buf []byte
	for {
		msg, err := readMessage(br, &buf)
		if err != nil {
			return
		}
		h, _ := openflow.ParseHeader(msg)
		s.mu.Lock()
		s.seen[h.Type]++
		silent, ignoreBarrier, rejectAdd := s.silent, s.ignoreBarrier, s.rejectAdd
		s.mu.Unlock()
		if silent {
			continue
		}
		refuse := func(e *openflow.Error, xid uint32, data []byte) {
			e.Data = data[:min(64, len(data))]
			b, _ := openflow.AppendError(nil, xid, e)
			send(b)
		}
		switch h.Type {
		case openflow.TypeHello:
		case openflow.TypeEchoRequest:
			send(openflow.AppendEchoReply(nil, h.Xid, msg[8:]))
		case openflow.TypeEchoReply:
			s.echoed <- h.Xid
		case openflow.TypeBarrierRequest:
			if !ignoreBarrier {
				b, _ := openflow.AppendMessage(nil, openflow.TypeBarrierReply, h.Xid, nil)
				send(b)
			}
		case openflow.TypeBundleAddMessage:
			id, flags, inner, err := openflow.DecodeBundleAdd(msg)
			if err != nil {
				s.t.Errorf("fake switch: %v", err)
				return
			}
			fm, err := openflow.DecodeFlowMod(inner)
			if err != nil {
				s.t.Errorf("fake switch: bundled flow mod: %v", err)
				return
			}
			b := bundles[id]
			if b == nil || b.flags != flags {
				refuse(&openflow.Error{Type: openflow.ErrTypeBundleFailed, Code: 2}, h.Xid, msg)
				continue
			}
			if rejectAdd != nil {
				if e := rejectAdd(fm); e != nil {
					refuse(e, h.Xid, msg)
					continue
				}
			}
			b.mods = append(b.mods, fakeMod{xid: h.Xid, raw: slices.Clone(msg), fm: fm})
		case openflow.TypeBundleControl:
			bc, err := openflow.DecodeBundleControl(msg)
			if err != nil {
				s.t.Errorf("fake switch: %v", err)
				return
			}
			reply := func() {
				send(openflow.AppendBundleControl(nil, h.Xid, openflow.BundleControl{ID: bc.ID, Type: bc.Type + 1}))
			}
			switch bc.Type {
			case openflow.BundleOpenRequest:
				bundles[bc.ID] = &fakeBundle{flags: bc.Flags}
				reply()
			case openflow.BundleDiscardRequest:
				delete(bundles, bc.ID)
				s.mu.Lock()
				s.discards++
				s.mu.Unlock()
				reply()
			case openflow.BundleCommitRequest:
				b := bundles[bc.ID]
				delete(bundles, bc.ID)
				if b == nil || b.flags != bc.Flags {
					refuse(&openflow.Error{Type: openflow.ErrTypeBundleFailed, Code: 2}, h.Xid, msg)
					continue
				}
				if s.commit(b, func(m fakeMod, e *openflow.Error) { refuse(e, m.xid, m.raw) }) {
					reply()
				} else {
					refuse(&openflow.Error{Type: openflow.ErrTypeBundleFailed, Code: 13}, h.Xid, msg)
				}
			}
		case openflow.TypeMultipartRequest:
			cookie, mask, err := openflow.DecodeFlowStatsRequest(msg)
			if err != nil {
				s.t.Errorf("fake switch: %v", err)
				return
			}
			var match []flows.Flow
			for _, f := range s.flows() {
				if f.Cookie&mask == cookie&mask {
					match = append(match, f)
				}
			}
			for i := 0; i == 0 || i < len(match); i += s.dumpChunk {
				part := match[i:min(i+s.dumpChunk, len(match))]
				b, err := openflow.AppendFlowStatsReply(nil, h.Xid, i+s.dumpChunk < len(match), part)
				if err != nil {
					s.t.Errorf("fake switch: %v", err)
					return
				}
				send(b)
			}
		default:
			s.t.Errorf("fake switch: unexpected %s", h.Type)
		}
	}
}

// commit applies a bundle all or nothing; it reports false after refusing
// a message.
func (s *fakeSwitch) commit(b *fakeBundle, refuse func(fakeMod, *openflow.Error)) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.rejectCommit != nil {
		for _, m := range b.mods {
			if e := s.rejectCommit(m.fm); e != nil {
				refuse(m, e)
				return false
			}
		}
	}
	for _, m := range b.mods {
		f := m.fm.Flow
		switch m.fm.Command {
		case openflow.CommandAdd:
			s.table[f.Key()] = f
		case openflow.CommandDeleteStrict:
			if in, ok := s.table[f.Key()]; ok && in.Cookie&m.fm.CookieMask == f.Cookie&m.fm.CookieMask {
				delete(s.table, f.Key())
			}
		case openflow.CommandDelete:
			for k, in := range s.table {
				if in.Table.ID == f.Table.ID && in.Cookie&m.fm.CookieMask == f.Cookie&m.fm.CookieMask {
					delete(s.table, k)
				}
			}
		}
	}
	return true
}
