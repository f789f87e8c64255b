package ovsagent

import (
	"context"
	"errors"
	"net/netip"
	"os"
	"testing"
	"time"

	"github.com/ovsnet/ovsnet/internal/store"
	"github.com/ovsnet/ovsnet/model"
)

// Registration takes the host's record over from a previous agent of this
// host (gone, or this very process after losing track of its session),
// and refuses while another live agent holds it.
func TestRegisterTakesOverOnlyFromThePast(t *testing.T) {
	mem := store.NewMemory()
	st := store.New(mem, "ovsnet")
	ctx := context.Background()
	me := model.Host{Name: "h1", TunnelIP: netip.MustParseAddr("192.0.2.1"), BootID: "boot-1", PID: os.Getpid()}

	first := NewCluster(st, "h1", quietLog())
	if err := first.Register(ctx, me); err != nil {
		t.Fatal(err)
	}
	// This process again, with a fresh link (as after a Consul outage).
	again := NewCluster(st, "h1", quietLog())
	if err := again.Register(ctx, me); err != nil {
		t.Fatalf("this very process could not take its record back: %v", err)
	}
	if held, err := again.Holds(ctx); err != nil || !held {
		t.Fatalf("holds %v %v", held, err)
	}

	// A previous agent of this boot that is gone.
	gone := me
	gone.PID = 1 << 30
	holder := NewCluster(st, "h1", quietLog())
	if err := holder.Register(ctx, gone); err != nil {
		t.Fatal(err)
	}
	current := NewCluster(st, "h1", quietLog())
	if err := current.Register(ctx, me); err != nil {
		t.Fatalf("could not take over from a gone agent: %v", err)
	}
	current.Close() // this agent stops: the record is free

	// An agent of another boot whose session lives on: refused.
	old := takeOverWait
	takeOverWait = 300 * time.Millisecond
	defer func() { takeOverWait = old }()
	other := me
	other.BootID = "boot-2"
	otherCl := NewCluster(st, "h1", quietLog())
	if err := otherCl.Register(ctx, other); err != nil {
		t.Fatal(err)
	}
	err := NewCluster(st, "h1", quietLog()).Register(ctx, me)
	var inUse *ErrHostInUse
	if !errors.As(err, &inUse) {
		t.Fatalf("registering over a live agent of another machine: %v", err)
	}
	otherCl.Close()
	if err := NewCluster(st, "h1", quietLog()).Register(ctx, me); err != nil {
		t.Fatalf("after the other agent left: %v", err)
	}
}
