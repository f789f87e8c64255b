package client

import (
	"context"
	"net/http"

	"github.com/ovsnet/ovsnet/model"
)

// Trace follows a packet from one endpoint to another through the hosts'
// OpenFlow pipelines (POST /ovsnet/v1/traces). Endpoints are named as
// container@network, by endpoint id, or by a container with one endpoint.
// A trace needs the token when the controller has one.
func (c *Client) Trace(ctx context.Context, req model.TraceRequest) (*model.Trace, error) {
	var out model.Trace
	if err := c.do(ctx, request{method: http.MethodPost, path: "/ovsnet/v1/traces", body: req}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}
