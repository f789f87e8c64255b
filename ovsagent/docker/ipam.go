package docker

import (
	"context"
	"fmt"
	"net/netip"
	"strings"
	"time"

	"github.com/ovsnet/ovsnet/client"
	"github.com/ovsnet/ovsnet/model"
)

// Docker's IpamDriver calls: pools and addresses come from the controller.

func (p *Plugin) requestPool(ctx context.Context, body []byte) (any, error) {
	var req struct {
		AddressSpace string
		Pool         string
		SubPool      string
		Options      map[string]string
		V6           bool
	}
	if err := decodeBody(body, &req); err != nil {
		return nil, err
	}
	family := "v4"
	if req.V6 {
		family = "v6"
	}
	if id := req.Options[optNetworkID]; id != "" {
		n, err := p.waitNetwork(ctx, id)
		if err != nil {
			return nil, err
		}
		pool := n.Subnet
		if req.V6 {
			pool = n.Subnet6
		}
		if req.Pool != "" && req.Pool != pool.String() {
			return nil, &pluginError{fmt.Sprintf("network %s has subnet %s, not %s", n.Name, pool, req.Pool)}
		}
		return map[string]any{"PoolID": "ovsnet:" + id + ":" + family, "Pool": pool.String(), "Data": map[string]string{}}, nil
	}
	// A network a user creates in this engine: ovsnet allocates its pool
	// now and registers the network under its name right after.
	pool := req.Pool
	if pool == "" {
		if req.V6 {
			pool = model.DefaultSubnet6(newRandomID()).String()
		} else {
			pfx, err := p.api.NextPool(ctx, model.DriverOverlay, p.pendingPools()...)
			if err != nil {
				return nil, apiError(err)
			}
			pool = pfx.String()
		}
	}
	if _, err := netip.ParsePrefix(pool); err != nil {
		return nil, &pluginError{fmt.Sprintf("invalid pool %q", pool)}
	}
	id := pendingPoolID(family, pool, req.SubPool)
	return map[string]any{"PoolID": id, "Pool": pool, "Data": map[string]string{}}, nil
}

// pendingPools are the IPv4 pools of networks created in this engine and
// not registered with the controller yet: the next default pool must not be
// one of them (`docker network create --subnet 10.0.1.0/24 a; docker
// network create b` in quick succession).
func (p *Plugin) pendingPools() []netip.Prefix {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []netip.Prefix
	for _, pn := range p.pending {
		if pfx, err := netip.ParsePrefix(pn.v4.Pool); err == nil {
			out = append(out, pfx)
		}
	}
	return out
}

// Pool ids: "ovsnet:<network id>:v4|v6" for a network ovsnet knows, and
// "pending:v4|v6:<pool>[;<sub-pool>]" for one a user is creating in Docker.
func pendingPoolID(family, pool, subPool string) string {
	id := "pending:" + family + ":" + pool
	if subPool != "" {
		id += ";" + subPool
	}
	return id
}

// poolNetwork resolves a pool id to the ovsnet network and the pool.
func (p *Plugin) poolNetwork(ctx context.Context, poolID string) (string, bool, error) {
	parts := strings.SplitN(poolID, ":", 3)
	switch {
	case len(parts) == 3 && parts[0] == "ovsnet":
		return parts[1], parts[2] == "v6", nil
	case len(parts) == 3 && parts[0] == "pending":
		for {
			p.mu.Lock()
			id, ok := p.pools[poolID]
			p.mu.Unlock()
			if ok {
				return id, parts[1] == "v6", nil
			}
			p.trigger()
			select {
			case <-ctx.Done():
				return "", false, &pluginError{"the network is still being registered with ovsnet; try again in a moment"}
			case <-time.After(20 * time.Millisecond):
			}
		}
	}
	return "", false, &pluginError{fmt.Sprintf("unknown pool %q", poolID)}
}

func (p *Plugin) requestAddress(ctx context.Context, body []byte) (any, error) {
	var req struct {
		PoolID  string
		Address string
		Options map[string]string
	}
	if err := decodeBody(body, &req); err != nil {
		return nil, err
	}
	if req.Options[optAddrType] == gatewayType {
		return p.gatewayAddress(ctx, req.PoolID, req.Address)
	}
	id, v6, err := p.poolNetwork(ctx, req.PoolID)
	if err != nil {
		return nil, err
	}
	addr, err := p.api.Reserve(ctx, id, model.ReserveRequest{Address: req.Address, IPv6: v6, Host: p.a.HostName()})
	if err != nil {
		return nil, apiError(err)
	}
	return map[string]any{"Address": addr.String(), "Data": map[string]string{}}, nil
}

// gatewayAddress answers Docker's request for the network's gateway.
func (p *Plugin) gatewayAddress(ctx context.Context, poolID, preferred string) (any, error) {
	parts := strings.SplitN(poolID, ":", 3)
	if len(parts) == 3 && parts[0] == "pending" {
		cidr, _, _ := strings.Cut(parts[2], ";")
		pool, err := netip.ParsePrefix(cidr)
		if err != nil {
			return nil, &pluginError{fmt.Sprintf("unknown pool %q", poolID)}
		}
		gw := model.FirstHost(pool)
		if preferred != "" {
			if gw, err = netip.ParseAddr(preferred); err != nil || !pool.Contains(gw) {
				return nil, &pluginError{fmt.Sprintf("gateway %s is not in subnet %s", preferred, pool)}
			}
		}
		return map[string]any{"Address": netip.PrefixFrom(gw, pool.Bits()).String()}, nil
	}
	id, v6, err := p.poolNetwork(ctx, poolID)
	if err != nil {
		return nil, err
	}
	n, err := p.waitNetwork(ctx, id)
	if err != nil {
		return nil, err
	}
	gw := netip.PrefixFrom(n.Gateway, n.Subnet.Bits())
	if v6 {
		gw = netip.PrefixFrom(n.Gateway6, n.Subnet6.Bits())
	}
	return map[string]any{"Address": gw.String()}, nil
}

func (p *Plugin) releaseAddress(ctx context.Context, body []byte) (any, error) {
	var req struct{ PoolID, Address string }
	if err := decodeBody(body, &req); err != nil {
		return nil, err
	}
	if strings.HasPrefix(req.PoolID, "pending:") {
		return nil, nil // a gateway of a network that was never registered
	}
	id, _, err := p.poolNetwork(ctx, req.PoolID)
	if err != nil {
		return nil, nil // unknown: nothing to release
	}
	a, err := netip.ParseAddr(req.Address)
	if err != nil {
		return nil, nil
	}
	if err := p.api.Release(ctx, id, a); err != nil && !client.IsNotFound(err) {
		return nil, apiError(err)
	}
	return nil, nil
}
