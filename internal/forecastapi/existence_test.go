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
	"net/http"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/bakery-ia/subscription-operator/internal/forecastapi"
)

// A caller learns nothing about tenants or policies in namespaces it may not
// read: each request is sent before and after the object appears where the
// caller cannot look, and the two answers must be the same bytes.
var _ = Describe("existence is not leaked", Ordered, func() {
	ctx := context.Background()
	const (
		nsLeakA = "leak-a" // onlyA may read here
		nsLeakB = "leak-b" // nobody may read here
		nsLeakC = "leak-c"
	)
	var nobody, onlyA string

	BeforeAll(func() {
		for _, ns := range []string{nsLeakA, nsLeakB, nsLeakC} {
			createNamespace(ns)
		}
		nobody = serviceAccountToken(nsLeakA, "nobody") // no RBAC at all
		onlyA = serviceAccountToken(nsLeakA, "only-a")
		Expect(k8s.Create(ctx, &rbacv1.Role{
			ObjectMeta: metav1.ObjectMeta{Namespace: nsLeakA, Name: "reads-everything-here"},
			Rules: []rbacv1.PolicyRule{
				rule([]string{"get"}, "tenantusages", "subscriptionpolicies"),
				rule([]string{"update"}, "tenantusages/status"),
			},
		})).To(Succeed())
		Expect(k8s.Create(ctx, &rbacv1.RoleBinding{
			ObjectMeta: metav1.ObjectMeta{Namespace: nsLeakA, Name: "only-a-reads"},
			RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: "reads-everything-here"},
			Subjects:   []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Namespace: nsLeakA, Name: "only-a"}},
		})).To(Succeed())
		// Probe tenants make the RBAC visible: onlyA reads leak-a once RBAC has caught up.
		createPolicy(nsLeakA, "default")
		createTenant(nsLeakA, "probe", "leak-probe", nil)
		Eventually(func() int {
			securedClock.Step(forecastapi.DefaultAuthCacheTTL + 1)
			return get(forecastURL(securedURL, "tenant_id=leak-probe"), onlyA).status
		}).Should(Equal(http.StatusOK))
	})

	// requests are what each caller sends; answers records them per state.
	type request struct {
		name, method, url, token, body string
	}
	requests := func() []request {
		f := func(q string) string { return forecastURL(securedURL, q) }
		plans := securedURL + forecastapi.PathPlans
		track := securedURL + forecastapi.PathTrackUsage
		var rs []request
		for _, who := range []struct{ name, token string }{{"no RBAC", nobody}, {"RBAC in leak-a", onlyA}} {
			rs = append(rs,
				request{who.name + ": forecast", http.MethodGet, f("tenant_id=lk-x"), who.token, ""},
				request{who.name + ": forecast in leak-b", http.MethodGet, f("tenant_id=lk-x&namespace=" + nsLeakB), who.token, ""},
				request{who.name + ": track-usage", http.MethodPost, track, who.token, `{"tenant_id":"lk-x"}`},
				request{who.name + ": track-usage in leak-b", http.MethodPost, track, who.token, `{"tenant_id":"lk-x","namespace":"leak-b"}`},
				request{who.name + ": plans", http.MethodGet, plans + "?policy=lk-pol", who.token, ""},
				request{who.name + ": plans in leak-b", http.MethodGet, plans + "?policy=lk-pol&namespace=" + nsLeakB, who.token, ""},
			)
		}
		rs = append(rs, request{"RBAC in leak-a: forecast in leak-a", http.MethodGet, f("tenant_id=lk-x&namespace=" + nsLeakA), onlyA, ""})
		return rs
	}
	send := func() map[string]response {
		out := map[string]response{}
		for _, r := range requests() {
			out[r.name] = do(r.method, r.url, r.token, r.body)
		}
		return out
	}
	var absent map[string]response

	It("answers a tenant and a policy that exist nowhere without a namespace or an existence hint", func() {
		absent = send()
		for name, r := range absent {
			Expect(r.status).To(BeElementOf(http.StatusNotFound, http.StatusForbidden), name+": "+string(r.body))
			Expect(string(r.body)).NotTo(ContainSubstring("all namespaces"), name)
		}
		Expect(absent["no RBAC: forecast"].status).To(Equal(http.StatusNotFound))
		Expect(absent["no RBAC: forecast"].errorCode()).To(Equal(forecastapi.CodeTenantNotFound))
		Expect(absent["no RBAC: forecast in leak-b"].status).To(Equal(http.StatusForbidden))
	})

	// waitVisible waits until the manager's cache (read by the open server)
	// shows what was created.
	waitVisible := func(url string, status int) {
		Eventually(func() int { return get(url, "").status }).Should(Equal(status))
	}

	It("answers the same bytes once they exist in one namespace the caller may not read", func() {
		createTenant(nsLeakB, "lk-x", "lk-x", nil)
		createPolicy(nsLeakB, "lk-pol")
		waitVisible(forecastURL(openURL, "tenant_id=lk-x"), http.StatusOK)
		waitVisible(openURL+forecastapi.PathPlans+"?policy=lk-pol", http.StatusOK)
		for name, r := range send() {
			Expect(r.status).To(Equal(absent[name].status), name)
			Expect(string(r.body)).To(Equal(string(absent[name].body)), name)
		}
	})

	It("answers the same bytes once they exist in two namespaces the caller may not read", func() {
		createTenant(nsLeakC, "lk-x", "lk-x", nil)
		createPolicy(nsLeakC, "lk-pol")
		waitVisible(forecastURL(openURL, "tenant_id=lk-x"), http.StatusBadRequest) // ambiguous for those who see both
		waitVisible(openURL+forecastapi.PathPlans+"?policy=lk-pol", http.StatusBadRequest)
		for name, r := range send() {
			Expect(r.status).To(Equal(absent[name].status), name)
			Expect(string(r.body)).To(Equal(string(absent[name].body)), name)
		}
	})

	It("judges ambiguity among the namespaces the caller may read", func() {
		createTenant(nsLeakA, "lk-x", "lk-x", nil)
		createPolicy(nsLeakA, "lk-pol")
		waitVisible(forecastURL(openURL, "tenant_id=lk-x&namespace="+nsLeakA), http.StatusOK)
		waitVisible(openURL+forecastapi.PathPlans+"?policy=lk-pol&namespace="+nsLeakA, http.StatusOK)

		r := get(forecastURL(securedURL, "tenant_id=lk-x"), onlyA)
		Expect(r.status).To(Equal(http.StatusOK), string(r.body))
		r = get(securedURL+forecastapi.PathPlans+"?policy=lk-pol", onlyA)
		Expect(r.status).To(Equal(http.StatusOK), string(r.body))
		Expect(string(r.body)).To(HavePrefix(`{"namespace":"leak-a","policy":"lk-pol",`))
		r = do(http.MethodPost, securedURL+forecastapi.PathTrackUsage, onlyA, `{"tenant_id":"lk-x"}`)
		Expect(r.status).To(Equal(http.StatusOK), string(r.body))
		Expect(snaps.last()).To(Equal(snapCall{policy: nsLeakA + "/default", tenantID: "lk-x"}))

		By("a caller without RBAC still learns nothing")
		for name, r := range send() {
			if !strings.HasPrefix(name, "no RBAC") {
				continue
			}
			Expect(r.status).To(Equal(absent[name].status), name)
			Expect(string(r.body)).To(Equal(string(absent[name].body)), name)
		}
	})
})
