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

package gateway_test

import (
	"net/http"
	"path/filepath"
	"testing"

	"github.com/bakery-ia/subscription-operator/internal/testenv/browser"
)

// TestUsagePageInBrowser loads the gateway's page for a tenant in Debian's
// chromium, with the tenant's token sent as a browser would send it, and
// checks what a person sees: the status numbers, status words, language,
// labelled SVGs, readable colours, no console errors or failed requests.
func TestUsagePageInBrowser(t *testing.T) {
	b, err := browser.Start(t.TempDir())
	if err != nil {
		t.Fatalf("%v", err) // never skipped: make test installs chromium
	}
	defer b.Close()
	e := pageEnv(t, nil, nil)
	var want map[string][2]int64
	for _, tu := range tenantsWithStatus() {
		if tu.Name == starter {
			want = map[string][2]int64{}
			for _, m := range tu.Status.Metrics {
				want[m.Metric] = [2]int64{m.Current, *m.Limit}
			}
		}
	}
	words := map[string][2]string{"en": {"Warning", "Critical"}, "es": {"Aviso", "Crítico"}, "eu": {"Abisua", "Kritikoa"}}
	for _, lang := range []string{"en", "es", "eu"} {
		status, err := b.Open(e.proxy.URL+pagePath, map[string]string{
			"Authorization": "Bearer " + tokenFor(t, starter), "Accept-Language": lang})
		if err != nil || status != http.StatusOK {
			t.Fatalf("%s: status %d, %v", lang, status, err)
		}
		page, err := b.ReadPage()
		if err != nil {
			t.Fatal(err)
		}
		if page.Lang != lang || page.Tenant != starter {
			t.Errorf("%s: lang %q, tenant %q", lang, page.Lang, page.Tenant)
		}
		got := map[string][2]int64{}
		for _, m := range page.Metrics {
			got[m.Metric] = [2]int64{m.Current, m.Limit}
		}
		if len(got) != len(want) || got["products"] != want["products"] || got["api_calls"] != want["api_calls"] {
			t.Errorf("%s: page shows %v, status has %v", lang, got, want)
		}
		if len(page.Metrics) == 2 && (page.Metrics[0].StatusText != words[lang][0] || page.Metrics[1].StatusText != words[lang][1]) {
			t.Errorf("%s: status texts %q, %q", lang, page.Metrics[0].StatusText, page.Metrics[1].StatusText)
		}
		for _, p := range page.Check() {
			t.Errorf("%s: %s", lang, p)
		}
		for _, p := range b.Problems() {
			t.Errorf("%s: %s", lang, p)
		}
		if err := b.Screenshot(filepath.Join(browser.ArtifactDir(), "gateway-usage-page-"+lang+".png")); err != nil {
			t.Error(err)
		}
	}
	if n := e.upstreamHits(); n != 0 {
		t.Errorf("the browser's requests reached the upstream %d times", n)
	}
}
