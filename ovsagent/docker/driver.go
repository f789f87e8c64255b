package docker

import (
	"context"
	"encoding/json"
	"fmt"
	"net/netip"
	"os"
	"time"

	"github.com/ovsnet/ovsnet/client"
	"github.com/ovsnet/ovsnet/model"
)

// Docker's NetworkDriver calls: networks, endpoints, joins and published ports.

func (p *Plugin) createNetwork(ctx context.Context, body []byte) (any, error) {
	var req struct {
		NetworkID string
		Options   map[string]json.RawMessage
		IPv4Data  []ipamData
		IPv6Data  []ipamData
	}
	if err := decodeBody(body, &req); err != nil {
		return nil, err
	}
	for _, d := range append(req.IPv4Data, req.IPv6Data...) {
		if d.AddressSpace != addressSpace {
			return nil, &pluginError{"ovsnet networks take their addresses from ovsnet: create the network with --ipam-driver ovsnet"}
		}
	}
	generic := map[string]string{}
	if raw, ok := req.Options[optGeneric]; ok {
		var g map[string]any
		_ = json.Unmarshal(raw, &g)
		for k, v := range g {
			generic[k] = fmt.Sprint(v)
		}
	}
	if _, ok := generic[model.OptEncrypted]; ok {
		return nil, &pluginError{model.EncryptionRefused}
	}
	if id := generic[optNetworkID]; id != "" {
		p.mu.Lock()
		p.nets[req.NetworkID] = id
		p.saveBindings()
		p.mu.Unlock()
		return nil, nil
	}
	pn := pendingNetwork{options: generic, created: time.Now()}
	if len(req.IPv4Data) > 0 {
		pn.v4 = req.IPv4Data[0]
	}
	if len(req.IPv6Data) > 0 {
		pn.v6, pn.ipv6 = req.IPv6Data[0], true
	}
	_ = json.Unmarshal(req.Options[optInternal], &pn.internal)
	p.mu.Lock()
	p.pending[req.NetworkID] = pn
	p.mu.Unlock()
	p.trigger() // registers it as soon as the engine has committed it
	return nil, nil
}

func (p *Plugin) deleteNetwork(ctx context.Context, body []byte) (any, error) {
	var req struct{ NetworkID string }
	if err := decodeBody(body, &req); err != nil {
		return nil, err
	}
	p.mu.Lock()
	id, known := p.nets[req.NetworkID]
	delete(p.pending, req.NetworkID)
	agentInitiated := p.removing[id]
	p.mu.Unlock()
	if !known || agentInitiated {
		return nil, nil
	}
	if _, inCluster := p.network(id); !inCluster {
		return nil, nil
	}
	// `docker network rm` on this host removes the network cluster-wide;
	// the controller refuses while any host has containers on it.
	if err := p.api.RemoveNetwork(ctx, id); err != nil && !client.IsNotFound(err) {
		return nil, apiError(err)
	}
	p.mu.Lock()
	delete(p.nets, req.NetworkID)
	p.saveBindings()
	p.mu.Unlock()
	p.log.Info("network removed from the cluster through Docker", "network", id)
	return nil, nil
}

// ---- endpoints ----

func (p *Plugin) createEndpoint(ctx context.Context, body []byte) (any, error) {
	var req struct {
		NetworkID  string
		EndpointID string
		Options    map[string]json.RawMessage
		Interface  *struct{ Address, AddressIPv6, MacAddress string }
	}
	if err := decodeBody(body, &req); err != nil {
		return nil, err
	}
	id, err := p.ovsnetID(ctx, req.NetworkID)
	if err != nil {
		return nil, err
	}
	if req.Interface == nil || req.Interface.Address == "" {
		return nil, &pluginError{"no address from ovsnet's IPAM: create the network with --ipam-driver ovsnet"}
	}
	v4, err := netip.ParsePrefix(req.Interface.Address)
	if err != nil {
		return nil, &pluginError{fmt.Sprintf("invalid address %q", req.Interface.Address)}
	}
	mac := req.Interface.MacAddress
	if mac == "" {
		mac = model.MACFromIPv4(v4.Addr()).String()
	}
	ipam := &model.EndpointIPAMConfig{IPv4Address: v4.Addr().String()}
	if req.Interface.AddressIPv6 != "" {
		v6, err := netip.ParsePrefix(req.Interface.AddressIPv6)
		if err != nil {
			return nil, &pluginError{fmt.Sprintf("invalid address %q", req.Interface.AddressIPv6)}
		}
		ipam.IPv6Address = v6.Addr().String()
	}
	_, err = p.api.Connect(ctx, id, model.NetworkConnectRequest{
		Container: placeholderPrefix + model.ShortID(req.EndpointID),
		EndpointConfig: &model.EndpointSettings{
			EndpointID: req.EndpointID, MacAddress: mac, IPAMConfig: ipam,
			DriverOpts: map[string]string{model.OptEndpointHost: p.a.HostName(), "ovsnet.docker": "true",
				"ovsnet.docker.container-id": req.EndpointID, "ovsnet.reserved": "true"},
		},
	})
	if err != nil {
		return nil, apiError(err)
	}
	if req.Interface.MacAddress == "" {
		return map[string]any{"Interface": map[string]string{"MacAddress": mac}}, nil
	}
	return nil, nil
}

func (p *Plugin) deleteEndpoint(ctx context.Context, body []byte) (any, error) {
	var req struct{ NetworkID, EndpointID string }
	if err := decodeBody(body, &req); err != nil {
		return nil, err
	}
	id, err := p.ovsnetID(ctx, req.NetworkID)
	if err != nil {
		return nil, nil // unknown network: nothing of ours to delete
	}
	if err := p.api.Disconnect(ctx, id, model.NetworkDisconnectRequest{Container: req.EndpointID, Force: true}); err != nil && !client.IsNotFound(err) {
		return nil, apiError(err)
	}
	return nil, nil
}

// endpoint finds a Docker endpoint in the host's state, waiting (bounded)
// for the state that includes it.
func (p *Plugin) endpoint(ctx context.Context, id string) (*model.Endpoint, *model.Network, error) {
	for {
		if st := p.a.State(); st != nil {
			for i := range st.Endpoints {
				if ep := &st.Endpoints[i]; ep.ID == id && ep.Host == p.a.HostName() {
					for j := range st.Networks {
						if st.Networks[j].ID == ep.NetworkID {
							return ep, &st.Networks[j], nil
						}
					}
				}
			}
		}
		select {
		case <-ctx.Done():
			return nil, nil, &pluginError{fmt.Sprintf("endpoint %s has not reached host %s", model.ShortID(id), p.a.HostName())}
		case <-time.After(5 * time.Millisecond):
		}
	}
}

func (p *Plugin) join(ctx context.Context, body []byte) (any, error) {
	var req struct{ NetworkID, EndpointID, SandboxKey string }
	if err := decodeBody(body, &req); err != nil {
		return nil, err
	}
	ep, n, err := p.endpoint(ctx, req.EndpointID)
	if err != nil {
		return nil, err
	}
	peer, err := p.pl.EnsureDockerVeth(ep, n.EndpointMTU(p.cfg.UnderlayMTU))
	if err != nil {
		return nil, err
	}
	// Answer once the port and its flows are in place, so the container's
	// first packet already finds its way.
	p.a.Trigger()
	if err := p.a.WaitReady(ctx, ep.ID); err != nil {
		return nil, &pluginError{fmt.Sprintf("endpoint %s is not ready on host %s: %v", model.ShortID(ep.ID), p.a.HostName(), err)}
	}
	// And until the other hosts of the network know it, so that answers to
	// the container's first packets find their way back.
	if err := p.api.WaitReachable(ctx, ep.ID, 3*time.Second); err != nil {
		p.log.Warn("endpoint ready here, not yet everywhere", "endpoint", model.ShortID(ep.ID), "err", err)
	}
	res := map[string]any{"InterfaceName": map[string]string{"SrcName": peer, "DstPrefix": "eth"}}
	if n.HasGateway() {
		res["Gateway"] = n.Gateway.String()
		if ep.IPv6.IsValid() && n.Gateway6.IsValid() {
			res["GatewayIPv6"] = n.Gateway6.String()
		}
	} else if routes := p.resolverRoutes(ep, n); len(routes) > 0 {
		res["StaticRoutes"] = routes
	}
	return res, nil
}

func (p *Plugin) leave(ctx context.Context, body []byte) (any, error) {
	var req struct{ NetworkID, EndpointID string }
	if err := decodeBody(body, &req); err != nil {
		return nil, err
	}
	if model.IsID(req.EndpointID) {
		ep := model.Endpoint{ID: req.EndpointID}
		if err := p.pl.RemoveEndpoint(ep.PortName()); err != nil {
			p.log.Warn("removing a left endpoint's veth", "endpoint", model.ShortID(req.EndpointID), "err", err)
		}
		p.a.Trigger()
	}
	return nil, nil
}

// portMap is one entry of Docker's com.docker.network.portmap option.
type portMap struct {
	Proto       int    `json:"Proto"` // 6 tcp, 17 udp
	IP          string `json:"IP"`
	Port        uint16 `json:"Port"`
	HostIP      string `json:"HostIP"`
	HostPort    uint16 `json:"HostPort"`
	HostPortEnd uint16 `json:"HostPortEnd"`
}

func (p *Plugin) programExternal(ctx context.Context, body []byte) (any, error) {
	var req struct {
		NetworkID, EndpointID string
		Options               map[string]json.RawMessage
	}
	if err := decodeBody(body, &req); err != nil {
		return nil, err
	}
	var maps []portMap
	if raw, ok := req.Options[optPortMap]; ok {
		if err := json.Unmarshal(raw, &maps); err != nil {
			return nil, &pluginError{fmt.Sprintf("invalid port map: %v", err)}
		}
	}
	published := []model.PortMapping{}
	for _, m := range maps {
		proto := map[int]string{6: "tcp", 17: "udp"}[m.Proto]
		if proto == "" {
			return nil, &pluginError{fmt.Sprintf("protocol %d cannot be published", m.Proto)}
		}
		if m.HostPort == 0 {
			return nil, &pluginError{fmt.Sprintf("publishing %s/%d needs an explicit host port (-p HOSTPORT:%d)", proto, m.Port, m.Port)}
		}
		if m.HostPortEnd > m.HostPort {
			return nil, &pluginError{"host port ranges are not supported"}
		}
		published = append(published, model.PortMapping{Proto: proto, Port: m.Port, HostPort: m.HostPort})
	}
	if len(published) == 0 {
		return nil, nil
	}
	if _, err := p.api.UpdateEndpoint(ctx, req.EndpointID, model.EndpointUpdate{Published: &published}); err != nil {
		return nil, apiError(err)
	}
	return nil, nil
}

func (p *Plugin) revokeExternal(ctx context.Context, body []byte) (any, error) {
	var req struct{ NetworkID, EndpointID string }
	if err := decodeBody(body, &req); err != nil {
		return nil, err
	}
	none := []model.PortMapping{}
	if _, err := p.api.UpdateEndpoint(ctx, req.EndpointID, model.EndpointUpdate{Published: &none}); err != nil && !client.IsNotFound(err) {
		return nil, apiError(err)
	}
	return nil, nil
}

func newRandomID() string { return fmt.Sprintf("%d-%d", time.Now().UnixNano(), os.Getpid()) }
