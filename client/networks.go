package client

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"

	"github.com/ovsnet/ovsnet/model"
)

// ListNetworks returns every network (GET /networks).
func (c *Client) ListNetworks(ctx context.Context) ([]model.NetworkResource, error) {
	var out []model.NetworkResource
	if err := c.do(ctx, request{method: http.MethodGet, path: "/networks"}, &out); err != nil {
		return nil, err
	}
	return out, nil
}

// InspectNetwork returns one network by full id, name or unique id prefix
// (GET /networks/{idOrName}). An unknown network gives an error for which
// IsNotFound is true.
func (c *Client) InspectNetwork(ctx context.Context, idOrName string) (model.NetworkResource, error) {
	n, _, err := c.InspectNetworkRaw(ctx, idOrName)
	return n, err
}

// InspectNetworkRaw is InspectNetwork that also returns the answer's JSON as
// the controller sent it, so fields this client does not know survive (what
// `network inspect` prints).
func (c *Client) InspectNetworkRaw(ctx context.Context, idOrName string) (model.NetworkResource, []byte, error) {
	var n model.NetworkResource
	if err := requireRef("network", idOrName); err != nil {
		return n, nil, err
	}
	var raw json.RawMessage
	if err := c.do(ctx, request{method: http.MethodGet, path: "/networks/" + escape(idOrName)}, &raw); err != nil {
		return n, nil, err
	}
	if len(raw) == 0 {
		return n, nil, fmt.Errorf("empty answer from the controller for network %s", idOrName)
	}
	if err := json.Unmarshal(raw, &n); err != nil {
		return n, nil, fmt.Errorf("invalid answer from the controller for network %s: %w", idOrName, err)
	}
	return n, raw, nil
}

// CreateNetwork creates a network (POST /networks/create) and returns its id
// and any warning.
func (c *Client) CreateNetwork(ctx context.Context, req model.NetworkCreateRequest) (model.NetworkCreateResponse, error) {
	var out model.NetworkCreateResponse
	err := c.do(ctx, request{method: http.MethodPost, path: "/networks/create", body: req}, &out)
	if err == nil && out.ID == "" {
		err = fmt.Errorf("the controller created network %s but did not say its id", req.Name)
	}
	return out, err
}

// RemoveNetwork deletes a network by id, name or unique id prefix
// (DELETE /networks/{idOrName}).
func (c *Client) RemoveNetwork(ctx context.Context, idOrName string) error {
	if err := requireRef("network", idOrName); err != nil {
		return err
	}
	return c.do(ctx, request{method: http.MethodDelete, path: "/networks/" + escape(idOrName)}, nil)
}

// Connect attaches a container to a network (POST /networks/{id}/connect)
// and returns the endpoint the controller made. A controller that answers
// with an empty body, as Docker's engine does, gives a zero EndpointView.
func (c *Client) Connect(ctx context.Context, network string, req model.NetworkConnectRequest) (model.EndpointView, error) {
	var out model.EndpointView
	if err := requireRef("network", network); err != nil {
		return out, err
	}
	err := c.do(ctx, request{method: http.MethodPost, path: "/networks/" + escape(network) + "/connect", body: req}, &out)
	return out, err
}

// Disconnect detaches a container from a network
// (POST /networks/{id}/disconnect).
func (c *Client) Disconnect(ctx context.Context, network string, req model.NetworkDisconnectRequest) error {
	if err := requireRef("network", network); err != nil {
		return err
	}
	return c.do(ctx, request{method: http.MethodPost, path: "/networks/" + escape(network) + "/disconnect", body: req}, nil)
}

// PruneNetworks removes every network without endpoints that matches
// Docker's prune filters (POST /networks/prune): label=KEY[=VALUE],
// label!=KEY[=VALUE] and until=DURATION|TIME. It returns the names of the
// networks removed.
func (c *Client) PruneNetworks(ctx context.Context, filters map[string][]string) ([]string, error) {
	r := request{method: http.MethodPost, path: "/networks/prune"}
	if len(filters) > 0 {
		b, err := json.Marshal(filters)
		if err != nil {
			return nil, err
		}
		r.query = url.Values{"filters": {string(b)}}
	}
	var out struct {
		NetworksDeleted []string `json:"NetworksDeleted"`
	}
	if err := c.do(ctx, r, &out); err != nil {
		return nil, err
	}
	return out.NetworksDeleted, nil
}
