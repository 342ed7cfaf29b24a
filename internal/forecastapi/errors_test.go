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
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/bakery-ia/subscription-operator/internal/forecastapi"
	"github.com/bakery-ia/subscription-operator/internal/history"
)

const (
	pf = forecastapi.PathForecast
	pt = forecastapi.PathTrackUsage
	pp = forecastapi.PathPlans
)

var _ = Describe("errors", func() {
	DescribeTable("answer JSON {error, code} with the right status",
		func(method, path, body string, status int, code string) {
			r := do(method, openURL+path, "", body)
			Expect(r.status).To(Equal(status), string(r.body))
			Expect(r.errorCode()).To(Equal(code), string(r.body))
			Expect(r.header.Get("Content-Type")).To(Equal("application/json"))
			Expect(r.header.Get("X-Content-Type-Options")).To(Equal("nosniff"))
			if status == http.StatusMethodNotAllowed {
				Expect(r.header.Get("Allow")).NotTo(BeEmpty())
			}
		},
		// usage-forecast
		Entry("missing tenant_id", "GET", pf, "", 400, forecastapi.CodeInvalidTenantID),
		Entry("empty tenant_id", "GET", pf+"?tenant_id=", "", 400, forecastapi.CodeInvalidTenantID),
		Entry("upper case tenant_id", "GET", pf+"?tenant_id=Test-Tenant", "", 400, forecastapi.CodeInvalidTenantID),
		Entry("tenant_id with a slash", "GET", pf+"?tenant_id=a%2Fb", "", 400, forecastapi.CodeInvalidTenantID),
		Entry("tenant_id ending in a dash", "GET", pf+"?tenant_id=abc-", "", 400, forecastapi.CodeInvalidTenantID),
		Entry("tenant_id of 64 characters", "GET", pf+"?tenant_id="+strings.Repeat("a", 64), "", 400, forecastapi.CodeInvalidTenantID),
		Entry("tenant_id twice", "GET", pf+"?tenant_id=a&tenant_id=b", "", 400, forecastapi.CodeInvalidParameter),
		Entry("malformed namespace", "GET", pf+"?tenant_id=test-tenant&namespace=Bad_NS", "", 400, forecastapi.CodeInvalidParameter),
		Entry("tenant in two namespaces", "GET", pf+"?tenant_id=twin", "", 400, forecastapi.CodeAmbiguousTenant),
		Entry("unknown tenant", "GET", pf+"?tenant_id=nobody", "", 404, forecastapi.CodeTenantNotFound),
		Entry("tenant in another namespace", "GET", pf+"?tenant_id=test-tenant&namespace="+nsTwinA, "", 404, forecastapi.CodeTenantNotFound),
		Entry("POST to usage-forecast", "POST", pf+"?tenant_id=test-tenant", "", 405, forecastapi.CodeMethodNotAllowed),
		Entry("DELETE to usage-forecast", "DELETE", pf, "", 405, forecastapi.CodeMethodNotAllowed),
		Entry("unknown path", "GET", "/api/v1/usage-forecast/", "", 404, forecastapi.CodeNotFound),
		// track-usage
		Entry("GET to track-usage", "GET", pt, "", 405, forecastapi.CodeMethodNotAllowed),
		Entry("empty body", "POST", pt, "", 400, forecastapi.CodeInvalidBody),
		Entry("malformed JSON", "POST", pt, `{"tenant_id": `, 400, forecastapi.CodeInvalidBody),
		Entry("a JSON array", "POST", pt, `["track-me"]`, 400, forecastapi.CodeInvalidBody),
		Entry("two objects", "POST", pt, `{"tenant_id":"track-me"}{}`, 400, forecastapi.CodeInvalidBody),
		Entry("unknown field", "POST", pt, `{"tenant":"track-me"}`, 400, forecastapi.CodeInvalidBody),
		Entry("neither tenant_id nor policy", "POST", pt, `{}`, 400, forecastapi.CodeInvalidBody),
		Entry("both tenant_id and policy", "POST", pt, `{"tenant_id":"track-me","policy":"default","namespace":"bakery-ia"}`, 400, forecastapi.CodeInvalidBody),
		Entry("policy without namespace", "POST", pt, `{"policy":"default"}`, 400, forecastapi.CodeInvalidBody),
		Entry("malformed tenant_id in body", "POST", pt, `{"tenant_id":"No Spaces"}`, 400, forecastapi.CodeInvalidTenantID),
		Entry("malformed policy name", "POST", pt, `{"policy":"Default!","namespace":"bakery-ia"}`, 400, forecastapi.CodeInvalidParameter),
		Entry("malformed namespace in body", "POST", pt, `{"tenant_id":"track-me","namespace":"-x"}`, 400, forecastapi.CodeInvalidParameter),
		Entry("body over 64 KiB", "POST", pt, `{"tenant_id":"`+strings.Repeat("a", 70<<10)+`"}`, 413, forecastapi.CodeBodyTooLarge),
		Entry("malformed query", "GET", pf+"?tenant_id=test-tenant&x=%zz", "", 400, forecastapi.CodeInvalidParameter),
		Entry("unknown tenant to track", "POST", pt, `{"tenant_id":"nobody"}`, 404, forecastapi.CodeTenantNotFound),
		Entry("ambiguous tenant to track", "POST", pt, `{"tenant_id":"twin"}`, 400, forecastapi.CodeAmbiguousTenant),
		Entry("unknown policy to track", "POST", pt, `{"policy":"nope","namespace":"bakery-ia"}`, 404, forecastapi.CodePolicyNotFound),
		Entry("suspended tenant", "POST", pt, `{"tenant_id":"sleeper"}`, 409, forecastapi.CodeTenantSuspended),
		Entry("failing snapshot", "POST", pt, `{"tenant_id":"explode"}`, 500, forecastapi.CodeSnapshotFailed),
		// plans
		Entry("POST to plans", "POST", pp, "", 405, forecastapi.CodeMethodNotAllowed),
		Entry("unknown policy", "GET", pp+"?policy=nope", "", 404, forecastapi.CodePolicyNotFound),
		Entry("unknown policy in a namespace", "GET", pp+"?namespace=bakery-ia&policy=shared", "", 404, forecastapi.CodePolicyNotFound),
		Entry("policy in two namespaces", "GET", pp+"?policy=shared", "", 400, forecastapi.CodeAmbiguousPolicy),
		Entry("malformed policy", "GET", pp+"?policy=UPPER", "", 400, forecastapi.CodeInvalidParameter),
		Entry("malformed namespace for plans", "GET", pp+"?namespace=a.b", "", 400, forecastapi.CodeInvalidParameter),
	)

	It("names the allowed method in the Allow header", func() {
		Expect(do("PUT", openURL+pf, "", "").header.Get("Allow")).To(Equal("GET"))
		Expect(do("GET", openURL+pt, "", "").header.Get("Allow")).To(Equal("POST"))
		Expect(do("DELETE", openURL+pp, "", "").header.Get("Allow")).To(Equal("GET"))
	})

	It("answers 503 when the history store fails, and does not cache it", func() {
		srv, err := forecastapi.New(mgr.GetCache(), nil, failingHistory{}, forecastapi.WithoutAuth())
		Expect(err).NotTo(HaveOccurred())
		rec := httptest.NewRecorder()
		srv.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, pf+"?tenant_id=test-tenant", nil))
		Expect(rec.Code).To(Equal(http.StatusServiceUnavailable))
		Expect(rec.Body.String()).To(ContainSubstring(forecastapi.CodeHistoryUnavailable))
		Expect(rec.Body.String()).To(ContainSubstring("connection refused"))
	})

	It("answers 501 to track-usage without a snapshot runner", func() {
		srv, err := forecastapi.New(mgr.GetCache(), nil, store, forecastapi.WithoutAuth())
		Expect(err).NotTo(HaveOccurred())
		rec := httptest.NewRecorder()
		srv.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodPost, pt, strings.NewReader(`{"tenant_id":"track-me"}`)))
		Expect(rec.Code).To(Equal(http.StatusNotImplemented))
		Expect(rec.Body.String()).To(ContainSubstring(forecastapi.CodeTrackUsageDisabled))
	})

	It("refuses to start without a rest.Config unless auth is off", func() {
		_, err := forecastapi.New(mgr.GetCache(), nil, store)
		Expect(err).To(MatchError(ContainSubstring("rest.Config is required")))
	})
})

type failingHistory struct{}

func (failingHistory) Read(context.Context, string, []string, string, int) (map[string][]history.Point, error) {
	return nil, errors.New("dial tcp 127.0.0.1:6379: connection refused")
}
