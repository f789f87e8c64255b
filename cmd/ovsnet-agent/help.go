package main

import (
	"flag"

	"github.com/ovsnet/ovsnet/internal/flaghelp"
)

// help is ovsnet-agent -h: its flags by area. Each feature's flags form a
// group of their own, titled by the feature (registerFeatureFlags); a new
// flag of main.go goes in one of the groups below
// (TestHelpGroupsEveryFlag fails otherwise), and docs/cli.md is
// regenerated from this (go generate ./cmd/...).
var help = flaghelp.Help{
	Name:    "ovsnet-agent",
	Purpose: "ovsnet's agent, one per host that runs containers: it makes this host's Open vSwitch match the state the controller compiled for it, plumbs containers, and reports through Consul",
	Usage:   "ovsnet-agent -tunnel-ip ADDR [flags]",
	Groups: []flaghelp.Group{
		{Title: "This host", Flags: []string{"host", "tunnel-ip", "underlay-mtu"}},
		{Title: "Open vSwitch", Flags: []string{"ovsdb", "ovs-rundir", "bridge", "datapath-type"}},
		{Title: "Cluster state (Consul)", Flags: []string{"consul", "prefix"}},
		{Title: "Process", Flags: []string{"state-dir", "log-level"}},
	},
	Required: []string{"tunnel-ip"},
	Env:      map[string]string{"consul": "CONSUL_HTTP_ADDR"},
	Environment: []string{
		"OVSNET_TOKEN        the controller's bearer token itself, when -token-file is not given (read once, then removed from the environment)",
		"CONSUL_HTTP_TOKEN   Consul ACL token (read by the Consul client; also CONSUL_HTTP_TOKEN_FILE)",
		"CONSUL_CACERT, CONSUL_CLIENT_CERT, CONSUL_CLIENT_KEY, CONSUL_HTTP_SSL   Consul over TLS (read by the Consul client)",
	},
	Footer: "Install and operate: docs/install.md, docs/troubleshooting.md; every flag: docs/cli.md.",
}

// featureTitles are the help groups of the features, by feature name.
var featureTitles = map[string]string{
	"dns":           "DNS for containers (docs/dns.md)",
	"docker plugin": "Docker network and IPAM plugin (docs/docker.md)",
	"trace":         "Path traces",
	"cni":           "CNI plugin for Podman, containerd, CRI-O (docs/cni.md)",
	"metrics":       "Metrics and health",
}

// registerFeatureFlags registers every feature's flags on fs, each
// feature's flags becoming one group of the help.
func registerFeatureFlags(fs *flag.FlagSet) {
	for _, f := range features {
		before := map[string]bool{}
		fs.VisitAll(func(fl *flag.Flag) { before[fl.Name] = true })
		f.flags(fs)
		title := featureTitles[f.name]
		if title == "" {
			title = "Feature " + f.name
		}
		g := flaghelp.Group{Title: title}
		fs.VisitAll(func(fl *flag.Flag) {
			if !before[fl.Name] {
				g.Flags = append(g.Flags, fl.Name)
			}
		})
		help.Groups = append(help.Groups, g)
	}
}
