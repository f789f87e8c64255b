package client

import (
	"context"
	"net/http"
	"net/url"

	"github.com/ovsnet/ovsnet/model"
)

// ovsnet's own resources, beyond the Docker Engine API.

// ListHosts returns every host that registered an agent
// (GET /ovsnet/v1/hosts).
func (c *Client) ListHosts(ctx context.Context) ([]model.Host, error) {
	var out []model.Host
	if err := c.do(ctx, request{method: http.MethodGet, path: "/ovsnet/v1/hosts"}, &out); err != nil {
		return nil, err
	}
	return out, nil
}

// ListEndpoints returns endpoints with their agents' status
// (GET /ovsnet/v1/endpoints), limited to one network (name or id) and/or one
// host when those are not empty.
func (c *Client) ListEndpoints(ctx context.Context, network, host string) ([]model.EndpointView, error) {
	q := url.Values{}
	if network != "" {
		q.Set("network", network)
	}
	if host != "" {
		q.Set("host", host)
	}
	var out []model.EndpointView
	if err := c.do(ctx, request{method: http.MethodGet, path: "/ovsnet/v1/endpoints", query: q}, &out); err != nil {
		return nil, err
	}
	return out, nil
}
