// Package store owns ovsnet's contract with Consul: the key layout, the
// records under each key, guarded transactions, sessions and the watch loop.
// Controller and agent both go through it; nothing else spells a key.
//
// Backend is the narrow part of Consul the contract needs. Two
// implementations exist: the Consul one (consul.go) and an in-memory one
// (memory.go) with the same semantics — indexes, guards, sessions and
// blocking queries — for tests that are not about Consul.
package store

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Pair is one key with its value and Consul's bookkeeping.
type Pair struct {
	Key         string
	Value       []byte
	CreateIndex uint64
	ModifyIndex uint64
	// Session holds the key (a lock) when not empty.
	Session string
}

// Query bounds a read. With WaitIndex > 0 it is a blocking query: it returns
// once something under the key or prefix changed after WaitIndex, or after
// WaitTime (then possibly with nothing changed).
type Query struct {
	WaitIndex uint64
	WaitTime  time.Duration
}

// Verb is what one transaction operation does.
type Verb string

// The verbs ovsnet uses, named as Consul names them.
const (
	VerbSet            Verb = "set"
	VerbCAS            Verb = "cas"
	VerbDelete         Verb = "delete"
	VerbDeleteCAS      Verb = "delete-cas"
	VerbDeleteTree     Verb = "delete-tree"
	VerbCheckIndex     Verb = "check-index"
	VerbCheckNotExists Verb = "check-not-exists"
	VerbCheckSession   Verb = "check-session"
)

// Op is one operation of a transaction.
type Op struct {
	Verb    Verb
	Key     string
	Value   []byte
	Index   uint64
	Session string
}

// MaxTxnOps is Consul's limit on operations per transaction.
const MaxTxnOps = 64

// Backend is the part of Consul ovsnet uses.
type Backend interface {
	// Get reads one key; nil when it does not exist. The index is the
	// one to wait on for the next change.
	Get(ctx context.Context, key string, q Query) (*Pair, uint64, error)
	// List reads every key under prefix.
	List(ctx context.Context, prefix string, q Query) ([]Pair, uint64, error)
	// Txn applies ops atomically: all or none. A guard that fails comes
	// back as *ConflictError; the returned index is the transaction's.
	Txn(ctx context.Context, ops []Op) (uint64, error)
	// CreateSession opens a session that lives while it is renewed (or
	// until Destroy); keys it holds are released when it ends.
	CreateSession(ctx context.Context, s SessionSpec) (string, error)
	// RenewSession keeps a session alive; it returns ErrSessionGone when
	// the session has ended.
	RenewSession(ctx context.Context, id string) error
	DestroySession(ctx context.Context, id string) error
	// Acquire writes key held by session when no other session holds it.
	Acquire(ctx context.Context, key string, value []byte, session string) (bool, error)
	// Release lets go of key if session holds it (the value stays).
	Release(ctx context.Context, key, session string) error
	// RegisterHeartbeat creates (or resets, passing) a TTL check on the
	// local Consul agent; sessions bound to it (SessionSpec.Heartbeat) end
	// as soon as it is not passed within ttl. PassHeartbeat passes it;
	// DeregisterHeartbeat removes it.
	RegisterHeartbeat(ctx context.Context, id, name string, ttl time.Duration) error
	PassHeartbeat(ctx context.Context, id string) error
	DeregisterHeartbeat(ctx context.Context, id string) error
	// Addr names the backend in messages ("Consul at 127.0.0.1:8500").
	Addr() string
}

// SessionSpec describes a session.
type SessionSpec struct {
	Name string
	// TTL ends the session when it is not renewed for that long (Consul
	// may take up to twice as long).
	TTL time.Duration
	// LockDelay keeps a released lock from being taken again for this
	// long, unless fencing makes that unnecessary (0).
	LockDelay time.Duration
	// Heartbeat, when set, binds the session to that heartbeat check: it
	// ends within the check's TTL of its holder's death, far sooner than
	// a session TTL (10 s at least, and Consul may take twice as long).
	Heartbeat string
}

// ErrSessionGone says a session no longer exists.
var ErrSessionGone = errors.New("session is gone")

// ConflictError reports the guard that rolled a transaction back.
type ConflictError struct {
	OpIndex int
	Key     string
	What    string
}

func (e *ConflictError) Error() string {
	return fmt.Sprintf("transaction rolled back at %s: %s", e.Key, e.What)
}

// IsConflict says whether err is a rolled-back transaction.
func IsConflict(err error) bool {
	var c *ConflictError
	return errors.As(err, &c)
}

// ConflictOn says whether err is a transaction rolled back by the guard on key.
func ConflictOn(err error, key string) bool {
	var c *ConflictError
	return errors.As(err, &c) && c.Key == key
}

// UnavailableError says the backend could not be reached or answered with
// a failure; the operation may or may not have happened.
type UnavailableError struct {
	Addr string
	Err  error
}

func (e *UnavailableError) Error() string {
	return fmt.Sprintf("cluster store unavailable (%s): %v", e.Addr, e.Err)
}

func (e *UnavailableError) Unwrap() error { return e.Err }

// IsUnavailable says whether err means the backend could not be used.
func IsUnavailable(err error) bool {
	var u *UnavailableError
	return errors.As(err, &u)
}
