package controller

import (
	"context"

	"github.com/ovsnet/ovsnet/internal/store"
)

// countingBackend counts what the controller reads from and writes to
// Consul (bytes of keys and values, requests by kind), for /metrics and the
// scale benchmark.
type countingBackend struct{ store.Backend }

func pairBytes(p store.Pair) int { return len(p.Key) + len(p.Value) }

func (b countingBackend) Get(ctx context.Context, key string, q store.Query) (*store.Pair, uint64, error) {
	p, idx, err := b.Backend.Get(ctx, key, q)
	consulRequests.WithLabelValues("get").Inc()
	if p != nil {
		consulBytes.WithLabelValues("read").Add(float64(pairBytes(*p)))
	}
	return p, idx, err
}

func (b countingBackend) List(ctx context.Context, prefix string, q store.Query) ([]store.Pair, uint64, error) {
	ps, idx, err := b.Backend.List(ctx, prefix, q)
	consulRequests.WithLabelValues("list").Inc()
	n := 0
	for _, p := range ps {
		n += pairBytes(p)
	}
	consulBytes.WithLabelValues("read").Add(float64(n))
	return ps, idx, err
}

func (b countingBackend) Txn(ctx context.Context, ops []store.Op) (uint64, error) {
	consulRequests.WithLabelValues("txn").Inc()
	n := 0
	for _, op := range ops {
		n += len(op.Key) + len(op.Value)
	}
	consulBytes.WithLabelValues("written").Add(float64(n))
	return b.Backend.Txn(ctx, ops)
}

func (b countingBackend) RenewSession(ctx context.Context, id string) error {
	consulRequests.WithLabelValues("session").Inc()
	return b.Backend.RenewSession(ctx, id)
}
