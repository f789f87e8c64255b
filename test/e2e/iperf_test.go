//go:build e2e

package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/ovsnet/ovsnet/test/lab"
)

// startIperfServer runs a one-shot iperf3 server in ct bound to addr; the
// returned func stops it.
func startIperfServer(ct *lab.Container, addr string) (func(), error) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	done := make(chan struct{})
	go func() {
		defer close(done)
		_, _ = ct.Exec(ctx, "iperf3", "-s", "-1", "-B", addr)
	}()
	// Wait until it listens.
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		out, _ := ct.Exec(ctx, "ss", "-ltn")
		if len(out) > 0 && containsPort(string(out), "5201") {
			return func() { cancel(); <-done }, nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	cancel()
	<-done
	return nil, fmt.Errorf("iperf3 server in %s did not start", ct.Name)
}

func containsPort(ss, port string) bool {
	return strings.Contains(ss, ":"+port+" ") || strings.Contains(ss, ":"+port+"\n")
}

func iperfBitsPerSecond(t *testing.T, out []byte) float64 {
	t.Helper()
	var r struct {
		End struct {
			SumReceived struct {
				BitsPerSecond float64 `json:"bits_per_second"`
				Bytes         float64 `json:"bytes"`
			} `json:"sum_received"`
		} `json:"end"`
		Error string `json:"error"`
	}
	if err := json.Unmarshal(out, &r); err != nil {
		t.Fatalf("iperf3 output: %v\n%s", err, out)
	}
	if r.Error != "" {
		t.Fatalf("iperf3: %s", r.Error)
	}
	return r.End.SumReceived.BitsPerSecond
}

// outsideIperf is an iperf3 server in the outside namespace.
type outsideIperf struct {
	cancel context.CancelFunc
	done   chan struct{}
	out    []byte
}

func startOutsideIperf(o *lab.Outside) (*outsideIperf, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 80*time.Second)
	s := &outsideIperf{cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(s.done)
		s.out, _ = o.Exec(ctx, "iperf3", "-s", "-B", o.Addr.String(), "--forceflush")
	}()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		out, _ := o.Exec(ctx, "ss", "-ltn")
		if containsPort(string(out), "5201") {
			return s, nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	s.stop()
	return nil, fmt.Errorf("iperf3 server in the outside did not start")
}

func (s *outsideIperf) stop() {
	s.cancel()
	<-s.done
}

// log stops the server and returns what it printed.
func (s *outsideIperf) log() string {
	s.stop()
	return string(s.out)
}
