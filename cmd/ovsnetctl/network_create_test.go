package main

import (
	"strings"
	"testing"
)

const createdID = "3f2a9c1e5b7d4a6f8e0c2b4d6f8a0c2e4b6d8f0a2c4e6b8d0f2a4c6e8b0d2f4a"

func TestNetworkCreateSendsDockersBody(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		body string
	}{
		{
			name: "every address flag, IPv4 and IPv6",
			args: []string{"network", "create", "-d", "bridge", "--host", "h1",
				"--subnet", "172.20.0.0/16", "--gateway", "172.20.0.254", "--ip-range", "172.20.1.0/24",
				"--ipv6", "--subnet", "fd00:9::/64", "--internal", "-o", "a=b", "--label", "x=y", "testnet09"},
			body: `{"Name":"testnet09","CheckDuplicate":true,"Driver":"bridge","EnableIPv6":true,` +
				`"IPAM":{"Driver":"default","Options":{},"Config":[{"Subnet":"172.20.0.0/16","IPRange":"172.20.1.0/24","Gateway":"172.20.0.254"},{"Subnet":"fd00:9::/64"}]},` +
				`"Internal":true,"Options":{"a":"b","ovsnet.host":"h1"},"Labels":{"x":"y"}}`,
		},
		{
			name: "defaults: overlay driver, empty IPAM block",
			args: []string{"network", "create", "web"},
			body: `{"Name":"web","CheckDuplicate":true,"Driver":"overlay","IPAM":{"Driver":"default","Options":{},"Config":[]}}`,
		},
		{
			name: "gateways matched by family, whatever their order; flags after the name",
			args: []string{"network", "create", "dual", "--subnet", "fd00:1::/64,10.1.0.0/24",
				"--gateway", "10.1.0.1", "--gateway", "fd00:1::1", "--aux-address", "router=10.1.0.2", "--mtu", "1400", "--attachable"},
			body: `{"Name":"dual","CheckDuplicate":true,"Driver":"overlay",` +
				`"IPAM":{"Driver":"default","Options":{},"Config":[{"Subnet":"fd00:1::/64","Gateway":"fd00:1::1"},{"Subnet":"10.1.0.0/24","Gateway":"10.1.0.1","AuxiliaryAddresses":{"router":"10.1.0.2"}}]},` +
				`"Attachable":true,"Options":{"com.docker.network.driver.mtu":"1400"}}`,
		},
		{
			name: "an option without a value, and --host agreeing with -o",
			args: []string{"network", "create", "--driver=bridge", "-o", "ovsnet.host=h2", "--host", "h2", "-o", "flag", "--label", "team=net", "--label", "tier", "b1"},
			body: `{"Name":"b1","CheckDuplicate":true,"Driver":"bridge","IPAM":{"Driver":"default","Options":{},"Config":[]},` +
				`"Options":{"flag":"","ovsnet.host":"h2"},"Labels":{"team":"net","tier":""}}`,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeController(t, map[string]reply{
				"POST /networks/create": {201, `{"Id":"` + createdID + `","Warning":""}`},
			})
			ovsnetctl(f.srv.URL, tc.args...).expect(t, 0, createdID+"\n", "")
			got := f.onlyRequest()
			if got.Body != tc.body {
				t.Errorf("body\n got %s\nwant %s", got.Body, tc.body)
			}
		})
	}
}

func TestNetworkCreatePrintsWarnings(t *testing.T) {
	f := newFakeController(t, map[string]reply{
		"POST /networks/create": {201, `{"Id":"` + createdID + `","Warning":"subnet overlaps the underlay"}`},
	})
	ovsnetctl(f.srv.URL, "network", "create", "n1").expect(t, 0, createdID+"\n", "WARNING: subnet overlaps the underlay\n")
}

func TestNetworkCreateReportsTheControllersRefusal(t *testing.T) {
	f := newFakeController(t, map[string]reply{
		"POST /networks/create": {409, `{"message":"network with name n1 already exists"}`},
	})
	ovsnetctl(f.srv.URL, "network", "create", "n1").expect(t, 1, "", "Error response from daemon: network with name n1 already exists\n")
}

func TestNetworkCreateValidatesFlagsLocally(t *testing.T) {
	url := unusedController(t)
	for _, tc := range []struct {
		args   []string
		stderr string
	}{
		{[]string{"--subnet", "notacidr"}, `Error: invalid subnet notacidr: netip.ParsePrefix("notacidr"): no '/'`},
		{[]string{"--gateway", "10.0.0.1"}, "Error: every ip-range or gateway must have a corresponding subnet (--subnet)"},
		{[]string{"--ip-range", "10.0.0.0/25"}, "Error: every ip-range or gateway must have a corresponding subnet (--subnet)"},
		{[]string{"--subnet", "10.0.0.0/24", "--gateway", "10.9.0.1"}, "Error: no matching subnet for gateway 10.9.0.1"},
		{[]string{"--subnet", "10.0.0.0/24", "--gateway", "fd00::1"}, "Error: no matching subnet for gateway fd00::1"},
		{[]string{"--subnet", "10.0.0.0/24", "--gateway", "10.0.0.300"}, `Error: invalid gateway 10.0.0.300: ParseAddr("10.0.0.300"): IPv4 field has value >255`},
		{[]string{"--subnet", "10.0.0.0/24", "--ip-range", "10.0.1.0/25"}, "Error: no matching subnet for range 10.0.1.0/25"},
		{[]string{"--subnet", "10.0.0.0/16,10.0.0.0/24"}, "Error: subnets 10.0.0.0/16 and 10.0.0.0/24 overlap: multiple overlapping subnet configuration is not supported"},
		{[]string{"--subnet", "10.0.0.0/16", "--subnet", "fd00::/64", "--gateway", "10.0.0.1", "--gateway", "10.0.0.2"},
			"Error: cannot configure multiple gateways (10.0.0.2, 10.0.0.1) for the same subnet (10.0.0.0/16)"},
		{[]string{"--subnet", "10.0.0.0/16", "--subnet", "fd00::/64", "--ip-range", "10.0.1.0/24", "--ip-range", "10.0.2.0/24"},
			"Error: cannot configure multiple ranges (10.0.2.0/24, 10.0.1.0/24) on the same subnet (10.0.0.0/16)"},
		{[]string{"--subnet", "10.0.0.0/24", "--aux-address", "10.0.0.5"}, `Error: invalid --aux-address "10.0.0.5": want name=ip`},
		{[]string{"-o", "=x"}, `Error: invalid --opt "=x": want key=value`},
		{[]string{"--label", "=x"}, `Error: invalid --label "=x": want key=value`},
		{[]string{"--mtu", "0"}, "Error: invalid --mtu: must be a positive number of bytes"},
		{[]string{"--mtu", "1400", "-o", "com.docker.network.driver.mtu=9000"}, "Error: --mtu 1400 conflicts with option com.docker.network.driver.mtu=9000"},
		{[]string{"--host", "h1", "-o", "ovsnet.host=h2"}, "Error: --host h1 conflicts with option ovsnet.host=h2"},
		{[]string{"--host", "bad host"}, `Error: invalid --host: invalid host name "bad host": only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed`},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			args := append([]string{"network", "create"}, tc.args...)
			ovsnetctl(url, append(args, "n1")...).expect(t, 1, "", tc.stderr+"\n")
		})
	}
	ovsnetctl(url, "network", "create", "-bad").expect(t, 125, "",
		"unknown shorthand flag: 'b' in -bad\nSee 'ovsnetctl network create --help'.\n")
	ovsnetctl(url, "network", "create", "bad/name").expect(t, 1, "",
		"Error: invalid network name \"bad/name\": only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed\n")
}
