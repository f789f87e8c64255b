// Package docblocks finds the shell blocks of ovsnet's documents and what
// each is for, so tests can run them as printed. A block is a fenced
// ```sh block; the line right before it is an HTML comment (invisible in
// the rendered page) that says where it runs:
//
//	<!-- doc-test: cluster -->         run against a fresh lab cluster (test/e2e/doc_test.go)
//	<!-- doc-test: quickstart [HOST] -->  run against the quick start, from the repository's root,
//	                                    OVS_RUNDIR set to HOST's OVS when HOST is given
//	<!-- doc-test: NAME -->             run by the test that names it (e.g. docker-user)
//	<!-- doc-test: skip: REASON -->     not run, for the reason given
//
// Every sh block of the documents must say one of these (TestEveryBlockSaysWhereItRuns):
// a new command in a document is either run by a test or skipped on purpose.
package docblocks

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
)

// Block is one shell block of a document.
type Block struct {
	File string // relative to the repository's root
	Line int    // of the opening fence
	// Context is the first word of the annotation ("cluster", "quickstart",
	// "skip", a test's name), Args the rest.
	Context string
	Args    string
	Text    string
}

// Root is the repository's root directory.
func Root() string {
	_, self, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(self), "..", "..")
}

// Documents are the documents whose blocks are checked: the READMEs and
// docs/*.md, except the generated references (their examples are checked
// by the commands' own tests).
func Documents() ([]string, error) {
	docs, err := filepath.Glob(filepath.Join(Root(), "docs", "*.md"))
	if err != nil {
		return nil, err
	}
	out := []string{"README.md", "deploy/README.md"}
	for _, d := range docs {
		rel, _ := filepath.Rel(Root(), d)
		if rel == "docs/cli.md" || rel == "docs/api.md" {
			continue
		}
		out = append(out, rel)
	}
	sort.Strings(out[2:])
	return out, nil
}

// All returns the sh blocks of every document, in document order.
func All() ([]Block, error) {
	docs, err := Documents()
	if err != nil {
		return nil, err
	}
	var out []Block
	for _, d := range docs {
		bs, err := Read(d)
		if err != nil {
			return nil, err
		}
		out = append(out, bs...)
	}
	return out, nil
}

// Read returns the sh blocks of one document (relative to the root).
func Read(rel string) ([]Block, error) {
	f, err := os.Open(filepath.Join(Root(), rel))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []Block
	var prev string
	var cur *Block
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		switch {
		case cur != nil && strings.TrimSpace(line) == "```":
			out = append(out, *cur)
			cur = nil
		case cur != nil:
			cur.Text += line + "\n"
		case strings.TrimSpace(line) == "```sh" || strings.TrimSpace(line) == "```bash" || strings.TrimSpace(line) == "```shell":
			cur = &Block{File: rel, Line: n}
			if ann, ok := strings.CutPrefix(strings.TrimSpace(prev), "<!-- doc-test:"); ok {
				ann = strings.TrimSpace(strings.TrimSuffix(ann, "-->"))
				ctx, args, _ := strings.Cut(ann, " ")
				cur.Context = strings.TrimSuffix(ctx, ":")
				cur.Args = strings.TrimSpace(args)
			}
		}
		prev = line
	}
	if cur != nil {
		return nil, fmt.Errorf("%s:%d: unclosed code block", rel, cur.Line)
	}
	return out, sc.Err()
}

// Where is "file:line", for messages.
func (b Block) Where() string { return fmt.Sprintf("%s:%d", b.File, b.Line) }
