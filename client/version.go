package client

import (
	"context"
	"net/http"
)

// ServerVersion is the part of the Engine API's GET /version answer that
// ovsnet's controller fills in.
type ServerVersion struct {
	Version       string `json:"Version"`
	APIVersion    string `json:"ApiVersion"`
	MinAPIVersion string `json:"MinAPIVersion,omitempty"`
	GitCommit     string `json:"GitCommit,omitempty"`
	GoVersion     string `json:"GoVersion,omitempty"`
	Os            string `json:"Os,omitempty"`
	Arch          string `json:"Arch,omitempty"`
	BuildTime     string `json:"BuildTime,omitempty"`
}

// Version asks the controller what it runs (GET /version).
func (c *Client) Version(ctx context.Context) (ServerVersion, error) {
	var out ServerVersion
	err := c.do(ctx, request{method: http.MethodGet, path: "/version"}, &out)
	return out, err
}
