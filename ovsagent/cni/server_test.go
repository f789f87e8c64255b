package cni

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/containernetworking/cni/pkg/types"
	current "github.com/containernetworking/cni/pkg/types/100"

	"github.com/ovsnet/ovsnet/client"
	"github.com/ovsnet/ovsnet/model"
)

type rig struct {
	s   *Server
	a   *fakeAgent
	ctl *fakeController
	k   *fakeKernel
	dir string
}

func newRig(t *testing.T) *rig {
	t.Helper()
	r := &rig{dir: t.TempDir(), k: newFakeKernel(), a: &fakeAgent{host: "h1"}}
	r.ctl = newFakeController(r.k)
	r.ctl.addNetwork("testnet02", "10.0.0.0/24", "10.0.0.1", false)
	r.ctl.addNetwork("testnet03", "10.0.3.0/24", "10.0.3.1", true)
	r.s = r.newServer(t)
	return r
}

func (r *rig) newServer(t *testing.T) *Server {
	t.Helper()
	s := New(Config{StateDir: r.dir, Logger: slog.New(slog.DiscardHandler)}, r.a, r.ctl, r.k)
	if err := s.Load(); err != nil {
		t.Fatal(err)
	}
	s.checkWait = 10 * time.Millisecond
	return s
}

const podID = "3f1c2a9b8e7d6c5b4a39281706f5e4d3c2b1a09f8e7d6c5b4a3928170615e4d3"

func add(id string) *Request {
	return &Request{ContainerID: id, Netns: "/run/netns/netns-" + id[:8], IfName: "eth0", Network: "testnet02"}
}

func cniErr(t *testing.T, err error, code uint, parts ...string) {
	t.Helper()
	var e *types.Error
	if !errors.As(err, &e) {
		t.Fatalf("error %v (%T), want a CNI error with code %d", err, err, code)
	}
	if e.Code != code || !hasAll(e.Msg+" "+e.Details, parts...) {
		t.Fatalf("error code %d %q (details %q), want code %d mentioning %q", e.Code, e.Msg, e.Details, code, parts)
	}
}

func (r *rig) records(t *testing.T) []record {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(r.dir, "cni-attachments.json"))
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	var out []record
	if err := json.Unmarshal(data, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

// ADD asks the controller for an endpoint of this host in the runtime's
// namespace, named after the container, and answers what the container got.
func TestAddConnectsAndAnswersTheResult(t *testing.T) {
	r := newRig(t)
	req := add(podID)
	req.Name = "web"
	res, err := r.s.Add(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	if len(r.ctl.connects) != 1 {
		t.Fatalf("%d connects", len(r.ctl.connects))
	}
	c := r.ctl.connects[0]
	opts := c.EndpointConfig.DriverOpts
	if c.Container != "web" || opts[model.OptEndpointHost] != "h1" || opts[model.OptEndpointNetns] != req.Netns ||
		opts[model.OptEndpointIfName] != "eth0" || opts[optContainerID] != podID {
		t.Fatalf("connect %+v opts %v", c, opts)
	}
	if c.EndpointConfig.IPAMConfig != nil || c.EndpointConfig.MacAddress != "" {
		t.Fatalf("nothing requested, yet connect asks for %+v", c.EndpointConfig)
	}
	data, _ := json.Marshal(res)
	want := `{"cniVersion":"1.1.0","dns":{"nameservers":["10.0.0.1"],"options":["ndots:0"]},` +
		`"interfaces":[{"mac":"02:42:0a:00:00:02","mtu":1450,"name":"eth0","sandbox":"/run/netns/netns-3f1c2a9b"}],` +
		`"ips":[{"address":"10.0.0.2/24","gateway":"10.0.0.1","interface":0}],"routes":[{"dst":"0.0.0.0/0","gw":"10.0.0.1"}]}`
	if string(data) != want {
		t.Fatalf("result\n%s\nwant\n%s", data, want)
	}
	recs := r.records(t)
	if len(recs) != 1 || recs[0].ContainerID != podID || recs[0].EndpointID == "" || recs[0].Network != "testnet02" {
		t.Fatalf("records %+v", recs)
	}
}

// Internal networks: no gateway on the address, no route, but the agent
// still answers DNS at the gateway address.
func TestAddInternalNetwork(t *testing.T) {
	r := newRig(t)
	req := add(podID)
	req.Network = "testnet03"
	res, err := r.s.Add(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	if res.IPs[0].Gateway != nil || len(res.Routes) != 0 || len(res.DNS.Nameservers) != 1 || res.DNS.Nameservers[0] != "10.0.3.1" {
		t.Fatalf("result %+v %+v %+v", res.IPs[0], res.Routes, res.DNS)
	}
}

// Requests for addresses and a MAC reach the controller; CNI_CONTAINERIDs
// that are not ovsnet ids get a stable one derived with the host.
func TestAddStaticAddressAndDerivedIDs(t *testing.T) {
	r := newRig(t)
	req := add("cnitool-0123456789abcdef0123")
	req.IPs = []string{"10.0.0.100/24"}
	req.MAC = "02:aa:bb:cc:dd:ee"
	res, err := r.s.Add(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	c := r.ctl.connects[0].EndpointConfig
	if c.IPAMConfig == nil || c.IPAMConfig.IPv4Address != "10.0.0.100" || c.MacAddress != "02:aa:bb:cc:dd:ee" {
		t.Fatalf("connect asks for %+v", c)
	}
	if res.IPs[0].Address.String() != "10.0.0.100/24" || res.Interfaces[0].Mac != "02:aa:bb:cc:dd:ee" {
		t.Fatalf("result %+v", res)
	}
	id := c.DriverOpts[optContainerID]
	if !model.IsID(id) || id != r.s.containerID(req.ContainerID) || r.ctl.connects[0].Container != req.ContainerID {
		t.Fatalf("container id %q name %q", id, r.ctl.connects[0].Container)
	}
	other := New(Config{}, &fakeAgent{host: "h2"}, r.ctl, r.k)
	if other.containerID(req.ContainerID) == id {
		t.Fatal("the same runtime id on another host gives the same ovsnet id")
	}
}

// Bad input: a clear CNI error, and nothing asked of the controller,
// nothing recorded.
func TestAddRefusesBadInput(t *testing.T) {
	for _, tc := range []struct {
		name  string
		edit  func(*Request)
		code  uint
		parts []string
	}{
		{"no container id", func(r *Request) { r.ContainerID = "" }, types.ErrInvalidEnvironmentVariables, []string{"CNI_CONTAINERID"}},
		{"bad container id", func(r *Request) { r.ContainerID = "-x/../y" }, types.ErrInvalidEnvironmentVariables, []string{"CNI_CONTAINERID", "-x/../y"}},
		{"no ifname", func(r *Request) { r.IfName = "" }, types.ErrInvalidEnvironmentVariables, []string{"CNI_IFNAME"}},
		{"long ifname", func(r *Request) { r.IfName = "eth0123456789012" }, types.ErrInvalidEnvironmentVariables, []string{"CNI_IFNAME", "15"}},
		{"no netns", func(r *Request) { r.Netns = "" }, types.ErrInvalidEnvironmentVariables, []string{"CNI_NETNS", "required"}},
		{"netns not a namespace path", func(r *Request) { r.Netns = "/etc/passwd" }, types.ErrInvalidNetNS, []string{"CNI_NETNS", "/etc/passwd", "not a container's network namespace"}},
		{"the host's netns", func(r *Request) { r.Netns = "/proc/1/ns/net" }, types.ErrInvalidNetNS, []string{"PID 1"}},
		{"netns the kernel refuses", func(r *Request) { r.Netns = "/run/netns/gone" }, types.ErrInvalidNetNS, []string{"/run/netns/gone", "no such file"}},
		{"no network", func(r *Request) { r.Network = "" }, types.ErrInvalidNetworkConfig, []string{"network"}},
		{"bad network name", func(r *Request) { r.Network = "a b" }, types.ErrInvalidNetworkConfig, []string{"invalid network name"}},
		{"unknown network", func(r *Request) { r.Network = "testnet99" }, types.ErrInvalidNetworkConfig, []string{"testnet99 does not exist", "ovsnetctl network create testnet99"}},
		{"bad name", func(r *Request) { r.Name = "web server" }, types.ErrInvalidEnvironmentVariables, []string{"K8S_POD_NAME", "web server"}},
		{"bad ip", func(r *Request) { r.IPs = []string{"10.0.0.300"} }, types.ErrInvalidNetworkConfig, []string{"10.0.0.300"}},
		{"two IPv4", func(r *Request) { r.IPs = []string{"10.0.0.5", "10.0.0.6"} }, types.ErrInvalidNetworkConfig, []string{"one address per IP version"}},
		{"bad mac", func(r *Request) { r.MAC = "02:zz" }, types.ErrInvalidNetworkConfig, []string{"MAC", "02:zz"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newRig(t)
			r.k.refuse["/run/netns/gone"] = errors.New("network namespace /run/netns/gone: no such file or directory")
			req := add(podID)
			tc.edit(req)
			_, err := r.s.Add(context.Background(), req)
			cniErr(t, err, tc.code, tc.parts...)
			if len(r.ctl.connects) != 0 || len(r.records(t)) != 0 || len(r.k.links) != 0 {
				t.Fatalf("bad input changed something: connects %v records %v links %v", r.ctl.connects, r.records(t), r.k.links)
			}
		})
	}
}

// The controller's refusals keep its words; a controller that does not
// answer is "try again later"; either way nothing stays recorded.
func TestAddControllerErrors(t *testing.T) {
	for _, tc := range []struct {
		err   error
		code  uint
		parts []string
	}{
		{&client.APIError{StatusCode: 409, Message: "Address already in use: 10.0.0.100 is taken on network testnet02"}, ErrRefused, []string{"10.0.0.100 is taken"}},
		{&client.APIError{StatusCode: 400, Message: "host h1 could not plumb the endpoint: container web already has an interface named eth0"}, ErrRefused, []string{"already has an interface named eth0"}},
		{&client.APIError{StatusCode: 503, Message: "no leader"}, types.ErrTryAgainLater, []string{"no leader"}},
		{&client.APIError{StatusCode: 401, Message: "unauthorized"}, ErrRefused, []string{"token"}},
		{errDown, types.ErrTryAgainLater, []string{"controller does not answer", "connection refused"}},
	} {
		r := newRig(t)
		r.ctl.onConnect = tc.err
		_, err := r.s.Add(context.Background(), add(podID))
		cniErr(t, err, tc.code, tc.parts...)
		if len(r.records(t)) != 0 {
			t.Fatalf("%v: a failed ADD stays recorded: %+v", tc.err, r.records(t))
		}
	}
}

// ADD twice for one (container, interface): refused, the first attachment
// untouched. The same container on the network under another interface
// name: the controller's refusal.
func TestAddTwice(t *testing.T) {
	r := newRig(t)
	first, err := r.s.Add(context.Background(), add(podID))
	if err != nil {
		t.Fatal(err)
	}
	_, err = r.s.Add(context.Background(), add(podID))
	cniErr(t, err, ErrAttached, "already has interface eth0", "testnet02", "10.0.0.2", "DEL it first")
	req := add(podID)
	req.IfName = "eth1"
	_, err = r.s.Add(context.Background(), req)
	cniErr(t, err, ErrAttached, "already exists in network testnet02")
	if len(r.ctl.eps) != 1 || len(r.records(t)) != 1 {
		t.Fatalf("endpoints %d, records %d after refused ADDs", len(r.ctl.eps), len(r.records(t)))
	}
	if err := r.s.Check(context.Background(), &Request{ContainerID: podID, Netns: add(podID).Netns, IfName: "eth0", Network: "testnet02", PrevResult: first}); err != nil {
		t.Fatalf("the first attachment changed: %v", err)
	}
}

// DEL removes the endpoint (address freed at the controller) and the veth
// at once; a second DEL, a DEL of something never added, without a netns,
// or on a network that is gone all succeed.
func TestDelIsIdempotent(t *testing.T) {
	r := newRig(t)
	if _, err := r.s.Add(context.Background(), add(podID)); err != nil {
		t.Fatal(err)
	}
	del := &Request{ContainerID: podID, IfName: "eth0", Network: "testnet02"} // no netns: the runtime may have lost it
	if err := r.s.Del(context.Background(), del); err != nil {
		t.Fatal(err)
	}
	if len(r.ctl.eps) != 0 || len(r.k.veths) != 0 || len(r.records(t)) != 0 || r.a.triggers == 0 {
		t.Fatalf("after DEL: endpoints %v veths %v records %v", r.ctl.eps, r.k.veths, r.records(t))
	}
	n := len(r.ctl.discs)
	for _, req := range []*Request{del, add("never-added"), {ContainerID: podID, IfName: "eth0", Network: "testnet99"}} {
		if err := r.s.Del(context.Background(), req); err != nil {
			t.Fatalf("DEL %+v: %v", req, err)
		}
	}
	if len(r.ctl.discs) != n {
		t.Fatalf("DEL of nothing disconnected %v", r.ctl.discs[n:])
	}
	// The address is free again: the next container gets one, and a DEL
	// while the controller is down says to try again.
	if _, err := r.s.Add(context.Background(), add(strings.Repeat("ab", 32))); err != nil {
		t.Fatal(err)
	}
	r.ctl.down = true
	cniErr(t, r.s.Del(context.Background(), &Request{ContainerID: strings.Repeat("ab", 32), IfName: "eth0", Network: "testnet02"}), types.ErrTryAgainLater)
}

// DEL after a network was removed with its endpoints drops the record and
// the veth left behind.
func TestDelOnRemovedNetwork(t *testing.T) {
	r := newRig(t)
	if _, err := r.s.Add(context.Background(), add(podID)); err != nil {
		t.Fatal(err)
	}
	delete(r.ctl.nets, "testnet02")
	if err := r.s.Del(context.Background(), &Request{ContainerID: podID, IfName: "eth0", Network: "testnet02"}); err != nil {
		t.Fatal(err)
	}
	if len(r.records(t)) != 0 || len(r.k.veths) != 0 {
		t.Fatalf("records %v veths %v", r.records(t), r.k.veths)
	}
}

// A DEL whose ADD was cut short (no record) still finds the endpoint by
// the container's id.
func TestDelWithoutRecord(t *testing.T) {
	r := newRig(t)
	if _, err := r.s.Add(context.Background(), add(podID)); err != nil {
		t.Fatal(err)
	}
	os.Remove(filepath.Join(r.dir, "cni-attachments.json"))
	s := r.newServer(t)
	if err := s.Del(context.Background(), &Request{ContainerID: podID, IfName: "eth0", Network: "testnet02"}); err != nil {
		t.Fatal(err)
	}
	if len(r.ctl.eps) != 0 {
		t.Fatal("the endpoint survived DEL")
	}
}

// CHECK passes right after ADD and reports each kind of drift in words.
func TestCheckReportsDrift(t *testing.T) {
	for _, tc := range []struct {
		name  string
		drift func(r *rig, req *Request)
		parts []string
	}{
		{"none", func(*rig, *Request) {}, nil},
		{"mac", func(r *rig, req *Request) {
			r.k.set(req.Netns, "eth0", func(l *Link) { l.MAC, _ = model.ParseMAC("02:00:00:00:00:01") })
		},
			[]string{"eth0 has MAC 02:00:00:00:00:01, ovsnet gave it 02:42:0a:00:00:02"}},
		{"down", func(r *rig, req *Request) { r.k.set(req.Netns, "eth0", func(l *Link) { l.Up = false }) }, []string{"eth0 is down"}},
		{"address", func(r *rig, req *Request) { r.k.set(req.Netns, "eth0", func(l *Link) { l.Addrs = nil }) },
			[]string{"eth0 lacks its address 10.0.0.2/24"}},
		{"interface gone", func(r *rig, req *Request) { ep := firstEndpoint(r); r.k.RemoveEndpoint(ep.PortName()) },
			[]string{"interface eth0", "no such interface"}},
		{"not ready", func(r *rig, _ *Request) { r.a.notReady = errors.New("create veth: file exists") },
			[]string{"does not report endpoint", "file exists"}},
		{"prevResult address", func(_ *rig, req *Request) { req.PrevResult.IPs[0].Address.IP = net.ParseIP("10.0.0.9") },
			[]string{"the runtime's result gives eth0 address 10.0.0.9, ovsnet holds 10.0.0.2"}},
		{"endpoint removed", func(r *rig, _ *Request) { delete(r.ctl.eps, firstEndpoint(r).ID) },
			[]string{"has no endpoint with interface eth0 on ovsnet network testnet02"}},
		{"network removed", func(r *rig, _ *Request) { delete(r.ctl.nets, "testnet02") }, []string{"testnet02 no longer exists"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newRig(t)
			req := add(podID)
			res, err := r.s.Add(context.Background(), req)
			if err != nil {
				t.Fatal(err)
			}
			req.PrevResult = res
			tc.drift(r, req)
			err = r.s.Check(context.Background(), req)
			if tc.parts == nil {
				if err != nil {
					t.Fatalf("CHECK after ADD: %v", err)
				}
				return
			}
			cniErr(t, err, ErrDrift, tc.parts...)
		})
	}
}

// The portMappings capability: the ports are published on the endpoint
// (what the agent turns into the host's DNAT rules, as for docker run -p);
// CHECK compares them; a host port another container publishes on this
// host is refused and the attachment undone; bad mappings and internal
// networks are refused before anything is made.
func TestAddPublishesPorts(t *testing.T) {
	r := newRig(t)
	req := add(podID)
	req.PortMappings = []PortMapping{{HostPort: 8080, ContainerPort: 80, Protocol: "tcp"}, {HostPort: 5353, ContainerPort: 53, Protocol: "UDP", HostIP: "0.0.0.0"}}
	res, err := r.s.Add(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	want := []model.PortMapping{{Proto: "tcp", Port: 80, HostPort: 8080}, {Proto: "udp", Port: 53, HostPort: 5353}}
	if got := firstEndpoint(r).Published; !samePorts(got, want) {
		t.Fatalf("published %+v, want %+v", got, want)
	}
	req.PrevResult = res
	if err := r.s.Check(context.Background(), req); err != nil {
		t.Fatalf("CHECK with the same ports: %v", err)
	}
	other := *req
	other.PortMappings = []PortMapping{{HostPort: 9090, ContainerPort: 80, Protocol: "tcp"}}
	cniErr(t, r.s.Check(context.Background(), &other), ErrDrift, "publishes 8080:80/tcp, 5353:53/udp, the runtime asks for 9090:80/tcp")

	// A second container asks for the same host port: refused, undone.
	const pod2 = "4f1c2a9b8e7d6c5b4a39281706f5e4d3c2b1a09f8e7d6c5b4a3928170615e4d3"
	req2 := add(pod2)
	req2.PortMappings = []PortMapping{{HostPort: 8080, ContainerPort: 8000, Protocol: "tcp"}}
	_, err = r.s.Add(context.Background(), req2)
	cniErr(t, err, ErrRefused, "host port tcp/8080 on h1 is already published by container")
	if len(r.ctl.eps) != 1 || len(r.records(t)) != 1 {
		t.Fatalf("after a refused ADD: endpoints %d, records %d, want the first container's only", len(r.ctl.eps), len(r.records(t)))
	}
	if _, err := r.k.Link(req2.Netns, "eth0"); err == nil {
		t.Fatal("the refused container's veth is still there")
	}

	connects := len(r.ctl.connects)
	for _, tc := range []struct {
		network string
		m       PortMapping
		code    uint
		parts   []string
	}{
		{"testnet02", PortMapping{HostPort: 80, ContainerPort: 80, Protocol: "sctp"}, types.ErrInvalidNetworkConfig, []string{"80:80/sctp", "only tcp and udp"}},
		{"testnet02", PortMapping{HostPort: 0, ContainerPort: 80}, types.ErrInvalidNetworkConfig, []string{"0:80/", "1 to 65535"}},
		{"testnet02", PortMapping{HostPort: 70000, ContainerPort: 80}, types.ErrInvalidNetworkConfig, []string{"1 to 65535"}},
		{"testnet02", PortMapping{HostPort: 81, ContainerPort: 80, HostIP: "192.0.2.1"}, types.ErrInvalidNetworkConfig, []string{"host address 192.0.2.1 is not supported", "IPv4"}},
		{"testnet02", PortMapping{HostPort: 81, ContainerPort: 80, HostIP: "::"}, types.ErrInvalidNetworkConfig, []string{"host address :: is not supported"}},
		{"testnet03", PortMapping{HostPort: 81, ContainerPort: 80}, types.ErrInvalidNetworkConfig, []string{"testnet03 is internal", "cannot publish ports"}},
	} {
		req := add(pod2)
		req.Network = tc.network
		req.PortMappings = []PortMapping{tc.m}
		_, err := r.s.Add(context.Background(), req)
		cniErr(t, err, tc.code, tc.parts...)
		// DEL after the refused ADD (runtimes do) succeeds all the same.
		del := &Request{ContainerID: pod2, IfName: "eth0", Network: tc.network, PortMappings: req.PortMappings}
		if err := r.s.Del(context.Background(), del); err != nil {
			t.Fatalf("DEL with the refused mapping %+v: %v", tc.m, err)
		}
	}
	req3 := add(pod2)
	req3.PortMappings = []PortMapping{{HostPort: 81, ContainerPort: 80}, {HostPort: 81, ContainerPort: 90, Protocol: "tcp"}}
	_, err = r.s.Add(context.Background(), req3)
	cniErr(t, err, types.ErrInvalidNetworkConfig, "host port tcp/81 is mapped twice")
	req3.PortMappings = nil
	for p := range model.MaxPublished + 1 {
		req3.PortMappings = append(req3.PortMappings, PortMapping{HostPort: 9000 + p, ContainerPort: 9000 + p})
	}
	_, err = r.s.Add(context.Background(), req3)
	cniErr(t, err, types.ErrInvalidNetworkConfig, "65 port mappings", "at most 64")
	if len(r.ctl.connects) != connects || len(r.ctl.eps) != 1 {
		t.Fatalf("refused mappings reached the controller: %d connects (was %d), %d endpoints", len(r.ctl.connects), connects, len(r.ctl.eps))
	}
}

// The ports are refused and the controller then stops answering: the
// attachment cannot be undone, so its record stays for DEL (or GC) to
// finish the job once the controller is back.
func TestAddRefusedPortsUndoFails(t *testing.T) {
	r := newRig(t)
	r.ctl.onUpdate = func() error {
		r.ctl.down = true // the undo's disconnect finds the controller gone
		return &client.APIError{StatusCode: 409, Message: "host port tcp/8080 on h1 is already published by container x on network testnet02"}
	}
	req := add(podID)
	req.PortMappings = []PortMapping{{HostPort: 8080, ContainerPort: 80}}
	_, err := r.s.Add(context.Background(), req)
	cniErr(t, err, ErrRefused, "already published by container x")
	if recs := r.records(t); len(recs) != 1 || recs[0].EndpointID == "" {
		t.Fatalf("records after a failed undo: %+v, want the attachment's", recs)
	}
	r.ctl.down = false
	if err := r.s.Del(context.Background(), &Request{ContainerID: podID, IfName: "eth0", Network: "testnet02"}); err != nil {
		t.Fatal(err)
	}
	if len(r.ctl.eps) != 0 || len(r.records(t)) != 0 {
		t.Fatalf("after DEL: endpoints %d, records %d", len(r.ctl.eps), len(r.records(t)))
	}
}

func firstEndpoint(r *rig) model.EndpointView {
	for _, ep := range r.ctl.eps {
		return ep
	}
	return model.EndpointView{}
}

func TestStatus(t *testing.T) {
	r := newRig(t)
	if err := r.s.Status(context.Background(), &Request{Network: "testnet02"}); err != nil {
		t.Fatal(err)
	}
	cniErr(t, r.s.Status(context.Background(), &Request{Network: "testnet99"}), ErrNotAvailable, "testnet99 does not exist")
	r.ctl.down = true
	cniErr(t, r.s.Status(context.Background(), &Request{Network: "testnet02"}), ErrNotAvailable, "controller does not answer")
	r.a.noState = true
	cniErr(t, r.s.Status(context.Background(), &Request{Network: "testnet02"}), ErrNotAvailable, "no state from the cluster")
}

// GC removes this network's attachments the runtime no longer lists, and
// nothing else: not the valid ones, not another network's.
func TestGC(t *testing.T) {
	r := newRig(t)
	ids := []string{strings.Repeat("a1", 32), strings.Repeat("b2", 32), strings.Repeat("c3", 32)}
	for _, id := range ids {
		if _, err := r.s.Add(context.Background(), add(id)); err != nil {
			t.Fatal(err)
		}
	}
	other := add(strings.Repeat("d4", 32))
	other.Network = "testnet03"
	if _, err := r.s.Add(context.Background(), other); err != nil {
		t.Fatal(err)
	}
	if err := r.s.GC(context.Background(), &Request{Network: "testnet02", Valid: []types.GCAttachment{{ContainerID: ids[1], IfName: "eth0"}}}); err != nil {
		t.Fatal(err)
	}
	var left []string
	for _, ep := range r.ctl.eps {
		left = append(left, ep.ContainerID[:2])
	}
	if len(r.ctl.eps) != 2 || len(r.records(t)) != 2 || len(r.k.veths) != 2 {
		t.Fatalf("after GC: endpoints of %v, records %d, veths %d", left, len(r.records(t)), len(r.k.veths))
	}
	for _, ep := range r.ctl.eps {
		if ep.ContainerID != ids[1] && ep.ContainerID != other.ContainerID {
			t.Fatalf("GC left %s", ep.ContainerID)
		}
	}
	// Without valid attachments (cnitool gc): every one of the network's.
	if err := r.s.GC(context.Background(), &Request{Network: "testnet02"}); err != nil {
		t.Fatal(err)
	}
	if len(r.ctl.eps) != 1 || len(r.records(t)) != 1 {
		t.Fatalf("after the second GC: %d endpoints, %d records", len(r.ctl.eps), len(r.records(t)))
	}
	// A network that is gone: its records go.
	delete(r.ctl.nets, "testnet03")
	if err := r.s.GC(context.Background(), &Request{Network: "testnet03"}); err != nil {
		t.Fatal(err)
	}
	if len(r.records(t)) != 0 {
		t.Fatalf("records %+v", r.records(t))
	}
}

// The plugin's client and the server over a real unix socket: results,
// CNI errors as JSON, an agent that is not there.
func TestSocketRoundTrip(t *testing.T) {
	r := newRig(t)
	dir, err := os.MkdirTemp("", "cni-sock-") // short: unix socket paths are limited
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	sock := filepath.Join(dir, "cni.sock")
	ln, err := listen(sock)
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: r.s.Handler()}
	go srv.Serve(ln)
	defer srv.Close()
	if fi, err := os.Stat(sock); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("socket %v %v", fi, err)
	}
	if _, err := listen(sock); err == nil || !strings.Contains(err.Error(), "served by another process") {
		t.Fatalf("a second agent on the socket: %v", err)
	}
	c := NewClient(sock, 5*time.Second)
	var res current.Result
	if err := c.Do(context.Background(), OpAdd, add(podID), &res, types.ErrTryAgainLater); err != nil {
		t.Fatal(err)
	}
	if res.IPs[0].Address.String() != "10.0.0.2/24" || res.Interfaces[0].Sandbox != add(podID).Netns {
		t.Fatalf("result %+v", res)
	}
	err = c.Do(context.Background(), OpAdd, add(podID), &res, types.ErrTryAgainLater)
	cniErr(t, err, ErrAttached, "DEL it first")
	resp, err := (&http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		return net.Dial("unix", sock)
	}}}).Post("http://x/cni/v1/add", "application/json", strings.NewReader("{not json"))
	if err != nil {
		t.Fatal(err)
	}
	var e types.Error
	json.NewDecoder(resp.Body).Decode(&e)
	resp.Body.Close()
	if e.Code != types.ErrDecodingFailure {
		t.Fatalf("bad JSON answered %+v", e)
	}
	gone := NewClient(filepath.Join(dir, "nobody.sock"), time.Second)
	cniErr(t, gone.Do(context.Background(), OpStatus, &Request{Network: "testnet02"}, nil, ErrNotAvailable), ErrNotAvailable,
		"does not answer on", "nobody.sock", "-cni-socket")
}

// Records survive the agent: a new server finds the attachment for CHECK,
// DEL and GC.
func TestRecordsPersist(t *testing.T) {
	r := newRig(t)
	req := add(podID)
	res, err := r.s.Add(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	s := r.newServer(t)
	if _, ok := s.recs.get(attachmentKey(r.ctl.nets["testnet02"].ID, podID, "eth0")); !ok {
		t.Fatal("record lost")
	}
	req.PrevResult = res
	if err := s.Check(context.Background(), req); err != nil {
		t.Fatal(err)
	}
	if err := s.GC(context.Background(), &Request{Network: "testnet02"}); err != nil || len(r.ctl.eps) != 0 {
		t.Fatalf("GC after restart: %v, %d endpoints", err, len(r.ctl.eps))
	}
}

func TestBuildResultIPv6(t *testing.T) {
	ep := &model.Endpoint{ID: strings.Repeat("1", 64), IfName: "eth0", Netns: "/run/netns/x", MAC: model.MACFromIPv4(netip.MustParseAddr("10.0.1.2")),
		IPv4: netip.MustParsePrefix("10.0.1.2/24"), IPv6: netip.MustParsePrefix("fd00:4::2/64")}
	n := &network{gw4: netip.MustParseAddr("10.0.1.1"), gw6: netip.MustParseAddr("fd00:4::1")}
	res := buildResult(ep, n, Link{Gateways: []netip.Addr{netip.MustParseAddr("10.0.1.1"), netip.MustParseAddr("fd00:4::1")}})
	data, _ := json.Marshal(res)
	want := `{"cniVersion":"1.1.0","dns":{"nameservers":["10.0.1.1","fd00:4::1"],"options":["ndots:0"]},` +
		`"interfaces":[{"mac":"02:42:0a:00:01:02","name":"eth0","sandbox":"/run/netns/x"}],` +
		`"ips":[{"address":"10.0.1.2/24","gateway":"10.0.1.1","interface":0},{"address":"fd00:4::2/64","gateway":"fd00:4::1","interface":0}],` +
		`"routes":[{"dst":"0.0.0.0/0","gw":"10.0.1.1"},{"dst":"::/0","gw":"fd00:4::1"}]}`
	if string(data) != want {
		t.Fatalf("result\n%s\nwant\n%s", data, want)
	}
}

func TestKeyedMutex(t *testing.T) {
	var k keyedMutex
	unlock := k.lock("a")
	done := make(chan struct{})
	go func() {
		defer close(done)
		k.lock("b")() // another key: free
		u := k.lock("a")
		u()
	}()
	select {
	case <-done:
		t.Fatal("a second holder of key a got it")
	case <-time.After(50 * time.Millisecond):
	}
	unlock()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("key a never released")
	}
	if len(k.m) != 0 {
		t.Fatalf("entries left: %v", k.m)
	}
}

// An unreadable records file is moved aside; the agent serves on.
func TestUnreadableRecords(t *testing.T) {
	r := newRig(t)
	path := filepath.Join(r.dir, "cni-attachments.json")
	if err := os.WriteFile(path, []byte("{broken"), 0o600); err != nil {
		t.Fatal(err)
	}
	s := r.newServer(t)
	if _, err := s.Add(context.Background(), add(podID)); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(path + ".unreadable"); err != nil || string(b) != "{broken" {
		t.Fatalf("moved aside: %q %v", b, err)
	}
	if len(r.records(t)) != 1 {
		t.Fatalf("records %+v", r.records(t))
	}
}
