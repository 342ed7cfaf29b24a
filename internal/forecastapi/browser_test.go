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

package forecastapi_test

import (
	"encoding/json"
	"net/http"
	"path/filepath"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/bakery-ia/subscription-operator/internal/testenv/browser"
)

// statusWords are the status texts a reader must see, per language.
var statusWords = map[string]map[string]string{
	"en": {"safe": "Safe", "warning": "Warning", "critical": "Critical", "unlimited": "Unlimited"},
	"es": {"safe": "Seguro", "warning": "Aviso", "critical": "Crítico", "unlimited": "Ilimitado"},
	"eu": {"safe": "Segurua", "warning": "Abisua", "critical": "Kritikoa", "unlimited": "Mugagabea"},
}

// The usage page in a real browser (Debian's chromium, headless, driven by
// chromedp): what it shows equals the forecast API's JSON, and the page is
// clean (no console errors, no failed requests, labelled SVGs, readable
// status colours). One screenshot per language is saved as an artifact.
var _ = Describe("the usage page in a browser", Ordered, func() {
	var b *browser.Browser

	BeforeAll(func() {
		var err error
		b, err = browser.Start(GinkgoT().TempDir())
		Expect(err).NotTo(HaveOccurred(), "the browser tests need chromium: %s", browser.InstallCommand)
		DeferCleanup(b.Close)
	})

	for _, lang := range []string{"en", "es", "eu"} {
		It("shows the forecast API's numbers and status in "+lang, func() {
			api := get(forecastURL(openURL, "tenant_id=test-tenant&namespace="+nsMain), "")
			Expect(api.status).To(Equal(http.StatusOK))
			var forecast struct {
				Metrics []struct {
					Metric              string  `json:"metric"`
					Current             int64   `json:"current"`
					Limit               *int64  `json:"limit"`
					Status              string  `json:"status"`
					PredictedBreachDate *string `json:"predicted_breach_date"`
				} `json:"metrics"`
			}
			Expect(json.Unmarshal(api.body, &forecast)).To(Succeed())

			status, err := b.Open(usageURL(openURL, "namespace="+nsMain+"&tenant_id=test-tenant"), map[string]string{"Accept-Language": lang})
			Expect(err).NotTo(HaveOccurred())
			Expect(status).To(BeEquivalentTo(http.StatusOK))
			page, err := b.ReadPage()
			Expect(err).NotTo(HaveOccurred())

			Expect(page.Lang).To(Equal(lang))
			Expect(page.Tenant).To(Equal("test-tenant"))
			Expect(page.Metrics).To(HaveLen(len(forecast.Metrics)))
			for i, want := range forecast.Metrics {
				got := page.Metrics[i]
				limit := int64(-1)
				if want.Limit != nil {
					limit = *want.Limit
				}
				breach := ""
				if want.PredictedBreachDate != nil {
					breach = *want.PredictedBreachDate
				}
				Expect(got.Metric).To(Equal(want.Metric))
				Expect([]int64{got.Current, got.Limit}).To(Equal([]int64{want.Current, limit}), want.Metric)
				Expect(got.Status).To(Equal(want.Status), want.Metric)
				Expect(got.StatusText).To(Equal(statusWords[lang][want.Status]), want.Metric)
				Expect(got.Breach).To(Equal(breach), want.Metric)
			}
			Expect(page.Features).NotTo(BeEmpty())
			for _, f := range page.Features {
				if !f.Included {
					Expect(f.Upgrade).To(ContainSubstring("feature="+f.Name), "a call to action for %s", f.Name)
				}
			}
			Expect(page.Check()).To(BeEmpty())
			Expect(page.StatusColours()).To(HaveLen(4), "every status has its own colours")
			Expect(b.Problems()).To(BeEmpty(), "console errors or failed requests")

			shot := filepath.Join(browser.ArtifactDir(), "usage-page-"+lang+".png")
			Expect(b.Screenshot(shot)).To(Succeed())
			GinkgoWriter.Printf("screenshot: %s\n", shot)
		})
	}

	It("shows the operators' list sorted and filtered, without problems", func() {
		status, err := b.Open(usageURL(openURL, "namespace="+nsMain+"&status=critical"), map[string]string{"Accept-Language": "es"})
		Expect(err).NotTo(HaveOccurred())
		Expect(status).To(BeEquivalentTo(http.StatusOK))
		rows, err := browser.Eval[[]string](b, `[...document.querySelectorAll('tr.tenant')].map(r => r.dataset.tenant)`)
		Expect(err).NotTo(HaveOccurred())
		Expect(rows).To(Equal([]string{"test-tenant"}))
		page, err := b.ReadPage()
		Expect(err).NotTo(HaveOccurred())
		Expect(page.Lang).To(Equal("es"))
		for _, t := range page.Texts {
			ratio, err := browser.Contrast(t.FG, t.BG)
			Expect(err).NotTo(HaveOccurred(), t.What)
			Expect(ratio).To(BeNumerically(">=", 4.5), t.What)
		}
		Expect(b.Problems()).To(BeEmpty())
	})
})
