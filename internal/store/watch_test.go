package store

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"
)

// With a steady Pace, a burst of changes is read in a few calls, the last
// of which sees the final state; a change after a quiet spell is seen at
// once. The pace is long (500 ms) so that a loaded machine's scheduling
// delays stay well inside the bounds.
func TestWatchPaceCoalesces(t *testing.T) {
	st := New(NewMemory(), "t")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var mu sync.Mutex
	var calls []time.Time
	last := ""
	done := make(chan struct{})
	go func() {
		defer close(done)
		Watch{Key: "t/k", Pace: func() time.Duration { return 500 * time.Millisecond }}.Run(ctx, st.B, func(pairs []Pair, _ uint64) {
			mu.Lock()
			defer mu.Unlock()
			calls = append(calls, time.Now())
			if len(pairs) == 1 {
				last = string(pairs[0].Value)
			}
		})
	}()
	waitFor := func(what string, cond func() bool) {
		t.Helper()
		for i := 0; i < 2000; i++ {
			mu.Lock()
			ok := cond()
			mu.Unlock()
			if ok {
				return
			}
			time.Sleep(5 * time.Millisecond)
		}
		t.Fatalf("timed out waiting for %s", what)
	}
	waitFor("the first call", func() bool { return len(calls) == 1 })

	// A burst of 50 writes within ~50 ms.
	for i := range 50 {
		if err := st.Put(ctx, "t/k", fmt.Sprint(i)); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Millisecond)
	}
	waitFor("the burst's last value", func() bool { return last == `"49"` })
	mu.Lock()
	n := len(calls) - 1
	mu.Unlock()
	if n > 5 {
		t.Fatalf("50 changes in a burst made %d calls; the pace should coalesce them", n)
	}

	// A quiet spell longer than the pace, then one change: seen at once,
	// not a pace later.
	time.Sleep(600 * time.Millisecond)
	start := time.Now()
	if err := st.Put(ctx, "t/k", "x"); err != nil {
		t.Fatal(err)
	}
	waitFor("the change after a quiet spell", func() bool { return last == `"x"` })
	if took := time.Since(start); took > 250*time.Millisecond {
		t.Fatalf("a change after a quiet spell took %v to be seen", took)
	}
	cancel()
	<-done
}

// A change right after a call is read at once when Pace says 0, and only
// after the spacing Pace gives otherwise.
func TestWatchPace(t *testing.T) {
	for _, pace := range []time.Duration{0, 700 * time.Millisecond} {
		st := New(NewMemory(), "t")
		ctx, cancel := context.WithCancel(context.Background())
		seen := make(chan string, 10)
		done := make(chan struct{})
		go func() {
			defer close(done)
			Watch{Key: "t/k", Pace: func() time.Duration { return pace }}.Run(ctx, st.B,
				func(pairs []Pair, _ uint64) {
					if len(pairs) == 1 {
						seen <- string(pairs[0].Value)
					} else {
						seen <- ""
					}
				})
		}()
		select {
		case <-seen: // the first read
		case <-time.After(5 * time.Second):
			t.Fatal("no first call")
		}
		start := time.Now()
		if err := st.Put(ctx, "t/k", "v"); err != nil {
			t.Fatal(err)
		}
		select {
		case v := <-seen:
			took := time.Since(start)
			if v != `"v"` {
				t.Errorf("pace %v: read %q", pace, v)
			}
			if pace == 0 && took > 400*time.Millisecond {
				t.Errorf("pace 0: the change was read after %v, not at once", took)
			}
			if pace > 0 && took < pace-200*time.Millisecond {
				t.Errorf("pace %v: the change was read after %v", pace, took)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("pace %v: the change was never read", pace)
		}
		cancel()
		<-done
	}
}
