package main

import (
	"strings"
	"testing"
	"time"
)

// epJSON is an EndpointView as the controller would send it.
func epJSON(id, network, networkName, host, container, ipv4, ipv6, mac, status string) string {
	s := `{"id":"` + id + `","networkId":"` + network + `","host":"` + host + `","containerId":"` + fullID("c0ffee") +
		`","containerName":"` + container + `","mac":"` + mac + `","ipv4":"` + ipv4 + `"`
	if ipv6 != "" {
		s += `,"ipv6":"` + ipv6 + `"`
	}
	s += `,"created":"2025-06-01T11:00:00Z","networkName":"` + networkName + `"`
	if status != "" {
		s += `,"status":{"endpointId":"` + id + `","host":"` + host + `","state":"` + status + `","updated":"2025-06-01T11:59:00Z"}`
	}
	return s + "}"
}

var endpointList = "[" +
	epJSON(fullID("e3"), db10ID, "db10", "h1", "c3", "10.0.2.3/24", "", "02:42:0a:00:02:03", "error") + "," +
	epJSON(fullID("e2"), webID, "web", "h2", "c2", "10.0.1.2/24", "", "02:42:0a:00:01:02", "") + "," +
	strings.Replace(epJSON(fullID("e1"), webID, "web", "h1", "c1", "10.0.1.1/24", "fd00:1::1/64", "02:42:0a:00:01:01", "ready"),
		"{", `{"published":[{"proto":"tcp","port":80,"hostPort":8080},{"proto":"udp","port":53,"hostPort":5353}],`, 1) + "," +
	epJSON(fullID("e4"), db2ID, "", "h9", "", "10.0.3.4/24", "", "02:42:0a:00:03:04", "ready") + "]"

func TestHostList(t *testing.T) {
	sync3s := fixedNow.Add(-3 * time.Second).Format(time.RFC3339)
	sync3h := fixedNow.Add(-3*time.Hour - 59*time.Minute).Format(time.RFC3339)
	f := newFakeController(t, map[string]reply{
		"GET /ovsnet/v1/hosts": {200, `[
			{"name":"h10","tunnelIP":"192.0.2.20","version":"v0.2.9","alive":false,"started":"2025-06-01T08:00:00Z","lastSync":"` + sync3h + `"},
			{"name":"h1","tunnelIP":"192.0.2.11","version":"v0.3.0","alive":true,"started":"2025-06-01T11:00:00Z","lastSync":"` + sync3s + `"},
			{"name":"h2","tunnelIP":"2001:db8::2","alive":true,"started":"2025-06-01T11:00:00Z"}]`},
		"GET /ovsnet/v1/endpoints": {200, endpointList},
	})
	ovsnetctl(f.srv.URL, "host", "ls").expect(t, 0, ""+
		"NAME      TUNNEL IP     STATUS         ENDPOINTS   VERSION   LAST SYNC\n"+
		"h1        192.0.2.11    alive          2           v0.3.0    3s ago\n"+
		"h2        2001:db8::2   alive          1                     never\n"+
		"h9                      unregistered   1                     never\n"+
		"h10       192.0.2.20    down           0           v0.2.9    3h ago\n", "")
}

func TestHostListWithoutHosts(t *testing.T) {
	f := newFakeController(t, map[string]reply{
		"GET /ovsnet/v1/hosts":     {200, `[]`},
		"GET /ovsnet/v1/endpoints": {200, `[]`},
	})
	ovsnetctl(f.srv.URL, "host", "list").expect(t, 0, "NAME      TUNNEL IP   STATUS    ENDPOINTS   VERSION   LAST SYNC\n", "")
}

func TestEndpointList(t *testing.T) {
	f := newFakeController(t, map[string]reply{"GET /ovsnet/v1/endpoints": {200, endpointList}})
	ovsnetctl(f.srv.URL, "endpoint", "ls").expect(t, 0, ""+
		"ENDPOINT ID    NETWORK        HOST      CONTAINER      IPV4          IPV6           MAC                 STATUS    PORTS\n"+
		"e40000000000   9f904ee27bf5   h9        c0ffee000000   10.0.3.4/24                  02:42:0a:00:03:04   ready     \n"+
		"e30000000000   db10           h1        c3             10.0.2.3/24                  02:42:0a:00:02:03   error     \n"+
		"e10000000000   web            h1        c1             10.0.1.1/24   fd00:1::1/64   02:42:0a:00:01:01   ready     8080->80/tcp, 5353->53/udp\n"+
		"e20000000000   web            h2        c2             10.0.1.2/24                  02:42:0a:00:01:02   pending   \n", "")
}

func TestEndpointListFilters(t *testing.T) {
	f := newFakeController(t, map[string]reply{
		"GET /ovsnet/v1/endpoints?host=h1&network=web": {200, "[" +
			epJSON(fullID("e1"), webID, "web", "h1", "c1", "10.0.1.1/24", "", "02:42:0a:00:01:01", "ready") + "]"},
	})
	ovsnetctl(f.srv.URL, "endpoint", "ls", "--network", "web", "--host", "h1", "-q", "--no-trunc").expect(t, 0, fullID("e1")+"\n", "")
}

func TestSince(t *testing.T) {
	for _, tc := range []struct {
		ago  time.Duration
		want string
	}{
		{-5 * time.Second, "just now"},
		{0, "just now"},
		{999 * time.Millisecond, "just now"},
		{3 * time.Second, "3s ago"},
		{59*time.Second + 999*time.Millisecond, "59s ago"},
		{time.Minute, "1m ago"},
		{59 * time.Minute, "59m ago"},
		{time.Hour, "1h ago"},
		{47 * time.Hour, "47h ago"},
		{48 * time.Hour, "2d ago"},
	} {
		if got := since(fixedNow, fixedNow.Add(-tc.ago)); got != tc.want {
			t.Errorf("since(%s ago) = %q, want %q", tc.ago, got, tc.want)
		}
	}
	if got := since(fixedNow, time.Time{}); got != "never" {
		t.Errorf("since(zero) = %q, want never", got)
	}
}

func TestNaturalLess(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		less bool
	}{
		{"net2", "net10", true},
		{"net10", "net2", false},
		{"net02", "net3", true},
		{"a", "b", true},
		{"b", "a", false},
		{"net", "net1", true},
		{"net1", "net", false},
		{"h1", "h1", false},
		{"h1a", "h1b", true},
		{"1.2", "1.10", true},
	} {
		if got := naturalLess(tc.a, tc.b); got != tc.less {
			t.Errorf("naturalLess(%q, %q) = %v, want %v", tc.a, tc.b, got, tc.less)
		}
	}
}
