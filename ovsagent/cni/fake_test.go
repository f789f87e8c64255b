package cni

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"strings"
	"sync"

	"github.com/ovsnet/ovsnet/client"
	"github.com/ovsnet/ovsnet/model"
)

// Fakes of what the extension talks to: an agent, a controller with
// IPAM, and a kernel whose container interfaces are what the fake
// controller "plumbed".

type fakeAgent struct {
	host    string
	noState bool
	// notReady makes WaitReady fail with this error.
	notReady error
	triggers int
}

func (a *fakeAgent) HostName() string { return a.host }
func (a *fakeAgent) State() *model.HostState {
	if a.noState {
		return nil
	}
	return &model.HostState{Host: a.host}
}
func (a *fakeAgent) WaitReady(ctx context.Context, id string) error { return a.notReady }
func (a *fakeAgent) Trigger()                                       { a.triggers++ }

type fakeController struct {
	mu       sync.Mutex
	nets     map[string]model.NetworkResource // by name
	eps      map[string]model.EndpointView    // by id
	next     int
	down     bool
	connects []model.NetworkConnectRequest
	discs    []string
	// onConnect, when set, fails connects with it; onUpdate, when set,
	// is called (without the lock) for an update's error.
	onConnect error
	onUpdate  func() error
	kernel    *fakeKernel
}

func newFakeController(k *fakeKernel) *fakeController {
	return &fakeController{nets: map[string]model.NetworkResource{}, eps: map[string]model.EndpointView{}, kernel: k}
}

func (c *fakeController) addNetwork(name, subnet, gw string, internal bool) {
	id := fmt.Sprintf("%064x", len(c.nets)+1)
	c.nets[name] = model.NetworkResource{Name: name, ID: id, Internal: internal,
		IPAM: model.IPAM{Driver: "ovsnet", Config: []model.IPAMConfig{{Subnet: subnet, Gateway: gw}}}}
}

var errDown = errors.New("dial unix /run/ctl.sock: connect: connection refused")

func (c *fakeController) find(ref string) (model.NetworkResource, bool) {
	for _, n := range c.nets {
		if n.Name == ref || n.ID == ref {
			return n, true
		}
	}
	return model.NetworkResource{}, false
}

func (c *fakeController) InspectNetwork(_ context.Context, ref string) (model.NetworkResource, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.down {
		return model.NetworkResource{}, errDown
	}
	n, ok := c.find(ref)
	if !ok {
		return n, &client.APIError{StatusCode: http.StatusNotFound, Message: "network " + ref + " not found"}
	}
	return n, nil
}

func (c *fakeController) Connect(_ context.Context, ref string, req model.NetworkConnectRequest) (model.EndpointView, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.down {
		return model.EndpointView{}, errDown
	}
	c.connects = append(c.connects, req)
	if c.onConnect != nil {
		return model.EndpointView{}, c.onConnect
	}
	n, ok := c.find(ref)
	if !ok {
		return model.EndpointView{}, &client.APIError{StatusCode: http.StatusNotFound, Message: "network " + ref + " not found"}
	}
	opts := req.EndpointConfig.DriverOpts
	for _, ep := range c.eps {
		if ep.NetworkID == n.ID && ep.ContainerID == opts["ovsnet.docker.container-id"] {
			return model.EndpointView{}, &client.APIError{StatusCode: http.StatusForbidden, Message: "endpoint with name " + req.Container + " already exists in network " + n.Name}
		}
	}
	subnet := netip.MustParsePrefix(n.IPAM.Config[0].Subnet)
	c.next++
	addr := subnet.Addr().Next()
	for i := 0; i < c.next; i++ {
		addr = addr.Next()
	}
	if ip := req.EndpointConfig.IPAMConfig; ip != nil && ip.IPv4Address != "" {
		addr = netip.MustParseAddr(ip.IPv4Address)
		for _, ep := range c.eps {
			if ep.IPv4.Addr() == addr {
				return model.EndpointView{}, &client.APIError{StatusCode: http.StatusConflict, Message: "Address already in use: " + addr.String()}
			}
		}
	}
	mac := model.MACFromIPv4(addr)
	if req.EndpointConfig.MacAddress != "" {
		mac, _ = model.ParseMAC(req.EndpointConfig.MacAddress)
	}
	ep := model.EndpointView{NetworkName: n.Name, Endpoint: model.Endpoint{
		ID: fmt.Sprintf("%04x", c.next) + strings.Repeat("e", 60), NetworkID: n.ID, Host: opts[model.OptEndpointHost],
		ContainerID: opts["ovsnet.docker.container-id"], ContainerName: req.Container,
		Netns: opts[model.OptEndpointNetns], IfName: opts[model.OptEndpointIfName], MAC: mac,
		IPv4: netip.PrefixFrom(addr, subnet.Bits()), Aliases: req.EndpointConfig.Aliases,
	}}
	c.eps[ep.ID] = ep
	var gws []netip.Addr
	if !n.Internal {
		gws = []netip.Addr{netip.MustParseAddr(n.IPAM.Config[0].Gateway)}
	}
	c.kernel.plumb(ep.Netns, ep.IfName, ep.PortName(), Link{MAC: mac, Up: true, MTU: 1450, Addrs: []netip.Prefix{ep.IPv4}, Gateways: gws})
	return ep, nil
}

func (c *fakeController) Disconnect(_ context.Context, ref string, req model.NetworkDisconnectRequest) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.down {
		return errDown
	}
	c.discs = append(c.discs, req.Container)
	if _, ok := c.eps[req.Container]; !ok {
		return &client.APIError{StatusCode: http.StatusNotFound, Message: "container " + req.Container + " is not connected"}
	}
	delete(c.eps, req.Container)
	return nil
}

// UpdateEndpoint sets published ports, refusing a host port another
// endpoint on the same host publishes, as the controller does.
func (c *fakeController) UpdateEndpoint(_ context.Context, id string, u model.EndpointUpdate) (model.EndpointView, error) {
	if c.onUpdate != nil {
		if err := c.onUpdate(); err != nil {
			return model.EndpointView{}, err
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.down {
		return model.EndpointView{}, errDown
	}
	ep, ok := c.eps[id]
	if !ok {
		return ep, &client.APIError{StatusCode: http.StatusNotFound, Message: "endpoint " + id + " not found"}
	}
	if u.Published != nil {
		for _, other := range c.eps {
			for _, p := range other.Published {
				for _, q := range *u.Published {
					if other.ID != id && other.Host == ep.Host && p.Proto == q.Proto && p.HostPort == q.HostPort {
						return ep, &client.APIError{StatusCode: http.StatusConflict, Message: fmt.Sprintf(
							"host port %s/%d on %s is already published by container %s on network %s", p.Proto, p.HostPort, ep.Host, other.ContainerName, other.NetworkName)}
					}
				}
			}
		}
		ep.Published = *u.Published
	}
	c.eps[id] = ep
	return ep, nil
}

func (c *fakeController) ListEndpoints(_ context.Context, ref, host string) ([]model.EndpointView, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.down {
		return nil, errDown
	}
	n, ok := c.find(ref)
	if !ok {
		return nil, &client.APIError{StatusCode: http.StatusNotFound, Message: "network " + ref + " not found"}
	}
	var out []model.EndpointView
	for _, ep := range c.eps {
		if ep.NetworkID == n.ID && (host == "" || ep.Host == host) {
			out = append(out, ep)
		}
	}
	return out, nil
}

// fakeKernel holds the containers' interfaces, by netns and name, and the
// host ends of their veths.
type fakeKernel struct {
	mu    sync.Mutex
	links map[string]Link   // netns/ifname
	veths map[string]string // port name -> netns/ifname
	// refuse makes Check fail for these paths.
	refuse map[string]error
}

func newFakeKernel() *fakeKernel {
	return &fakeKernel{links: map[string]Link{}, veths: map[string]string{}, refuse: map[string]error{}}
}

func (k *fakeKernel) plumb(netns, ifname, port string, l Link) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.links[netns+"/"+ifname] = l
	k.veths[port] = netns + "/" + ifname
}

func (k *fakeKernel) Check(path string) error {
	if err := model.CheckNetnsPath(path); err != nil {
		return err
	}
	if err := k.refuse[path]; err != nil {
		return err
	}
	return nil
}

func (k *fakeKernel) Link(path, ifname string) (Link, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	l, ok := k.links[path+"/"+ifname]
	if !ok {
		return Link{}, fmt.Errorf("%s: no such interface in the container", ifname)
	}
	return l, nil
}

func (k *fakeKernel) RemoveEndpoint(port string) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	if key, ok := k.veths[port]; ok {
		delete(k.links, key)
		delete(k.veths, port)
	}
	return nil
}

func (k *fakeKernel) set(path, ifname string, f func(*Link)) {
	k.mu.Lock()
	defer k.mu.Unlock()
	l := k.links[path+"/"+ifname]
	f(&l)
	k.links[path+"/"+ifname] = l
}

func hasAll(s string, parts ...string) bool {
	for _, p := range parts {
		if !strings.Contains(s, p) {
			return false
		}
	}
	return true
}
