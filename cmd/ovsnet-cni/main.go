// Command ovsnet-cni is ovsnet's CNI plugin: container runtimes (Podman,
// containerd, CRI-O) execute it to attach a container's network namespace
// to an ovsnet network. It asks the host's ovsnet agent, over its
// -cni-socket, to do the work: addresses come from the controller's IPAM,
// so containers of any runtime on any host share one network.
//
// Install it where the runtime looks for plugins (/usr/lib/cni,
// /opt/cni/bin) with a conflist naming it ("type": "ovsnet-cni"); see
// docs/cni.md.
package main

import (
	"time"

	"github.com/containernetworking/cni/pkg/skel"
	"github.com/containernetworking/cni/pkg/version"

	ovsversion "github.com/ovsnet/ovsnet/internal/version"
)

func main() {
	// An ADD waits for the controller and the plumbing; the agent bounds
	// it at two minutes.
	p := plugin{timeout: 150 * time.Second}
	skel.PluginMainFuncs(p.funcs(), version.All, about(ovsversion.Version))
}
