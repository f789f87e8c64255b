package controller

import (
	"context"
	"encoding/json"
	"fmt"
	"net/netip"
	"strings"
	"sync"
	"testing"

	"github.com/ovsnet/ovsnet/internal/store"
	"github.com/ovsnet/ovsnet/model"
)

// The plans, on their own: pure functions of the state and the request.

func planState(t *testing.T) (*state, *netState) {
	s := newState()
	n := model.Network{ID: strings.Repeat("a", 64), Name: "n", Driver: model.DriverOverlay, Scope: model.ScopeGlobal,
		Subnet: netip.MustParsePrefix("10.7.0.0/24"), Gateway: netip.MustParseAddr("10.7.0.1"), VNI: 4097}
	s.putNetwork(n, 5)
	s.hosts["h1"] = model.Host{Name: "h1", TunnelIP: netip.MustParseAddr("192.0.2.1"), Alive: true}
	s.hosts["h2"] = model.Host{Name: "h2", TunnelIP: netip.MustParseAddr("192.0.2.2")}
	return s, s.networks[n.ID]
}

func connectReq(t *testing.T, container, host string, ip string) connectRequest {
	t.Helper()
	req := model.NetworkConnectRequest{Container: container, EndpointConfig: &model.EndpointSettings{
		DriverOpts: map[string]string{model.OptEndpointHost: host, model.OptEndpointNetns: "/run/netns/" + container}}}
	if ip != "" {
		req.EndpointConfig.IPAMConfig = &model.EndpointIPAMConfig{IPv4Address: ip}
	}
	in, err := parseConnect(req)
	if err != nil {
		t.Fatal(err)
	}
	return in
}

func TestPlanConnect(t *testing.T) {
	s, ns := planState(t)
	p, err := s.planConnect("n", connectReq(t, "a", "h1", ""))
	if err != nil {
		t.Fatal(err)
	}
	ep := p.ep
	if ep.IPv4.String() != "10.7.0.2/24" || ep.IfName != "eth0" || ep.TunnelIP.String() != "192.0.2.1" || ep.MAC.String() != "02:42:0a:07:00:02" {
		t.Fatalf("planned %+v", ep)
	}
	// The plan changed nothing: the same request plans the same address.
	if p2, _ := s.planConnect("n", connectReq(t, "a", "h1", "")); p2.ep.IPv4 != ep.IPv4 {
		t.Fatal("planning changed the state")
	}

	// The transaction: guards, then the records, each key once.
	tx := newWrites(store.New(store.NewMemory(), "ovsnet"))
	connectTxn(tx, s, p)
	var got []string
	for _, op := range tx.Ops {
		got = append(got, string(op.Verb)+" "+strings.TrimPrefix(op.Key, "ovsnet/"))
	}
	want := []string{
		"check-index networks/" + ns.Value.ID,
		"check-not-exists alloc/attach/" + ns.Value.ID + "/" + ep.ContainerID,
		"check-not-exists alloc/ipam/" + ns.Value.ID + "/10.7.0.2",
		"set alloc/ipam/" + ns.Value.ID + "/10.7.0.2",
		"set alloc/attach/" + ns.Value.ID + "/" + ep.ContainerID,
		"cas endpoints/" + ns.Value.ID + "/" + ep.ID,
		"set placement/h1/" + ns.Value.ID + "/" + ep.ID,
		"set changes/" + ns.Value.ID + "/1",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("transaction:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if tx.Ops[0].Index != 5 {
		t.Fatalf("the network guard checks index %d, want 5", tx.Ops[0].Index)
	}

	s.applyEndpoint(ep, 9)
	for _, c := range []struct {
		container, host, ip, err string
	}{
		{"a", "h1", "", "endpoint with name a already exists in network n"},
		{"b", "h1", "10.7.0.2", "Address already in use"},
		{"b", "h2", "", "the ovsnet agent on host h2 is down"},
		{"b", "h9", "", "host h9 is not known"},
		{"b", "h1", "10.8.0.1", "Invalid preferred address 10.8.0.1"},
	} {
		if _, err := s.planConnect("n", connectReq(t, c.container, c.host, c.ip)); err == nil || !strings.Contains(err.Error(), c.err) {
			t.Errorf("%+v: %v, want %q", c, err, c.err)
		}
	}
	// A second network of the same container gets eth1.
	s.putNetwork(model.Network{ID: strings.Repeat("b", 64), Name: "m", Driver: model.DriverOverlay, Scope: model.ScopeGlobal,
		Subnet: netip.MustParsePrefix("10.8.0.0/24"), Gateway: netip.MustParseAddr("10.8.0.1"), VNI: 4098}, 10)
	if p, err := s.planConnect("m", connectReq(t, "a", "h1", "")); err != nil || p.ep.IfName != "eth1" {
		t.Fatalf("second network: %+v %v", p.ep, err)
	}
}

// A release deletes only what the endpoint still holds, each key guarded
// by the index the leader knows.
func TestReleaseIsGuardedByTheHolder(t *testing.T) {
	s, ns := planState(t)
	p, _ := s.planConnect("n", connectReq(t, "a", "h1", ""))
	s.applyEndpoint(p.ep, 9)
	// Someone else holds the address by now (as after a lost race).
	ns.ipam[p.ep.IPv4.Addr()] = store.Holder{Value: "reserved:h2:1", Index: 12}
	tx := newWrites(store.New(store.NewMemory(), "ovsnet"))
	releaseTxn(tx, s, s.eps[p.ep.ID])
	for _, op := range tx.Ops {
		if strings.Contains(op.Key, "/alloc/ipam/") {
			t.Fatalf("released an address the endpoint no longer holds: %+v", op)
		}
		if op.Verb == store.VerbDelete && strings.Contains(op.Key, "/endpoints/") {
			t.Fatalf("unguarded delete of the endpoint: %+v", op)
		}
	}
}

// Tried as a production user would: A's connect waits for its agent; A is
// disconnected meanwhile; B is given the freed address; A's connect then
// times out and rolls back. The rollback must not take B's address.
func TestRollbackNeverTakesAnotherEndpointsAddress(t *testing.T) {
	e := newEnv(t, 1, "")
	e.do("POST", "/networks/create", `{"Name":"n","Driver":"overlay","IPAM":{"Config":[{"Subnet":"10.7.0.0/24"}]}}`)
	aDone := make(chan struct{})
	var aCode int
	var aBody string
	go func() {
		defer close(aDone)
		aCode, aBody = e.do("POST", "/networks/n/connect", `{"Container":"a","EndpointConfig":{"DriverOpts":{"ovsnet.host":"h1","ovsnet.netns":"/run/netns/a"}}}`)
	}()
	// A exists (waiting for its agent, which never reports).
	e.eventually("A's endpoint", func() bool {
		_, body := e.do("GET", "/ovsnet/v1/endpoints?network=n", "")
		return strings.Contains(body, `"containerName":"a"`)
	})
	if code, body := e.do("POST", "/networks/n/disconnect", `{"Container":"a"}`); code != 200 {
		t.Fatalf("disconnect A: %d %s", code, body)
	}
	code, body := e.do("POST", "/networks/n/connect", dockerConnect("b", ""))
	var b model.EndpointView
	if code != 200 || json.Unmarshal([]byte(body), &b) != nil || b.IPv4.String() != "10.7.0.2/24" {
		t.Fatalf("B: %d %s (want A's freed 10.7.0.2)", code, body)
	}
	<-aDone
	if aCode != 504 {
		t.Fatalf("A's connect: %d %s, want the agent's timeout", aCode, aBody)
	}
	// B still holds its address, in the store and for the next connect.
	p, _, err := e.b.Get(context.Background(), e.st.K.IPAM(b.NetworkID, b.IPv4.Addr()), store.Query{})
	if err != nil || p == nil || string(p.Value) != b.ID {
		t.Fatalf("B's reservation after A's rollback: %+v %v", p, err)
	}
	code, body = e.do("POST", "/networks/n/connect", dockerConnect("c", ""))
	if code != 200 || strings.Contains(body, `"10.7.0.2/24"`) {
		t.Fatalf("C was handed B's address: %d %s", code, body)
	}
}

// 200 concurrent attaches over two replicas: every address distinct, every
// call a success or a clear refusal.
func TestConcurrentAttachesOverTwoReplicas(t *testing.T) {
	concurrentAttaches(t, newEnv(t, 2, ""))
}

// concurrentAttaches makes 200 attaches at once, alternating over two
// replicas, and checks that no address is handed out twice.
func concurrentAttaches(t *testing.T, e *env) {
	e.do("POST", "/networks/create", `{"Name":"n","Driver":"overlay","IPAM":{"Config":[{"Subnet":"10.7.0.0/16"}]}}`)
	var mu sync.Mutex
	seen := map[string]string{}
	var wg sync.WaitGroup
	for i := 0; i < 200; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			code, body := e.doOn(i%2, "POST", "/networks/n/connect", dockerConnect(fmt.Sprintf("c%d", i), ""))
			if code == 409 || code == 503 {
				return
			}
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
	wg.Wait()
	if len(seen) < 190 {
		t.Errorf("only %d of 200 attaches succeeded", len(seen))
	}
}

// Two replicas creating overlapping bridge networks on one host at once:
// exactly one wins.
func TestOverlappingBridgeNetworksRace(t *testing.T) {
	e := newEnv(t, 2, "")
	var wg sync.WaitGroup
	codes := make([]int, 8)
	for i := range codes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			codes[i], _ = e.doOn(i%2, "POST", "/networks/create",
				fmt.Sprintf(`{"Name":"b%d","Driver":"bridge","Options":{"ovsnet.host":"h1"},"IPAM":{"Config":[{"Subnet":"172.30.%d.0/24"}]}}`, i, 0))
		}()
	}
	wg.Wait()
	created := 0
	for _, c := range codes {
		switch c {
		case 201:
			created++
		case 403:
		default:
			t.Errorf("create: %d", c)
		}
	}
	if created != 1 {
		t.Fatalf("%d of 8 overlapping bridge networks created", created)
	}
}

// Consul away in the middle of a remove: the remove fails with 503 and
// leaves nothing half done; once Consul is back it works, and connects to
// other networks were never blocked.
func TestRemoveDuringConsulOutage(t *testing.T) {
	mem := store.NewMemory()
	e := newEnvOn(t, mem, "ovsnet", 1, "")
	e.do("POST", "/networks/create", `{"Name":"gone","Driver":"overlay"}`)
	e.do("POST", "/networks/create", `{"Name":"kept","Driver":"overlay"}`)
	mem.Down()
	if code, body := e.do("DELETE", "/networks/gone", ""); code != 503 {
		t.Fatalf("remove while Consul is away: %d %s", code, body)
	}
	mem.Up()
	if code, body := e.do("POST", "/networks/kept/connect", dockerConnect("a", "")); code != 200 {
		t.Fatalf("connect after the outage: %d %s", code, body)
	}
	if code, body := e.do("DELETE", "/networks/gone", ""); code != 204 {
		t.Fatalf("remove after the outage: %d %s", code, body)
	}
}

// Records under the prefix that cannot be read are skipped, counted and
// never stop the leader.
func TestForeignAndBrokenKeysAreSkipped(t *testing.T) {
	mem := store.NewMemory()
	st := store.New(mem, "ovsnet")
	ctx := context.Background()
	var tx store.Txn
	tx.PutRaw("ovsnet/networks/"+strings.Repeat("f", 64), "{not json")
	tx.PutRaw("ovsnet/endpoints/x/y", `{"id":"z"}`)
	tx.PutRaw("ovsnet/alloc/ipam/x/not-an-address", "e")
	tx.PutRaw("ovsnet/alloc/whatever/x/y", "e")
	tx.PutRaw("ovsnet/hosts/h9", "garbage")
	if _, err := st.Commit(ctx, &tx); err != nil {
		t.Fatal(err)
	}
	e := newEnvOn(t, mem, "ovsnet", 1, "")
	if code, body := e.do("POST", "/networks/create", `{"Name":"n","Driver":"overlay"}`); code != 201 {
		t.Fatalf("create with broken records around: %d %s", code, body)
	}
	if code, body := e.do("POST", "/networks/n/connect", dockerConnect("a", "")); code != 200 {
		t.Fatalf("connect with broken records around: %d %s", code, body)
	}
	_, m := e.do("GET", "/metrics", "")
	if !strings.Contains(m, "ovsnet_controller_skipped_records 5") {
		t.Errorf("skipped records not counted:\n%s", grepLines(m, "skipped"))
	}
}

func grepLines(s, word string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, word) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// The next default pool avoids the subnets an engine holds for networks it
// has not registered yet; a bad exclusion is a clear 400.
func TestNextPoolExcludes(t *testing.T) {
	e := newEnv(t, 1, "")
	code, body := e.do("GET", "/ovsnet/v1/pools/next?driver=overlay", "")
	if code != 200 || !strings.Contains(body, `"10.0.0.0/24"`) {
		t.Fatalf("next pool: %d %s", code, body)
	}
	code, body = e.do("GET", "/ovsnet/v1/pools/next?driver=overlay&exclude=10.0.0.0/24,10.0.1.0/24", "")
	if code != 200 || !strings.Contains(body, `"10.0.2.0/24"`) {
		t.Fatalf("next pool excluding 10.0.0.0/24 and 10.0.1.0/24: %d %s", code, body)
	}
	code, body = e.do("GET", "/ovsnet/v1/pools/next?exclude=nonsense", "")
	if code != 400 || !strings.Contains(body, "nonsense") {
		t.Fatalf("a bad exclusion: %d %s, want 400 naming it", code, body)
	}
}
