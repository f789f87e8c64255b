package main

import "github.com/ovsnet/ovsnet/internal/flaghelp"

// help is ovsnet-controller -h: its flags by area. A new flag goes in the
// group it belongs to (TestHelpGroupsEveryFlag fails otherwise), and
// docs/cli.md is regenerated from this (go generate ./cmd/...).
var help = flaghelp.Help{
	Name:    "ovsnet-controller",
	Purpose: "one replica of ovsnet's control plane: the REST API (Docker's network API and ovsnet's own), the web UI, and, while it leads, the compiler of every host's state",
	Usage:   "ovsnet-controller [flags]",
	Groups: []flaghelp.Group{
		{Title: "API listeners", Flags: []string{"listen", "advertise"}},
		{Title: "Access (docs/security.md)", Note: "A TCP listener on a non-loopback address needs TLS and a token or client certificates, or -insecure.",
			Flags: []string{"token-file", "read-token-file", "token", "tls-cert", "tls-key", "tls-client-ca", "tls-ca", "insecure"}},
		{Title: "Cluster state (Consul)", Flags: []string{"consul", "prefix", "id"}},
		{Title: "Hosts and endpoints", Flags: []string{"ready-timeout", "host-grace", "reap-dead-hosts"}},
		{Title: "Process", Flags: []string{"shutdown-grace", "log-level"}},
	},
	Env: map[string]string{"consul": "CONSUL_HTTP_ADDR"},
	Environment: []string{
		"OVSNET_TOKEN        the bearer token itself, when -token-file is not given (read once, then removed from the environment)",
		"OVSNET_READ_TOKEN   the read-only token itself, when -read-token-file is not given (likewise)",
		"CONSUL_HTTP_TOKEN   Consul ACL token (read by the Consul client; also CONSUL_HTTP_TOKEN_FILE)",
		"CONSUL_CACERT, CONSUL_CLIENT_CERT, CONSUL_CLIENT_KEY, CONSUL_HTTP_SSL   Consul over TLS (read by the Consul client)",
	},
	Footer: "Install and operate: docs/install.md, docs/troubleshooting.md; every flag: docs/cli.md.",
}
