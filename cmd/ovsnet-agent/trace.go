package main

import (
	"flag"

	"github.com/ovsnet/ovsnet/ovsagent"
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
		setup: func(env *agentEnv) (ovsagent.Extension, error) {
			if !enabled {
				return nil, nil
			}
			return ovsagent.NewTracer(ovsagent.TracerConfig{Store: env.Store,
				OVSRundir: env.OVSRundir, Logger: env.Log.With("feature", "trace")})
		},
	})
}
