//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	cdplog "github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// browser is a real headless Chromium (Debian's) driven over the DevTools
// protocol. JavaScript exceptions and console errors on its pages fail the
// test: a UI that throws is broken even when the asserted text shows.
type browser struct {
	t   *testing.T
	ctx context.Context

	mu     sync.Mutex
	errors []string
	// allowed are errors a test provokes on purpose (substrings).
	allowed []string
}

// screenshotDir is where UI tests leave a picture of every page they
// check (the README names it): test/artifacts/ui from the repository root.
const screenshotDir = "../artifacts/ui"

func newBrowser(t *testing.T) *browser {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath("/usr/bin/chromium"),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1440, 1000),
		// Without these Chromium tries to reach Google's services.
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("no-first-run", true),
	)
	b := &browser{t: t}
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(allocCtx, chromedp.WithListener(b.listen))
	b.ctx = ctx
	// The first Run starts the browser, for as long as ctx lives: no
	// timeout on it (it would stop the browser); a watchdog bounds it.
	started := make(chan error, 1)
	go func() { started <- chromedp.Do(ctx) }()
	select {
	case err := <-started:
		if err != nil {
			cancel()
			cancelAlloc()
			t.Fatalf("starting chromium: %v", err)
		}
	case <-time.After(60 * time.Second):
		cancel()
		cancelAlloc()
		t.Fatal("chromium did not start within 60s")
	}
	t.Cleanup(func() {
		cancel() // closes the browser and waits for it
		cancelAlloc()
		b.mu.Lock()
		defer b.mu.Unlock()
		for _, e := range b.errors {
			t.Errorf("browser: %s", e)
		}
	})
	return b
}

// listen collects what the pages report as errors. Failed requests the
// test provokes (a 400 for a bad subnet, a 401 without the token) are the
// network's log entries and are not errors of the page.
func (b *browser) listen(ev any) {
	switch ev := ev.(type) {
	case *runtime.EventExceptionThrown:
		d := ev.ExceptionDetails
		msg := d.Text
		if d.Exception != nil {
			msg += " " + d.Exception.Description
		}
		b.fail(fmt.Sprintf("exception at %s:%d: %s", d.URL, d.LineNumber+1, msg))
	case *runtime.EventConsoleAPICalled:
		if ev.Type == runtime.ConsoleAPICalledTypeError {
			var parts []string
			for _, a := range ev.Args {
				parts = append(parts, strings.Trim(string(a.Value), `"`)+a.Description)
			}
			b.fail("console.error: " + strings.Join(parts, " "))
		}
	case *cdplog.EventEntryAdded:
		if e := ev.Entry; e != nil && e.Level == cdplog.EntryLevelError && e.Source != cdplog.EntrySourceNetwork {
			b.fail(fmt.Sprintf("%s error: %s (%s)", e.Source, e.Text, e.URL))
		}
	}
}

func (b *browser) fail(msg string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, a := range b.allowed {
		if strings.Contains(msg, a) {
			return
		}
	}
	b.errors = append(b.errors, msg)
}

// allowErrors lets errors holding one of subs pass: the test provokes
// them (a CSP violation, say).
func (b *browser) allowErrors(subs ...string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.allowed = append(b.allowed, subs...)
}

// run runs actions with a bound, failing the test on error.
func (b *browser) run(what string, actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		b.screenshot("failed-" + strings.ReplaceAll(what, " ", "-"))
		b.t.Fatalf("browser: %s: %v", what, err)
	}
}

// evalBool evaluates a JavaScript expression to a boolean.
func (b *browser) evalBool(expr string) (bool, error) {
	ctx, cancel := context.WithTimeout(b.ctx, 10*time.Second)
	defer cancel()
	return chromedp.Run(ctx, chromedp.Evaluate[bool]("!!("+expr+")"))
}

// evalString evaluates a JavaScript expression to a string.
func (b *browser) evalString(expr string) (string, error) {
	ctx, cancel := context.WithTimeout(b.ctx, 10*time.Second)
	defer cancel()
	return chromedp.Run(ctx, chromedp.Evaluate[string]("String("+expr+")"))
}

// waitFor polls a JavaScript expression until it is true, bounded.
func (b *browser) waitFor(what, expr string, timeout time.Duration) {
	b.t.Helper()
	deadline := time.Now().Add(timeout)
	var last error
	for time.Now().Before(deadline) {
		ok, err := b.evalBool(expr)
		if last = err; err == nil && ok {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	b.screenshot("failed-" + strings.ReplaceAll(what, " ", "-"))
	b.t.Fatalf("browser: %s: not true within %s: %s (last error: %v)", what, timeout, expr, last)
}

// text returns the text of the first element matching a CSS selector.
func (b *browser) text(sel string) string {
	b.t.Helper()
	s, err := b.evalString(fmt.Sprintf(`(document.querySelector(%q) || {}).textContent || ""`, sel))
	if err != nil {
		b.t.Fatalf("browser: text of %s: %v", sel, err)
	}
	return s
}

// screenshot saves the whole page as <screenshotDir>/<name>.png.
func (b *browser) screenshot(name string) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 20*time.Second)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		b.t.Logf("browser: screenshot %s: %v", name, err)
		return
	}
	if err := os.MkdirAll(screenshotDir, 0o755); err != nil {
		b.t.Errorf("screenshots: %v", err)
		return
	}
	path := filepath.Join(screenshotDir, name+".png")
	if err := os.WriteFile(path, png, 0o644); err != nil {
		b.t.Errorf("screenshots: %v", err)
		return
	}
	abs, _ := filepath.Abs(path)
	b.t.Logf("screenshot: %s", abs)
}
