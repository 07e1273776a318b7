// Package jstest starts a real headless chromium for browser tests of the website snippet and the
// demo page. It uses Debian's chromium (/usr/bin/chromium, or $CHROMIUM_PATH) driven by chromedp.
//
// When no browser is installed, tests fail with a clear message when the CI environment variable is
// "true" and are skipped otherwise.
package jstest

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// ExecPath returns the chromium executable to use: $CHROMIUM_PATH, /usr/bin/chromium, or the first of
// chromium, chromium-browser, google-chrome found in $PATH. It returns "" when there is none.
func ExecPath() string {
	if p := os.Getenv("CHROMIUM_PATH"); p != "" {
		return p
	}
	if fi, err := os.Stat("/usr/bin/chromium"); err == nil && !fi.IsDir() {
		return "/usr/bin/chromium"
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// Flags are the command-line flags every test browser runs with.
var Flags = []string{
	"headless", "no-sandbox", "disable-gpu", "disable-quic", "no-first-run",
	"disable-background-networking", "disable-component-update", "disable-sync",
	"disable-dev-shm-usage", "disable-extensions", "no-default-browser-check",
}

// NewBrowser starts a headless chromium with a temporary profile and returns a chromedp context
// for its first tab. The browser is stopped when the test ends. Use NewTab for more tabs of the
// same browser (one per subtest keeps them independent and cheap).
func NewBrowser(tb testing.TB) context.Context {
	tb.Helper()
	path := ExecPath()
	if path == "" {
		if os.Getenv("CI") == "true" {
			tb.Fatal("chromium not found: install Debian's chromium (apt-get install chromium) or set CHROMIUM_PATH; browser tests are required on CI")
		}
		tb.Skip("chromium not found (install chromium or set CHROMIUM_PATH); skipping browser test outside CI")
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path),
		chromedp.UserDataDir(tb.TempDir()),
		chromedp.WindowSize(1400, 900),
	}
	for _, f := range Flags {
		opts = append(opts, chromedp.Flag(f, true))
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx, chromedp.WithLogf(tb.Logf), chromedp.WithErrorf(func(string, ...any) {}))
	tb.Cleanup(func() {
		cancel()
		cancelAlloc()
	})
	// Start the browser now, on a context without a deadline (a deadline would stop the browser).
	if err := chromedp.Do(ctx); err != nil {
		tb.Fatalf("start chromium %s: %v", path, err)
	}
	return ctx
}

// NewTab opens a new tab in the browser of ctx and returns its context, bounded by timeout. The tab
// is closed when the test ends.
func NewTab(tb testing.TB, browser context.Context, timeout time.Duration) context.Context {
	tb.Helper()
	tab, cancelTab := chromedp.NewContext(browser)
	if err := chromedp.Do(tab); err != nil {
		cancelTab()
		tb.Fatalf("open tab: %v", err)
	}
	ctx, cancel := context.WithTimeout(tab, timeout)
	tb.Cleanup(func() {
		cancel()
		cancelTab()
	})
	return ctx
}

// Exceptions records the uncaught exceptions thrown in the tab of ctx from now on and returns a
// func that lists them, so a test can assert that a page ran without script errors. Call it before
// navigating.
func Exceptions(tb testing.TB, ctx context.Context) func() []string {
	tb.Helper()
	var (
		mu   sync.Mutex
		errs []string
	)
	err := chromedp.Listen(ctx, func(ev any) {
		if e, ok := ev.(*runtime.EventExceptionThrown); ok && e.ExceptionDetails != nil {
			d := e.ExceptionDetails
			msg := d.Text
			if d.Exception != nil && d.Exception.Description != "" {
				msg += " " + d.Exception.Description
			}
			mu.Lock()
			errs = append(errs, fmt.Sprintf("%s:%d: %s", d.URL, d.LineNumber+1, msg))
			mu.Unlock()
		}
	})
	if err != nil {
		tb.Fatalf("listen for exceptions: %v", err)
	}
	return func() []string {
		mu.Lock()
		defer mu.Unlock()
		return append([]string(nil), errs...)
	}
}
