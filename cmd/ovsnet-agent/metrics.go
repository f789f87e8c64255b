package main

import (
	"flag"

	"github.com/ovsnet/ovsnet/ovsagent"
	"github.com/ovsnet/ovsnet/ovsagent/metrics"
)

// The metrics feature serves Prometheus metrics (/metrics) and health
// (/healthz) on a listener of its own. Agents run in their host's network
// namespace, so the loopback default is reachable from that host only.
func init() {
	var addr string
	var profiling bool
	features = append(features, feature{
		name: "metrics",
		flags: func(fs *flag.FlagSet) {
			fs.StringVar(&addr, "metrics-listen", "127.0.0.1:9474", `address of /metrics and /healthz ("" turns them off)`)
			fs.BoolVar(&profiling, "pprof", false, "also serve Go's profiles at /debug/pprof/ on the metrics address")
		},
		setup: func(env *agentEnv) (build, error) {
			if addr == "" {
				return nil, nil
			}
			m, err := metrics.New(addr, env.Config.Host, env.Log.With("feature", "metrics"))
			if err != nil {
				return nil, err
			}
			m.Profiling = profiling
			env.Config.WrapCluster = m.WrapCluster
			return func(*ovsagent.Agent) ovsagent.Extension { return m }, nil
		},
	})
}
