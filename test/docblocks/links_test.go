package docblocks

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

var (
	linkRE    = regexp.MustCompile(`\]\(([^)\s]+)\)`)
	headingRE = regexp.MustCompile(`(?m)^#{1,6} (.+)$`)
	fenceRE   = regexp.MustCompile("(?ms)^```.*?^```")
)

// slug is GitHub's anchor of a heading: lower case, spaces to hyphens,
// everything but letters, digits, hyphens and underscores dropped.
func slug(heading string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(strings.TrimSpace(heading)) {
		switch {
		case r == ' ':
			b.WriteRune('-')
		case r == '-' || r == '_' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9':
			b.WriteRune(r)
		}
	}
	return b.String()
}

func anchors(path string) (map[string]bool, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	text := fenceRE.ReplaceAllString(string(b), "")
	out := map[string]bool{}
	for _, m := range headingRE.FindAllStringSubmatch(text, -1) {
		out[slug(m[1])] = true
	}
	return out, nil
}

// Every relative link of the documents leads to a file that exists and,
// with a #fragment, to a heading of it.
func TestLinksResolve(t *testing.T) {
	docs, err := Documents()
	if err != nil {
		t.Fatal(err)
	}
	docs = append(docs, "docs/cli.md", "docs/api.md")
	for _, d := range docs {
		b, err := os.ReadFile(filepath.Join(Root(), d))
		if err != nil {
			t.Fatal(err)
		}
		text := fenceRE.ReplaceAllString(string(b), "")
		for _, m := range linkRE.FindAllStringSubmatch(text, -1) {
			target := m[1]
			if strings.Contains(target, "://") || strings.HasPrefix(target, "mailto:") {
				continue
			}
			file, frag, _ := strings.Cut(target, "#")
			path := filepath.Join(Root(), d)
			if file != "" {
				path = filepath.Join(filepath.Dir(path), file)
				if _, err := os.Stat(path); err != nil {
					t.Errorf("%s: link to %s: no such file", d, target)
					continue
				}
			}
			if frag == "" || !strings.HasSuffix(path, ".md") {
				continue
			}
			as, err := anchors(path)
			if err != nil {
				t.Fatal(err)
			}
			if !as[frag] {
				t.Errorf("%s: link to %s: no heading with anchor #%s", d, target, frag)
			}
		}
	}
}

func TestSlug(t *testing.T) {
	for h, want := range map[string]string{
		"Docker's firewall (`--iptables`, the default)": "dockers-firewall---iptables-the-default",
		"5. Container hosts":                            "5-container-hosts",
		"SpoofGuard (table 10)":                         "spoofguard-table-10",
		"POST /networks/{id}/connect":                   "post-networksidconnect",
	} {
		if got := slug(h); got != want {
			t.Errorf("slug(%q) = %q, want %q", h, got, want)
		}
	}
}
