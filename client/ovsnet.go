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

// RemoveHost removes a host with its endpoints, releasing their addresses
// (DELETE /ovsnet/v1/hosts/NAME); a host whose agent is alive is refused
// unless force is set. It returns how many endpoints went.
func (c *Client) RemoveHost(ctx context.Context, name string, force bool) (int, error) {
	q := url.Values{}
	if force {
		q.Set("force", "true")
	}
	var out struct {
		EndpointsRemoved int `json:"endpointsRemoved"`
	}
	if err := c.do(ctx, request{method: http.MethodDelete, path: "/ovsnet/v1/hosts/" + url.PathEscape(name), query: q}, &out); err != nil {
		return 0, err
	}
	return out.EndpointsRemoved, nil
}

// Backup returns the cluster's whole intent (GET /ovsnet/v1/backup).
func (c *Client) Backup(ctx context.Context) (*model.Backup, error) {
	var out model.Backup
	if err := c.do(ctx, request{method: http.MethodGet, path: "/ovsnet/v1/backup"}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// Restore writes a backup back (POST /ovsnet/v1/restore).
func (c *Client) Restore(ctx context.Context, b *model.Backup) (*model.RestoreResult, error) {
	var out model.RestoreResult
	if err := c.do(ctx, request{method: http.MethodPost, path: "/ovsnet/v1/restore", body: b}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}
