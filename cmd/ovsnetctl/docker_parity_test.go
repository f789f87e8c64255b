package main

import (
	"bytes"
	"context"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"
)

// runWithInput runs ovsnetctl against url with stdin.
func runWithInput(url, stdin string, args ...string) result {
	var stdout, stderr bytes.Buffer
	a := &app{stdout: &stdout, stderr: &stderr, stdin: strings.NewReader(stdin),
		env: func(k string) string { return map[string]string{envController: url}[k] }, now: func() time.Time { return fixedNow }}
	code := a.execute(context.Background(), args)
	return result{code, stdout.String(), stderr.String()}
}

func TestNetworkPrune(t *testing.T) {
	deleted := `{"NetworksDeleted":["db2","web"]}`
	t.Run("force, with filters", func(t *testing.T) {
		filters := `{"label":["env=test"],"label!":["keep"],"until":["24h"]}`
		f := newFakeController(t, map[string]reply{
			"POST /networks/prune?filters=" + url.QueryEscape(filters): {200, deleted},
		})
		ovsnetctl(f.srv.URL, "network", "prune", "-f", "--filter", "until=24h", "--filter", "label=env=test", "--filter", "label!=keep").
			expect(t, 0, "Deleted Networks:\ndb2\nweb\n", "")
	})
	t.Run("confirmed", func(t *testing.T) {
		f := newFakeController(t, map[string]reply{"POST /networks/prune": {200, deleted}})
		runWithInput(f.srv.URL, "y\n", "network", "prune").expect(t, 0, pruneWarning+"Deleted Networks:\ndb2\nweb\n", "")
	})
	t.Run("not confirmed: nothing sent", func(t *testing.T) {
		url := unusedController(t)
		runWithInput(url, "\n", "network", "prune").expect(t, 0, pruneWarning, "")
		runWithInput(url, "", "network", "prune").expect(t, 0, pruneWarning, "")
	})
	t.Run("nothing to prune", func(t *testing.T) {
		f := newFakeController(t, map[string]reply{"POST /networks/prune": {200, `{"NetworksDeleted":[]}`}})
		ovsnetctl(f.srv.URL, "network", "prune", "--force").expect(t, 0, "", "")
	})
	t.Run("bad filters are refused before asking", func(t *testing.T) {
		url := unusedController(t)
		ovsnetctl(url, "network", "prune", "-f", "--filter", "driver=bridge").expect(t, 1, "", "Error: invalid filter 'driver'\n")
		ovsnetctl(url, "network", "prune", "-f", "--filter", "until").expect(t, 1, "", "Error: bad format of filter (expected name=value): until\n")
	})
}

func TestNetworkListFormat(t *testing.T) {
	f := newFakeController(t, map[string]reply{"GET /networks": {200, networkList}})
	for _, tc := range []struct {
		args   []string
		stdout string
	}{
		{[]string{"--format", "{{.Name}} {{.Driver}} {{.Scope}}"},
			"a-very-long-network-name overlay global\ndb2 overlay global\ndb10 bridge local\nweb overlay global\n"},
		{[]string{"--format", `table {{.ID}}\t{{.Name}}\t{{.Labels}}`, "-f", "driver=overlay"}, "" +
			"NETWORK ID     NAME                       LABELS\n" +
			"0123456789ab   a-very-long-network-name   \n" +
			"9f904ee27bf5   db2                        tier=back\n" +
			"7fca4eb8c647   web                        tier=front\n"},
		{[]string{"--format", `{{.Name}}:{{.Label "tier"}}:{{.IPv6}}:{{.Internal}}:{{.CreatedAt}}`, "-f", "name=web"},
			"web:front:false:false:2025-06-01T11:00:00Z\n"},
		{[]string{"--format", "{{.ID}}", "--no-trunc", "-f", "name=web"}, webID + "\n"},
		{[]string{"--format", "json", "-f", "name=db2"},
			`{"CreatedAt":"2025-06-01T11:00:00Z","Driver":"overlay","ID":"9f904ee27bf5","IPv6":"false","Internal":"false","Labels":"tier=back","Name":"db2","Scope":"global"}` + "\n"},
		{[]string{"--format", "table", "-f", "name=web"}, "NETWORK ID     NAME      DRIVER    SCOPE\n7fca4eb8c647   web       overlay   global\n"},
		// -q wins over --format, as with Docker.
		{[]string{"-q", "--format", "{{.Name}}", "-f", "name=web"}, "7fca4eb8c647\n"},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			ovsnetctl(f.srv.URL, append([]string{"network", "ls"}, tc.args...)...).expect(t, 0, tc.stdout, "")
		})
	}
	ovsnetctl(unusedController(t), "network", "ls", "--format", "{{.Name").
		expect(t, 1, "", "Error: template parsing error: template: format:1: unclosed action\n")
}

func TestNetworkCreateDockerFlags(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		body string
	}{
		{"ipam driver ovsnet and a scope", []string{"--ipam-driver", "ovsnet", "--scope", "swarm", "--attachable", "n1"},
			`{"Name":"n1","CheckDuplicate":true,"Driver":"overlay","Scope":"swarm","IPAM":{"Driver":"ovsnet","Options":{},"Config":[]},"Attachable":true}`},
		{"what the controller refuses is sent for it to refuse", []string{"--ingress", "--config-only", "--config-from", "base", "n1"},
			`{"Name":"n1","CheckDuplicate":true,"Driver":"overlay","IPAM":{"Driver":"default","Options":{},"Config":[]},"Ingress":true,"ConfigOnly":true,"ConfigFrom":{"Network":"base"}}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeController(t, map[string]reply{"POST /networks/create": {201, `{"Id":"` + createdID + `","Warning":""}`}})
			ovsnetctl(f.srv.URL, append([]string{"network", "create"}, tc.args...)...).expect(t, 0, createdID+"\n", "")
			if got := f.onlyRequest().Body; got != tc.body {
				t.Errorf("body\n got %s\nwant %s", got, tc.body)
			}
		})
	}
	f := newFakeController(t, map[string]reply{"POST /networks/create": {400, `{"message":"ingress networks are not supported"}`}})
	ovsnetctl(f.srv.URL, "network", "create", "--ingress", "n1").expect(t, 1, "", "Error response from daemon: ingress networks are not supported\n")
}

// Flags ovsnet cannot honour are refused with the reason, before anything
// is sent: none is accepted and ignored.
func TestUnsupportedFlagsAreRefused(t *testing.T) {
	url := unusedController(t)
	for _, tc := range []struct {
		args   []string
		stderr string
	}{
		{[]string{"network", "create", "--attachable=false", "n1"}, "--attachable=false is not supported: every ovsnet network is attachable"},
		{[]string{"network", "create", "--ipam-opt", "foo=bar", "n1"}, "--ipam-opt is not supported: ovsnet's allocator takes no options"},
		{[]string{"network", "create", "--ipam-driver", "dhcp", "n1"}, `--ipam-driver dhcp is not supported: ovsnet allocates addresses itself (use "default" or "ovsnet")`},
		{[]string{"network", "connect", "--link-local-ip", "169.254.1.1", "n1", "c1"}, "--link-local-ip is not supported"},
		{[]string{"network", "disconnect", "--force", "n1", "c1"}, "--force is not supported, nor needed"},
		{[]string{"network", "disconnect", "-f", "n1", "c1"}, "--force is not supported, nor needed"},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			r := ovsnetctl(url, tc.args...)
			if r.code != 1 || r.stdout != "" || !strings.HasPrefix(r.stderr, "Error: "+tc.stderr) {
				t.Errorf("got %+v, want exit 1 and an error starting %q", r, tc.stderr)
			}
		})
	}
}

// An unknown subcommand is an error however help is asked for.
func TestUnknownSubcommandsFail(t *testing.T) {
	url := unusedController(t)
	for _, tc := range []struct {
		args   []string
		stderr string
	}{
		{[]string{"network", "frob", "--help"}, "ovsnetctl network: 'frob' is not a ovsnetctl network command.\nSee 'ovsnetctl network --help'.\n"},
		{[]string{"network", "frob", "-h"}, "ovsnetctl network: 'frob' is not a ovsnetctl network command.\nSee 'ovsnetctl network --help'.\n"},
		{[]string{"--help", "netwrok"}, "ovsnetctl: 'netwrok' is not a ovsnetctl command.\nDid you mean network?\nSee 'ovsnetctl --help'.\n"},
		{[]string{"host", "frob", "--help"}, "ovsnetctl host: 'frob' is not a ovsnetctl host command.\nSee 'ovsnetctl host --help'.\n"},
		{[]string{"help", "frob"}, "ovsnetctl: 'frob' is not a ovsnetctl command.\nSee 'ovsnetctl --help'.\n"},
		{[]string{"help", "network", "frob"}, "ovsnetctl network: 'frob' is not a ovsnetctl network command.\nSee 'ovsnetctl network --help'.\n"},
		{[]string{"endpoint", "rm"}, "ovsnetctl endpoint: 'rm' is not a ovsnetctl endpoint command.\nDid you mean ls?\nSee 'ovsnetctl endpoint --help'.\n"},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			ovsnetctl(url, tc.args...).expect(t, 1, "", tc.stderr)
		})
	}
	// Help of commands that exist still succeeds.
	for _, args := range [][]string{{"--help"}, {"network", "--help"}, {"help", "network", "connect"}, {"network", "connect", "-h"}, {"help"}} {
		if r := ovsnetctl(url, args...); r.code != 0 || r.stderr != "" || !strings.Contains(r.stdout, "Usage:") {
			t.Errorf("%v: %+v", args, r)
		}
	}
}

// Every command, its own and cobra's, shows examples in its help.
func TestEveryCommandHasExamples(t *testing.T) {
	a := &app{env: func(string) string { return "" }}
	root := a.newRootCommand()
	root.InitDefaultHelpCmd()
	root.InitDefaultCompletionCmd()
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		if !c.Hidden && c.Example == "" && !isCobraCompletion(c) {
			t.Errorf("%q has no examples", c.CommandPath())
		}
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(root)
}

// isCobraCompletion is cobra's generated `completion` command tree, whose
// long help already shows how to use each script.
func isCobraCompletion(c *cobra.Command) bool {
	for ; c != nil; c = c.Parent() {
		if c.Name() == "completion" && c.Parent() != nil && !c.Parent().HasParent() {
			return true
		}
	}
	return false
}
