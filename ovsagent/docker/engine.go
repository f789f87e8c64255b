package docker

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/ovsnet/ovsnet/model"
)

// dockerAPI is the little of the Docker Engine API the plugin needs (list,
// create and remove networks, inspect containers, follow events), spoken
// over the engine's unix socket. The official client module drags in most
// of moby's tree for these five calls.
type dockerAPI struct {
	hc   *http.Client
	long *http.Client // no timeout: the events stream
}

// errNoSuchObject is a 404 from the engine.
var errNoSuchObject = errors.New("no such object")

func newDockerAPI(socket string) *dockerAPI {
	socket = strings.TrimPrefix(strings.TrimPrefix(socket, "unix://"), "unix:")
	tr := &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "unix", socket)
	}}
	return &dockerAPI{hc: &http.Client{Transport: tr, Timeout: 30 * time.Second}, long: &http.Client{Transport: tr}}
}

const dockerBase = "http://docker/v" + model.DockerAPIVersion

func (d *dockerAPI) do(ctx context.Context, method, path string, body, out any) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, dockerBase+path, rd)
	if err != nil {
		return err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := d.hc.Do(req)
	if err != nil {
		return fmt.Errorf("docker engine: %w", err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if resp.StatusCode == http.StatusNotFound {
		return fmt.Errorf("%s %s: %w", method, path, errNoSuchObject)
	}
	if resp.StatusCode >= 300 {
		var e model.ErrorResponse
		if json.Unmarshal(data, &e) == nil && e.Message != "" {
			return fmt.Errorf("docker engine: %s", e.Message)
		}
		return fmt.Errorf("docker engine: %s %s: %s", method, path, resp.Status)
	}
	if out != nil && len(data) > 0 {
		return json.Unmarshal(data, out)
	}
	return nil
}

// dockerNetwork is an engine's view of a network.
type dockerNetwork struct {
	Name       string            `json:"Name"`
	ID         string            `json:"Id"`
	Driver     string            `json:"Driver"`
	Internal   bool              `json:"Internal"`
	EnableIPv6 bool              `json:"EnableIPv6"`
	IPAM       model.IPAM        `json:"IPAM"`
	Options    map[string]string `json:"Options"`
	Labels     map[string]string `json:"Labels"`
	Containers map[string]struct {
		Name       string `json:"Name"`
		EndpointID string `json:"EndpointID"`
	} `json:"Containers"`
}

func (d *dockerAPI) networks(ctx context.Context, driver string) ([]dockerNetwork, error) {
	f, _ := json.Marshal(map[string]map[string]bool{"driver": {driver: true}})
	var out []dockerNetwork
	err := d.do(ctx, http.MethodGet, "/networks?filters="+url.QueryEscape(string(f)), nil, &out)
	return out, err
}

func (d *dockerAPI) network(ctx context.Context, id string) (dockerNetwork, error) {
	var out dockerNetwork
	err := d.do(ctx, http.MethodGet, "/networks/"+url.PathEscape(id), nil, &out)
	return out, err
}

func (d *dockerAPI) createNetwork(ctx context.Context, req model.NetworkCreateRequest) (string, error) {
	var out model.NetworkCreateResponse
	err := d.do(ctx, http.MethodPost, "/networks/create", req, &out)
	return out.ID, err
}

func (d *dockerAPI) removeNetwork(ctx context.Context, id string) error {
	return d.do(ctx, http.MethodDelete, "/networks/"+url.PathEscape(id), nil, nil)
}

// dockerContainer is what the plugin needs of a container.
type dockerContainer struct {
	ID         string `json:"Id"`
	Name       string `json:"Name"`
	HostConfig struct {
		Links []string `json:"Links"`
	} `json:"HostConfig"`
	NetworkSettings struct {
		Networks map[string]struct {
			Aliases []string `json:"Aliases"`
			// Links are --link NAME:ALIAS on user-defined networks (Docker
			// keeps HostConfig.Links for the default bridge only).
			Links      []string `json:"Links"`
			EndpointID string   `json:"EndpointID"`
			NetworkID  string   `json:"NetworkID"`
		} `json:"Networks"`
	} `json:"NetworkSettings"`
}

func (d *dockerAPI) container(ctx context.Context, id string) (dockerContainer, error) {
	var out dockerContainer
	err := d.do(ctx, http.MethodGet, "/containers/"+url.PathEscape(id)+"/json", nil, &out)
	return out, err
}

// containerIDs lists the ids of all containers, running or not.
func (d *dockerAPI) containerIDs(ctx context.Context) ([]string, error) {
	var out []struct {
		ID string `json:"Id"`
	}
	if err := d.do(ctx, http.MethodGet, "/containers/json?all=1", nil, &out); err != nil {
		return nil, err
	}
	ids := make([]string, 0, len(out))
	for _, c := range out {
		ids = append(ids, c.ID)
	}
	return ids, nil
}

// dockerEvent is one entry of the engine's event stream.
type dockerEvent struct {
	Type   string `json:"Type"`
	Action string `json:"Action"`
	Actor  struct {
		ID         string            `json:"ID"`
		Attributes map[string]string `json:"Attributes"`
	} `json:"Actor"`
}

// events streams network and container events until ctx ends or the
// stream breaks.
func (d *dockerAPI) events(ctx context.Context, fn func(dockerEvent)) error {
	f, _ := json.Marshal(map[string]map[string]bool{"type": {"network": true, "container": true}})
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, dockerBase+"/events?filters="+url.QueryEscape(string(f)), nil)
	if err != nil {
		return err
	}
	resp, err := d.long.Do(req)
	if err != nil {
		return fmt.Errorf("docker events: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("docker events: %s", resp.Status)
	}
	dec := json.NewDecoder(bufio.NewReader(resp.Body))
	for {
		var ev dockerEvent
		if err := dec.Decode(&ev); err != nil {
			return fmt.Errorf("docker events: %w", err)
		}
		fn(ev)
	}
}
