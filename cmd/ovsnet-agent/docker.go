package main

import (
	"flag"
	"fmt"
	"net/netip"
	"strings"

	"github.com/ovsnet/ovsnet/client"
	"github.com/ovsnet/ovsnet/ovsagent"
	"github.com/ovsnet/ovsnet/ovsagent/docker"
)

// The Docker network and IPAM plugin: on with -plugin-socket.
func init() {
	var socket, engine, ctl, token, resolvers *string
	features = append(features, feature{
		name: "docker plugin",
		flags: func(fs *flag.FlagSet) {
			socket = fs.String("plugin-socket", "", `serve Docker's network and IPAM plugin here (Docker looks in /run/docker/plugins/ovsnet.sock); "" disables it`)
			engine = fs.String("docker-host", "unix:///run/docker.sock", "the host's Docker engine API socket")
			ctl = fs.String("controller", "http://127.0.0.1:8080", "the controller's REST API, for the plugin (http://host:port or unix:///path)")
			token = fs.String("token", "", "bearer token for the controller's REST API, when it requires one")
			resolvers = fs.String("docker-resolvers", "", "comma-separated DNS servers Docker's embedded resolver forwards to (containers on internal networks get host routes to them); empty: found as dockerd finds them")
		},
		setup: func(env *agentEnv) (build, error) {
			if *socket == "" {
				return nil, nil
			}
			var rs []netip.Addr
			for _, f := range strings.Split(*resolvers, ",") {
				if f = strings.TrimSpace(f); f == "" {
					continue
				}
				a, err := netip.ParseAddr(f)
				if err != nil {
					return nil, fmt.Errorf("-docker-resolvers: %w", err)
				}
				rs = append(rs, a)
			}
			env.Catalog = true
			api, err := client.New(*ctl, client.WithToken(*token), client.WithUserAgent("ovsnet-agent"))
			if err != nil {
				return nil, fmt.Errorf("-controller: %w", err)
			}
			return func(a *ovsagent.Agent) ovsagent.Extension {
				return docker.New(docker.Config{Socket: *socket, Engine: *engine, API: api, Plumber: env.Plumber,
					UnderlayMTU: env.Config.UnderlayMTU, StateDir: env.Config.StateDir, Resolvers: rs, Logger: env.Log}, a)
			}, nil
		},
	})
}
