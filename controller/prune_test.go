package controller

import (
	"encoding/json"
	"net/url"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/ovsnet/ovsnet/model"
)

// Prune removes exactly the networks without endpoints that match the
// filters, over Docker's route, and refuses unknown filters.
func TestPruneRemovesUnusedNetworks(t *testing.T) {
	e := newEnv(t, 1, "")
	for _, body := range []string{
		`{"Name":"used","Driver":"overlay"}`,
		`{"Name":"idle","Driver":"overlay","Labels":{"tier":"front"}}`,
		`{"Name":"kept","Driver":"overlay","Labels":{"keep":"yes"}}`,
		`{"Name":"other","Driver":"overlay"}`,
	} {
		if code, out := e.do("POST", "/networks/create", body); code != 201 {
			t.Fatalf("create %s: %d %s", body, code, out)
		}
	}
	if code, out := e.do("POST", "/networks/used/connect", dockerConnect("a", "")); code != 200 {
		t.Fatalf("connect: %d %s", code, out)
	}
	prune := func(filters string) (int, []string, string) {
		path := "/v1.41/networks/prune"
		if filters != "" {
			path += "?filters=" + url.QueryEscape(filters)
		}
		code, body := e.do("POST", path, "")
		var r PruneResponse
		_ = json.Unmarshal([]byte(body), &r)
		sort.Strings(r.NetworksDeleted)
		return code, r.NetworksDeleted, body
	}
	if code, _, body := prune(`{"colour":{"red":true}}`); code != 400 || !strings.Contains(body, "invalid filter 'colour'") {
		t.Fatalf("unknown filter: %d %s", code, body)
	}
	if code, _, body := prune(`{"until":["yesterday"]}`); code != 400 || !strings.Contains(body, "want a duration") {
		t.Fatalf("bad until: %d %s", code, body)
	}
	// Created just now: none is older than an hour.
	if code, got, body := prune(`{"until":["1h"]}`); code != 200 || len(got) != 0 {
		t.Fatalf("until=1h: %d %s", code, body)
	}
	if code, got, body := prune(`{"label":["tier=front"]}`); code != 200 || strings.Join(got, ",") != "idle" {
		t.Fatalf("label=tier=front: %d %s", code, body)
	}
	if code, got, body := prune(`{"label!":["keep"]}`); code != 200 || strings.Join(got, ",") != "other" {
		t.Fatalf("label!=keep: %d %s", code, body)
	}
	if code, got, body := prune(""); code != 200 || strings.Join(got, ",") != "kept" {
		t.Fatalf("no filter: %d %s", code, body)
	}
	code, body := e.do("GET", "/networks", "")
	var left []model.NetworkResource
	if code != 200 || json.Unmarshal([]byte(body), &left) != nil || len(left) != 1 || left[0].Name != "used" {
		t.Fatalf("networks after prune: %d %s", code, body)
	}
	if code, got, body := prune(""); code != 200 || len(got) != 0 || !strings.Contains(body, `"NetworksDeleted":[]`) {
		t.Fatalf("nothing to prune: %d %s", code, body)
	}
}

func TestPruneUntil(t *testing.T) {
	now := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	old := &model.Network{Created: now.Add(-48 * time.Hour)}
	young := &model.Network{Created: now.Add(-time.Hour)}
	for _, until := range []string{"24h", "2026-11-29T12:00:00Z", "1795953600"} {
		match, err := pruneFilter(map[string][]string{"until": {until}}, now)
		if err != nil {
			t.Fatalf("until=%s: %v", until, err)
		}
		if !match(old) || match(young) {
			t.Errorf("until=%s: old %v young %v, want true false", until, match(old), match(young))
		}
	}
}

// What the controller cannot do is refused, never stored and ignored.
func TestUnsupportedOptionsAreRefused(t *testing.T) {
	e := newEnv(t, 1, "")
	if code, body := e.do("POST", "/networks/create", `{"Name":"n","Driver":"overlay","IPAM":{"Driver":"default","Options":{"foo":"bar"}}}`); code != 400 || !strings.Contains(body, "IPAM options are not supported") {
		t.Fatalf("IPAM options: %d %s", code, body)
	}
	if code, body := e.do("POST", "/networks/create", `{"Name":"n","Driver":"overlay"}`); code != 201 {
		t.Fatalf("create: %d %s", code, body)
	}
	body := `{"Container":"c","EndpointConfig":{"IPAMConfig":{"LinkLocalIPs":["169.254.0.5"]},"DriverOpts":{"ovsnet.host":"h1","ovsnet.docker":"true"}}}`
	if code, out := e.do("POST", "/networks/n/connect", body); code != 400 || !strings.Contains(out, "link-local addresses are not supported") {
		t.Fatalf("link-local: %d %s", code, out)
	}
}
