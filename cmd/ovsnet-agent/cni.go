package main

import (
	"context"
	"errors"
	"flag"
	"path/filepath"

	"github.com/ovsnet/ovsnet/model"
	"github.com/ovsnet/ovsnet/ovsagent"
	"github.com/ovsnet/ovsnet/ovsagent/cni"
	"github.com/ovsnet/ovsnet/ovsagent/hostnet"
)

// The CNI plugin's side in the agent: on with -cni-socket (docs/cni.md).
func init() {
	var socket string
	features = append(features, feature{
		name: "cni",
		flags: func(fs *flag.FlagSet) {
			fs.StringVar(&socket, "cni-socket", "", `serve the ovsnet-cni plugin (Podman, containerd, CRI-O) here, e.g. `+cni.DefaultSocket+`; it reaches the controller through -controller and -token-file; "" disables it`)
		},
		setup: func(env *agentEnv) (build, error) {
			if socket == "" {
				return nil, nil
			}
			if !filepath.IsAbs(socket) {
				return nil, errors.New("-cni-socket must be an absolute path")
			}
			return func(a *ovsagent.Agent) ovsagent.Extension {
				if env.Controller == nil {
					return failed{"cni", errors.New("no controller client: the Docker plugin's feature, which owns -controller, is missing")}
				}
				api, err := env.Controller()
				if err != nil {
					return failed{"cni", err}
				}
				return cni.New(cni.Config{Socket: socket, StateDir: env.Config.StateDir, Logger: env.Log}, a, api, namespaces{env.Plumber})
			}, nil
		},
	})
}

// namespaces is the host kernel as the CNI extension sees it.
type namespaces struct{ pl ovsagent.Plumber }

func (namespaces) Check(path string) error { return hostnet.CheckContainerNetns(path) }

func (namespaces) Link(path, ifname string) (cni.Link, error) {
	l, err := hostnet.InspectContainerLink(path, ifname)
	if err != nil {
		return cni.Link{}, err
	}
	return cni.Link{MAC: model.HardwareAddr(l.MAC), Up: l.Up, MTU: l.MTU, Addrs: l.Addrs, Gateways: l.Gateways}, nil
}

func (n namespaces) RemoveEndpoint(portName string) error { return n.pl.RemoveEndpoint(portName) }

// failed is an extension that could not be built: it ends the agent with
// the reason at start.
type failed struct {
	name string
	err  error
}

func (f failed) Name() string              { return f.name }
func (f failed) Run(context.Context) error { return f.err }
