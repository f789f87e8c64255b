//go:build integration

package store

import (
	"testing"

	"github.com/ovsnet/ovsnet/test/lab"
)

// The contract on a real Consul server.
func TestConsulBackendContract(t *testing.T) {
	l := lab.New(t, lab.Options{})
	c := l.StartConsul()
	b, err := NewConsul(c.Addr, nil)
	if err != nil {
		t.Fatal(err)
	}
	backendContract(t, b)
}
