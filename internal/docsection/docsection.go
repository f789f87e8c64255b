// Package docsection keeps generated parts of the documentation current.
// A generated part of a file sits between two markers,
//
//	<!-- BEGIN GENERATED name: how to regenerate -->
//	...
//	<!-- END GENERATED name -->
//
// and a test renders what belongs there and calls Check: the test fails
// when the file differs, and rewrites it when OVSNET_UPDATE_DOCS=1 (which
// is what `go generate ./...` runs the tests with).
package docsection

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// UpdateEnv is the environment variable that makes Check rewrite files.
const UpdateEnv = "OVSNET_UPDATE_DOCS"

// RepoFile is the path of a file of the repository, given relative to its
// root (from the caller's source file, so tests may run from any package).
func RepoFile(rel string) string {
	_, self, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(self), "..", "..", rel)
}

// Check compares section name of the file at path with content (which
// should end in a newline), or rewrites it under OVSNET_UPDATE_DOCS=1.
// regenerate is the command that does so, for the failure message.
func Check(t testing.TB, path, name, content, regenerate string) {
	t.Helper()
	old, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	begin := fmt.Sprintf("<!-- BEGIN GENERATED %s", name)
	end := fmt.Sprintf("<!-- END GENERATED %s -->", name)
	i := bytes.Index(old, []byte(begin))
	j := bytes.Index(old, []byte(end))
	if i < 0 || j < i {
		t.Fatalf("%s has no section %q: it needs the lines\n%s: %s -->\n%s", path, name, begin, regenerate, end)
	}
	k := i + bytes.IndexByte(old[i:], '\n') + 1
	if string(old[k:j]) == content {
		return
	}
	if os.Getenv(UpdateEnv) != "" {
		var b bytes.Buffer
		b.Write(old[:i])
		fmt.Fprintf(&b, "%s: %s -->\n", begin, regenerate)
		b.WriteString(content)
		b.Write(old[j:])
		if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	t.Errorf("%s: section %s is out of date; regenerate it with\n  %s\n%s", path, name, regenerate, firstDifference(string(old[k:j]), content))
}

// CheckFile is Check for a file that is generated whole.
func CheckFile(t testing.TB, path, content, regenerate string) {
	t.Helper()
	old, err := os.ReadFile(path)
	if err == nil && string(old) == content {
		return
	}
	if os.Getenv(UpdateEnv) != "" {
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	if err != nil {
		t.Errorf("%s: %v; generate it with\n  %s", path, err, regenerate)
		return
	}
	t.Errorf("%s is out of date; regenerate it with\n  %s\n%s", path, regenerate, firstDifference(string(old), content))
}

// firstDifference shows the first line that differs.
func firstDifference(old, want string) string {
	a, b := strings.Split(old, "\n"), strings.Split(want, "\n")
	for i := 0; i < len(a) || i < len(b); i++ {
		var x, y string
		if i < len(a) {
			x = a[i]
		}
		if i < len(b) {
			y = b[i]
		}
		if x != y {
			return fmt.Sprintf("first difference, line %d:\n  file: %q\n  want: %q", i+1, x, y)
		}
	}
	return ""
}
