//go:build integration

package controller

import (
	"testing"

	"github.com/ovsnet/ovsnet/internal/store"
	"github.com/ovsnet/ovsnet/test/lab"
)

// The same 200 concurrent attaches over two replicas, on a real Consul
// server: its transactions, not the in-memory backend's, keep every
// address distinct.
func TestConcurrentAttachesOnConsul(t *testing.T) {
	l := lab.New(t, lab.Options{})
	c := l.StartConsul()
	b, err := store.NewConsul(c.Addr, nil)
	if err != nil {
		t.Fatal(err)
	}
	concurrentAttaches(t, newEnvOn(t, b, "ovsnet-"+l.Prefix, 2, ""))
}
