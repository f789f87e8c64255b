//go:build e2e

package e2e

import (
	"context"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ovsnet/ovsnet/test/cluster"
)

// Agents and the controller export Prometheus metrics and health: the
// agent's on its own listener inside the host (read here from the host's
// namespace), the controller's on its API address.
func TestMetricsAndHealth(t *testing.T) {
	c := cluster.New(t, cluster.Options{Hosts: 2})
	h1 := c.Lab.Hosts[0]
	c.CreateNetwork("metered")
	c.Connect("metered", c.Lab.AddContainer(h1, "m1"), nil)
	c.Connect("metered", c.Lab.AddContainer(c.Lab.Hosts[1], "m2"), nil)

	get := func(what string, run func(ctx context.Context) ([]byte, error)) string {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		out, err := run(ctx)
		if err != nil {
			t.Fatalf("%s: %v\n%s", what, err, out)
		}
		return string(out)
	}
	value := func(metrics, series string) float64 {
		t.Helper()
		m := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(series) + ` (\S+)$`).FindStringSubmatch(metrics)
		if m == nil {
			t.Fatalf("no series %s in:\n%s", series, metrics)
		}
		v, _ := strconv.ParseFloat(m[1], 64)
		return v
	}

	// The agent: reconciles, flows per table, endpoints, Consul errors.
	var agent string
	cluster.Poll(t, 20*time.Second, "agent metrics show the endpoints", func() error {
		agent = get("agent metrics", func(ctx context.Context) ([]byte, error) {
			return h1.Exec(ctx, "curl", "-sf", "http://127.0.0.1:9474/metrics")
		})
		if !strings.Contains(agent, `ovsnet_agent_endpoints{where="local"} 1`) || !strings.Contains(agent, `ovsnet_agent_endpoints{where="remote"} 1`) {
			return errorf("endpoints not counted yet")
		}
		return nil
	})
	if v := value(agent, `ovsnet_agent_reconciles_total{result="ok"}`); v < 1 {
		t.Errorf("reconciles ok = %v", v)
	}
	if v := value(agent, `ovsnet_agent_reconcile_duration_seconds_count`); v < 1 {
		t.Errorf("reconcile durations observed = %v", v)
	}
	for _, table := range []string{"Classify", "SpoofGuard", "Forward", "LocalDeliver"} {
		if v := value(agent, `ovsnet_agent_flows{table="`+table+`"}`); v < 2 {
			t.Errorf("flows in %s = %v", table, v)
		}
	}
	// Flows per table add up to what OVS holds.
	dump, err := h1.Ofctl("--no-stats", "dump-flows", "br-int", "cookie=0x0e00000000000000/0xff00000000000000")
	if err != nil {
		t.Fatal(err)
	}
	total := 0.0
	for _, m := range regexp.MustCompile(`(?m)^ovsnet_agent_flows\{table="[^"]+"\} (\S+)$`).FindAllStringSubmatch(agent, -1) {
		v, _ := strconv.ParseFloat(m[1], 64)
		total += v
	}
	if held := len(strings.Split(strings.TrimSpace(dump), "\n")); int(total) != held {
		t.Errorf("metrics count %v flows, OVS holds %d", total, held)
	}
	value(agent, `ovsnet_agent_consul_errors_total{op="watch"}`)
	health := get("agent health", func(ctx context.Context) ([]byte, error) {
		return h1.Exec(ctx, "curl", "-sf", "http://127.0.0.1:9474/healthz")
	})
	if !strings.Contains(health, `"status":"ok"`) || !strings.Contains(health, `"host":"h1"`) {
		t.Errorf("agent health: %s", health)
	}

	// The controller: requests by route, cluster state, Consul errors.
	code, ctl, err := cluster.HTTP("GET", c.Controllers[0].URL+"/metrics", "")
	if err != nil || code != 200 {
		t.Fatalf("controller metrics: %d %v", code, err)
	}
	if v := value(ctl, `ovsnet_controller_endpoints`); v != 2 {
		t.Errorf("endpoints = %v", v)
	}
	if v := value(ctl, `ovsnet_controller_leader`); v != 1 {
		t.Errorf("leader = %v", v)
	}
	value(ctl, `ovsnet_controller_consul_errors_total`)
	if !regexp.MustCompile(`ovsnet_controller_requests_total\{code="201",route="[^"]*/networks/create"\} 1`).MatchString(ctl) {
		t.Errorf("the create is not counted:\n%s", ctl)
	}
	if code, body, _ := cluster.HTTP("GET", c.Controllers[0].URL+"/healthz", ""); code != 200 || !strings.Contains(body, `"status":"ok"`) {
		t.Errorf("controller health: %d %s", code, body)
	}
}
