//go:build e2e

package bench

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// cpuByCommand sums the CPU time (ticks of 10 ms) of all processes by
// command name, including the reaped children of each (so an agent's count
// includes the ovs-ofctl runs it started).
func cpuByCommand() map[string]int {
	out := map[string]int{}
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		if _, err := strconv.Atoi(e.Name()); err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		s := string(b)
		i := strings.LastIndex(s, ")")
		name := s[strings.Index(s, "(")+1 : i]
		f := strings.Fields(s[i+2:])
		ut, _ := strconv.Atoi(f[11])
		st, _ := strconv.Atoi(f[12])
		cut, _ := strconv.Atoi(f[13])
		cst, _ := strconv.Atoi(f[14])
		out[name] += ut + st + cut + cst
	}
	return out
}

func cpuDiff(a, b map[string]int) string {
	type kv struct {
		k string
		v int
	}
	var l []kv
	for k, v := range b {
		if d := v - a[k]; d > 0 {
			l = append(l, kv{k, d})
		}
	}
	sort.Slice(l, func(i, j int) bool { return l[i].v > l[j].v })
	var parts []string
	for i, x := range l {
		if i > 12 {
			break
		}
		parts = append(parts, fmt.Sprintf("%s=%dms", x.k, x.v*10))
	}
	return strings.Join(parts, " ")
}

// systemProcesses are the processes that make up the system under test:
// ovsnet's daemons (with the OVS tools they run), Consul and Open vSwitch.
// The harness itself (the test binary, its probing pings) is not counted.
var systemProcesses = []string{"ovsnet-agent", "ovsnet-controll", "consul", "ovs-vswitchd", "ovsdb-server"}

// cpuTotal is the CPU used between a and b by the system's processes, in ms.
func cpuTotal(a, b map[string]int) int {
	total := 0
	for k, v := range b {
		for _, p := range systemProcesses {
			if strings.HasPrefix(k, p) {
				if d := v - a[k]; d > 0 {
					total += d
				}
			}
		}
	}
	return total * 10
}

// result prints one machine-readable line, which test/bench/compare.sh
// collects across runs:
//
//	BENCHRESULT name key=value ...
func result(b testing.TB, name string, values map[string]float64) {
	keys := make([]string, 0, len(values))
	for k := range values {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var parts []string
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s=%g", k, values[k]))
	}
	b.Logf("BENCHRESULT %s %s", name, strings.Join(parts, " "))
}
