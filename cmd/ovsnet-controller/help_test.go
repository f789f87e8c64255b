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
	flaghelp.RunMainIfChild("ovsnet-controller", main)
	os.Exit(m.Run())
}

// -h shows every flag in a group of the help table, and nothing else.
func TestHelpGroupsEveryFlag(t *testing.T) {
	code, stdout, stderr := flaghelp.RunMain(t, "-h")
	if code != 0 || stdout != "" {
		t.Fatalf("-h: exit %d, stdout %q", code, stdout)
	}
	if !strings.HasPrefix(stderr, "ovsnet-controller: one replica of ovsnet's control plane") {
		t.Errorf("-h does not start with the purpose:\n%s", stderr)
	}
	if strings.Contains(stderr, "\nOther flags:\n") {
		t.Errorf("flags missing from the help table (cmd/ovsnet-controller/help.go):\n%s", stderr)
	}
	for _, g := range help.Groups {
		for _, f := range g.Flags {
			if !strings.Contains(stderr, "\n  -"+f+" ") && !strings.Contains(stderr, "\n  -"+f+"\n") {
				t.Errorf("group %q lists -%s, which -h does not show (not a flag?)", g.Title, f)
			}
		}
	}
	if !strings.Contains(stderr, "  -consul string   [env $CONSUL_HTTP_ADDR]\n") {
		t.Errorf("the environment fallback of -consul is not marked:\n%s", stderr)
	}
}

func TestVersionFlag(t *testing.T) {
	code, stdout, _ := flaghelp.RunMain(t, "-version")
	if code != 0 || !strings.HasPrefix(stdout, "ovsnet-controller dev (go") {
		t.Fatalf("-version: exit %d, %q", code, stdout)
	}
}

// docs/cli.md holds this -h.
func TestCLIReference(t *testing.T) {
	_, _, stderr := flaghelp.RunMain(t, "-h")
	docsection.Check(t, docsection.RepoFile("docs/cli.md"), "ovsnet-controller",
		"```\n$ ovsnet-controller -h\n"+stderr+"```\n", "go generate ./cmd/ovsnet-controller")
}
