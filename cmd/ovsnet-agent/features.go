package main

import (
	"flag"
	"log/slog"

	"github.com/ovsnet/ovsnet/client"
	"github.com/ovsnet/ovsnet/internal/store"
	"github.com/ovsnet/ovsnet/ovsagent"
)

// A feature is an optional part of the agent (Docker plugin, DNS, trace,
// metrics) with its own flags. Each lives in its own file and registers
// itself from init, so features never edit main.go.
type feature struct {
	name string
	// flags registers the feature's flags.
	flags func(fs *flag.FlagSet)
	// setup runs after flag parsing and before the agent is built: it checks
	// the feature's flags and may adjust env (the agent's configuration,
	// Catalog). It returns what builds the feature's extension once the
	// agent exists (nil: disabled).
	setup func(env *agentEnv) (build, error)
}

// build makes a feature's extension for agent a.
type build func(a *ovsagent.Agent) ovsagent.Extension

var features []feature

// agentEnv is what features get to know about the agent being started.
type agentEnv struct {
	Log *slog.Logger
	// Config is the agent's configuration; features may adjust it.
	Config *ovsagent.Config
	// Store is the agent's link to Consul.
	Store *store.Store
	// Plumber is the host's plumbing, the one the agent uses.
	Plumber ovsagent.Plumber
	// Catalog is set by features that need every network (Docker, DNS).
	Catalog bool
	// OVSRundir is the OVS run directory ("" for the default), for
	// ovs-appctl.
	OVSRundir string
	// Controller is the controller's REST client, from the -controller
	// flags; set by the Docker plugin's setup (which owns those flags), so
	// other features call it from their build, after every setup ran.
	Controller func() (*client.Client, error)
}
