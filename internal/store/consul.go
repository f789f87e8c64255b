package store

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/hashicorp/consul/api"
)

// idleConnsPerHost bounds the connections kept open to Consul.
const idleConnsPerHost = 256

// Consul is the Backend on a real Consul agent or server.
type Consul struct {
	client *api.Client
	addr   string
}

// NewConsul connects (lazily) to Consul at addr: host:port, or
// unix:///path for a socket. cfg, when not nil, supplies TLS and token
// settings; its Address is overridden by addr.
func NewConsul(addr string, cfg *api.Config) (*Consul, error) {
	if cfg == nil {
		cfg = api.DefaultConfig()
		// Every watch holds a connection while it waits: keep enough of
		// them idle that a change does not cost new connections.
		if cfg.Transport != nil {
			cfg.Transport.MaxIdleConnsPerHost = idleConnsPerHost
		}
	}
	cfg.Address = addr
	if path, ok := strings.CutPrefix(addr, "unix://"); ok {
		// The client's own unix-socket transport opens a connection per
		// request (no keep-alive); watches and reports would pay a dial
		// each. Keep connections instead.
		cfg.Address, cfg.Scheme = "consul.sock", "http"
		cfg.HttpClient = &http.Client{Transport: &http.Transport{
			DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
				var d net.Dialer
				return d.DialContext(ctx, "unix", path)
			},
			MaxIdleConnsPerHost: idleConnsPerHost,
			IdleConnTimeout:     90 * time.Second,
		}}
	}
	c, err := api.NewClient(cfg)
	if err != nil {
		return nil, fmt.Errorf("consul client: %w", err)
	}
	return &Consul{client: c, addr: addr}, nil
}

// Client is the underlying Consul client, for what the contract does not
// cover (tests, diagnostics).
func (c *Consul) Client() *api.Client { return c.client }

// Addr implements Backend.
func (c *Consul) Addr() string { return "Consul at " + c.addr }

func (c *Consul) fail(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	return &UnavailableError{Addr: c.Addr(), Err: err}
}

func queryOptions(ctx context.Context, q Query) *api.QueryOptions {
	return (&api.QueryOptions{WaitIndex: q.WaitIndex, WaitTime: q.WaitTime}).WithContext(ctx)
}

func fromKV(p *api.KVPair) Pair {
	return Pair{Key: p.Key, Value: p.Value, CreateIndex: p.CreateIndex, ModifyIndex: p.ModifyIndex, Session: p.Session}
}

// Get implements Backend.
func (c *Consul) Get(ctx context.Context, key string, q Query) (*Pair, uint64, error) {
	kv, meta, err := c.client.KV().Get(key, queryOptions(ctx, q))
	if err != nil {
		return nil, 0, c.fail(ctx, err)
	}
	if kv == nil {
		return nil, meta.LastIndex, nil
	}
	p := fromKV(kv)
	return &p, meta.LastIndex, nil
}

// List implements Backend.
func (c *Consul) List(ctx context.Context, prefix string, q Query) ([]Pair, uint64, error) {
	kvs, meta, err := c.client.KV().List(prefix, queryOptions(ctx, q))
	if err != nil {
		return nil, 0, c.fail(ctx, err)
	}
	out := make([]Pair, len(kvs))
	for i, kv := range kvs {
		out[i] = fromKV(kv)
	}
	return out, meta.LastIndex, nil
}

var consulVerbs = map[Verb]api.KVOp{
	VerbSet: api.KVSet, VerbCAS: api.KVCAS, VerbDelete: api.KVDelete, VerbDeleteCAS: api.KVDeleteCAS,
	VerbDeleteTree: api.KVDeleteTree, VerbCheckIndex: api.KVCheckIndex, VerbCheckNotExists: api.KVCheckNotExists,
	VerbCheckSession: api.KVCheckSession,
}

// Txn implements Backend.
func (c *Consul) Txn(ctx context.Context, ops []Op) (uint64, error) {
	if len(ops) > MaxTxnOps {
		return 0, fmt.Errorf("transaction of %d operations exceeds Consul's limit of %d", len(ops), MaxTxnOps)
	}
	tops := make(api.TxnOps, len(ops))
	for i, op := range ops {
		verb, ok := consulVerbs[op.Verb]
		if !ok {
			return 0, fmt.Errorf("transaction: unknown verb %q", op.Verb)
		}
		tops[i] = &api.TxnOp{KV: &api.KVTxnOp{Verb: verb, Key: op.Key, Value: op.Value, Index: op.Index, Session: op.Session}}
	}
	ok, resp, meta, err := c.client.Txn().Txn(tops, (&api.QueryOptions{}).WithContext(ctx))
	if err != nil {
		return 0, c.fail(ctx, err)
	}
	if !ok {
		if resp != nil && len(resp.Errors) > 0 {
			e := resp.Errors[0]
			key := ""
			if e.OpIndex >= 0 && e.OpIndex < len(ops) {
				key = ops[e.OpIndex].Key
			}
			return 0, &ConflictError{OpIndex: e.OpIndex, Key: key, What: e.What}
		}
		return 0, &ConflictError{OpIndex: -1, What: "rolled back"}
	}
	// The index of the written keys is the transaction's raft index; the
	// response's own index header is not always it.
	var index uint64
	if resp != nil {
		for _, r := range resp.Results {
			if r != nil && r.KV != nil {
				index = max(index, r.KV.ModifyIndex)
			}
		}
	}
	if index == 0 {
		index = meta.LastIndex
	}
	return index, nil
}

// CreateSession implements Backend. Sessions release (not delete) what
// they hold when they end.
func (c *Consul) CreateSession(ctx context.Context, s SessionSpec) (string, error) {
	ttl := s.TTL
	if ttl < 10*time.Second {
		ttl = 10 * time.Second // Consul's minimum
	}
	// Consul reads a lock delay of 0 as its default, 15 s.
	delay := max(s.LockDelay, time.Millisecond)
	entry := &api.SessionEntry{Name: s.Name, TTL: ttl.String(), Behavior: api.SessionBehaviorRelease, LockDelay: delay}
	if s.Heartbeat != "" {
		entry.NodeChecks = []string{"serfHealth", s.Heartbeat}
	}
	id, _, err := c.client.Session().Create(entry, (&api.WriteOptions{}).WithContext(ctx))
	if err != nil {
		return "", c.fail(ctx, err)
	}
	return id, nil
}

// RenewSession implements Backend.
func (c *Consul) RenewSession(ctx context.Context, id string) error {
	entry, _, err := c.client.Session().Renew(id, (&api.WriteOptions{}).WithContext(ctx))
	if err != nil {
		// Consul answers 404 for a session it no longer knows.
		if strings.Contains(err.Error(), "404") {
			return ErrSessionGone
		}
		return c.fail(ctx, err)
	}
	if entry == nil {
		return ErrSessionGone
	}
	return nil
}

// DestroySession implements Backend.
func (c *Consul) DestroySession(ctx context.Context, id string) error {
	if _, err := c.client.Session().Destroy(id, (&api.WriteOptions{}).WithContext(ctx)); err != nil {
		return c.fail(ctx, err)
	}
	return nil
}

// Acquire implements Backend.
func (c *Consul) Acquire(ctx context.Context, key string, value []byte, session string) (bool, error) {
	ok, _, err := c.client.KV().Acquire(&api.KVPair{Key: key, Value: value, Session: session}, (&api.WriteOptions{}).WithContext(ctx))
	if err != nil {
		if isSessionInvalid(err) {
			return false, ErrSessionGone
		}
		return false, c.fail(ctx, err)
	}
	return ok, nil
}

// Release implements Backend.
func (c *Consul) Release(ctx context.Context, key, session string) error {
	if _, _, err := c.client.KV().Release(&api.KVPair{Key: key, Session: session}, (&api.WriteOptions{}).WithContext(ctx)); err != nil {
		if isSessionInvalid(err) {
			return ErrSessionGone
		}
		return c.fail(ctx, err)
	}
	return nil
}

// RegisterHeartbeat implements Backend with a TTL check on the agent.
func (c *Consul) RegisterHeartbeat(ctx context.Context, id, name string, ttl time.Duration) error {
	reg := &api.AgentCheckRegistration{ID: id, Name: name,
		AgentServiceCheck: api.AgentServiceCheck{TTL: ttl.String(), Status: api.HealthPassing}}
	if err := c.client.Agent().CheckRegisterOpts(reg, (&api.QueryOptions{}).WithContext(ctx)); err != nil {
		return c.fail(ctx, err)
	}
	return nil
}

// PassHeartbeat implements Backend.
func (c *Consul) PassHeartbeat(ctx context.Context, id string) error {
	if err := c.client.Agent().UpdateTTLOpts(id, "", api.HealthPassing, (&api.QueryOptions{}).WithContext(ctx)); err != nil {
		return c.fail(ctx, err)
	}
	return nil
}

// DeregisterHeartbeat implements Backend.
func (c *Consul) DeregisterHeartbeat(ctx context.Context, id string) error {
	if err := c.client.Agent().CheckDeregisterOpts(id, (&api.QueryOptions{}).WithContext(ctx)); err != nil {
		return c.fail(ctx, err)
	}
	return nil
}

// isSessionInvalid recognises Consul's answer to an acquire with a session
// that no longer exists.
func isSessionInvalid(err error) bool {
	var se api.StatusError
	if errors.As(err, &se) {
		return strings.Contains(se.Body, "invalid session")
	}
	return strings.Contains(err.Error(), "invalid session")
}
