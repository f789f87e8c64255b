// Package cni is the agent's side of ovsnet's CNI plugin (cmd/ovsnet-cni):
// an agent extension that attaches container network namespaces to ovsnet
// networks on request of the plugin, which a container runtime (Podman,
// containerd, CRI-O) executes.
//
// The plugin is a thin client: it reads the runtime's configuration and
// environment, sends one Request over the agent's unix socket and prints
// what comes back. Everything else — finding the network, addresses from
// the controller's IPAM, plumbing, CHECK's comparisons, GC — happens here,
// where the cluster's state and the host's kernel are.
package cni

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"

	"github.com/containernetworking/cni/pkg/types"
	current "github.com/containernetworking/cni/pkg/types/100"
)

// DefaultSocket is where the agent serves the plugin unless configured
// otherwise (the agent's -cni-socket, the plugin's "socket").
const DefaultSocket = "/run/ovsnet/cni.sock"

// Operations, the paths of the agent's socket.
const (
	OpAdd    = "add"
	OpDel    = "del"
	OpCheck  = "check"
	OpStatus = "status"
	OpGC     = "gc"
)

// Request is one CNI operation, as the plugin forwards it to the agent.
type Request struct {
	// ContainerID, Netns and IfName are CNI_CONTAINERID, CNI_NETNS and
	// CNI_IFNAME.
	ContainerID string `json:"containerID,omitempty"`
	Netns       string `json:"netns,omitempty"`
	IfName      string `json:"ifname,omitempty"`
	// Network is the ovsnet network (name or id).
	Network string `json:"network"`
	// Name is the container's name, what DNS answers to (K8S_POD_NAME);
	// empty: derived from ContainerID.
	Name string `json:"name,omitempty"`
	// IPs and MAC are requested addresses (runtimeConfig "ips" and "mac",
	// or CNI_ARGS IP and MAC); Aliases are extra DNS names.
	IPs     []string `json:"ips,omitempty"`
	MAC     string   `json:"mac,omitempty"`
	Aliases []string `json:"aliases,omitempty"`
	// PortMappings are the container's ports to publish on this host
	// (runtimeConfig "portMappings": podman run -p HOSTPORT:PORT).
	PortMappings []PortMapping `json:"portMappings,omitempty"`
	// PrevResult is the runtime's record of the ADD (CHECK only).
	PrevResult *current.Result `json:"prevResult,omitempty"`
	// Valid are the attachments the runtime still has (GC only).
	Valid []types.GCAttachment `json:"validAttachments,omitempty"`
}

// PortMapping is one entry of the portMappings capability, in the form
// runtimes give it.
type PortMapping struct {
	HostPort      int    `json:"hostPort"`
	ContainerPort int    `json:"containerPort"`
	Protocol      string `json:"protocol,omitempty"`
	HostIP        string `json:"hostIP,omitempty"`
}

// Plugin-specific error codes (CNI reserves 0-99).
const (
	// ErrRefused: the controller refused the attachment (its message says why).
	ErrRefused uint = 100
	// ErrAttached: the container already has this interface, or is on the
	// network already.
	ErrAttached uint = 101
	// ErrDrift: CHECK found the attachment different from what ADD made.
	ErrDrift uint = 102
	// ErrNotAvailable and ErrLimitedConnectivity are STATUS's codes.
	ErrNotAvailable        uint = 50
	ErrLimitedConnectivity uint = 51
)

// Errorf makes a CNI error with a message a person understands.
func Errorf(code uint, format string, args ...any) *types.Error {
	return &types.Error{Code: code, Msg: fmt.Sprintf(format, args...)}
}

// maxBody bounds requests and answers on the socket: they are a few KB.
const maxBody = 1 << 20

// Client is the plugin's connection to the agent.
type Client struct {
	socket string
	hc     *http.Client
}

// NewClient talks to the agent serving socket; every call is bounded by
// timeout (an ADD waits for the controller and the plumbing).
func NewClient(socket string, timeout time.Duration) *Client {
	tr := &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "unix", socket)
	}}
	return &Client{socket: socket, hc: &http.Client{Transport: tr, Timeout: timeout}}
}

// Do sends op and decodes the answer into out (nil: none expected). A CNI
// error from the agent is returned as *types.Error; an agent that cannot be
// reached gives unreachable as the code (STATUS wants 50, the other
// operations 11, try again later).
func (c *Client) Do(ctx context.Context, op string, req *Request, out any, unreachable uint) error {
	body, err := json.Marshal(req)
	if err != nil {
		return err
	}
	hreq, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://ovsnet-agent/cni/v1/"+op, bytes.NewReader(body))
	if err != nil {
		return err
	}
	hreq.Header.Set("Content-Type", "application/json")
	resp, err := c.hc.Do(hreq)
	if err != nil {
		return &types.Error{Code: unreachable,
			Msg:     fmt.Sprintf("the ovsnet agent does not answer on %s: is ovsnet-agent running on this host with -cni-socket %s?", c.socket, c.socket),
			Details: err.Error()}
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		return &types.Error{Code: types.ErrIOFailure, Msg: "reading the ovsnet agent's answer", Details: err.Error()}
	}
	if resp.StatusCode != http.StatusOK {
		var e types.Error
		if json.Unmarshal(data, &e) != nil || e.Msg == "" {
			return &types.Error{Code: types.ErrInternal, Msg: fmt.Sprintf("the ovsnet agent answered %s", resp.Status), Details: string(data)}
		}
		return &e
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(data, out); err != nil {
		return &types.Error{Code: types.ErrDecodingFailure, Msg: "decoding the ovsnet agent's answer", Details: err.Error()}
	}
	return nil
}

// asCNIError gives err as a CNI error: itself when it is one, else code.
func asCNIError(err error, code uint) *types.Error {
	var e *types.Error
	if errors.As(err, &e) {
		return e
	}
	return &types.Error{Code: code, Msg: err.Error()}
}
