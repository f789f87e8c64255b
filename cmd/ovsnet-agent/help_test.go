package main

import (
	"os"
	"strings"
	"testing"

	"github.com/ovsnet/ovsnet/internal/docsection"
	"github.com/ovsnet/ovsnet/internal/flaghelp"
)

//go:generate env OVSNET_UPDATE_DOCS=1 go test -run TestCLIReference .

func TestMain(m *testing.M) {
	flaghelp.RunMainIfChild("ovsnet-agent", main)
	os.Exit(m.Run())
}

// -h shows every flag in a group (main.go's in the table, each feature's
// in its own), required flags and environment fallbacks marked.
func TestHelpGroupsEveryFlag(t *testing.T) {
	code, stdout, stderr := flaghelp.RunMain(t, "-h")
	if code != 0 || stdout != "" {
		t.Fatalf("-h: exit %d, stdout %q", code, stdout)
	}
	if !strings.HasPrefix(stderr, "ovsnet-agent: ovsnet's agent, one per host") {
		t.Errorf("-h does not start with the purpose:\n%s", stderr)
	}
	if strings.Contains(stderr, "\nOther flags:\n") || strings.Contains(stderr, "\nFeature ") {
		t.Errorf("flags missing from the help table (cmd/ovsnet-agent/help.go):\n%s", stderr)
	}
	for _, g := range help.Groups {
		for _, f := range g.Flags {
			if !strings.Contains(stderr, "\n  -"+f+" ") && !strings.Contains(stderr, "\n  -"+f+"\n") {
				t.Errorf("group %q lists -%s, which -h does not show (not a flag?)", g.Title, f)
			}
		}
	}
	for _, want := range []string{"  -tunnel-ip string   [required]\n", "  -consul string   [env $CONSUL_HTTP_ADDR]\n",
		"\nDNS for containers (docs/dns.md):\n", "\nDocker network and IPAM plugin (docs/docker.md):\n"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("-h lacks %q:\n%s", want, stderr)
		}
	}
}

func TestRequiredFlag(t *testing.T) {
	code, _, stderr := flaghelp.RunMain(t, "-host", "h1")
	if code != 2 || stderr != "ovsnet-agent: missing -tunnel-ip (see ovsnet-agent -h)\n" {
		t.Fatalf("no -tunnel-ip: exit %d, %q", code, stderr)
	}
}

func TestVersionFlag(t *testing.T) {
	code, stdout, _ := flaghelp.RunMain(t, "-version")
	if code != 0 || !strings.HasPrefix(stdout, "ovsnet-agent dev (go") {
		t.Fatalf("-version: exit %d, %q", code, stdout)
	}
}

// docs/cli.md holds this -h.
func TestCLIReference(t *testing.T) {
	_, _, stderr := flaghelp.RunMain(t, "-h")
	docsection.Check(t, docsection.RepoFile("docs/cli.md"), "ovsnet-agent",
		"```\n$ ovsnet-agent -h\n"+stderr+"```\n", "go generate ./cmd/ovsnet-agent")
}
