package docblocks

import (
	"strings"
	"testing"
)

// Contexts that tests run; "skip" needs a reason.
var runContexts = map[string]string{
	"cluster":     "test/e2e/doc_test.go TestDocCommands",
	"quickstart":  "test/e2e/doc_test.go TestQuickStartDocs",
	"docker-user": "test/e2e/install_test.go TestDockerUserRules",
}

func TestEveryBlockSaysWhereItRuns(t *testing.T) {
	blocks, err := All()
	if err != nil {
		t.Fatal(err)
	}
	if len(blocks) < 20 {
		t.Fatalf("found only %d sh blocks: is the parser broken?", len(blocks))
	}
	counts := map[string]int{}
	for _, b := range blocks {
		counts[b.Context]++
		switch {
		case b.Context == "":
			t.Errorf("%s: an sh block without <!-- doc-test: ... --> on the line before it", b.Where())
		case b.Context == "skip":
			if b.Args == "" {
				t.Errorf("%s: doc-test: skip needs a reason", b.Where())
			}
		case runContexts[b.Context] == "":
			t.Errorf("%s: unknown doc-test context %q", b.Where(), b.Context)
		}
		if b.Context == "quickstart" && b.Args != "" && !strings.HasPrefix(b.Args, "h") {
			t.Errorf("%s: quickstart takes a host name (h1..h3), not %q", b.Where(), b.Args)
		}
	}
	for ctx, test := range runContexts {
		if counts[ctx] == 0 {
			t.Errorf("no block for %s (%s): remove the context or mark blocks with it", ctx, test)
		}
	}
	t.Logf("blocks: %v", counts)
}

func TestRead(t *testing.T) {
	bs, err := Read("docs/install.md")
	if err != nil {
		t.Fatal(err)
	}
	var found bool
	for _, b := range bs {
		if b.Context == "docker-user" {
			found = true
			if !strings.HasPrefix(b.Text, "iptables -I DOCKER-USER") || strings.Count(b.Text, "\n") != 4 {
				t.Errorf("docker-user block:\n%s", b.Text)
			}
		}
	}
	if !found {
		t.Fatal("no docker-user block in docs/install.md")
	}
}
