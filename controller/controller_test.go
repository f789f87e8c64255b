package controller

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/ovsnet/ovsnet/internal/store"
	"github.com/ovsnet/ovsnet/model"
)

// These tests run the controller against a real Consul server; no agents
// run, so endpoints are created through the Docker path (which does not
// wait for an agent) on a registered host record.

func TestCreateNetworkValidation(t *testing.T) {
	e := newEnv(t, 1, "")
	cases := []struct {
		body string
		code int
		msg  string
	}{
		{`{"Name":"ok1","Driver":"overlay"}`, 201, ""},
		{`{"Name":"ok1","Driver":"overlay"}`, 409, "network with name ok1 already exists"},
		{`{"Name":"-bad","Driver":"overlay"}`, 400, "invalid network name"},
		{`{"Name":"x","Driver":"macvlan"}`, 400, `macvlan\" is not supported`},
		{`{"Name":"x","Driver":"bridge"}`, 400, "lives on one host"},
		{`{"Name":"x","Driver":"overlay","IPAM":{"Config":[{"Subnet":"10.1.0.0/33"}]}}`, 400, "invalid subnet 10.1.0.0/33"},
		{`{"Name":"x","Driver":"overlay","IPAM":{"Config":[{"Subnet":"10.1.0.7/24"}]}}`, 400, "host bits are set"},
		{`{"Name":"x","Driver":"overlay","IPAM":{"Config":[{"Subnet":"10.1.0.0/24","Gateway":"10.2.0.1"}]}}`, 400, "gateway 10.2.0.1 is not in subnet 10.1.0.0/24"},
		{`{"Name":"x","Driver":"overlay","IPAM":{"Config":[{"Subnet":"10.1.0.0/24","IPRange":"10.3.0.0/25"}]}}`, 400, "not inside subnet"},
		{`{"Name":"x","Driver":"overlay","IPAM":{"Config":[{"Gateway":"10.1.0.1"}]}}`, 400, "needs a subnet"},
		{`{"Name":"x","Driver":"overlay","IPAM":{"Config":[{"Subnet":"fd00::/64"}]}}`, 400, "IPv6 is not enabled"},
		{`{"Name":"x","Driver":"overlay","IPAM":{"Driver":"weird"}}`, 400, `IPAM driver \"weird`},
		{`{"Name":"x","Driver":"overlay","Ingress":true}`, 400, "ingress"},
		{`{"Name":"x","Driver":"overlay","Options":{"com.docker.network.driver.mtu":"abc"}}`, 400, "not a number"},
		{`{"Name":"x","Driver":"overlay","Options":{"com.docker.network.driver.mtu":"100"}}`, 400, "MTU 100 out of range"},
		{`not json`, 400, "invalid JSON body"},
		{``, 400, "request body is empty"},
		{`{"Name":"b1","Driver":"bridge","Options":{"ovsnet.host":"h1"},"IPAM":{"Config":[{"Subnet":"172.30.0.0/16"}]}}`, 201, ""},
		{`{"Name":"b2","Driver":"bridge","Options":{"ovsnet.host":"h1"},"IPAM":{"Config":[{"Subnet":"172.30.128.0/17"}]}}`, 403, "Pool overlaps"},
	}
	for _, c := range cases {
		code, body := e.do("POST", "/networks/create", c.body)
		if code != c.code || (c.msg != "" && !strings.Contains(body, c.msg)) {
			t.Errorf("create %s: %d %s; want %d containing %q", c.body, code, body, c.code, c.msg)
		}
		if code >= 400 {
			var er model.ErrorResponse
			if json.Unmarshal([]byte(body), &er) != nil || er.Message == "" {
				t.Errorf("error body is not {\"message\": ...}: %s", body)
			}
		}
	}
	// Nothing half-created: only ok1 and b1 exist.
	code, body := e.do("GET", "/v1.41/networks", "")
	var nets []model.NetworkResource
	if code != 200 || json.Unmarshal([]byte(body), &nets) != nil || len(nets) != 2 {
		t.Fatalf("networks after the failures: %d %s", code, body)
	}
}

func TestDefaultsAndLookup(t *testing.T) {
	e := newEnv(t, 1, "")
	var ids []string
	for i := 0; i < 3; i++ {
		code, body := e.do("POST", "/v1.41/networks/create", fmt.Sprintf(`{"Name":"n%d","Driver":"overlay"}`, i))
		if code != 201 {
			t.Fatalf("create: %d %s", code, body)
		}
		var r model.NetworkCreateResponse
		_ = json.Unmarshal([]byte(body), &r)
		ids = append(ids, r.ID)
	}
	for i, id := range ids {
		for _, ref := range []string{id, fmt.Sprintf("n%d", i), id[:8]} {
			code, body := e.do("GET", "/networks/"+ref, "")
			var n model.NetworkResource
			if code != 200 || json.Unmarshal([]byte(body), &n) != nil || n.ID != id {
				t.Fatalf("inspect %s: %d %s", ref, code, body)
			}
			if want := fmt.Sprintf("10.0.%d.0/24", i); n.IPAM.Config[0].Subnet != want || n.IPAM.Config[0].Gateway != fmt.Sprintf("10.0.%d.1", i) {
				t.Fatalf("n%d: subnet %+v, want Docker's default %s", i, n.IPAM.Config, want)
			}
			if n.Options[model.OptVNI] != fmt.Sprint(4097+i) {
				t.Fatalf("n%d: VNI %q", i, n.Options[model.OptVNI])
			}
		}
	}
	code, body := e.do("GET", "/networks/nope", "")
	if code != 404 || !strings.Contains(body, `"message":"network nope not found"`) {
		t.Fatalf("unknown network: %d %s", code, body)
	}
	code, body = e.do("GET", "/networks?filters="+`%7B%22name%22%3A%7B%22n1%22%3Atrue%7D%7D`, "")
	if code != 200 || strings.Count(body, `"Name"`) != 1 || !strings.Contains(body, `"n1"`) {
		t.Fatalf("name filter: %d %s", code, body)
	}
	code, _ = e.do("HEAD", "/_ping", "")
	if code != 200 {
		t.Fatalf("HEAD /_ping: %d", code)
	}
}

func dockerConnect(container, ip string) string {
	ipam := ""
	if ip != "" {
		ipam = fmt.Sprintf(`"IPAMConfig":{"IPv4Address":%q},`, ip)
	}
	return fmt.Sprintf(`{"Container":%q,"EndpointConfig":{%s"DriverOpts":{"ovsnet.host":"h1","ovsnet.docker":"true"}}}`, container, ipam)
}

func TestConnectAndRemove(t *testing.T) {
	e := newEnv(t, 1, "")
	e.do("POST", "/networks/create", `{"Name":"n","Driver":"overlay","IPAM":{"Config":[{"Subnet":"10.7.0.0/24"}]}}`)
	cases := []struct {
		body string
		code int
		msg  string
	}{
		{dockerConnect("a", ""), 200, `"ipv4":"10.7.0.2/24"`},
		{dockerConnect("b", "10.7.0.50"), 200, `"ipv4":"10.7.0.50/24"`},
		{dockerConnect("a", ""), 403, "endpoint with name a already exists in network n"},
		{dockerConnect("c", "10.7.0.50"), 409, "Address already in use"},
		{dockerConnect("c", "10.8.0.5"), 400, "Invalid preferred address 10.8.0.5: It does not belong to any of this network's subnets"},
		{dockerConnect("c", "10.7.0.1"), 400, "gateway"},
		{dockerConnect("c", "nonsense"), 400, "invalid IPv4 address"},
		{`{"Container":"c","EndpointConfig":{"DriverOpts":{"ovsnet.host":"h9","ovsnet.docker":"true"}}}`, 400, "host h9 is not known"},
		{`{"Container":"zzz"}`, 404, "No such container: zzz"},
		{`{"Container":""}`, 400, "a container is required"},
		{`{"Container":"c","EndpointConfig":{"MacAddress":"01:00:00:00:00:01","DriverOpts":{"ovsnet.host":"h1","ovsnet.docker":"true"}}}`, 400, "multicast"},
		{`{"Container":"c","EndpointConfig":{"Links":["a:b:c"],"DriverOpts":{"ovsnet.host":"h1","ovsnet.docker":"true"}}}`, 400, "invalid link"},
	}
	for _, c := range cases {
		code, body := e.do("POST", "/networks/n/connect", c.body)
		if code != c.code || !strings.Contains(body, c.msg) {
			t.Errorf("connect %s: %d %s; want %d containing %q", c.body, code, body, c.code, c.msg)
		}
	}
	code, body := e.do("GET", "/ovsnet/v1/endpoints?network=n", "")
	if code != 200 || strings.Count(body, `"containerName"`) != 2 {
		t.Fatalf("endpoints after failed connects: %s", body)
	}
	code, body = e.do("DELETE", "/networks/n", "")
	if code != 403 || !strings.Contains(body, "has active endpoints") {
		t.Fatalf("remove in use: %d %s", code, body)
	}
	for _, ct := range []string{"a", "b"} {
		if code, body := e.do("POST", "/networks/n/disconnect", fmt.Sprintf(`{"Container":%q}`, ct)); code != 200 {
			t.Fatalf("disconnect %s: %d %s", ct, code, body)
		}
	}
	if code, body := e.do("POST", "/networks/n/disconnect", `{"Container":"a"}`); code != 404 || !strings.Contains(body, "not connected") {
		t.Fatalf("disconnect twice: %d %s", code, body)
	}
	if code, body := e.do("DELETE", "/networks/n", ""); code != 204 {
		t.Fatalf("remove: %d %s", code, body)
	}
	// The name, VNI and addresses are free again.
	if code, body := e.do("POST", "/networks/create", `{"Name":"n","Driver":"overlay","IPAM":{"Config":[{"Subnet":"10.7.0.0/24"}]}}`); code != 201 {
		t.Fatalf("re-create: %d %s", code, body)
	}
	if code, body := e.do("POST", "/networks/n/connect", dockerConnect("a", "10.7.0.50")); code != 200 {
		t.Fatalf("reuse address after removal: %d %s", code, body)
	}
}

// A host port is published by one endpoint per host at a time, whichever
// network it is on; the refused update changes nothing.
func TestPublishedHostPortsPerHost(t *testing.T) {
	e := newEnv(t, 1, "")
	for _, n := range []string{"n", "m"} {
		if code, body := e.do("POST", "/networks/create", fmt.Sprintf(`{"Name":%q,"Driver":"overlay"}`, n)); code != 201 {
			t.Fatalf("create %s: %d %s", n, code, body)
		}
	}
	ids := map[string]string{}
	for _, c := range []struct{ net, container string }{{"n", "a"}, {"n", "b"}, {"m", "c"}, {"m", "a"}} {
		code, body := e.do("POST", "/networks/"+c.net+"/connect", dockerConnect(c.container, ""))
		if code != 200 {
			t.Fatalf("connect %s: %d %s", c.container, code, body)
		}
		var v model.EndpointView
		if err := json.Unmarshal([]byte(body), &v); err != nil {
			t.Fatal(err)
		}
		ids[c.container+"@"+c.net] = v.ID
	}
	publish := func(endpoint, ports string) (int, string) {
		return e.do("PATCH", "/ovsnet/v1/endpoints/"+ids[endpoint], `{"published":`+ports+`}`)
	}
	cases := []struct {
		endpoint, ports string
		code            int
		msg             string
	}{
		{"a@n", `[{"proto":"tcp","port":80,"hostPort":8080}]`, 200, `"hostPort":8080`},
		{"b@n", `[{"proto":"tcp","port":81,"hostPort":8080}]`, 409, "host port tcp/8080 on h1 is already published by container a on network n"},
		{"c@m", `[{"proto":"udp","port":53,"hostPort":5353},{"proto":"tcp","port":80,"hostPort":8080}]`, 409, "already published by container a"},
		// The same container, the same mapping on its other network (as
		// Podman asks): allowed; another container port: refused.
		{"a@m", `[{"proto":"tcp","port":80,"hostPort":8080}]`, 200, `"hostPort":8080`},
		{"a@m", `[{"proto":"tcp","port":90,"hostPort":8080}]`, 409, "already published by container a on network n"},
		{"a@m", `[]`, 200, ""},
		{"b@n", `[{"proto":"udp","port":80,"hostPort":8080}]`, 200, `"proto":"udp"`},
		{"a@n", `[{"proto":"tcp","port":80,"hostPort":8080},{"proto":"tcp","port":443,"hostPort":8443}]`, 200, `"hostPort":8443`},
		{"a@n", `[]`, 200, ""},
		{"c@m", `[{"proto":"tcp","port":80,"hostPort":8080}]`, 200, `"hostPort":8080`},
	}
	for _, c := range cases {
		code, body := publish(c.endpoint, c.ports)
		if code != c.code || !strings.Contains(body, c.msg) {
			t.Errorf("publish %s on %s: %d %s; want %d containing %q", c.ports, c.endpoint, code, body, c.code, c.msg)
		}
		if code == 409 {
			// A refused update changes nothing: b and c published nothing
			// before theirs, a@m nothing when it asked for port 90.
			if _, after := e.do("GET", "/ovsnet/v1/endpoints/"+ids[c.endpoint], ""); strings.Contains(after, `"published"`) && c.endpoint != "a@m" ||
				strings.Contains(after, `"port":90`) {
				t.Errorf("%s after its refused update: %s", c.endpoint, after)
			}
		}
	}
}

func TestConcurrentAllocationAcrossReplicas(t *testing.T) {
	e := newEnv(t, 2, "")
	e.do("POST", "/networks/create", `{"Name":"n","Driver":"overlay","IPAM":{"Config":[{"Subnet":"10.7.0.0/24"}]}}`)
	var wg sync.WaitGroup
	var mu sync.Mutex
	seen := map[string]string{}
	for i := 0; i < 40; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			code, body := e.doOn(i%2, "POST", "/networks/n/connect", dockerConnect(fmt.Sprintf("c%d", i), ""))
			var ep model.EndpointView
			if code != 200 || json.Unmarshal([]byte(body), &ep) != nil {
				t.Errorf("connect c%d: %d %s", i, code, body)
				return
			}
			mu.Lock()
			defer mu.Unlock()
			if other, dup := seen[ep.IPv4.String()]; dup {
				t.Errorf("%s handed to both %s and %s", ep.IPv4, other, ep.ContainerName)
			}
			seen[ep.IPv4.String()] = ep.ContainerName
		}()
	}
	// Concurrent network creation: unique VNIs and default subnets.
	vnis := map[string]bool{}
	subnets := map[string]bool{}
	var nwg sync.WaitGroup
	for i := 0; i < 10; i++ {
		nwg.Add(1)
		go func() {
			defer nwg.Done()
			code, body := e.doOn(i%2, "POST", "/networks/create", fmt.Sprintf(`{"Name":"cc%d","Driver":"overlay"}`, i))
			if code != 201 {
				t.Errorf("create cc%d: %d %s", i, code, body)
			}
		}()
	}
	wg.Wait()
	nwg.Wait()
	_, body := e.do("GET", "/networks", "")
	var nets []model.NetworkResource
	_ = json.Unmarshal([]byte(body), &nets)
	for _, n := range nets {
		if vnis[n.Options[model.OptVNI]] || subnets[n.IPAM.Config[0].Subnet] {
			t.Errorf("network %s shares VNI %s or subnet %s", n.Name, n.Options[model.OptVNI], n.IPAM.Config[0].Subnet)
		}
		vnis[n.Options[model.OptVNI]] = true
		subnets[n.IPAM.Config[0].Subnet] = true
	}
	if len(seen) != 40 {
		t.Fatalf("%d distinct addresses for 40 endpoints", len(seen))
	}
}

func TestTokenGuardsWritesAndReads(t *testing.T) {
	e := newEnv(t, 1, "s3cret")
	code, body := e.do("POST", "/networks/create", `{"Name":"n","Driver":"overlay"}`)
	if code != 401 || !strings.Contains(body, "requires a token") {
		t.Fatalf("write without token: %d %s", code, body)
	}
	code, _ = e.do("POST", "/networks/create", `{"Name":"n","Driver":"overlay"}`, "Authorization", "Bearer wrong")
	if code != 401 {
		t.Fatalf("write with a wrong token: %d", code)
	}
	code, body = e.do("POST", "/networks/create", `{"Name":"n","Driver":"overlay"}`, "Authorization", "Bearer s3cret")
	if code != 201 {
		t.Fatalf("write with the token: %d %s", code, body)
	}
	// Reads need it too (auth_test.go has the whole list).
	if code, _ := e.do("GET", "/networks", ""); code != 401 {
		t.Fatalf("read without the token: %d", code)
	}
	if code, _ := e.do("GET", "/networks", "", "Authorization", "Bearer s3cret"); code != 200 {
		t.Fatalf("read with the token: %d", code)
	}
}

// Every replica answers; the leader writes: a write sent to another replica
// is forwarded, and its records are where the layout says.
func TestOneLeaderAndForwarding(t *testing.T) {
	e := newEnv(t, 2, "")
	leader := e.waitLeader()
	other := 0
	if e.ctls[0] == leader {
		other = 1
	}
	if code, body := e.doOn(other, "POST", "/networks/create", `{"Name":"n","Driver":"overlay"}`); code != 201 {
		t.Fatalf("create through the standby: %d %s", code, body)
	}
	code, body := e.doOn(other, "POST", "/networks/n/connect", dockerConnect("a", ""))
	var ep model.EndpointView
	if code != 200 || json.Unmarshal([]byte(body), &ep) != nil {
		t.Fatalf("connect through the standby: %d %s", code, body)
	}
	if code, body := e.doOn(other, "GET", "/networks/n", ""); code != 200 || !strings.Contains(body, ep.ID) {
		t.Fatalf("the standby reads what the leader wrote: %d %s", code, body)
	}
	ctx := context.Background()
	for _, key := range []string{e.st.K.Network(ep.NetworkID), e.st.K.Endpoint(ep.NetworkID, ep.ID),
		e.st.K.Placement("h1", ep.NetworkID, ep.ID), e.st.K.IPAM(ep.NetworkID, ep.IPv4.Addr()), e.st.K.Attach(ep.NetworkID, ep.ContainerID)} {
		if p, _, err := e.b.Get(ctx, key, store.Query{}); err != nil || p == nil {
			t.Errorf("missing %s: %v", key, err)
		}
	}
	var got model.Endpoint
	if found, err := e.st.GetRecord(ctx, e.st.K.Endpoint(ep.NetworkID, ep.ID), &got); !found || err != nil || got.TunnelIP.String() != "192.0.2.1" {
		t.Errorf("endpoint record %+v (%v): want the host's tunnel address in it", got, err)
	}
	leaders := 0
	for _, c := range e.ctls {
		if c.IsLeader() {
			leaders++
		}
	}
	if leaders != 1 {
		t.Fatalf("%d leaders among 2 replicas", leaders)
	}
}
