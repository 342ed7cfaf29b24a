/*
Copyright 2026 The subscription-operator Authors.

Licensed under the Apache License, Version 2.0 (the "License");
you may not use this file except in compliance with the License.
You may obtain a copy of the License at

    http://www.apache.org/licenses/LICENSE-2.0

Unless required by applicable law or agreed to in writing, software
distributed under the License is distributed on an "AS IS" BASIS,
WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
See the License for the specific language governing permissions and
limitations under the License.
*/

// Package browser drives Debian's chromium from Go tests with
// github.com/chromedp/chromedp: headless, with a fresh profile and the
// browser's own networking (background fetches, component updates, sync,
// QUIC) off, so the only requests are the page's. It records what a test
// must see none of: console errors, uncaught exceptions, browser log errors
// (a CSP violation is one) and failed requests (network errors and HTTP
// statuses >= 400).
//
// A missing chromium is a failure with the command that installs it, never
// a skip: hack/install-services.sh installs it (make test runs that first).
package browser

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	cdpruntime "github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// InstallCommand installs the browser (as root), as make test does.
const InstallCommand = "hack/install-services.sh   (as root; it runs apt-get update && apt-get install -y chromium)"

// Path returns chromium's path, or an error that says how to install it.
func Path() (string, error) {
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("chromium is not installed; the browser tests need it. Install it with:\n  %s", InstallCommand)
}

// Browser is one headless chromium with one tab.
type Browser struct {
	ctx    context.Context
	cancel func()

	mu       sync.Mutex
	problems []string
}

// Start starts chromium with a fresh profile in userDataDir.
func Start(userDataDir string) (*Browser, error) {
	path, err := Path()
	if err != nil {
		return nil, err
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path),
		chromedp.Headless,
		chromedp.NoSandbox, // tests run as root in CI
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.UserDataDir(userDataDir),
		chromedp.WindowSize(1100, 900),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-default-apps", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.Flag("disable-domain-reliability", true),
		chromedp.Flag("disable-client-side-phishing-detection", true),
		chromedp.Flag("no-pings", true),
		chromedp.Flag("metrics-recording-only", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("lang", "en-US"),
	}
	actx, acancel := chromedp.NewExecAllocator(context.Background(), opts...)
	b := &Browser{}
	ctx, cancel := chromedp.NewContext(actx, chromedp.WithListener(b.listen))
	b.ctx, b.cancel = ctx, func() { cancel(); acancel() }
	// The first Run starts the browser; its context must not time out.
	if err := chromedp.Do(ctx); err != nil {
		b.cancel()
		return nil, fmt.Errorf("starting %s: %w", path, err)
	}
	return b, nil
}

// Close stops the browser.
func (b *Browser) Close() { b.cancel() }

func (b *Browser) listen(ev any) {
	var p string
	switch e := ev.(type) {
	case *cdpruntime.EventConsoleAPICalled:
		if e.Type == cdpruntime.ConsoleAPICalledTypeError || e.Type == cdpruntime.ConsoleAPICalledTypeAssert {
			p = "console " + string(e.Type) + ": " + argsText(e.Args)
		}
	case *cdpruntime.EventExceptionThrown:
		p = "exception: " + e.ExceptionDetails.Text
	case *log.EventEntryAdded:
		if e.Entry.Level == log.EntryLevelError {
			p = "log error (" + string(e.Entry.Source) + "): " + e.Entry.Text + " " + e.Entry.URL
		}
	case *network.EventLoadingFailed:
		p = "request failed: " + string(e.Type) + " " + e.ErrorText
		if e.BlockedReason != "" {
			p += " blocked: " + string(e.BlockedReason)
		}
	case *network.EventResponseReceived:
		if e.Response.Status >= 400 {
			p = "HTTP " + strconv.FormatInt(e.Response.Status, 10) + " " + e.Response.URL
		}
	}
	if p != "" {
		b.mu.Lock()
		b.problems = append(b.problems, p)
		b.mu.Unlock()
	}
}

func argsText(args []*cdpruntime.RemoteObject) string {
	var parts []string
	for _, a := range args {
		if len(a.Value) > 0 {
			parts = append(parts, string(a.Value))
		} else {
			parts = append(parts, a.Description)
		}
	}
	return strings.Join(parts, " ")
}

// Problems returns the console errors, exceptions and failed requests seen
// since the last call, and forgets them.
func (b *Browser) Problems() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	p := b.problems
	b.problems = nil
	return p
}

// Open loads url with the extra request headers and waits for the load event.
// It returns the main document's HTTP status.
func (b *Browser) Open(url string, headers map[string]string) (int64, error) {
	h := network.Headers{}
	for k, v := range headers {
		h[k] = v
	}
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	if _, err := chromedp.Call(ctx, network.SetExtraHTTPHeaders, network.SetExtraHTTPHeadersParams{Headers: h}); err != nil {
		return 0, fmt.Errorf("setting headers: %w", err)
	}
	resp, err := chromedp.RunResponse(ctx, chromedp.Navigate(url))
	if err != nil {
		return 0, fmt.Errorf("loading %s: %w", url, err)
	}
	if resp == nil {
		return 0, errors.New("no response for " + url)
	}
	return resp.Status, nil
}

// Eval evaluates a JavaScript expression in the page (through DevTools, not
// as a page script: the page's CSP allows none) and decodes its JSON value.
func Eval[T any](b *Browser, expr string) (T, error) {
	ctx, cancel := context.WithTimeout(b.ctx, 10*time.Second)
	defer cancel()
	return chromedp.Run(ctx, chromedp.Evaluate[T](expr))
}

// Screenshot saves a PNG of the whole page.
func (b *Browser) Screenshot(path string) error {
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		return fmt.Errorf("screenshot: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return os.WriteFile(path, png, 0o644)
}

// ArtifactDir is where tests save screenshots: $TEST_ARTIFACTS, or dist/test-artifacts
// at the repository root (ignored by git).
func ArtifactDir() string {
	if d := os.Getenv("TEST_ARTIFACTS"); d != "" {
		return d
	}
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "..", "dist", "test-artifacts")
}

// Contrast is the WCAG 2 contrast ratio of two CSS colours as
// getComputedStyle reports them ("rgb(r, g, b)" or "rgba(r, g, b, a)"; an
// rgba foreground is blended over the background).
func Contrast(fg, bg string) (float64, error) {
	f, fa, err := parseRGB(fg)
	if err != nil {
		return 0, err
	}
	k, ka, err := parseRGB(bg)
	if err != nil {
		return 0, err
	}
	if ka < 1 {
		return 0, fmt.Errorf("background %q is not opaque; pass the colour behind it", bg)
	}
	for i := range f {
		f[i] = f[i]*fa + k[i]*(1-fa)
	}
	l1, l2 := luminance(f), luminance(k)
	if l1 < l2 {
		l1, l2 = l2, l1
	}
	return (l1 + 0.05) / (l2 + 0.05), nil
}

func parseRGB(s string) ([3]float64, float64, error) {
	var c [3]float64
	in, ok := strings.CutPrefix(strings.TrimSpace(s), "rgba(")
	if !ok {
		in, ok = strings.CutPrefix(strings.TrimSpace(s), "rgb(")
	}
	in, ok2 := strings.CutSuffix(in, ")")
	if !ok || !ok2 {
		return c, 0, fmt.Errorf("colour %q is not rgb()/rgba()", s)
	}
	parts := strings.FieldsFunc(in, func(r rune) bool { return r == ',' || r == ' ' || r == '/' })
	if len(parts) != 3 && len(parts) != 4 {
		return c, 0, fmt.Errorf("colour %q has %d components", s, len(parts))
	}
	a := 1.0
	for i, p := range parts {
		v, err := strconv.ParseFloat(p, 64)
		if err != nil {
			return c, 0, fmt.Errorf("colour %q: %w", s, err)
		}
		if i == 3 {
			a = v
		} else {
			c[i] = v
		}
	}
	return c, a, nil
}

func luminance(c [3]float64) float64 {
	lin := func(v float64) float64 {
		v /= 255
		if v <= 0.03928 {
			return v / 12.92
		}
		return math.Pow((v+0.055)/1.055, 2.4)
	}
	return 0.2126*lin(c[0]) + 0.7152*lin(c[1]) + 0.0722*lin(c[2])
}
