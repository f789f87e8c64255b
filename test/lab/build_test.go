package lab

import (
	"os"
	"testing"
)

// TestBuild builds whatever ./cmd/... holds. It needs the Go toolchain,
// not root, so it runs with the pure tests; the lab's other tests build
// labs and carry the e2e tag.
func TestBuild(t *testing.T) {
	bins := Build(t)
	for name, path := range bins {
		if fi, err := os.Stat(path); err != nil || fi.Mode()&0o111 == 0 {
			t.Errorf("%s: %s not executable: %v", name, path, err)
		}
	}
	if again := Build(t); len(again) != len(bins) {
		t.Errorf("second Build returned %d binaries, first %d", len(again), len(bins))
	}
	t.Logf("built %d binaries: %v", len(bins), bins)
}
