package secret

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestToken(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "token")
	if err := os.WriteFile(good, []byte("s3cret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("OVSNET_TEST_TOKEN", "from-env")
	// The file wins, and the variable is gone from the environment.
	if tok, err := Token(good, "OVSNET_TEST_TOKEN"); err != nil || tok != "s3cret" {
		t.Fatalf("from file: %q %v", tok, err)
	}
	if v, ok := os.LookupEnv("OVSNET_TEST_TOKEN"); ok {
		t.Fatalf("the variable is still set: %q", v)
	}
	t.Setenv("OVSNET_TEST_TOKEN", " from-env ")
	if tok, err := Token("", "OVSNET_TEST_TOKEN"); err != nil || tok != "from-env" {
		t.Fatalf("from env: %q %v", tok, err)
	}
	if tok, err := Token("", "OVSNET_TEST_TOKEN"); err != nil || tok != "" {
		t.Fatalf("nothing: %q %v", tok, err)
	}

	for name, c := range map[string]struct {
		content string
		mode    os.FileMode
		want    string
	}{
		"world":     {"x", 0o644, "may be read by any user"},
		"empty":     {"\n", 0o600, "is empty"},
		"two-lines": {"a\nb", 0o600, "more than one line"},
		"big":       {strings.Repeat("x", 5000), 0o600, "larger than"},
	} {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(c.content), c.mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, c.mode); err != nil {
			t.Fatal(err)
		}
		if _, err := ReadFile(p); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want %q", name, err, c.want)
		}
	}
	if _, err := ReadFile(filepath.Join(dir, "missing")); err == nil {
		t.Error("a missing file")
	}
	if _, err := ReadFile(dir); err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Errorf("a directory: %v", err)
	}
}
