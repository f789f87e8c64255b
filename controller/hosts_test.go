package controller

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/ovsnet/ovsnet/internal/store"
	"github.com/ovsnet/ovsnet/model"
)

func hostState(t *testing.T, e *env, name string) model.Host {
	t.Helper()
	_, body := e.do("GET", "/ovsnet/v1/hosts", "")
	var hosts []model.Host
	if err := json.Unmarshal([]byte(body), &hosts); err != nil {
		t.Fatal(err)
	}
	for _, h := range hosts {
		if h.Name == name {
			return h
		}
	}
	return model.Host{}
}

// A host whose agent is gone is down, then dead after the grace period;
// removing it releases its endpoints' addresses; a live host is refused.
func TestDeadHostsAndRemoval(t *testing.T) {
	mem := store.NewMemory()
	e := newEnvOn(t, mem, "ovsnet", 1, "", func(c *Config) { c.HostGrace = 300 * time.Millisecond })
	sid := e.registerHost("h2", "192.0.2.2")
	e.do("POST", "/networks/create", `{"Name":"n","Driver":"overlay","IPAM":{"Config":[{"Subnet":"10.7.0.0/24"}]}}`)
	for _, ct := range []string{"a", "b"} {
		if code, body := e.do("POST", "/networks/n/connect", strings.Replace(dockerConnect(ct, ""), `"h1"`, `"h2"`, 1)); code != 200 {
			t.Fatalf("connect %s: %d %s", ct, code, body)
		}
	}
	if h := hostState(t, e, "h2"); h.State != model.HostAlive {
		t.Fatalf("h2: %+v", h)
	}
	if code, body := e.do("DELETE", "/ovsnet/v1/hosts/h2", ""); code != 409 || !strings.Contains(body, "is alive") {
		t.Fatalf("removing a live host: %d %s", code, body)
	}
	mem.ExpireSession(sid) // h2's agent dies
	e.eventually("h2 down", func() bool { return hostState(t, e, "h2").State == model.HostDown })
	e.eventually("h2 dead", func() bool { return hostState(t, e, "h2").State == model.HostDead })
	code, body := e.do("DELETE", "/ovsnet/v1/hosts/h2", "")
	if code != 200 || !strings.Contains(body, `"endpointsRemoved":2`) {
		t.Fatalf("remove h2: %d %s", code, body)
	}
	if h := hostState(t, e, "h2"); h.Name != "" {
		t.Fatalf("h2 still listed: %+v", h)
	}
	// Its addresses are free again, and its records are gone.
	code, body = e.do("POST", "/networks/n/connect", dockerConnect("c", ""))
	if code != 200 || !strings.Contains(body, `"ipv4":"10.7.0.2/24"`) {
		t.Fatalf("connect after the removal: %d %s", code, body)
	}
	for _, prefix := range []string{e.st.K.PlacementOf("h2"), e.st.K.StatusesOf("h2"), e.st.K.Host("h2")} {
		if pairs, _, _ := mem.List(context.Background(), prefix, store.Query{}); len(pairs) != 0 {
			t.Errorf("left behind under %s: %d keys", prefix, len(pairs))
		}
	}
	if code, body := e.do("DELETE", "/ovsnet/v1/hosts/h2", ""); code != 404 {
		t.Fatalf("removing it again: %d %s", code, body)
	}
}

// With ReapDeadHosts the leader removes dead hosts by itself.
func TestReapDeadHosts(t *testing.T) {
	mem := store.NewMemory()
	e := newEnvOn(t, mem, "ovsnet", 1, "", func(c *Config) { c.HostGrace, c.ReapDeadHosts = 200*time.Millisecond, true })
	sid := e.registerHost("h2", "192.0.2.2")
	e.do("POST", "/networks/create", `{"Name":"n","Driver":"overlay"}`)
	if code, body := e.do("POST", "/networks/n/connect", strings.Replace(dockerConnect("a", ""), `"h1"`, `"h2"`, 1)); code != 200 {
		t.Fatalf("connect: %d %s", code, body)
	}
	mem.ExpireSession(sid)
	e.eventually("h2 reaped", func() bool {
		_, body := e.do("GET", "/ovsnet/v1/endpoints?network=n", "")
		return !strings.Contains(body, `"host":"h2"`) && hostState(t, e, "h2").Name == ""
	})
	if h := hostState(t, e, "h1"); h.State != model.HostAlive {
		t.Fatalf("a live host was touched: %+v", h)
	}
}
