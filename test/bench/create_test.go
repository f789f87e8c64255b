//go:build e2e

package bench

import (
	"cmp"
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/ovsnet/ovsnet/model"
	"github.com/ovsnet/ovsnet/test/cluster"
)

// BenchmarkNetworkCreate creates 1,000 overlay networks one by one through
// the REST API on the 3-host lab and prints the rate, overall and per
// hundred (a create must not cost more as networks accumulate).
func BenchmarkNetworkCreate(b *testing.B) {
	for range b.N {
		c := cluster.New(b, cluster.Options{Hosts: 3, LogLevel: cmp.Or(os.Getenv("BENCH_LOG_LEVEL"), "info")})
		const total, block = 1000, 100
		ctx := context.Background()
		cpu0 := cpuByCommand()
		start := time.Now()
		blockStart := start
		var rates []float64
		for i := 0; i < total; i++ {
			if _, err := c.API.CreateNetwork(ctx, model.NetworkCreateRequest{Name: fmt.Sprintf("n%04d", i), Driver: "overlay"}); err != nil {
				b.Fatalf("create n%04d: %v", i, err)
			}
			if (i+1)%block == 0 {
				rates = append(rates, block/time.Since(blockStart).Seconds())
				blockStart = time.Now()
			}
		}
		overall := total / time.Since(start).Seconds()
		cpu1 := cpuByCommand()
		b.Logf("CPU used, by command: %s; per create, all of the system's processes: %.2f ms", cpuDiff(cpu0, cpu1), float64(cpuTotal(cpu0, cpu1))/total)
		b.Logf("%d networks created one by one in %s: %.1f per second; per hundred: %.0f", total, time.Since(start).Round(time.Millisecond), overall, rates)
		saveLogs(c)
		result(b, "create", map[string]float64{"per_s": overall, "cpu_ms_per_create": float64(cpuTotal(cpu0, cpu1)) / total, "first100_per_s": rates[0], "last100_per_s": rates[len(rates)-1]})
	}
}
