package main

import (
	"errors"
	"flag"
	"fmt"
	"sync"

	"github.com/ovsnet/ovsnet/client"
	"github.com/ovsnet/ovsnet/internal/pki"
	"github.com/ovsnet/ovsnet/internal/secret"
	"github.com/ovsnet/ovsnet/ovsagent"
	"github.com/ovsnet/ovsnet/ovsagent/docker"
)

// The Docker network and IPAM plugin: on with -plugin-socket.
func init() {
	var socket, engine, ctl, tokenFile, tokenFlag, caFile, certFile, keyFile, resolvers *string
	features = append(features, feature{
		name: "docker plugin",
		flags: func(fs *flag.FlagSet) {
			socket = fs.String("plugin-socket", "", `serve Docker's network and IPAM plugin here (Docker looks in /run/docker/plugins/ovsnet.sock); "" disables it`)
			engine = fs.String("docker-host", "unix:///run/docker.sock", "the host's Docker engine API socket")
			ctl = fs.String("controller", "http://127.0.0.1:8080", "the controller's REST API, for the plugin (http(s)://host:port or unix:///path)")
			tokenFile = fs.String("token-file", "", "file holding the controller's bearer token, when it requires one (default: $OVSNET_TOKEN)")
			tokenFlag = fs.String("token", "", "refused: a token on the command line is visible in ps (use -token-file or OVSNET_TOKEN)")
			caFile = fs.String("controller-cacert", "", "CAs (PEM) to trust for an https -controller (default: the system's)")
			certFile = fs.String("controller-cert", "", "client certificate (PEM) for a controller that requires one (-tls-client-ca)")
			keyFile = fs.String("controller-key", "", "private key of -controller-cert")
			resolvers = fs.String("docker-resolvers", "", "comma-separated DNS servers Docker's embedded resolver forwards to (containers on internal networks get host routes to them); empty: found as dockerd finds them")
		},
		setup: func(env *agentEnv) (build, error) {
			if *tokenFlag != "" {
				return nil, errors.New("-token is refused: every user of this machine can read a command line (ps); put the token in a file only the agent reads (-token-file) or in OVSNET_TOKEN")
			}
			// Read (and taken out of the environment) even when the plugin
			// is off: no command the agent runs inherits it.
			token, err := secret.Token(*tokenFile, secret.EnvToken)
			if err != nil {
				return nil, err
			}
			// Built on first use: the CNI plugin's extension uses it too.
			env.Controller = sync.OnceValues(func() (*client.Client, error) {
				opts := []client.Option{client.WithToken(token), client.WithUserAgent("ovsnet-agent")}
				if *caFile != "" || *certFile != "" || *keyFile != "" {
					cfg, err := pki.ClientConfig(*caFile, *certFile, *keyFile)
					if err != nil {
						return nil, fmt.Errorf("-controller-cacert, -controller-cert, -controller-key: %w", err)
					}
					opts = append(opts, client.WithTLSConfig(cfg))
				}
				api, err := client.New(*ctl, opts...)
				if err != nil {
					return nil, fmt.Errorf("-controller: %w", err)
				}
				return api, nil
			})
			if *socket == "" {
				return nil, nil
			}
			rs, err := parseAddrs(*resolvers)
			if err != nil {
				return nil, fmt.Errorf("-docker-resolvers: %w", err)
			}
			env.Catalog = true
			api, err := env.Controller()
			if err != nil {
				return nil, err
			}
			return func(a *ovsagent.Agent) ovsagent.Extension {
				return docker.New(docker.Config{Socket: *socket, Engine: *engine, API: api, Plumber: env.Plumber,
					UnderlayMTU: env.Config.UnderlayMTU, StateDir: env.Config.StateDir, Resolvers: rs, Logger: env.Log}, a)
			}, nil
		},
	})
}
