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
	"io"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/redis/go-redis/v9"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	clocktesting "k8s.io/utils/clock/testing"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	subv1 "github.com/bakery-ia/subscription-operator/api/v1alpha1"
	"github.com/bakery-ia/subscription-operator/internal/entitlement"
	"github.com/bakery-ia/subscription-operator/internal/forecastapi"
	"github.com/bakery-ia/subscription-operator/internal/policy"
	"github.com/bakery-ia/subscription-operator/internal/policy/policytest"
)

// Namespaces of the entitlement specs: the bakery policy of
// internal/policy/testdata (offers in en, es and eu) in both.
const (
	nsEntA = "ent-a"
	nsEntB = "ent-b"
)

// countingHook counts the commands a Redis client sends.
type countingHook struct{ n atomic.Int64 }

func (h *countingHook) DialHook(next redis.DialHook) redis.DialHook { return next }
func (h *countingHook) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error { h.n.Add(1); return next(ctx, cmd) }
}
func (h *countingHook) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error { h.n.Add(int64(len(cmds))); return next(ctx, cmds) }
}

func entitlementsURL(base, query string) string {
	return base + forecastapi.PathEntitlements + "?" + query
}

func getLang(url, token, lang, inm string) response {
	GinkgoHelper()
	req, err := http.NewRequestWithContext(context.Background(), http.MethodGet, url, nil)
	Expect(err).NotTo(HaveOccurred())
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if lang != "" {
		req.Header.Set("Accept-Language", lang)
	}
	if inm != "" {
		req.Header.Set("If-None-Match", inm)
	}
	resp, err := http.DefaultClient.Do(req)
	Expect(err).NotTo(HaveOccurred())
	defer func() { _ = resp.Body.Close() }()
	var body []byte
	body, err = io.ReadAll(resp.Body)
	Expect(err).NotTo(HaveOccurred())
	return response{status: resp.StatusCode, header: resp.Header, body: body}
}

func decodeView(r response) entitlement.View {
	GinkgoHelper()
	Expect(r.status).To(Equal(http.StatusOK), string(r.body))
	var v entitlement.View
	Expect(json.Unmarshal(r.body, &v)).To(Succeed())
	return v
}

func findFeature(v entitlement.View, name string) entitlement.Feature {
	GinkgoHelper()
	for _, f := range v.Features {
		if f.Feature == name {
			return f
		}
	}
	Fail("no feature " + name)
	return entitlement.Feature{}
}

func findMetric(v entitlement.View, name string) entitlement.Metric {
	GinkgoHelper()
	m, ok := v.Metric(name)
	Expect(ok).To(BeTrue(), "no metric %s", name)
	return m
}

var _ = Describe("entitlements", Ordered, func() {
	ctx := context.Background()
	var (
		open, secured string
		hook          *countingHook
		counterRDB    *redis.Client
		clk           *clocktesting.FakeClock
		spec          *policy.Spec
		reader        string
	)
	// t0 is 11:30 in Madrid, the policy's zone: the counter day is t0's date.
	today := t0.Format(time.DateOnly)

	BeforeAll(func() {
		for _, ns := range []string{nsEntA, nsEntB} {
			createNamespace(ns)
			p := policytest.Policy()
			p.Namespace, p.ResourceVersion = ns, ""
			Expect(k8s.Create(ctx, p)).To(Succeed())
		}
		var err error
		spec, err = policy.CompileSpec(policytest.Policy())
		Expect(err).NotTo(HaveOccurred())

		status := func(products int64, st subv1.UsageStatus) func(*subv1.TenantUsage) {
			return func(tu *subv1.TenantUsage) {
				tu.Status = subv1.TenantUsageStatus{Metrics: []subv1.MetricForecast{
					{Metric: "products", Current: products, Limit: ptr.To[int64](50), Status: st,
						PredictedBreachDate: ptr.To("2025-01-25"), DaysUntilBreach: ptr.To[int32](6)},
					{Metric: "api_calls", Current: 7, Limit: ptr.To[int64](1000), Status: subv1.UsageSafe},
				}}
			}
		}
		createTenant(nsEntA, "ent-starter", "ent-starter", status(45, subv1.UsageWarning))
		createTenant(nsEntA, "ent-pro", "ent-pro", func(tu *subv1.TenantUsage) {
			status(10, subv1.UsageSafe)(tu)
			tu.Spec.Tier, tu.Spec.LimitOverrides = "professional", map[string]int64{"api_calls": 25000}
		})
		createTenant(nsEntA, "ent-top", "ent-top", func(tu *subv1.TenantUsage) { tu.Spec.Tier = "enterprise" })
		createTenant(nsEntA, "ent-asleep", "ent-asleep", func(tu *subv1.TenantUsage) { tu.Spec.Tier, tu.Spec.Suspend = "enterprise", true })
		createTenant(nsEntA, "ent-gold", "ent-gold", func(tu *subv1.TenantUsage) { tu.Spec.Tier = "gold" })
		createTenant(nsEntB, "ent-other", "ent-other", nil)
		Expect(rdb.Set(ctx, "usage_daily:ent-pro:api_calls:"+today, 25000, 0).Err()).To(Succeed())
		Expect(rdb.Set(ctx, "usage_daily:ent-starter:api_calls:"+today, 300, 0).Err()).To(Succeed())
		// Yesterday's count is not today's.
		Expect(rdb.Set(ctx, "usage_daily:ent-top:api_calls:2025-01-18", 999, 0).Err()).To(Succeed())

		hook = &countingHook{}
		counterRDB = redis.NewClient(&redis.Options{Addr: rds.Addr})
		counterRDB.AddHook(hook)
		DeferCleanup(counterRDB.Close)
		clk = clocktesting.NewFakeClock(t0)
		_, open = startServer(nil, forecastapi.WithoutAuth(), forecastapi.WithClock(clk),
			forecastapi.WithCounters(forecastapi.RedisCounters{Client: counterRDB}))
		_, secured = startServer(kube.Config, forecastapi.WithClock(clk),
			forecastapi.WithCounters(forecastapi.RedisCounters{Client: counterRDB}))

		reader = serviceAccountToken(nsEntA, "ent-reader")
		Expect(k8s.Create(ctx, &rbacv1.Role{
			ObjectMeta: metav1.ObjectMeta{Namespace: nsEntA, Name: "ent-reader"},
			Rules:      []rbacv1.PolicyRule{rule([]string{"get"}, "tenantusages")},
		})).To(Succeed())
		Expect(k8s.Create(ctx, &rbacv1.RoleBinding{
			ObjectMeta: metav1.ObjectMeta{Namespace: nsEntA, Name: "ent-reader"},
			RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: "ent-reader"},
			Subjects:   []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Namespace: nsEntA, Name: "ent-reader"}},
		})).To(Succeed())
		Eventually(func() int {
			clk.Step(forecastapi.DefaultAuthCacheTTL + 1)
			return get(entitlementsURL(secured, "tenant_id=ent-starter"), reader).status
		}).Should(Equal(http.StatusOK))
	})

	It("answers a starter tenant's features with the 402 offer and its metrics with today's api_calls", func() {
		v := decodeView(get(entitlementsURL(open, "tenant_id=ent-starter"), ""))
		Expect(v.TenantID).To(Equal("ent-starter"))
		Expect(v.Tier).To(Equal("starter"))
		Expect(v.Language).To(Equal("en"))
		a := findFeature(v, "analytics")
		Expect(a.HasAccess).To(BeFalse())
		Expect(*a.Reason).To(Equal(entitlement.ReasonTierInsufficient))
		Expect(a.RequiredTier).To(Equal("professional"))
		want := entitlement.FeatureOffer(spec, spec.Features[0], spec.Tiers[0], "en")
		Expect(a.UpgradeOffer).To(Equal(&want))

		p := findMetric(v, "products")
		Expect(p.Current).To(Equal(int64(45)))
		Expect(*p.Limit).To(Equal(int64(50)))
		Expect(*p.Remaining).To(Equal(int64(5)))
		Expect(float64(*p.UsagePercentage)).To(Equal(90.0))
		Expect(p.Status).To(Equal("critical"))
		Expect(*p.PredictedBreachDate).To(Equal("2025-01-25"))
		calls := findMetric(v, "api_calls")
		Expect(calls.Current).To(Equal(int64(300)), "today's counter, not the snapshot's 7")
		Expect(*calls.Remaining).To(Equal(int64(700)))
		Expect(calls.Daily).To(BeTrue())
	})

	It("localises offers by Accept-Language with the gateway's matcher, and varies the ETag with it", func() {
		en := getLang(entitlementsURL(open, "tenant_id=ent-starter"), "", "", "")
		es := getLang(entitlementsURL(open, "tenant_id=ent-starter"), "", "es-ES,es;q=0.9,en;q=0.5", "")
		eu := getLang(entitlementsURL(open, "tenant_id=ent-starter"), "", "fr, eu;q=0.4", "")
		Expect(findFeature(decodeView(es), "analytics").UpgradeOffer.Title).To(Equal("Desbloquea la Analítica Avanzada"))
		Expect(findFeature(decodeView(eu), "analytics").UpgradeOffer.Title).To(Equal("Desblokeatu Analitika Aurreratua"))
		Expect(es.header.Get("Content-Language")).To(Equal("es"))
		Expect(es.header.Get("Vary")).To(Equal("Accept-Language"))
		Expect(en.header.Get("ETag")).NotTo(Equal(es.header.Get("ETag")))
		// bulk-export has English only: the fallback.
		Expect(findFeature(decodeView(es), "bulk-export").UpgradeOffer.Title).To(Equal("Export everything at once"))
	})

	It("answers 304 to a matching If-None-Match and 200 once the answer changed", func() {
		first := get(entitlementsURL(open, "tenant_id=ent-starter"), "")
		etag := first.header.Get("ETag")
		Expect(etag).To(MatchRegexp(`^"[0-9a-f]+"$`))
		again := getLang(entitlementsURL(open, "tenant_id=ent-starter"), "", "", etag)
		Expect(again.status).To(Equal(http.StatusNotModified))
		Expect(again.body).To(BeEmpty())
		Expect(getLang(entitlementsURL(open, "tenant_id=ent-starter"), "", "", `"other", W/`+etag).status).To(Equal(http.StatusNotModified))
		Expect(getLang(entitlementsURL(open, "tenant_id=ent-starter"), "", "", "*").status).To(Equal(http.StatusNotModified))

		Expect(rdb.IncrBy(ctx, "usage_daily:ent-starter:api_calls:"+today, 1).Err()).To(Succeed())
		changed := getLang(entitlementsURL(open, "tenant_id=ent-starter"), "", "", etag)
		Expect(changed.status).To(Equal(http.StatusOK))
		Expect(changed.header.Get("ETag")).NotTo(Equal(etag))
		Expect(findMetric(decodeView(changed), "api_calls").Current).To(Equal(int64(301)))
		Expect(rdb.DecrBy(ctx, "usage_daily:ent-starter:api_calls:"+today, 1).Err()).To(Succeed())
	})

	It("denies every feature of a tenant whose daily api_calls are spent, as the gateway's 429 does", func() {
		v := decodeView(get(entitlementsURL(open, "tenant_id=ent-pro"), ""))
		Expect(v.Tier).To(Equal("professional"))
		calls := findMetric(v, "api_calls")
		Expect(calls.Current).To(Equal(int64(25000)))
		Expect(*calls.Limit).To(Equal(int64(25000)), "the override, not the tier's 10000")
		Expect(*calls.Remaining).To(BeZero())
		Expect(calls.UpgradeOffer.MinimumTier).To(Equal("enterprise"))
		a := findFeature(v, "analytics")
		Expect(a.HasAccess).To(BeFalse())
		Expect(*a.Reason).To(Equal(entitlement.ReasonQuotaExhausted))
	})

	It("answers suspended (as unsuspended), unknown tiers and yesterday's counters", func() {
		// spec.suspend pauses snapshots, not service: the suspended enterprise
		// tenant has what its unsuspended twin ent-top has, in GET and in
		// POST check alike (the gateway does not deny it either).
		v := decodeView(get(entitlementsURL(open, "tenant_id=ent-asleep"), ""))
		twin := decodeView(get(entitlementsURL(open, "tenant_id=ent-top"), ""))
		Expect(v.SnapshotsSuspended).To(BeTrue())
		Expect(twin.SnapshotsSuspended).To(BeFalse())
		Expect(v.Features).NotTo(BeEmpty())
		for i, f := range v.Features {
			Expect(f.HasAccess).To(Equal(twin.Features[i].HasAccess), f.Feature)
			Expect(f.Reason).To(Equal(twin.Features[i].Reason), f.Feature)
			var c struct {
				Allowed bool    `json:"allowed"`
				Reason  *string `json:"reason"`
			}
			r := do(http.MethodPost, open+forecastapi.PathEntitlementCheck, "", `{"tenant_id":"ent-asleep","feature":"`+f.Feature+`"}`)
			Expect(r.status).To(Equal(http.StatusOK), string(r.body))
			Expect(json.Unmarshal(r.body, &c)).To(Succeed())
			Expect(c.Allowed).To(Equal(f.HasAccess), f.Feature)
			Expect(c.Reason == nil).To(Equal(f.Reason == nil), f.Feature)
		}
		v = decodeView(get(entitlementsURL(open, "tenant_id=ent-gold"), ""))
		Expect(v.Tier).To(Equal("starter"))
		Expect(v.DeclaredTier).To(Equal("gold"))
		v = decodeView(get(entitlementsURL(open, "tenant_id=ent-top"), ""))
		Expect(findMetric(v, "api_calls").Current).To(BeZero())
		Expect(findMetric(v, "api_calls").Status).To(Equal("unlimited"))
		Expect(findFeature(v, "bulk-export").HasAccess).To(BeTrue())
	})

	It("answers one feature with ?feature=, and unknown_feature for a feature the policy lacks", func() {
		v := decodeView(get(entitlementsURL(open, "tenant_id=ent-top&feature=analytics"), ""))
		Expect(v.Features).To(HaveLen(1))
		Expect(v.Features[0].HasAccess).To(BeTrue())
		Expect(v.Features[0].Reason).To(BeNil())
		v = decodeView(get(entitlementsURL(open, "tenant_id=ent-top&feature=teleport"), ""))
		Expect(v.Features).To(HaveLen(1))
		Expect(*v.Features[0].Reason).To(Equal(entitlement.ReasonUnknownFeature))
	})

	DescribeTable("POST check",
		func(body string, allowed bool, reason string, remaining *int64) {
			r := do(http.MethodPost, open+forecastapi.PathEntitlementCheck, "", body)
			Expect(r.status).To(Equal(http.StatusOK), string(r.body))
			Expect(r.header.Get("Cache-Control")).To(Equal("no-store"))
			var c struct {
				Allowed        bool            `json:"allowed"`
				Reason         *string         `json:"reason"`
				RemainingAfter *int64          `json:"remaining_after"`
				Offer          json.RawMessage `json:"upgrade_offer"`
			}
			Expect(json.Unmarshal(r.body, &c)).To(Succeed())
			Expect(c.Allowed).To(Equal(allowed))
			Expect(ptr.Deref(c.Reason, "")).To(Equal(reason))
			Expect(c.RemainingAfter).To(Equal(remaining))
			if reason == "tier_insufficient" || reason == "quota_exhausted" {
				Expect(string(c.Offer)).NotTo(Equal("null"), string(r.body))
			} else {
				Expect(string(c.Offer)).To(Equal("null"), string(r.body))
			}
		},
		Entry("feature included", `{"tenant_id":"ent-top","feature":"analytics"}`, true, "", nil),
		Entry("feature above the tier", `{"tenant_id":"ent-starter","feature":"analytics"}`, false, "tier_insufficient", nil),
		Entry("unknown feature", `{"tenant_id":"ent-starter","feature":"teleport"}`, false, "unknown_feature", nil),
		Entry("suspended: snapshots paused, access kept", `{"tenant_id":"ent-asleep","feature":"analytics"}`, true, "", nil),
		Entry("suspended: a metric as unsuspended", `{"tenant_id":"ent-asleep","metric":"products","amount":1000000}`, true, "", nil),
		Entry("5 products fit exactly", `{"tenant_id":"ent-starter","metric":"products","amount":5}`, true, "", ptr.To[int64](0)),
		Entry("6 products do not", `{"tenant_id":"ent-starter","metric":"products","amount":6}`, false, "quota_exhausted", ptr.To[int64](-1)),
		Entry("amount defaults to 1", `{"tenant_id":"ent-starter","metric":"products"}`, true, "", ptr.To[int64](4)),
		Entry("700 calls left today", `{"tenant_id":"ent-starter","metric":"api_calls","amount":700}`, true, "", ptr.To[int64](0)),
		Entry("701 calls are too many", `{"tenant_id":"ent-starter","metric":"api_calls","amount":701}`, false, "quota_exhausted", ptr.To[int64](-1)),
		Entry("unlimited", `{"tenant_id":"ent-top","metric":"products","amount":1000000}`, true, "", nil),
		Entry("namespace given", `{"tenant_id":"ent-other","namespace":"ent-b","feature":"analytics"}`, false, "tier_insufficient", nil),
	)

	It("makes at most one Redis round trip per request, none for a metric other than api_calls nor for a check of unlimited api_calls", func() {
		for _, c := range []struct {
			method, url, body string
			want              int64
		}{
			{http.MethodGet, entitlementsURL(open, "tenant_id=ent-starter"), "", 1},
			{http.MethodGet, entitlementsURL(open, "tenant_id=ent-starter&feature=analytics"), "", 1},
			{http.MethodPost, open + forecastapi.PathEntitlementCheck, `{"tenant_id":"ent-starter","feature":"analytics"}`, 1},
			{http.MethodPost, open + forecastapi.PathEntitlementCheck, `{"tenant_id":"ent-starter","metric":"api_calls"}`, 1},
			{http.MethodPost, open + forecastapi.PathEntitlementCheck, `{"tenant_id":"ent-starter","metric":"products"}`, 0},
			// Enterprise api_calls are unlimited: the count cannot change a
			// check's answer, so a check does not read it; the view shows
			// it as current, so a GET does.
			{http.MethodPost, open + forecastapi.PathEntitlementCheck, `{"tenant_id":"ent-top","feature":"analytics"}`, 0},
			{http.MethodPost, open + forecastapi.PathEntitlementCheck, `{"tenant_id":"ent-top","metric":"api_calls","amount":1000000}`, 0},
			{http.MethodGet, entitlementsURL(open, "tenant_id=ent-top"), "", 1},
			// An override gives a tier with a limit more: still read.
			{http.MethodPost, open + forecastapi.PathEntitlementCheck, `{"tenant_id":"ent-pro","feature":"analytics"}`, 1},
			{http.MethodGet, entitlementsURL(open, "tenant_id=nobody-here"), "", 0},
		} {
			before := hook.n.Load()
			do(c.method, c.url, "", c.body)
			Expect(hook.n.Load()-before).To(Equal(c.want), "%s %s %s", c.method, c.url, c.body)
		}
	})

	DescribeTable("rejects bad requests with a JSON error",
		func(method, target, body string, status int, code string) {
			r := do(method, open+target, "", body)
			Expect(r.status).To(Equal(status), string(r.body))
			Expect(r.errorCode()).To(Equal(code), string(r.body))
			Expect(r.header.Get("Content-Type")).To(Equal("application/json"))
		},
		Entry("no tenant_id", "GET", forecastapi.PathEntitlements, "", 400, forecastapi.CodeInvalidTenantID),
		Entry("bad tenant_id", "GET", forecastapi.PathEntitlements+"?tenant_id=Ent_Starter", "", 400, forecastapi.CodeInvalidTenantID),
		Entry("tenant_id twice", "GET", forecastapi.PathEntitlements+"?tenant_id=ent-starter&tenant_id=ent-pro", "", 400, forecastapi.CodeInvalidParameter),
		Entry("unknown parameter", "GET", forecastapi.PathEntitlements+"?tenant_id=ent-starter&tenant=ent-pro", "", 400, forecastapi.CodeInvalidParameter),
		Entry("bad feature", "GET", forecastapi.PathEntitlements+"?tenant_id=ent-starter&feature=%00", "", 400, forecastapi.CodeInvalidParameter),
		Entry("empty feature", "GET", forecastapi.PathEntitlements+"?tenant_id=ent-starter&feature=", "", 400, forecastapi.CodeInvalidParameter),
		Entry("semicolon query", "GET", forecastapi.PathEntitlements+"?tenant_id=ent-starter;feature=x", "", 400, forecastapi.CodeInvalidParameter),
		Entry("unknown tenant", "GET", forecastapi.PathEntitlements+"?tenant_id=nobody-here", "", 404, forecastapi.CodeTenantNotFound),
		Entry("tenant in another namespace", "GET", forecastapi.PathEntitlements+"?tenant_id=ent-other&namespace=ent-a", "", 404, forecastapi.CodeTenantNotFound),
		Entry("POST to GET", "POST", forecastapi.PathEntitlements+"?tenant_id=ent-starter", "{}", 405, forecastapi.CodeMethodNotAllowed),
		Entry("GET to check", "GET", forecastapi.PathEntitlementCheck, "", 405, forecastapi.CodeMethodNotAllowed),
		Entry("empty body", "POST", forecastapi.PathEntitlementCheck, "", 400, forecastapi.CodeInvalidBody),
		Entry("unknown field", "POST", forecastapi.PathEntitlementCheck, `{"tenant_id":"ent-starter","feature":"analytics","tier":"enterprise"}`, 400, forecastapi.CodeInvalidBody),
		Entry("two objects", "POST", forecastapi.PathEntitlementCheck, `{"tenant_id":"ent-starter","feature":"analytics"}{}`, 400, forecastapi.CodeInvalidBody),
		Entry("feature and metric", "POST", forecastapi.PathEntitlementCheck, `{"tenant_id":"ent-starter","feature":"analytics","metric":"products"}`, 400, forecastapi.CodeInvalidBody),
		Entry("amount with feature", "POST", forecastapi.PathEntitlementCheck, `{"tenant_id":"ent-starter","feature":"analytics","amount":2}`, 400, forecastapi.CodeInvalidBody),
		Entry("negative amount", "POST", forecastapi.PathEntitlementCheck, `{"tenant_id":"ent-starter","metric":"products","amount":-1}`, 400, forecastapi.CodeInvalidBody),
		Entry("fractional amount", "POST", forecastapi.PathEntitlementCheck, `{"tenant_id":"ent-starter","metric":"products","amount":1.5}`, 400, forecastapi.CodeInvalidBody),
		Entry("huge amount", "POST", forecastapi.PathEntitlementCheck, `{"tenant_id":"ent-starter","metric":"products","amount":99999999999999999999}`, 400, forecastapi.CodeInvalidBody),
		Entry("unknown metric", "POST", forecastapi.PathEntitlementCheck, `{"tenant_id":"ent-starter","metric":"bread"}`, 400, forecastapi.CodeInvalidParameter),
		Entry("neither", "POST", forecastapi.PathEntitlementCheck, `{"tenant_id":"ent-starter"}`, 400, forecastapi.CodeInvalidBody),
		Entry("no tenant", "POST", forecastapi.PathEntitlementCheck, `{"feature":"analytics"}`, 400, forecastapi.CodeInvalidTenantID),
		Entry("array", "POST", forecastapi.PathEntitlementCheck, `[{"tenant_id":"ent-starter","feature":"analytics"}]`, 400, forecastapi.CodeInvalidBody),
		Entry("body over 4 KiB", "POST", forecastapi.PathEntitlementCheck, `{"tenant_id":"ent-starter","feature":"`+strings.Repeat("a", 5000)+`"}`, 413, forecastapi.CodeBodyTooLarge),
	)

	DescribeTable("path tricks on a real socket reach no entitlement endpoint",
		func(target string) {
			resp, body := rawGet(open, target)
			Expect(resp.StatusCode).To(Equal(http.StatusNotFound), "%s: %s", target, body)
			Expect(resp.Header.Get("Location")).To(BeEmpty())
			Expect(string(body)).To(ContainSubstring(forecastapi.CodeNotFound))
			Expect(string(body)).NotTo(ContainSubstring("has_access"))
		},
		Entry("double slash", "//api/v1/entitlements?tenant_id=ent-starter"),
		Entry("trailing slash", "/api/v1/entitlements/?tenant_id=ent-starter"),
		Entry("dot-dot", "/api/v1/entitlements/check/../../entitlements?tenant_id=ent-starter"),
		Entry("encoded slash", "/api/v1/entitlements%2Fcheck"),
		Entry("encoded letter", "/api/v1/%65ntitlements?tenant_id=ent-starter"),
		Entry("upper case", "/api/v1/Entitlements?tenant_id=ent-starter"),
	)

	It("refuses a check body announced over the limit without reading it, and a body cut short", func() {
		resp, body := rawExchange(open, "POST "+forecastapi.PathEntitlementCheck+" HTTP/1.1\r\nHost: api\r\nContent-Type: application/json\r\n"+
			"Content-Length: 1000000\r\nConnection: close\r\n\r\n{\"tenant_id\":\"ent-starter\",\"feature\":\""+strings.Repeat("a", 5000))
		Expect(resp.StatusCode).To(Equal(http.StatusRequestEntityTooLarge), string(body))
		resp, body = rawExchange(open, "POST "+forecastapi.PathEntitlementCheck+" HTTP/1.1\r\nHost: api\r\nContent-Type: application/json\r\n"+
			"Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n5\r\n{\"ten\r\n0\r\n\r\n")
		Expect(resp.StatusCode).To(Equal(http.StatusBadRequest), string(body))
	})

	It("answers 503 with Retry-After when the counters do not answer, and needs none for other metrics", func() {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		Expect(err).NotTo(HaveOccurred())
		dead := l.Addr().String()
		Expect(l.Close()).To(Succeed())
		down := redis.NewClient(&redis.Options{Addr: dead, MaxRetries: -1, DialTimeout: 200 * time.Millisecond})
		DeferCleanup(down.Close)
		_, url := startServer(nil, forecastapi.WithoutAuth(), forecastapi.WithClock(clk), forecastapi.WithCounters(forecastapi.RedisCounters{Client: down}))
		r := get(entitlementsURL(url, "tenant_id=ent-starter"), "")
		Expect(r.status).To(Equal(http.StatusServiceUnavailable), string(r.body))
		Expect(r.errorCode()).To(Equal(forecastapi.CodeCountersUnavailable))
		Expect(r.header.Get("Retry-After")).To(Equal("1"))
		r = do(http.MethodPost, url+forecastapi.PathEntitlementCheck, "", `{"tenant_id":"ent-starter","metric":"products"}`)
		Expect(r.status).To(Equal(http.StatusOK), string(r.body))
	})

	It("uses the last snapshot's api_calls when started without counters", func() {
		_, url := startServer(nil, forecastapi.WithoutAuth(), forecastapi.WithClock(clk))
		v := decodeView(get(entitlementsURL(url, "tenant_id=ent-starter"), ""))
		Expect(findMetric(v, "api_calls").Current).To(Equal(int64(7)))
	})

	It("renders again when the TenantUsage changes (rendered bodies are keyed by its resourceVersion)", func() {
		tu := createTenant(nsEntA, "ent-change", "ent-change", nil)
		first := get(entitlementsURL(open, "tenant_id=ent-change"), "")
		Expect(decodeView(first).Tier).To(Equal("starter"))
		Expect(k8s.Get(ctx, client.ObjectKeyFromObject(tu), tu)).To(Succeed())
		tu.Spec.Tier = "enterprise"
		Expect(k8s.Update(ctx, tu)).To(Succeed())
		Eventually(func() string { return decodeView(get(entitlementsURL(open, "tenant_id=ent-change"), "")).Tier }).Should(Equal("enterprise"))
		Expect(get(entitlementsURL(open, "tenant_id=ent-change"), "").header.Get("ETag")).NotTo(Equal(first.header.Get("ETag")))
	})

	Describe("with authentication", func() {
		It("answers 401 without a token, for both endpoints", func() {
			r := get(entitlementsURL(secured, "tenant_id=ent-starter"), "")
			Expect(r.status).To(Equal(http.StatusUnauthorized))
			r = do(http.MethodPost, secured+forecastapi.PathEntitlementCheck, "", `{"tenant_id":"ent-starter","feature":"analytics"}`)
			Expect(r.status).To(Equal(http.StatusUnauthorized))
			r = do(http.MethodPost, secured+forecastapi.PathEntitlementCheck, "garbage", `{"tenant_id":"ent-starter","feature":"analytics"}`)
			Expect(r.status).To(Equal(http.StatusUnauthorized))
		})

		It("lets a reader of the namespace read and check", func() {
			Expect(get(entitlementsURL(secured, "tenant_id=ent-starter"), reader).status).To(Equal(http.StatusOK))
			r := do(http.MethodPost, secured+forecastapi.PathEntitlementCheck, reader, `{"tenant_id":"ent-starter","metric":"products","amount":1}`)
			Expect(r.status).To(Equal(http.StatusOK), string(r.body))
		})

		It("decides before looking: 403 for a named namespace whether or not the tenant is there, 404 otherwise", func() {
			before := hook.n.Load()
			for _, q := range []string{"tenant_id=ent-other&namespace=ent-b", "tenant_id=nobody-here&namespace=ent-b"} {
				r := get(entitlementsURL(secured, q), reader)
				Expect(r.status).To(Equal(http.StatusForbidden), string(r.body))
				Expect(r.errorCode()).To(Equal(forecastapi.CodeForbidden))
			}
			for _, q := range []string{"tenant_id=ent-other", "tenant_id=nobody-here"} {
				r := get(entitlementsURL(secured, q), reader)
				Expect(r.status).To(Equal(http.StatusNotFound), string(r.body))
				Expect(string(r.body)).NotTo(ContainSubstring(nsEntB))
			}
			r := do(http.MethodPost, secured+forecastapi.PathEntitlementCheck, reader, `{"tenant_id":"ent-other","feature":"analytics"}`)
			Expect(r.status).To(Equal(http.StatusNotFound), string(r.body))
			r = do(http.MethodPost, secured+forecastapi.PathEntitlementCheck, reader, `{"tenant_id":"ent-other","namespace":"ent-b","feature":"analytics"}`)
			Expect(r.status).To(Equal(http.StatusForbidden), string(r.body))
			Expect(hook.n.Load()-before).To(BeZero(), "a denied request reads no counter")
		})
	})
})
