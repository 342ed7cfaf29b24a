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
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"regexp"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/bakery-ia/subscription-operator/internal/forecastapi"
	"github.com/bakery-ia/subscription-operator/internal/usagepage"
)

func usageURL(base, query string) string { return base + forecastapi.PathUsagePage + "?" + query }

// rowOrder is the tenants of a list page in the order shown.
func rowOrder(body []byte) []string {
	var out []string
	for _, m := range regexp.MustCompile(`<tr class="tenant" data-tenant="([^"]+)"`).FindAllSubmatch(body, -1) {
		out = append(out, string(m[1]))
	}
	return out
}

// forecastNumbers is metric -> [current, limit] of the forecast API's JSON.
func forecastNumbers(body []byte) map[string][2]int64 {
	GinkgoHelper()
	var f struct {
		Metrics []struct {
			Metric  string `json:"metric"`
			Current int64  `json:"current"`
			Limit   *int64 `json:"limit"`
		} `json:"metrics"`
	}
	Expect(json.Unmarshal(body, &f)).To(Succeed())
	out := map[string][2]int64{}
	for _, m := range f.Metrics {
		l := int64(-1)
		if m.Limit != nil {
			l = *m.Limit
		}
		out[m.Metric] = [2]int64{m.Current, l}
	}
	return out
}

var metricRowRE = regexp.MustCompile(`(?s)<tr class="metric" data-metric="([^"]+)".*?<data class="current" value="(-?\d+)">-?\d+</data>(?:[^<]*<data class="limit" value="(-?\d+)">)?`)

// pageNumbers is metric -> [current, limit] as the page shows them.
func pageNumbers(body []byte) map[string][2]int64 {
	out := map[string][2]int64{}
	for _, m := range metricRowRE.FindAllSubmatch(body, -1) {
		var cur, lim int64 = 0, -1
		_ = json.Unmarshal(m[2], &cur)
		if len(m[3]) > 0 {
			_ = json.Unmarshal(m[3], &lim)
		}
		out[string(m[1])] = [2]int64{cur, lim}
	}
	return out
}

var _ = Describe("the operators' usage page", func() {
	It("lists the tenants of a namespace, closest to a limit first, with the page's headers", func() {
		r := get(usageURL(openURL, "namespace="+nsMain), "")
		Expect(r.status).To(Equal(http.StatusOK), string(r.body))
		Expect(r.header.Get("Content-Security-Policy")).To(Equal(usagepage.ContentSecurityPolicy))
		Expect(r.header.Get("Content-Type")).To(Equal("text/html; charset=utf-8"))
		order := rowOrder(r.body)
		Expect(order).NotTo(BeEmpty())
		Expect(order[0]).To(Equal("test-tenant"), "one day left: first")
		Expect(order).To(ContainElements("fresh-tenant", "sleeper", "track-me"))
		Expect(order).NotTo(ContainElement("twin"), "another namespace's tenant")
	})

	It("filters by status and tier", func() {
		r := get(usageURL(openURL, "namespace="+nsMain+"&status=critical"), "")
		Expect(r.status).To(Equal(http.StatusOK))
		Expect(rowOrder(r.body)).To(Equal([]string{"test-tenant"}))
		Expect(string(r.body)).To(ContainSubstring(`<option value="critical" selected>`))
		r = get(usageURL(openURL, "namespace="+nsMain+"&tier=enterprise"), "")
		Expect(r.status).To(Equal(http.StatusOK))
		Expect(rowOrder(r.body)).To(BeEmpty())
		r = get(usageURL(openURL, "namespace="+nsMain+"&tier=starter&status=safe"), "")
		Expect(rowOrder(r.body)).To(ContainElement("track-me"))
		Expect(rowOrder(r.body)).NotTo(ContainElement("test-tenant"))
	})

	It("shows one tenant's page with the forecast API's numbers, in the caller's language, under 30 KB for nine metrics", func() {
		api := get(forecastURL(openURL, "tenant_id=test-tenant&namespace="+nsMain), "")
		Expect(api.status).To(Equal(http.StatusOK))
		req, err := http.NewRequestWithContext(context.Background(), http.MethodGet, usageURL(openURL, "namespace="+nsMain+"&tenant_id=test-tenant"), nil)
		Expect(err).NotTo(HaveOccurred())
		req.Header.Set("Accept-Language", "eu-ES, es;q=0.5")
		resp, err := http.DefaultClient.Do(req)
		Expect(err).NotTo(HaveOccurred())
		defer func() { _ = resp.Body.Close() }()
		var page bytes.Buffer
		_, _ = page.ReadFrom(resp.Body)
		Expect(resp.StatusCode).To(Equal(http.StatusOK), page.String())
		Expect(resp.Header.Get("Content-Language")).To(Equal("eu"))
		Expect(page.String()).To(ContainSubstring(`<html lang="eu">`))
		want := forecastNumbers(api.body)
		Expect(want).To(HaveLen(9))
		Expect(pageNumbers(page.Bytes())).To(Equal(want))
		Expect(page.Len()).To(BeNumerically("<", 30<<10))
		Expect(strings.Count(page.String(), "<polyline")).To(BeNumerically(">=", 5), "sparklines from the history store")
	})

	DescribeTable("refuses bad queries with 400",
		func(query string) {
			r := get(usageURL(openURL, query), "")
			Expect(r.status).To(Equal(http.StatusBadRequest), string(r.body))
		},
		Entry("no namespace", ""),
		Entry("bad namespace", "namespace=Bad_NS"),
		Entry("unknown status", "namespace=bakery-ia&status=purple"),
		Entry("status twice", "namespace=bakery-ia&status=safe&status=critical"),
		Entry("bad tenant", "namespace=bakery-ia&tenant_id=%3Cscript%3E"),
		Entry("malformed query", "namespace=bakery-ia&tier=%zz"),
		Entry("long tier", "namespace=bakery-ia&tier="+strings.Repeat("t", 64)),
	)

	It("escapes what it echoes", func() {
		r := get(usageURL(openURL, "namespace=bakery-ia&tier=%22%3E%3Cscript%3Ealert(1)%3C/script%3E"), "")
		Expect(r.status).To(Equal(http.StatusOK))
		Expect(string(r.body)).NotTo(ContainSubstring("<script"))
	})

	Context("with authentication", Ordered, func() {
		ctx := context.Background()
		var lister, reader string
		BeforeAll(func() {
			// lister: list and get tenantusages in auth-a; reader: get only.
			lister = serviceAccountToken(nsAuthA, "page-lister")
			reader = serviceAccountToken(nsAuthA, "page-reader")
			for name, verbs := range map[string][]string{"page-lister": {"get", "list"}, "page-reader": {"get"}} {
				Expect(k8s.Create(ctx, &rbacv1.Role{
					ObjectMeta: metav1.ObjectMeta{Namespace: nsAuthA, Name: name},
					Rules:      []rbacv1.PolicyRule{rule(verbs, "tenantusages")},
				})).To(Succeed())
				Expect(k8s.Create(ctx, &rbacv1.RoleBinding{
					ObjectMeta: metav1.ObjectMeta{Namespace: nsAuthA, Name: name},
					RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: name},
					Subjects:   []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Namespace: nsAuthA, Name: name}},
				})).To(Succeed())
			}
			Eventually(func() int {
				securedClock.Step(forecastapi.DefaultAuthCacheTTL + 1)
				return get(usageURL(securedURL, "namespace="+nsAuthA), lister).status
			}).Should(Equal(http.StatusOK))
		})

		It("answers 401 without a token", func() {
			Expect(get(usageURL(securedURL, "namespace="+nsAuthA), "").status).To(Equal(http.StatusUnauthorized))
		})

		It("lists a namespace only for a caller who may list its TenantUsages", func() {
			r := get(usageURL(securedURL, "namespace="+nsAuthA), lister)
			Expect(rowOrder(r.body)).To(Equal([]string{"tenant-a"}))
			r = get(usageURL(securedURL, "namespace="+nsAuthA), reader)
			Expect(r.status).To(Equal(http.StatusForbidden), string(r.body))
			Expect(string(r.body)).NotTo(ContainSubstring("tenant-a"))
		})

		It("decides before looking: a namespace the caller may not read answers 403 whether or not it exists", func() {
			for _, q := range []string{"namespace=" + nsAuthB, "namespace=no-such-namespace",
				"namespace=" + nsAuthB + "&tenant_id=tenant-b", "namespace=" + nsAuthB + "&tenant_id=nobody"} {
				r := get(usageURL(securedURL, q), lister)
				Expect(r.status).To(Equal(http.StatusForbidden), q)
				Expect(string(r.body)).NotTo(ContainSubstring("tenant-b"), q)
			}
		})

		It("shows a tenant's page to a caller who may get it", func() {
			r := get(usageURL(securedURL, "namespace="+nsAuthA+"&tenant_id=tenant-a"), reader)
			Expect(r.status).To(Equal(http.StatusOK), string(r.body))
			Expect(string(r.body)).To(ContainSubstring(`id="tenant">tenant-a<`))
			Expect(get(usageURL(securedURL, "namespace="+nsAuthA+"&tenant_id=nobody"), reader).status).To(Equal(http.StatusNotFound))
		})
	})
})
