package cni

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"strings"

	"github.com/containernetworking/cni/pkg/types"

	"github.com/ovsnet/ovsnet/client"
	"github.com/ovsnet/ovsnet/model"
)

// Reading a request: the attachment it describes, checked before anything
// is made, and the ovsnet network and endpoint it names.

// attachment is a request checked: what ADD, DEL and CHECK work on.
type attachment struct {
	*Request
	// id is ovsnet's container id for the runtime's container.
	id   string
	name string
	v4   netip.Addr
	v6   netip.Addr
	mac  model.HardwareAddr
	// published are the port mappings, checked.
	published []model.PortMapping
}

// parse checks a request; needNetns for ADD and CHECK.
func (s *Server) parse(r *Request, needNetns bool) (*attachment, error) {
	at := &attachment{Request: r}
	if r.ContainerID == "" || !containerIDRE(r.ContainerID) {
		return nil, Errorf(types.ErrInvalidEnvironmentVariables, "CNI_CONTAINERID %q: want letters, digits, '_', '.' or '-', starting with a letter or digit", r.ContainerID)
	}
	if r.IfName == "" || len(r.IfName) > 15 || strings.ContainsAny(r.IfName, "/: \t\n") || r.IfName == "." || r.IfName == ".." {
		return nil, Errorf(types.ErrInvalidEnvironmentVariables, "CNI_IFNAME %q is not an interface name (at most 15 characters, no '/', ':' or spaces)", r.IfName)
	}
	if err := checkNetwork(r.Network); err != nil {
		return nil, err
	}
	if needNetns || r.Netns != "" {
		if r.Netns == "" {
			return nil, Errorf(types.ErrInvalidEnvironmentVariables, "CNI_NETNS is empty: the container's network namespace is required")
		}
		if err := model.CheckNetnsPath(r.Netns); err != nil {
			return nil, &types.Error{Code: types.ErrInvalidNetNS, Msg: "CNI_NETNS: " + err.Error()}
		}
	}
	at.id = s.containerID(r.ContainerID)
	at.name = r.Name
	if at.name == "" {
		switch {
		case model.IsID(r.ContainerID):
			at.name = model.ShortID(r.ContainerID)
		case model.ValidateName("container", r.ContainerID) == nil:
			at.name = r.ContainerID
		default:
			at.name = model.ShortID(at.id)
		}
	}
	if err := model.ValidateName("container", at.name); err != nil {
		return nil, Errorf(types.ErrInvalidEnvironmentVariables, "CNI_ARGS K8S_POD_NAME: %v", err)
	}
	for _, ip := range r.IPs {
		a, err := parseIP(ip)
		if err != nil {
			return nil, Errorf(types.ErrInvalidNetworkConfig, "requested address %q: %v", ip, err)
		}
		slot := &at.v4
		if a.Is6() {
			slot = &at.v6
		}
		if slot.IsValid() && *slot != a {
			return nil, Errorf(types.ErrInvalidNetworkConfig, "requested addresses %s and %s: an ovsnet endpoint has one address per IP version", *slot, a)
		}
		*slot = a
	}
	if r.MAC != "" {
		mac, err := model.ParseMAC(r.MAC)
		if err != nil {
			return nil, Errorf(types.ErrInvalidNetworkConfig, "requested MAC address: %v", err)
		}
		at.mac = mac
	}
	if needNetns { // ADD and CHECK; DEL succeeds whatever it is given
		published, err := parsePortMappings(r.PortMappings)
		if err != nil {
			return nil, err
		}
		at.published = published
	}
	return at, nil
}

// parsePortMappings reads the portMappings capability: what the controller
// would refuse is refused here, before anything is made.
func parsePortMappings(ms []PortMapping) ([]model.PortMapping, error) {
	if len(ms) > model.MaxPublished {
		return nil, Errorf(types.ErrInvalidNetworkConfig, "%d port mappings: a container publishes at most %d ports", len(ms), model.MaxPublished)
	}
	var out []model.PortMapping
	seen := map[model.PortMapping]bool{}
	for _, m := range ms {
		p, err := parsePortMapping(m)
		if err != nil {
			return nil, Errorf(types.ErrInvalidNetworkConfig, "port mapping %d:%d/%s: %v", m.HostPort, m.ContainerPort, m.Protocol, err)
		}
		key := model.PortMapping{Proto: p.Proto, HostPort: p.HostPort}
		if seen[key] {
			return nil, Errorf(types.ErrInvalidNetworkConfig, "host port %s/%d is mapped twice", p.Proto, p.HostPort)
		}
		seen[key] = true
		out = append(out, p)
	}
	return out, nil
}

// parsePortMapping reads one entry of the portMappings capability.
func parsePortMapping(m PortMapping) (model.PortMapping, error) {
	proto := strings.ToLower(m.Protocol)
	if proto == "" {
		proto = "tcp"
	}
	if proto != "tcp" && proto != "udp" {
		return model.PortMapping{}, errors.New("only tcp and udp ports can be published")
	}
	if m.HostPort < 1 || m.HostPort > 65535 || m.ContainerPort < 1 || m.ContainerPort > 65535 {
		return model.PortMapping{}, errors.New("ports are 1 to 65535")
	}
	switch m.HostIP {
	case "", "0.0.0.0":
	default:
		return model.PortMapping{}, fmt.Errorf("publishing on host address %s is not supported: ovsnet publishes on all of the host's IPv4 addresses", m.HostIP)
	}
	return model.PortMapping{Proto: proto, Port: uint16(m.ContainerPort), HostPort: uint16(m.HostPort)}, nil
}

// checkNetwork checks the configuration's network name.
func checkNetwork(name string) error {
	if name == "" {
		return Errorf(types.ErrInvalidNetworkConfig, `no ovsnet network: set "network" (or "name") in the CNI configuration`)
	}
	if err := model.ValidateName("network", name); err != nil {
		return Errorf(types.ErrInvalidNetworkConfig, "network: %v", err)
	}
	return nil
}

func containerIDRE(id string) bool {
	for i, c := range id {
		alnum := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
		if !alnum && (i == 0 || c != '_' && c != '.' && c != '-') {
			return false
		}
	}
	return len(id) <= 256
}

// parseIP reads an address, alone or with its prefix length (runtimes
// send "10.0.0.5/24"; the prefix is the network's anyway).
func parseIP(s string) (netip.Addr, error) {
	if p, err := netip.ParsePrefix(s); err == nil {
		return p.Addr(), nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Addr{}, errors.New("not an IP address")
	}
	return a.Unmap(), nil
}

// containerID is ovsnet's id of a runtime's container: the runtime's own
// when it has ovsnet's form (Podman's, containerd's), else one derived
// from it and this host, so ids stay unique across the cluster.
func (s *Server) containerID(runtimeID string) string {
	if model.IsID(runtimeID) {
		return runtimeID
	}
	sum := sha256.Sum256([]byte("ovsnet-cni\x00" + s.a.HostName() + "\x00" + runtimeID))
	return hex.EncodeToString(sum[:])
}

// optContainerID is the connect option that sets ovsnet's container id
// (the controller's name for it comes from the Docker plugin, its first
// user).
const optContainerID = "ovsnet.docker.container-id"

// network is what the result needs of a network.
type network struct {
	id, name string
	internal bool
	gw4, gw6 netip.Addr
}

// network looks the configuration's network up at the controller.
func (s *Server) network(ctx context.Context, ref string) (*network, error) {
	nr, err := s.ctl.InspectNetwork(ctx, ref)
	if client.IsNotFound(err) {
		return nil, &notFoundError{Errorf(types.ErrInvalidNetworkConfig,
			"ovsnet network %s does not exist: create it first (ovsnetctl network create %s)", ref, ref)}
	}
	if err != nil {
		return nil, controllerError(err, "looking up network "+ref)
	}
	n := &network{id: nr.ID, name: nr.Name, internal: nr.Internal}
	for _, c := range nr.IPAM.Config {
		if gw, err := netip.ParseAddr(c.Gateway); err == nil {
			if gw.Is4() {
				n.gw4 = gw
			} else {
				n.gw6 = gw
			}
		}
	}
	return n, nil
}

// notFoundError marks a network the controller does not have.
type notFoundError struct{ err *types.Error }

func (e *notFoundError) Error() string { return e.err.Error() }
func (e *notFoundError) Unwrap() error { return e.err }

// controllerError turns the controller's answer into a CNI error whose
// message is the controller's own explanation.
func controllerError(err error, doing string) error {
	var ae *client.APIError
	if !errors.As(err, &ae) {
		return &types.Error{Code: types.ErrTryAgainLater, Msg: "the ovsnet controller does not answer (" + doing + "); try again when it is back", Details: err.Error()}
	}
	code := ErrRefused
	switch ae.StatusCode {
	case http.StatusNotFound:
		code = types.ErrInvalidNetworkConfig
	case http.StatusForbidden:
		code = ErrAttached
	case http.StatusServiceUnavailable, http.StatusGatewayTimeout, http.StatusBadGateway, http.StatusTooManyRequests:
		code = types.ErrTryAgainLater
	case http.StatusUnauthorized:
		return &types.Error{Code: ErrRefused, Msg: "the ovsnet controller refused the agent's token (" + doing + "): check the agent's -token-file", Details: ae.Message}
	}
	return &types.Error{Code: code, Msg: ae.Message}
}

// endpoint finds the container's endpoint with this interface on n: by the
// record, else in the controller's listing (an ADD cut short, a record
// lost).
func (s *Server) endpoint(ctx context.Context, n *network, at *attachment) (*model.EndpointView, error) {
	eps, err := s.ctl.ListEndpoints(ctx, n.id, s.a.HostName())
	if err != nil {
		if client.IsNotFound(err) {
			return nil, nil
		}
		return nil, controllerError(err, "listing the endpoints of network "+n.name)
	}
	rec, hasRec := s.recs.get(attachmentKey(n.id, at.ContainerID, at.IfName))
	for i := range eps {
		ep := &eps[i]
		if hasRec && rec.EndpointID != "" && ep.ID == rec.EndpointID {
			return ep, nil
		}
		if ep.ContainerID == at.id && ep.IfName == at.IfName {
			return ep, nil
		}
	}
	return nil, nil
}
