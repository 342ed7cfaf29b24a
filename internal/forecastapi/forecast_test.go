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
	"context"
	"encoding/json"
	"net/http"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"k8s.io/apimachinery/pkg/types"

	subv1 "github.com/bakery-ia/subscription-operator/api/v1alpha1"
	"github.com/bakery-ia/subscription-operator/internal/forecastapi"
	"github.com/bakery-ia/subscription-operator/internal/history"
	opkube "github.com/bakery-ia/subscription-operator/internal/kube"
)

// lastProducts is the last products trend value of a forecast body.
func lastProducts(body []byte) int64 {
	GinkgoHelper()
	var f struct {
		Metrics []struct {
			Metric    string `json:"metric"`
			TrendData []struct {
				Date  string `json:"date"`
				Value int64  `json:"value"`
			} `json:"trend_data"`
		} `json:"metrics"`
	}
	Expect(json.Unmarshal(body, &f)).To(Succeed())
	for _, m := range f.Metrics {
		if m.Metric == "products" && len(m.TrendData) > 0 {
			return m.TrendData[len(m.TrendData)-1].Value
		}
	}
	return -1
}

var _ = Describe("GET /api/v1/usage-forecast", func() {
	It("answers the seed's JSON for a tenant with nine metrics", func() {
		r := get(forecastURL(openURL, "tenant_id=test-tenant"), "")
		Expect(r.status).To(Equal(http.StatusOK), string(r.body))
		Expect(r.header.Get("Content-Type")).To(Equal("application/json"))
		Expect(r.header.Get("ETag")).NotTo(BeEmpty())
		expectGolden("forecast.golden", r.body)

		// The contract's literal forms, independent of the golden file.
		Expect(string(r.body)).To(ContainSubstring(`"forecasted_at":"2025-01-19T10:30:00Z"`))
		Expect(string(r.body)).To(ContainSubstring(`"usage_percentage":70.0,`))
		Expect(string(r.body)).To(ContainSubstring(`"daily_growth_rate":0.5,`))
		Expect(string(r.body)).To(ContainSubstring(`"limit":null`))
		Expect(string(r.body)).To(ContainSubstring(`"predicted_breach_date":null`))
	})

	It("returns 30 days of trend, oldest first, and [] for metrics without history", func() {
		r := get(forecastURL(openURL, "tenant_id=test-tenant&namespace="+nsMain), "")
		Expect(r.status).To(Equal(http.StatusOK))
		var f struct {
			Metrics []struct {
				Metric    string            `json:"metric"`
				TrendData []json.RawMessage `json:"trend_data"`
			} `json:"metrics"`
		}
		Expect(json.Unmarshal(r.body, &f)).To(Succeed())
		lens := map[string]int{}
		for _, m := range f.Metrics {
			lens[m.Metric] = len(m.TrendData)
		}
		Expect(lens).To(Equal(map[string]int{
			"products": 30, "users": 30, "locations": 30, "recipes": 0, "suppliers": 30,
			"training_jobs": 5, "forecasts": 5, "api_calls": 5, "storage_mb": 10,
		}))
	})

	It("answers a tenant whose forecast has no metrics yet", func() {
		r := get(forecastURL(openURL, "tenant_id=fresh-tenant"), "")
		Expect(r.status).To(Equal(http.StatusOK))
		Expect(string(r.body)).To(MatchJSON(`{"tenant_id":"fresh-tenant","forecasted_at":null,"metrics":[]}`))
	})

	It("answers 304 to a matching If-None-Match", func() {
		first := get(forecastURL(openURL, "tenant_id=test-tenant"), "")
		req, err := http.NewRequestWithContext(context.Background(), http.MethodGet, forecastURL(openURL, "tenant_id=test-tenant"), nil)
		Expect(err).NotTo(HaveOccurred())
		req.Header.Set("If-None-Match", first.header.Get("ETag"))
		resp, err := http.DefaultClient.Do(req)
		Expect(err).NotTo(HaveOccurred())
		_ = resp.Body.Close()
		Expect(resp.StatusCode).To(Equal(http.StatusNotModified))
	})

	Describe("the response cache", Ordered, func() {
		ctx := context.Background()
		setProducts := func(v int64) {
			Expect(store.Write(ctx, "2025-01-19", 60, []history.Value{{TenantID: "cached", Metric: "products", Value: v}})).To(Succeed())
		}
		var url string
		BeforeAll(func() { url = forecastURL(openURL, "tenant_id=cached") })

		It("serves a cached body while status, history version and TTL are unchanged", func() {
			setProducts(1)
			Expect(lastProducts(get(url, "").body)).To(Equal(int64(1)))
			setProducts(2) // behind the API's back: nobody calls Invalidate
			Expect(lastProducts(get(url, "").body)).To(Equal(int64(1)))
		})

		It("re-reads after Invalidate", func() {
			openSrv.Invalidate("cached")
			Expect(lastProducts(get(url, "").body)).To(Equal(int64(2)))
		})

		It("re-reads when the TenantUsage status changes (resourceVersion)", func() {
			setProducts(3)
			Expect(lastProducts(get(url, "").body)).To(Equal(int64(2)))
			tu := &subv1.TenantUsage{}
			Expect(k8s.Get(ctx, types.NamespacedName{Namespace: nsMain, Name: "cached"}, tu)).To(Succeed())
			tu.Status.Metrics[0].Current = 3
			Expect(k8s.Status().Update(ctx, tu)).To(Succeed())
			Eventually(func() int64 { return lastProducts(get(url, "").body) }).Should(Equal(int64(3)))
		})

		It("re-reads after the TTL", func() {
			setProducts(4)
			Expect(lastProducts(get(url, "").body)).To(Equal(int64(3)))
			openClock.Step(forecastapi.DefaultResponseTTL + time.Second)
			Expect(lastProducts(get(url, "").body)).To(Equal(int64(4)))
		})

		It("re-reads after InvalidateAll", func() {
			setProducts(5)
			Expect(lastProducts(get(url, "").body)).To(Equal(int64(4)))
			openSrv.InvalidateAll()
			Expect(lastProducts(get(url, "").body)).To(Equal(int64(5)))
		})
	})

	It("finds tenants through the tenant ID index, not by name", func() {
		// The TenantUsage is named "empty" but its tenant ID is fresh-tenant.
		r := get(forecastURL(openURL, "tenant_id=empty"), "")
		Expect(r.status).To(Equal(http.StatusNotFound))
		found, err := opkube.TenantsByID(context.Background(), mgr.GetCache(), "fresh-tenant")
		Expect(err).NotTo(HaveOccurred())
		Expect(found).To(HaveLen(1))
		Expect(found[0].Name).To(Equal("empty"))
	})
})
