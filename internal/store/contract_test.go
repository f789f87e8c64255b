package store

import (
	"context"
	"testing"
	"time"
)

// backendContract checks what ovsnet relies on from a Backend. The
// in-memory store runs it in the plain tests; Consul runs it under the
// integration tag (consul_test.go), so the two cannot drift apart.
func backendContract(t *testing.T, b Backend) {
	ctx := context.Background()
	k := NewKeys("contract")

	// A transaction's index is the modify index of what it wrote.
	var t1 Txn
	t1.PutRaw(k.Network("n1"), "one")
	t1.PutRaw(k.Endpoint("n1", "e1"), "ep")
	idx, err := b.Txn(ctx, t1.Ops)
	if err != nil {
		t.Fatal(err)
	}
	p, _, err := b.Get(ctx, k.Network("n1"), Query{})
	if err != nil || p == nil || p.ModifyIndex != idx || string(p.Value) != "one" {
		t.Fatalf("after a txn at %d: %+v %v", idx, p, err)
	}

	// Guards: a failing one rolls everything back and names its key.
	var t2 Txn
	t2.PutRaw(k.Network("n2"), "two")
	t2.MustNotExist(k.Network("n1"))
	if _, err := b.Txn(ctx, t2.Ops); !ConflictOn(err, k.Network("n1")) {
		t.Fatalf("check-not-exists on an existing key: %v", err)
	}
	if p, _, _ := b.Get(ctx, k.Network("n2"), Query{}); p != nil {
		t.Fatal("a rolled-back transaction wrote")
	}
	var t3 Txn
	t3.CheckIndex(k.Network("n1"), idx+1000)
	if _, err := b.Txn(ctx, t3.Ops); !ConflictOn(err, k.Network("n1")) {
		t.Fatalf("check-index with a wrong index: %v", err)
	}
	var t4 Txn
	t4.DeleteCAS(k.Network("n1"), idx)
	t4.CAS(k.Network("n3"), "three", 0)
	idx4, err := b.Txn(ctx, t4.Ops)
	if err != nil {
		t.Fatalf("delete-cas at the right index: %v", err)
	}
	if p, _, _ := b.Get(ctx, k.Network("n1"), Query{}); p != nil {
		t.Fatal("delete-cas left the key")
	}
	if p, _, _ := b.Get(ctx, k.Network("n3"), Query{}); p == nil || p.ModifyIndex != idx4 {
		t.Fatalf("cas-create: %+v (txn at %d)", p, idx4)
	}

	// A blocking query on a prefix wakes for a write and for a delete
	// under it, not for one elsewhere.
	_, listIdx, err := b.List(ctx, k.NetworkEndpoints("n1"), Query{})
	if err != nil {
		t.Fatal(err)
	}
	woke := make(chan uint64, 1)
	go func() {
		_, i, _ := b.List(ctx, k.NetworkEndpoints("n1"), Query{WaitIndex: listIdx, WaitTime: 5 * time.Second})
		woke <- i
	}()
	time.Sleep(100 * time.Millisecond)
	var other Txn
	other.PutRaw(k.Endpoint("n9", "x"), "elsewhere")
	if _, err := b.Txn(ctx, other.Ops); err != nil {
		t.Fatal(err)
	}
	select {
	case i := <-woke:
		t.Fatalf("a write elsewhere woke the query (index %d)", i)
	case <-time.After(300 * time.Millisecond):
	}
	var del Txn
	del.Delete(k.Endpoint("n1", "e1"))
	if _, err := b.Txn(ctx, del.Ops); err != nil {
		t.Fatal(err)
	}
	select {
	case i := <-woke:
		if i <= listIdx {
			t.Fatalf("woke with index %d, not after %d", i, listIdx)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("a delete under the prefix did not wake the query")
	}

	// Sessions hold keys; a second session cannot take one; ending the
	// session releases it and keeps the value; check-session fences.
	s1, err := b.CreateSession(ctx, SessionSpec{Name: "contract 1", TTL: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	s2, err := b.CreateSession(ctx, SessionSpec{Name: "contract 2", TTL: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = b.DestroySession(ctx, s2) }()
	if ok, err := b.Acquire(ctx, k.Leader(), []byte("s1"), s1); !ok || err != nil {
		t.Fatalf("acquire: %v %v", ok, err)
	}
	if ok, err := b.Acquire(ctx, k.Leader(), []byte("s2"), s2); ok || err != nil {
		t.Fatalf("a second session took a held lock: %v %v", ok, err)
	}
	var fenced Txn
	fenced.CheckSession(k.Leader(), s2)
	fenced.PutRaw(k.Network("fenced"), "x")
	if _, err := b.Txn(ctx, fenced.Ops); !ConflictOn(err, k.Leader()) {
		t.Fatalf("check-session of a session that does not hold the lock: %v", err)
	}
	if err := b.RenewSession(ctx, s1); err != nil {
		t.Fatalf("renew: %v", err)
	}
	if err := b.DestroySession(ctx, s1); err != nil {
		t.Fatal(err)
	}
	p, _, err = b.Get(ctx, k.Leader(), Query{})
	if err != nil || p == nil || p.Session != "" || string(p.Value) != "s1" {
		t.Fatalf("after the holder's session ended: %+v %v", p, err)
	}
	if err := b.RenewSession(ctx, s1); err != ErrSessionGone {
		t.Fatalf("renewing an ended session: %v", err)
	}
	// Consul answers an acquire with an ended session either way.
	if ok, err := b.Acquire(ctx, k.Leader(), []byte("x"), s1); ok || (err != nil && err != ErrSessionGone) {
		t.Fatalf("acquiring with an ended session: %v %v", ok, err)
	}
	// A session bound to a heartbeat ends soon after the heartbeat stops,
	// and releases what it holds.
	hb := "contract-heartbeat"
	// A TTL well above the passes' 400 ms: on a loaded machine the
	// writes before the first pass can take a second.
	if err := b.RegisterHeartbeat(ctx, hb, "contract", 3*time.Second); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = b.DeregisterHeartbeat(ctx, hb) }()
	s3, err := b.CreateSession(ctx, SessionSpec{Name: "contract 3", TTL: time.Minute, Heartbeat: hb})
	if err != nil {
		t.Fatal(err)
	}
	if ok, err := b.Acquire(ctx, k.Leader(), []byte("s3"), s3); !ok || err != nil {
		t.Fatalf("acquire with a heartbeat session: %v %v", ok, err)
	}
	for i := 0; i < 4; i++ { // passing keeps it
		time.Sleep(400 * time.Millisecond)
		if err := b.PassHeartbeat(ctx, hb); err != nil {
			t.Fatal(err)
		}
	}
	if err := b.RenewSession(ctx, s3); err != nil {
		t.Fatalf("a passed heartbeat's session ended: %v", err)
	}
	start := time.Now()
	for b.RenewSession(ctx, s3) == nil {
		if time.Since(start) > 10*time.Second {
			t.Fatal("the session outlived its heartbeat by 10 s")
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Logf("session ended %s after its heartbeat stopped (TTL 3s)", time.Since(start).Round(10*time.Millisecond))
	if p, _, _ := b.Get(ctx, k.Leader(), Query{}); p == nil || p.Session != "" {
		t.Fatalf("the lock is still held: %+v", p)
	}

	var clean Txn
	clean.DeleteTree(k.Prefix() + "/")
	if _, err := b.Txn(ctx, clean.Ops); err != nil {
		t.Fatal(err)
	}
}

func TestMemoryBackendContract(t *testing.T) { backendContract(t, NewMemory()) }
