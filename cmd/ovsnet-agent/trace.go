package main

import (
	"flag"

	"github.com/ovsnet/ovsnet/ovsagent"
	"github.com/ovsnet/ovsnet/ovsagent/tracer"
)

// The trace feature answers the controller's path traces (ovsnetctl trace,
// the web UI's trace page) with ofproto/trace on this host's bridge.
func init() {
	var enabled bool
	features = append(features, feature{
		name: "trace",
		flags: func(fs *flag.FlagSet) {
			fs.BoolVar(&enabled, "trace", true, "answer the controller's path traces (ofproto/trace on the bridge, requested through Consul)")
		},
		setup: func(env *agentEnv) (build, error) {
			if !enabled {
				return nil, nil
			}
			t := tracer.New(tracer.Config{Store: env.Store, Host: env.Config.Host, Bridge: env.Config.Bridge,
				OVSRundir: env.OVSRundir, Logger: env.Log.With("feature", "trace")})
			return func(*ovsagent.Agent) ovsagent.Extension { return t }, nil
		},
	})
}
