package main

import (
	"fmt"
	"strings"
	"testing"
)

// fullID pads a recognisable prefix to a 64-hex-digit id.
func fullID(prefix string) string { return prefix + strings.Repeat("0", 64-len(prefix)) }

var (
	webID  = fullID("7fca4eb8c647a1")
	db2ID  = fullID("9f904ee27bf5b2")
	db10ID = fullID("cf03ee007fb4c3")
	longID = fullID("0123456789abd4")
)

// networkJSON is a NetworkResource as the controller would send it.
func networkJSON(id, name, driver, scope string, labels string) string {
	return fmt.Sprintf(`{"Name":%q,"Id":%q,"Created":"2025-06-01T11:00:00Z","Scope":%q,"Driver":%q,"EnableIPv6":false,`+
		`"IPAM":{"Driver":"default","Options":null,"Config":[{"Subnet":"10.0.1.0/24","Gateway":"10.0.1.1"}]},`+
		`"Internal":false,"Attachable":false,"Ingress":false,"ConfigFrom":{"Network":""},"ConfigOnly":false,`+
		`"Containers":{},"Options":{"com.docker.network.driver.overlay.vxlanid_list":"4097"},"Labels":%s}`,
		name, id, scope, driver, labels)
}

var networkList = "[" + strings.Join([]string{
	networkJSON(webID, "web", "overlay", "global", `{"tier":"front"}`),
	networkJSON(db10ID, "db10", "bridge", "local", `{}`),
	networkJSON(db2ID, "db2", "overlay", "global", `{"tier":"back"}`),
	networkJSON(longID, "a-very-long-network-name", "overlay", "global", `{}`),
}, ",") + "]"

func TestNetworkList(t *testing.T) {
	f := newFakeController(t, map[string]reply{"GET /networks": {200, networkList}})
	for _, tc := range []struct {
		args   []string
		stdout string
	}{
		{[]string{"network", "ls"}, "" +
			"NETWORK ID     NAME                       DRIVER    SCOPE\n" +
			"0123456789ab   a-very-long-network-name   overlay   global\n" +
			"9f904ee27bf5   db2                        overlay   global\n" +
			"cf03ee007fb4   db10                       bridge    local\n" +
			"7fca4eb8c647   web                        overlay   global\n"},
		{[]string{"network", "list", "--filter", "driver=overlay", "-f", "name=db", "-f", "name=web"}, "" +
			"NETWORK ID     NAME      DRIVER    SCOPE\n" +
			"9f904ee27bf5   db2       overlay   global\n" +
			"7fca4eb8c647   web       overlay   global\n"},
		{[]string{"network", "ls", "-f", "label=tier=back"}, "" +
			"NETWORK ID     NAME      DRIVER    SCOPE\n" +
			"9f904ee27bf5   db2       overlay   global\n"},
		{[]string{"network", "ls", "-f", "label=tier", "-f", "scope=global", "-f", "id=7fca"}, "" +
			"NETWORK ID     NAME      DRIVER    SCOPE\n" +
			"7fca4eb8c647   web       overlay   global\n"},
		{[]string{"network", "ls", "-q"}, "0123456789ab\n9f904ee27bf5\ncf03ee007fb4\n7fca4eb8c647\n"},
		{[]string{"network", "ls", "-q", "--no-trunc", "-f", "driver=bridge"}, db10ID + "\n"},
		{[]string{"network", "ls", "--no-trunc", "-f", "name=web"}, "" +
			"NETWORK ID                                                         NAME      DRIVER    SCOPE\n" +
			webID + "   web       overlay   global\n"},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			ovsnetctl(f.srv.URL, tc.args...).expect(t, 0, tc.stdout, "")
		})
	}
}

func TestNetworkListRejectsBadFilters(t *testing.T) {
	url := unusedController(t)
	ovsnetctl(url, "network", "ls", "-f", "colour=red").expect(t, 1, "", "Error: invalid filter 'colour'\n")
	ovsnetctl(url, "network", "ls", "-f", "name").expect(t, 1, "", "Error: bad format of filter (expected name=value): name\n")
}

func TestNetworkInspectPrintsTheControllersJSON(t *testing.T) {
	f := newFakeController(t, map[string]reply{
		"GET /networks/web": {200, `{"Name":"web","Id":"` + webID + `","Scope":"global","Extra":{"vni":4097}}`},
		"GET /networks/db2": {200, `{"Name":"db2","Id":"` + db2ID + `","Scope":"global"}`},
	})
	ovsnetctl(f.srv.URL, "network", "inspect", "web", "db2").expect(t, 0, `[
    {
        "Name": "web",
        "Id": "`+webID+`",
        "Scope": "global",
        "Extra": {
            "vni": 4097
        }
    },
    {
        "Name": "db2",
        "Id": "`+db2ID+`",
        "Scope": "global"
    }
]
`, "")
}

func TestNetworkInspectUnknownNetwork(t *testing.T) {
	f := newFakeController(t, map[string]reply{
		"GET /networks/web":  {200, `{"Name":"web","Id":"` + webID + `"}`},
		"GET /networks/nope": {404, `{"message":"network nope not found"}`},
		"GET /networks/odd":  {500, `{"message":"store exploded"}`},
	})
	ovsnetctl(f.srv.URL, "network", "inspect", "nope").expect(t, 1, "[]\n", "Error: No such network: nope\n")
	ovsnetctl(f.srv.URL, "network", "inspect", "nope", "web", "odd").expect(t, 1,
		"[\n    {\n        \"Name\": \"web\",\n        \"Id\": \""+webID+"\"\n    }\n]\n",
		"Error: No such network: nope\nError response from daemon: store exploded\n")
}

func TestNetworkInspectFormat(t *testing.T) {
	f := newFakeController(t, map[string]reply{"GET /networks/web": {200, networkJSON(webID, "web", "overlay", "global", `{"tier":"front"}`)}})
	for _, tc := range []struct{ format, stdout string }{
		// Go field names work on the typed value...
		{"{{.Name}} {{.ID}} {{.Driver}}", "web " + webID + " overlay\n"},
		// ...and JSON keys through the fallback to the raw answer.
		{"{{.Id}}", webID + "\n"},
		{"{{json .IPAM.Config}}", `[{"Subnet":"10.0.1.0/24","Gateway":"10.0.1.1"}]` + "\n"},
		{`{{range $k, $v := .Labels}}{{upper $k}}={{$v}}{{end}}`, "TIER=front\n"},
	} {
		ovsnetctl(f.srv.URL, "network", "inspect", "--format", tc.format, "web").expect(t, 0, tc.stdout, "")
	}
	ovsnetctl(unusedController(t), "network", "inspect", "-f", "{{.Name", "web").expect(t, 1, "",
		"Error: template parsing error: template: format:1: unclosed action\n")
	// A key neither has prints Docker's "<no value>".
	ovsnetctl(f.srv.URL, "network", "inspect", "-f", "{{.Nope}}", "web").expect(t, 0, "<no value>\n", "")
	ovsnetctl(f.srv.URL, "network", "inspect", "-f", "{{index .Name 1 2}}", "web").expect(t, 1, "",
		"Error: template execution error: template: format:1:2: executing \"format\" at <index .Name 1 2>: error calling index: can't index item of type uint8\n")
}

func TestNetworkRemove(t *testing.T) {
	f := newFakeController(t, map[string]reply{
		"DELETE /networks/web":  {204, ``},
		"DELETE /networks/nope": {404, `{"message":"network nope not found"}`},
		"DELETE /networks/db2":  {403, `{"message":"error while removing network: network db2 id 9f904ee27bf5 has active endpoints (c1@h1)"}`},
	})
	ovsnetctl(f.srv.URL, "network", "rm", "web", "nope", "db2").expect(t, 1, "web\n",
		"Error response from daemon: network nope not found\n"+
			"Error response from daemon: error while removing network: network db2 id 9f904ee27bf5 has active endpoints (c1@h1)\n")
	var paths []string
	for _, r := range f.requests() {
		paths = append(paths, r.Method+" "+r.Path)
	}
	if got, want := strings.Join(paths, ", "), "DELETE /networks/web, DELETE /networks/nope, DELETE /networks/db2"; got != want {
		t.Errorf("requests %s, want %s", got, want)
	}

	// --force forgives networks that do not exist, nothing else.
	ovsnetctl(f.srv.URL, "network", "remove", "-f", "nope", "web").expect(t, 0, "web\n", "")
	ovsnetctl(f.srv.URL, "network", "rm", "--force", "db2").expect(t, 1, "",
		"Error response from daemon: error while removing network: network db2 id 9f904ee27bf5 has active endpoints (c1@h1)\n")
}

const endpointJSON = `{"id":"5e1d2c3b4a596877665544332211000ffeeddccbbaa99887766554433221100f","networkId":"` +
	`7fca4eb8c647a10000000000000000000000000000000000000000000000000000","host":"h1","containerId":"abc",` +
	`"containerName":"c1","netns":"/run/netns/c1","ifName":"eth1","mac":"02:42:0a:00:01:05",` +
	`"ipv4":"10.0.1.5/24","ipv6":"fd00:1::5/64","created":"2025-06-01T11:59:00Z","networkName":"web"}`

func TestNetworkConnectSendsDockersBody(t *testing.T) {
	for _, tc := range []struct {
		name   string
		args   []string
		body   string
		stdout string
	}{
		{
			name: "plain namespace with every flag, verbose",
			args: []string{"network", "connect", "--ip", "10.0.1.5", "--ip6", "fd00:1::5", "--alias", "api", "--alias", "api2,api3",
				"--link", "db:database", "--link", "cache", "--host", "h1", "--netns", "/run/netns/c1", "--ifname", "eth1",
				"--mac-address", "02:42:0a:00:01:05", "--driver-opt", "x=y", "-v", "web", "c1"},
			body: `{"Container":"c1","EndpointConfig":{"IPAMConfig":{"IPv4Address":"10.0.1.5","IPv6Address":"fd00:1::5"},` +
				`"Links":["db:database","cache"],"Aliases":["api","api2","api3"],"MacAddress":"02:42:0a:00:01:05",` +
				`"DriverOpts":{"ovsnet.host":"h1","ovsnet.ifname":"eth1","ovsnet.netns":"/run/netns/c1","x":"y"}}}`,
			stdout: "" +
				"Endpoint:    5e1d2c3b4a596877665544332211000ffeeddccbbaa99887766554433221100f\n" +
				"Network:     web\n" +
				"Container:   c1\n" +
				"Host:        h1\n" +
				"Interface:   eth1\n" +
				"IPv4:        10.0.1.5/24\n" +
				"IPv6:        fd00:1::5/64\n" +
				"MAC:         02:42:0a:00:01:05\n" +
				"Status:      pending\n",
		},
		{
			name: "Docker container: nothing but the name, and silence on success",
			args: []string{"network", "connect", "web", "c1"},
			body: `{"Container":"c1","EndpointConfig":{"IPAMConfig":{}}}`,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeController(t, map[string]reply{"POST /networks/web/connect": {200, endpointJSON}})
			ovsnetctl(f.srv.URL, tc.args...).expect(t, 0, tc.stdout, "")
			if got := f.onlyRequest().Body; got != tc.body {
				t.Errorf("body\n got %s\nwant %s", got, tc.body)
			}
		})
	}
}

func TestNetworkConnectValidatesFlagsLocally(t *testing.T) {
	url := unusedController(t)
	for _, tc := range []struct {
		args   []string
		stderr string
	}{
		{[]string{"--ip", "fd00::5"}, "Error: invalid --ip fd00::5: not an IPv4 address"},
		{[]string{"--ip", "10.0.0.256"}, "Error: invalid --ip 10.0.0.256: not an IPv4 address"},
		{[]string{"--ip6", "10.0.0.5"}, "Error: invalid --ip6 10.0.0.5: not an IPv6 address"},
		{[]string{"--mac-address", "02:42"}, `Error: invalid MAC address "02:42"`},
		{[]string{"--link", "db:bad alias"}, `Error: invalid link "db:bad alias": want NAME or NAME:ALIAS`},
		{[]string{"--host", "h1", "--netns", "run/netns/c1"}, "Error: invalid --netns run/netns/c1: must be an absolute path"},
		{[]string{"--netns", "/run/netns/c1"}, "Error: --netns needs --host: the host whose namespace it is"},
		{[]string{"--host", "h1", "--driver-opt", "ovsnet.host=h2"}, "Error: --host h1 conflicts with option ovsnet.host=h2"},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			args := append([]string{"network", "connect"}, tc.args...)
			ovsnetctl(url, append(args, "web", "c1")...).expect(t, 1, "", tc.stderr+"\n")
		})
	}
}

func TestNetworkConnectReportsTheControllersRefusal(t *testing.T) {
	f := newFakeController(t, map[string]reply{
		"POST /networks/db10/connect": {403, `{"message":"network db10 is local to host h2: containers on h1 cannot join it"}`},
	})
	ovsnetctl(f.srv.URL, "network", "connect", "--host", "h1", "--netns", "/run/netns/c1", "db10", "c1").expect(t, 1, "",
		"Error response from daemon: network db10 is local to host h2: containers on h1 cannot join it\n")
}

func TestNetworkDisconnect(t *testing.T) {
	for _, tc := range []struct {
		args []string
		body string
	}{
		{[]string{"network", "disconnect", "web", "c1"}, `{"Container":"c1","Force":false}`},
	} {
		f := newFakeController(t, map[string]reply{"POST /networks/web/disconnect": {200, ``}})
		ovsnetctl(f.srv.URL, tc.args...).expect(t, 0, "", "")
		if got := f.onlyRequest().Body; got != tc.body {
			t.Errorf("%v: body %s, want %s", tc.args, got, tc.body)
		}
	}
}
