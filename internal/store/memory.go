package store

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"
)

// Memory is an in-memory Backend with Consul's semantics: one index for
// the whole store, raised by every write; keys carry their create and
// modify index; deletes leave tombstones so a blocking query on a prefix
// wakes for them; transactions are all or nothing; sessions hold keys and
// release them when they end. Lock delays are not modelled (ovsnet fences
// its writes instead).
type Memory struct {
	mu         sync.Mutex
	index      uint64
	keys       map[string]*Pair
	tombstones map[string]uint64
	sessions   map[string]*memSession
	changed    chan struct{}
	heartbeats map[string]*memHeartbeat
	janitor    bool
	down       error
	now        func() time.Time
	// Writes counts every committed write operation (for tests).
	Writes int
}

type memSession struct {
	spec    SessionSpec
	renewed time.Time
}

type memHeartbeat struct {
	ttl    time.Duration
	passed time.Time
}

// NewMemory returns an empty in-memory store.
func NewMemory() *Memory {
	return &Memory{index: 1, keys: map[string]*Pair{}, tombstones: map[string]uint64{}, sessions: map[string]*memSession{},
		changed: make(chan struct{}), heartbeats: map[string]*memHeartbeat{}, now: time.Now}
}

// Addr implements Backend.
func (m *Memory) Addr() string { return "in-memory store" }

// SetDown makes every call fail with err (nil: back up), as if Consul were
// unreachable.
func (m *Memory) SetDown(err error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.down = err
	m.notifyLocked()
}

func (m *Memory) checkDown() error {
	if m.down != nil {
		return &UnavailableError{Addr: m.Addr(), Err: m.down}
	}
	return nil
}

func (m *Memory) notifyLocked() {
	close(m.changed)
	m.changed = make(chan struct{})
}

// expireLocked ends sessions not renewed within their TTL, and those
// bound to a heartbeat that was not passed in time.
func (m *Memory) expireLocked() {
	now := m.now()
	for id, s := range m.sessions {
		hb := m.heartbeats[s.spec.Heartbeat]
		if (s.spec.TTL > 0 && now.Sub(s.renewed) > s.spec.TTL) || (s.spec.Heartbeat != "" && (hb == nil || now.Sub(hb.passed) > hb.ttl)) {
			m.endSessionLocked(id)
		}
	}
}

// RegisterHeartbeat implements Backend.
func (m *Memory) RegisterHeartbeat(ctx context.Context, id, name string, ttl time.Duration) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.checkDown(); err != nil {
		return err
	}
	m.heartbeats[id] = &memHeartbeat{ttl: ttl, passed: m.now()}
	if !m.janitor {
		// Heartbeats end sessions by themselves, as Consul's checks do.
		m.janitor = true
		go func() {
			for range time.Tick(20 * time.Millisecond) {
				m.mu.Lock()
				m.expireLocked()
				m.mu.Unlock()
			}
		}()
	}
	return nil
}

// PassHeartbeat implements Backend.
func (m *Memory) PassHeartbeat(ctx context.Context, id string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.checkDown(); err != nil {
		return err
	}
	hb := m.heartbeats[id]
	if hb == nil {
		return fmt.Errorf("no heartbeat %q", id)
	}
	hb.passed = m.now()
	return nil
}

// DeregisterHeartbeat implements Backend.
func (m *Memory) DeregisterHeartbeat(ctx context.Context, id string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.checkDown(); err != nil {
		return err
	}
	delete(m.heartbeats, id)
	return nil
}

// ExpireSession ends a session at once, as Consul does when its TTL runs
// out: what it holds is released.
func (m *Memory) ExpireSession(id string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.endSessionLocked(id)
}

func (m *Memory) endSessionLocked(id string) {
	if _, ok := m.sessions[id]; !ok {
		return
	}
	delete(m.sessions, id)
	m.index++
	for _, p := range m.keys {
		if p.Session == id {
			p.Session = ""
			p.ModifyIndex = m.index
		}
	}
	m.notifyLocked()
}

func clonePair(p *Pair) Pair {
	c := *p
	c.Value = append([]byte(nil), p.Value...)
	return c
}

// keyIndex is the index a blocking query on key waits on.
func (m *Memory) keyIndexLocked(key string) uint64 {
	if p, ok := m.keys[key]; ok {
		return p.ModifyIndex
	}
	if t, ok := m.tombstones[key]; ok {
		return t
	}
	return m.index
}

func (m *Memory) prefixIndexLocked(prefix string) uint64 {
	var idx uint64
	for k, p := range m.keys {
		if strings.HasPrefix(k, prefix) && p.ModifyIndex > idx {
			idx = p.ModifyIndex
		}
	}
	for k, t := range m.tombstones {
		if strings.HasPrefix(k, prefix) && t > idx {
			idx = t
		}
	}
	if idx == 0 {
		return m.index
	}
	return idx
}

// wait blocks until indexOf() > q.WaitIndex, q.WaitTime passes or ctx ends;
// called with m.mu held, returns with it held.
func (m *Memory) waitLocked(ctx context.Context, q Query, indexOf func() uint64) error {
	if q.WaitIndex == 0 {
		return nil
	}
	wait := q.WaitTime
	if wait <= 0 {
		wait = 5 * time.Minute
	}
	timer := time.NewTimer(wait)
	defer timer.Stop()
	for indexOf() <= q.WaitIndex && m.down == nil {
		ch := m.changed
		m.mu.Unlock()
		select {
		case <-ch:
			m.mu.Lock()
		case <-timer.C:
			m.mu.Lock()
			return nil
		case <-ctx.Done():
			m.mu.Lock()
			return ctx.Err()
		}
	}
	return nil
}

// Get implements Backend.
func (m *Memory) Get(ctx context.Context, key string, q Query) (*Pair, uint64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.waitLocked(ctx, q, func() uint64 { return m.keyIndexLocked(key) }); err != nil {
		return nil, 0, err
	}
	if err := m.checkDown(); err != nil {
		return nil, 0, err
	}
	idx := m.keyIndexLocked(key)
	p, ok := m.keys[key]
	if !ok {
		return nil, idx, nil
	}
	c := clonePair(p)
	return &c, idx, nil
}

// List implements Backend.
func (m *Memory) List(ctx context.Context, prefix string, q Query) ([]Pair, uint64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.waitLocked(ctx, q, func() uint64 { return m.prefixIndexLocked(prefix) }); err != nil {
		return nil, 0, err
	}
	if err := m.checkDown(); err != nil {
		return nil, 0, err
	}
	var out []Pair
	for k, p := range m.keys {
		if strings.HasPrefix(k, prefix) {
			out = append(out, clonePair(p))
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out, m.prefixIndexLocked(prefix), nil
}

// Txn implements Backend.
func (m *Memory) Txn(ctx context.Context, ops []Op) (uint64, error) {
	if len(ops) > MaxTxnOps {
		return 0, fmt.Errorf("transaction of %d operations exceeds Consul's limit of %d", len(ops), MaxTxnOps)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.checkDown(); err != nil {
		return 0, err
	}
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	m.expireLocked()
	// Work on copies; commit only when every operation passed.
	next := m.index + 1
	pending := map[string]*Pair{} // key → new state (nil: deleted)
	get := func(k string) (*Pair, bool) {
		if p, ok := pending[k]; ok {
			return p, p != nil
		}
		p, ok := m.keys[k]
		return p, ok
	}
	conflict := func(i int, what string) error {
		return &ConflictError{OpIndex: i, Key: ops[i].Key, What: what}
	}
	for i, op := range ops {
		cur, exists := get(op.Key)
		switch op.Verb {
		case VerbSet, VerbCAS:
			if op.Verb == VerbCAS {
				if (op.Index == 0 && exists) || (op.Index != 0 && (!exists || cur.ModifyIndex != op.Index)) {
					return 0, conflict(i, "failed to set key: index mismatch")
				}
			}
			p := &Pair{Key: op.Key, Value: append([]byte(nil), op.Value...), CreateIndex: next, ModifyIndex: next}
			if exists {
				p.CreateIndex, p.Session = cur.CreateIndex, cur.Session
			}
			pending[op.Key] = p
		case VerbDelete:
			pending[op.Key] = nil
		case VerbDeleteCAS:
			if !exists || cur.ModifyIndex != op.Index {
				return 0, conflict(i, "failed to delete key: index mismatch")
			}
			pending[op.Key] = nil
		case VerbDeleteTree:
			for k := range m.keys {
				if strings.HasPrefix(k, op.Key) {
					pending[k] = nil
				}
			}
			for k, p := range pending {
				if p != nil && strings.HasPrefix(k, op.Key) {
					pending[k] = nil
				}
			}
		case VerbCheckIndex:
			if !exists || cur.ModifyIndex != op.Index {
				return 0, conflict(i, "current modify index does not match")
			}
		case VerbCheckNotExists:
			if exists {
				return 0, conflict(i, "key already exists")
			}
		case VerbCheckSession:
			if !exists || cur.Session != op.Session {
				return 0, conflict(i, "key is not locked by the session")
			}
		default:
			return 0, fmt.Errorf("transaction: unknown verb %q", op.Verb)
		}
	}
	m.index = next
	for k, p := range pending {
		if p == nil {
			if _, ok := m.keys[k]; ok {
				delete(m.keys, k)
				m.tombstones[k] = next
				m.Writes++
			}
			continue
		}
		m.keys[k] = p
		delete(m.tombstones, k)
		m.Writes++
	}
	m.notifyLocked()
	return next, nil
}

// CreateSession implements Backend.
func (m *Memory) CreateSession(ctx context.Context, s SessionSpec) (string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.checkDown(); err != nil {
		return "", err
	}
	var b [16]byte
	_, _ = rand.Read(b[:])
	id := hex.EncodeToString(b[:])
	m.sessions[id] = &memSession{spec: s, renewed: m.now()}
	return id, nil
}

// RenewSession implements Backend.
func (m *Memory) RenewSession(ctx context.Context, id string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.checkDown(); err != nil {
		return err
	}
	m.expireLocked()
	s, ok := m.sessions[id]
	if !ok {
		return ErrSessionGone
	}
	s.renewed = m.now()
	return nil
}

// DestroySession implements Backend.
func (m *Memory) DestroySession(ctx context.Context, id string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.checkDown(); err != nil {
		return err
	}
	m.endSessionLocked(id)
	return nil
}

// Acquire implements Backend.
func (m *Memory) Acquire(ctx context.Context, key string, value []byte, session string) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.checkDown(); err != nil {
		return false, err
	}
	m.expireLocked()
	if _, ok := m.sessions[session]; !ok {
		return false, ErrSessionGone
	}
	cur, exists := m.keys[key]
	if exists && cur.Session != "" && cur.Session != session {
		return false, nil
	}
	m.index++
	p := &Pair{Key: key, Value: append([]byte(nil), value...), CreateIndex: m.index, ModifyIndex: m.index, Session: session}
	if exists {
		p.CreateIndex = cur.CreateIndex
	}
	m.keys[key] = p
	delete(m.tombstones, key)
	m.Writes++
	m.notifyLocked()
	return true, nil
}

// Release implements Backend.
func (m *Memory) Release(ctx context.Context, key, session string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.checkDown(); err != nil {
		return err
	}
	if _, ok := m.sessions[session]; !ok {
		return ErrSessionGone
	}
	if p, ok := m.keys[key]; ok && p.Session == session {
		m.index++
		p.Session = ""
		p.ModifyIndex = m.index
		m.notifyLocked()
	}
	return nil
}

// errMemoryDown is what SetDown tests usually pass.
var errMemoryDown = errors.New("connection refused")

// Down makes the store unreachable (SetDown with a connection error).
func (m *Memory) Down() { m.SetDown(errMemoryDown) }

// Up makes it reachable again.
func (m *Memory) Up() { m.SetDown(nil) }
