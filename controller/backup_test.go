package controller

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/ovsnet/ovsnet/internal/store"
	"github.com/ovsnet/ovsnet/model"
)

// Back up, wipe everything of ovsnet's in the store, restore: the same
// networks (ids, VNIs, subnets) and endpoints (addresses) come back, a
// second restore skips everything, and what is in the way refuses the
// restore before anything is written.
func TestBackupWipeRestore(t *testing.T) {
	mem := store.NewMemory()
	e := newEnvOn(t, mem, "ovsnet", 1, "")
	e.do("POST", "/networks/create", `{"Name":"n1","Driver":"overlay"}`)
	e.do("POST", "/networks/create", `{"Name":"n2","Driver":"overlay","IPAM":{"Config":[{"Subnet":"10.9.0.0/24","AuxiliaryAddresses":{"gw2":"10.9.0.9"}}]}}`)
	e.do("POST", "/networks/create", `{"Name":"b1","Driver":"bridge","Options":{"ovsnet.host":"h1"}}`)
	for _, c := range []struct{ net, ct, ip string }{{"n1", "a", ""}, {"n1", "b", "10.0.0.77"}, {"n2", "a", ""}, {"b1", "c", ""}} {
		if code, body := e.do("POST", "/networks/"+c.net+"/connect", dockerConnect(c.ct, c.ip)); code != 200 {
			t.Fatalf("connect %s to %s: %d %s", c.ct, c.net, code, body)
		}
	}
	if code, body := e.do("POST", "/ovsnet/v1/networks/n2/addresses", `{"host":"h1","address":"10.9.0.50"}`); code != 201 {
		t.Fatalf("reserve: %d %s", code, body)
	}
	code, saved := e.do("GET", "/ovsnet/v1/backup", "")
	var b model.Backup
	if code != 200 || json.Unmarshal([]byte(saved), &b) != nil || len(b.Networks) != 3 || len(b.Endpoints) != 4 || len(b.Addresses) != 2 {
		t.Fatalf("backup: %d %s", code, saved)
	}
	before := listing(t, e)

	// Wipe ovsnet's keys (hosts re-register by themselves; here, by hand).
	var wipe store.Txn
	wipe.DeleteTree("ovsnet/")
	if _, err := e.st.Commit(context.Background(), &wipe); err != nil {
		t.Fatal(err)
	}
	e.registerHost("h1", "192.0.2.1")

	// The wipe took the leader lock too: the leader takes it again.
	var body string
	e.eventually("a leader after the wipe", func() bool {
		code, body = e.do("POST", "/ovsnet/v1/restore", saved)
		return code != 503
	})
	if code != 200 || !strings.Contains(body, `"networks":3`) || !strings.Contains(body, `"endpoints":4`) {
		t.Fatalf("restore: %d %s", code, body)
	}
	if after := listing(t, e); after != before {
		t.Fatalf("restored state differs:\nbefore: %s\nafter:  %s", before, after)
	}
	// The restored records are the contract's: a new endpoint gets the
	// next free address, not a restored one.
	if code, body := e.do("POST", "/networks/n1/connect", dockerConnect("d", "")); code != 200 || !strings.Contains(body, `"10.0.0.3/24"`) {
		t.Fatalf("connect after the restore: %d %s", code, body)
	}
	if code, body := e.do("POST", "/ovsnet/v1/restore", saved); code != 200 || !strings.Contains(body, `"skipped":8`) {
		t.Fatalf("second restore: %d %s", code, body)
	}

	// Something in the way: nothing is written.
	var wipe2 store.Txn
	wipe2.DeleteTree("ovsnet/")
	if _, err := e.st.Commit(context.Background(), &wipe2); err != nil {
		t.Fatal(err)
	}
	e.registerHost("h1", "192.0.2.1")
	e.eventually("a leader after the wipe", func() bool {
		code, _ = e.do("POST", "/networks/create", `{"Name":"n2","Driver":"overlay"}`) // takes the name
		return code == 201
	})
	if code, body := e.do("POST", "/ovsnet/v1/restore", saved); code != 409 || !strings.Contains(body, "is taken by network") {
		t.Fatalf("restore over a taken name: %d %s", code, body)
	}
	if _, body := e.do("GET", "/networks", ""); strings.Count(body, `"Name"`) != 1 {
		t.Fatalf("a refused restore wrote something: %s", body)
	}
	if code, body := e.do("POST", "/ovsnet/v1/restore", `{"version":9}`); code != 400 {
		t.Fatalf("unknown version: %d %s", code, body)
	}

	// A backup in which two containers on h1 publish one host port (an
	// older version allowed it): refused, nothing written.
	var wipe3 store.Txn
	wipe3.DeleteTree("ovsnet/")
	if _, err := e.st.Commit(context.Background(), &wipe3); err != nil {
		t.Fatal(err)
	}
	e.registerHost("h1", "192.0.2.1")
	port := []model.PortMapping{{Proto: "tcp", Port: 80, HostPort: 8080}}
	var first string
	for i := range b.Endpoints {
		if ct := b.Endpoints[i].ContainerName; first == "" || ct != first && b.Endpoints[i].Host == "h1" {
			b.Endpoints[i].Published = port
			if first != "" {
				break
			}
			first = ct
		}
	}
	dup, _ := json.Marshal(b)
	e.eventually("a leader after the wipe", func() bool {
		code, body = e.do("POST", "/ovsnet/v1/restore", string(dup))
		return code != 503
	})
	if code != 409 || !strings.Contains(body, "host port tcp/8080 on h1 is already published by container "+first) {
		t.Fatalf("restore of two publishers of one host port: %d %s", code, body)
	}
	if _, body := e.do("GET", "/networks", ""); strings.Count(body, `"Name"`) != 0 {
		t.Fatalf("a refused restore wrote something: %s", body)
	}
}

// listing is the state a restore must bring back, as text.
func listing(t *testing.T, e *env) string {
	t.Helper()
	_, nets := e.do("GET", "/ovsnet/v1/networks", "")
	var ns []model.Network
	_ = json.Unmarshal([]byte(nets), &ns)
	var out []string
	for _, n := range ns {
		out = append(out, n.ID[:8]+" "+n.Name+" "+n.Subnet.String()+" vni="+n.Options[model.OptVNI])
	}
	_, eps := e.do("GET", "/ovsnet/v1/endpoints", "")
	var es []model.EndpointView
	_ = json.Unmarshal([]byte(eps), &es)
	for _, ep := range es {
		out = append(out, ep.ID[:8]+" "+ep.ContainerName+"@"+ep.NetworkName+" "+ep.IPv4.String()+" "+ep.MAC.String())
	}
	return strings.Join(out, "; ")
}
