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

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	authnv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/ptr"

	subv1 "github.com/bakery-ia/subscription-operator/api/v1alpha1"
	"github.com/bakery-ia/subscription-operator/internal/forecastapi"
)

// serviceAccountToken creates a ServiceAccount and returns a token the API
// server issued for it.
func serviceAccountToken(ns, name string) string {
	GinkgoHelper()
	ctx := context.Background()
	Expect(k8s.Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}})).To(Succeed())
	cs, err := kubernetes.NewForConfig(kube.Config)
	Expect(err).NotTo(HaveOccurred())
	tr, err := cs.CoreV1().ServiceAccounts(ns).CreateToken(ctx, name, &authnv1.TokenRequest{
		Spec: authnv1.TokenRequestSpec{ExpirationSeconds: ptr.To[int64](3600)},
	}, metav1.CreateOptions{})
	Expect(err).NotTo(HaveOccurred())
	return tr.Status.Token
}

func rule(verbs []string, resources ...string) rbacv1.PolicyRule {
	return rbacv1.PolicyRule{APIGroups: []string{subv1.GroupVersion.Group}, Resources: resources, Verbs: verbs}
}

var _ = Describe("authentication and authorisation", Ordered, func() {
	ctx := context.Background()
	var reader, operator string
	readerBinding := &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Namespace: nsAuthA, Name: "reader-reads-forecasts"}}

	BeforeAll(func() {
		// reader: get tenantusages in auth-a only.
		reader = serviceAccountToken(nsAuthA, "reader")
		Expect(k8s.Create(ctx, &rbacv1.Role{
			ObjectMeta: metav1.ObjectMeta{Namespace: nsAuthA, Name: "forecast-reader"},
			Rules:      []rbacv1.PolicyRule{rule([]string{"get"}, "tenantusages")},
		})).To(Succeed())
		readerBinding.RoleRef = rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: "forecast-reader"}
		readerBinding.Subjects = []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Namespace: nsAuthA, Name: "reader"}}
		Expect(k8s.Create(ctx, readerBinding)).To(Succeed())

		// operator: everything the API checks, in every namespace.
		operator = serviceAccountToken(nsAuthB, "operator")
		Expect(k8s.Create(ctx, &rbacv1.ClusterRole{
			ObjectMeta: metav1.ObjectMeta{Name: "forecast-operator"},
			Rules: []rbacv1.PolicyRule{
				rule([]string{"get"}, "tenantusages", "subscriptionpolicies"),
				rule([]string{"update"}, "tenantusages/status"),
			},
		})).To(Succeed())
		Expect(k8s.Create(ctx, &rbacv1.ClusterRoleBinding{
			ObjectMeta: metav1.ObjectMeta{Name: "forecast-operator"},
			RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "forecast-operator"},
			Subjects:   []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Namespace: nsAuthB, Name: "operator"}},
		})).To(Succeed())
	})

	It("lets the reader read a forecast in namespace A", func() {
		// RBAC caches in the API server catch up within moments.
		Eventually(func() int {
			securedClock.Step(forecastapi.DefaultAuthCacheTTL + 1) // no stale negative answer
			return get(forecastURL(securedURL, "tenant_id=tenant-a"), reader).status
		}).Should(Equal(http.StatusOK))
	})

	It("answers the reader 404 for a tenant in namespace B, naming no namespace, and 403 when it names B", func() {
		r := get(forecastURL(securedURL, "tenant_id=tenant-b"), reader)
		Expect(r.status).To(Equal(http.StatusNotFound), string(r.body))
		Expect(r.errorCode()).To(Equal(forecastapi.CodeTenantNotFound))
		Expect(string(r.body)).To(ContainSubstring(`system:serviceaccount:auth-a:reader`))
		Expect(string(r.body)).NotTo(ContainSubstring(nsAuthB))

		r = get(forecastURL(securedURL, "tenant_id=tenant-b&namespace="+nsAuthB), reader)
		Expect(r.status).To(Equal(http.StatusForbidden), string(r.body))
		Expect(r.errorCode()).To(Equal(forecastapi.CodeForbidden))
		Expect(string(r.body)).To(ContainSubstring(`namespace \"auth-b\"`))
	})

	It("answers an unknown tenant as it answers one the caller may not read", func() {
		Expect(get(forecastURL(securedURL, "tenant_id=nobody"), reader).status).To(Equal(http.StatusNotFound))
		Expect(get(forecastURL(securedURL, "tenant_id=nobody&namespace="+nsAuthA), reader).status).To(Equal(http.StatusNotFound))
		Expect(get(forecastURL(securedURL, "tenant_id=nobody&namespace="+nsAuthB), reader).status).To(Equal(http.StatusForbidden))
		Expect(get(forecastURL(securedURL, "tenant_id=nobody"), operator).status).To(Equal(http.StatusNotFound))
	})

	It("answers the reader 404 (not allowed to update) and 403 (namespace named) for track-usage, 403 for plans", func() {
		r := do(http.MethodPost, securedURL+forecastapi.PathTrackUsage, reader, `{"tenant_id":"tenant-a"}`)
		Expect(r.status).To(Equal(http.StatusNotFound), string(r.body))
		Expect(string(r.body)).To(ContainSubstring("update tenantusages/status"))
		r = do(http.MethodPost, securedURL+forecastapi.PathTrackUsage, reader, `{"tenant_id":"tenant-a","namespace":"auth-a"}`)
		Expect(r.status).To(Equal(http.StatusForbidden), string(r.body))
		Expect(string(r.body)).To(ContainSubstring("update tenantusages/status"))
		r = get(securedURL+forecastapi.PathPlans+"?namespace="+nsAuthA, reader)
		Expect(r.status).To(Equal(http.StatusForbidden), string(r.body))
	})

	It("lets an account with the RBAC for it track usage and read plans", func() {
		r := do(http.MethodPost, securedURL+forecastapi.PathTrackUsage, operator, `{"tenant_id":"tenant-b"}`)
		Expect(r.status).To(Equal(http.StatusOK), string(r.body))
		Expect(snaps.last()).To(Equal(snapCall{policy: nsAuthB + "/default", tenantID: "tenant-b"}))
		r = do(http.MethodPost, securedURL+forecastapi.PathTrackUsage, operator, `{"policy":"default","namespace":"auth-a"}`)
		Expect(r.status).To(Equal(http.StatusOK), string(r.body))
		r = get(securedURL+forecastapi.PathPlans+"?namespace="+nsAuthA, operator)
		Expect(r.status).To(Equal(http.StatusOK), string(r.body))
	})

	DescribeTable("answers 401 without a valid bearer token",
		func(header string) {
			req, err := http.NewRequestWithContext(ctx, http.MethodGet, forecastURL(securedURL, "tenant_id=tenant-a"), nil)
			Expect(err).NotTo(HaveOccurred())
			if header != "" {
				req.Header.Set("Authorization", header)
			}
			resp, err := http.DefaultClient.Do(req)
			Expect(err).NotTo(HaveOccurred())
			defer func() { _ = resp.Body.Close() }()
			Expect(resp.StatusCode).To(Equal(http.StatusUnauthorized))
			Expect(resp.Header.Get("WWW-Authenticate")).To(HavePrefix("Bearer"))
		},
		Entry("no header", ""),
		Entry("garbage token", "Bearer not-a-real-token"),
		Entry("a forged JWT", "Bearer eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJzeXN0ZW06YWRtaW4ifQ.c2lnbmF0dXJl"),
		Entry("basic auth", "Basic dXNlcjpwYXNz"),
		Entry("empty bearer", "Bearer "),
	)

	It("makes no API call on the hot path", func() {
		fresh := serviceAccountToken(nsAuthA, "fresh")
		Expect(k8s.Create(ctx, &rbacv1.RoleBinding{
			ObjectMeta: metav1.ObjectMeta{Namespace: nsAuthA, Name: "fresh-reads-forecasts"},
			RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: "forecast-reader"},
			Subjects:   []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Namespace: nsAuthA, Name: "fresh"}},
		})).To(Succeed())
		Eventually(func() int {
			securedClock.Step(forecastapi.DefaultAuthCacheTTL + 1)
			return get(forecastURL(securedURL, "tenant_id=tenant-a"), fresh).status
		}).Should(Equal(http.StatusOK))
		before := apiCalls.Load()
		for range 200 {
			Expect(get(forecastURL(securedURL, "tenant_id=tenant-a"), fresh).status).To(Equal(http.StatusOK))
		}
		Expect(apiCalls.Load() - before).To(BeZero())
	})

	It("renews answers in the background before they expire, so a steady caller never waits", func() {
		securedClock.Step(forecastapi.DefaultAuthCacheTTL + 1)
		Expect(get(forecastURL(securedURL, "tenant_id=tenant-a"), operator).status).To(Equal(http.StatusOK))
		calls := apiCalls.Load()

		By("past three quarters of the TTL: served from the cache, one renewal in the background")
		securedClock.Step(forecastapi.DefaultAuthCacheTTL * 8 / 10)
		Expect(get(forecastURL(securedURL, "tenant_id=tenant-a"), operator).status).To(Equal(http.StatusOK))
		// One TokenReview and one SubjectAccessReview; requests meanwhile start no more.
		Eventually(func() int64 { return apiCalls.Load() - calls }).Should(Equal(int64(2)))
		for range 20 {
			Expect(get(forecastURL(securedURL, "tenant_id=tenant-a"), operator).status).To(Equal(http.StatusOK))
		}
		Consistently(func() int64 { return apiCalls.Load() - calls }, "300ms").Should(Equal(int64(2)))

		By("past the first answers' expiry: the renewed ones are used, no API call")
		securedClock.Step(forecastapi.DefaultAuthCacheTTL * 3 / 10)
		Expect(get(forecastURL(securedURL, "tenant_id=tenant-a"), operator).status).To(Equal(http.StatusOK))
		Expect(apiCalls.Load() - calls).To(Equal(int64(2)))
	})

	It("keeps a decision for the cache TTL, then asks again", func() {
		securedClock.Step(forecastapi.DefaultAuthCacheTTL + 1)
		Expect(get(forecastURL(securedURL, "tenant_id=tenant-a"), reader).status).To(Equal(http.StatusOK))
		Expect(k8s.Delete(ctx, readerBinding)).To(Succeed())
		// Within the TTL the cached "allowed" stands.
		Expect(get(forecastURL(securedURL, "tenant_id=tenant-a"), reader).status).To(Equal(http.StatusOK))
		Eventually(func() int {
			securedClock.Step(forecastapi.DefaultAuthCacheTTL + 1)
			return get(forecastURL(securedURL, "tenant_id=tenant-a&namespace="+nsAuthA), reader).status
		}).Should(Equal(http.StatusForbidden))
		// Without namespace, auth-a is no longer searched for this caller.
		Expect(get(forecastURL(securedURL, "tenant_id=tenant-a"), reader).status).To(Equal(http.StatusNotFound))
	})
})
