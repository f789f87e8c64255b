package main

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/containernetworking/cni/pkg/skel"
	"github.com/containernetworking/cni/pkg/types"
	current "github.com/containernetworking/cni/pkg/types/100"
	"github.com/containernetworking/cni/pkg/version"

	"github.com/ovsnet/ovsnet/ovsagent/cni"
)

// netConf is the plugin's configuration, one entry of a conflist's
// "plugins" (docs/cni.md).
type netConf struct {
	types.PluginConf
	// Network is the ovsnet network; default: the configuration's name.
	Network string `json:"network,omitempty"`
	// Socket is the agent's CNI socket; default cni.DefaultSocket.
	Socket string `json:"socket,omitempty"`
	// RuntimeConfig carries the capabilities the runtime fills in:
	// "ips", "mac", "aliases" (Podman's form: by network name) and
	// "portMappings".
	RuntimeConfig struct {
		IPs          []string            `json:"ips,omitempty"`
		MAC          string              `json:"mac,omitempty"`
		Aliases      map[string][]string `json:"aliases,omitempty"`
		PortMappings []cni.PortMapping   `json:"portMappings,omitempty"`
	} `json:"runtimeConfig,omitempty"`
}

// cniArgs are the CNI_ARGS the plugin understands: the container's name
// (K8S_POD_NAME, which Podman sets to the container's name too) and
// static IP and MAC requests.
type cniArgs struct {
	types.CommonArgs
	K8S_POD_NAME               types.UnmarshallableString //nolint:revive // CNI's own names
	K8S_POD_NAMESPACE          types.UnmarshallableString //nolint:revive
	K8S_POD_INFRA_CONTAINER_ID types.UnmarshallableString //nolint:revive
	K8S_POD_UID                types.UnmarshallableString //nolint:revive
	IP                         types.UnmarshallableString
	MAC                        types.UnmarshallableString
}

func loadConf(data []byte) (*netConf, error) {
	c := &netConf{}
	if err := json.Unmarshal(data, c); err != nil {
		return nil, &types.Error{Code: types.ErrDecodingFailure, Msg: "the network configuration is not valid JSON", Details: err.Error()}
	}
	if c.IPAM.Type != "" {
		return nil, cni.Errorf(types.ErrUnsupportedField, `"ipam": {"type": %q}: ovsnet-cni takes addresses from ovsnet's own IPAM (the controller); remove "ipam"`, c.IPAM.Type)
	}
	if c.Network == "" {
		c.Network = c.Name
	}
	if c.Socket == "" {
		c.Socket = cni.DefaultSocket
	} else if !filepath.IsAbs(c.Socket) {
		return nil, cni.Errorf(types.ErrInvalidNetworkConfig, `"socket": %q is not an absolute path (the agent's -cni-socket, e.g. %s)`, c.Socket, cni.DefaultSocket)
	}
	if err := version.ParsePrevResult(&c.PluginConf); err != nil {
		return nil, &types.Error{Code: types.ErrDecodingFailure, Msg: "prevResult", Details: err.Error()}
	}
	return c, nil
}

// plugin runs the operations; timeout bounds each call to the agent.
type plugin struct {
	timeout time.Duration
}

func (p plugin) funcs() skel.CNIFuncs {
	return skel.CNIFuncs{Add: p.add, Del: p.del, Check: p.check, Status: p.status, GC: p.gc}
}

// request reads the configuration and the runtime's arguments.
func request(args *skel.CmdArgs) (*netConf, *cni.Request, error) {
	c, err := loadConf(args.StdinData)
	if err != nil {
		return nil, nil, err
	}
	var a cniArgs
	if err := types.LoadArgs(args.Args, &a); err != nil {
		return nil, nil, cni.Errorf(types.ErrInvalidEnvironmentVariables, "CNI_ARGS: %v", err)
	}
	r := &cni.Request{
		ContainerID: args.ContainerID, Netns: args.Netns, IfName: args.IfName, Network: c.Network,
		Name: string(a.K8S_POD_NAME), IPs: c.RuntimeConfig.IPs, MAC: c.RuntimeConfig.MAC,
		Aliases: c.RuntimeConfig.Aliases[c.Name], PortMappings: c.RuntimeConfig.PortMappings,
	}
	if a.IP != "" {
		r.IPs = append(r.IPs, strings.Split(string(a.IP), ",")...)
	}
	if r.MAC == "" {
		r.MAC = string(a.MAC)
	}
	return c, r, nil
}

func (p plugin) call(c *netConf, op string, r *cni.Request, out any, unreachable uint) error {
	ctx, cancel := context.WithTimeout(context.Background(), p.timeout)
	defer cancel()
	return cni.NewClient(c.Socket, p.timeout).Do(ctx, op, r, out, unreachable)
}

func (p plugin) add(args *skel.CmdArgs) error {
	c, r, err := request(args)
	if err != nil {
		return err
	}
	var res current.Result
	if err := p.call(c, cni.OpAdd, r, &res, types.ErrTryAgainLater); err != nil {
		return err
	}
	out, err := chain(c.PrevResult, &res)
	if err != nil {
		return err
	}
	return types.PrintResult(out, c.CNIVersion)
}

// chain appends this plugin's result to an earlier plugin's (the spec:
// pass prevResult through, modified).
func chain(prev types.Result, res *current.Result) (*current.Result, error) {
	if prev == nil {
		return res, nil
	}
	p, err := current.NewResultFromResult(prev)
	if err != nil {
		return nil, &types.Error{Code: types.ErrDecodingFailure, Msg: "prevResult", Details: err.Error()}
	}
	off := len(p.Interfaces)
	p.Interfaces = append(p.Interfaces, res.Interfaces...)
	for _, ip := range res.IPs {
		if ip.Interface != nil {
			ip.Interface = current.Int(*ip.Interface + off)
		}
		p.IPs = append(p.IPs, ip)
	}
	p.Routes = append(p.Routes, res.Routes...)
	if p.DNS.IsEmpty() {
		p.DNS = res.DNS
	}
	return p, nil
}

func (p plugin) del(args *skel.CmdArgs) error {
	c, r, err := request(args)
	if err != nil {
		return err
	}
	return p.call(c, cni.OpDel, r, nil, types.ErrTryAgainLater)
}

func (p plugin) check(args *skel.CmdArgs) error {
	c, r, err := request(args)
	if err != nil {
		return err
	}
	if c.PrevResult == nil {
		return cni.Errorf(types.ErrInvalidNetworkConfig, "CHECK needs the runtime's prevResult of the ADD")
	}
	if r.PrevResult, err = current.NewResultFromResult(c.PrevResult); err != nil {
		return &types.Error{Code: types.ErrDecodingFailure, Msg: "prevResult", Details: err.Error()}
	}
	return p.call(c, cni.OpCheck, r, nil, types.ErrTryAgainLater)
}

func (p plugin) status(args *skel.CmdArgs) error {
	c, err := loadConf(args.StdinData)
	if err != nil {
		return err
	}
	return p.call(c, cni.OpStatus, &cni.Request{Network: c.Network}, nil, cni.ErrNotAvailable)
}

func (p plugin) gc(args *skel.CmdArgs) error {
	c, err := loadConf(args.StdinData)
	if err != nil {
		return err
	}
	valid := c.ValidAttachments
	if valid == nil {
		valid = []types.GCAttachment{}
	}
	return p.call(c, cni.OpGC, &cni.Request{Network: c.Network, Valid: valid}, nil, types.ErrTryAgainLater)
}

func about(v string) string {
	return fmt.Sprintf("ovsnet-cni %s: attaches containers to ovsnet networks through this host's ovsnet agent (docs/cni.md)", v)
}
