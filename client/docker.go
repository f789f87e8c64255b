package client

import (
	"context"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"time"

	"github.com/ovsnet/ovsnet/model"
)

// These calls serve the agent's Docker plugin.

// Reserve takes an address on a network ahead of its endpoint.
func (c *Client) Reserve(ctx context.Context, network string, req model.ReserveRequest) (netip.Prefix, error) {
	var out model.ReserveResponse
	if err := c.do(ctx, request{method: http.MethodPost, path: "/ovsnet/v1/networks/" + escape(network) + "/addresses", body: req}, &out); err != nil {
		return netip.Prefix{}, err
	}
	return netip.ParsePrefix(out.Address)
}

// Release frees a reservation no endpoint took (a no-op otherwise).
func (c *Client) Release(ctx context.Context, network string, addr netip.Addr) error {
	return c.do(ctx, request{method: http.MethodDelete, path: "/ovsnet/v1/networks/" + escape(network) + "/addresses/" + escape(addr.String())}, nil)
}

// NextPool says which default subnet a new network of driver would get.
func (c *Client) NextPool(ctx context.Context, driver model.Driver, exclude ...netip.Prefix) (netip.Prefix, error) {
	var out struct{ Pool string }
	q := url.Values{"driver": {string(driver)}}
	if len(exclude) > 0 {
		var ex []string
		for _, p := range exclude {
			ex = append(ex, p.String())
		}
		q.Set("exclude", strings.Join(ex, ","))
	}
	if err := c.do(ctx, request{method: http.MethodGet, path: "/ovsnet/v1/pools/next", query: q}, &out); err != nil {
		return netip.Prefix{}, err
	}
	return netip.ParsePrefix(out.Pool)
}

// UpdateEndpoint changes an endpoint's container identity, names or ports.
func (c *Client) UpdateEndpoint(ctx context.Context, id string, u model.EndpointUpdate) (model.EndpointView, error) {
	var out model.EndpointView
	err := c.do(ctx, request{method: http.MethodPatch, path: "/ovsnet/v1/endpoints/" + escape(id), body: u}, &out)
	return out, err
}

// ModelNetworks lists networks in ovsnet's own shape.
func (c *Client) ModelNetworks(ctx context.Context) ([]model.Network, error) {
	var out []model.Network
	err := c.do(ctx, request{method: http.MethodGet, path: "/ovsnet/v1/networks"}, &out)
	return out, err
}

// WaitReachable waits (up to timeout, at most a minute) until every host
// with endpoints on the endpoint's network has applied it.
func (c *Client) WaitReachable(ctx context.Context, endpointID string, timeout time.Duration) error {
	return c.do(ctx, request{method: http.MethodGet, path: "/ovsnet/v1/endpoints/" + escape(endpointID) + "/reachable",
		query: url.Values{"timeout": {timeout.String()}}}, nil)
}
