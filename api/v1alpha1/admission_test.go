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

package v1alpha1_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/yaml"

	subv1 "github.com/bakery-ia/subscription-operator/api/v1alpha1"
	"github.com/bakery-ia/subscription-operator/internal/testenv"
)

var nsCounter int

// newNamespace gives every test its own namespace so names never collide.
func newNamespace() string {
	nsCounter++
	name := fmt.Sprintf("admission-%d", nsCounter)
	Expect(kube.Client.Create(context.Background(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}})).To(Succeed())
	return name
}

// samplePolicy loads config/samples' policy: every invalid case is a small edit of it.
func samplePolicy(ns string) *subv1.SubscriptionPolicy {
	data, err := os.ReadFile(filepath.Join(testenv.RepoRoot(), "config", "samples", "subscriptions_v1alpha1_subscriptionpolicy.yaml"))
	Expect(err).NotTo(HaveOccurred())
	p := &subv1.SubscriptionPolicy{}
	Expect(yaml.UnmarshalStrict(data, p)).To(Succeed())
	p.Namespace = ns
	return p
}

func sampleTenants(ns string) []*subv1.TenantUsage {
	data, err := os.ReadFile(filepath.Join(testenv.RepoRoot(), "config", "samples", "subscriptions_v1alpha1_tenantusage.yaml"))
	Expect(err).NotTo(HaveOccurred())
	var out []*subv1.TenantUsage
	for _, doc := range strings.Split(string(data), "\n---\n") {
		tu := &subv1.TenantUsage{}
		Expect(yaml.UnmarshalStrict([]byte(doc), tu)).To(Succeed())
		tu.Namespace = ns
		out = append(out, tu)
	}
	return out
}

func minimalTenant(ns, id string) *subv1.TenantUsage {
	return &subv1.TenantUsage{
		ObjectMeta: metav1.ObjectMeta{Name: id, Namespace: ns},
		Spec:       subv1.TenantUsageSpec{TenantID: id, Tier: "starter"},
	}
}

// expectInvalid asserts the API server rejected the object as Invalid and that
// the message names the field.
func expectInvalid(err error, fragments ...string) {
	GinkgoHelper()
	Expect(err).To(HaveOccurred(), "the API server accepted an invalid object")
	Expect(apierrors.IsInvalid(err)).To(BeTrue(), "want 422 Invalid, got: %v", err)
	for _, f := range fragments {
		Expect(err.Error()).To(ContainSubstring(f))
	}
}

// expectCause asserts the API server rejected the object as Invalid with
// exactly one cause: the field and, after "Invalid value: ", the message
// (which starts with the offending value when the field is a scalar).
func expectCause(err error, field, message string) {
	GinkgoHelper()
	Expect(err).To(HaveOccurred(), "the API server accepted an invalid object")
	Expect(apierrors.IsInvalid(err)).To(BeTrue(), "want 422 Invalid, got: %v", err)
	var status apierrors.APIStatus
	Expect(errors.As(err, &status)).To(BeTrue())
	Expect(status.Status().Details).NotTo(BeNil())
	Expect(status.Status().Details.Causes).To(ConsistOf(metav1.StatusCause{
		Type: metav1.CauseTypeFieldValueInvalid, Field: field, Message: "Invalid value: " + message,
	}), "the whole error: %v", err)
}

// sinkSpec is a valid notifications block: one sink wanting every event type.
func sinkSpec() *subv1.NotificationsSpec {
	return &subv1.NotificationsSpec{Sinks: []subv1.WebhookSink{{
		Name:             "crm",
		URL:              "https://hooks.example/usage",
		SigningSecretRef: subv1.SecretKeyReference{Name: "crm-webhook", Key: "secret"},
		HeadersSecretRef: &subv1.LocalSecretReference{Name: "crm-headers"},
		Events: []subv1.SinkEvent{
			{Type: subv1.EventPredictedBreach, WithinDays: ptr.To[int32](14), Basis: subv1.BasisEarliest},
			{Type: subv1.EventUsageThreshold, Percentages: []int32{80, 90}},
			{Type: subv1.EventLimitReached},
			{Type: subv1.EventRecovered},
		},
	}}}
}

var _ = Describe("SubscriptionPolicy admission", func() {
	ctx := context.Background()

	It("accepts the sample policy", func() {
		Expect(kube.Client.Create(ctx, samplePolicy(newNamespace()))).To(Succeed())
	})

	DescribeTable("rejects invalid policies with a message naming the field",
		func(edit func(p *subv1.SubscriptionPolicy), fragments ...string) {
			p := samplePolicy(newNamespace())
			edit(p)
			expectInvalid(kube.Client.Create(ctx, p), fragments...)
		},
		Entry("duplicate tier name", func(p *subv1.SubscriptionPolicy) {
			p.Spec.Tiers[1].Name = "starter"
		}, "spec.tiers[1]", "Duplicate value"),
		Entry("duplicate metric name", func(p *subv1.SubscriptionPolicy) {
			p.Spec.Metrics[1].Name = "products"
		}, "spec.metrics[1]", "Duplicate value"),
		Entry("duplicate feature name", func(p *subv1.SubscriptionPolicy) {
			p.Spec.Features = append(p.Spec.Features, p.Spec.Features[0])
		}, "spec.features[1]", "Duplicate value"),
		Entry("criticalPercent above 100", func(p *subv1.SubscriptionPolicy) {
			p.Spec.Thresholds.CriticalPercent = 120
		}, "spec.thresholds.criticalPercent", "less than or equal to 100"),
		Entry("negative criticalDays", func(p *subv1.SubscriptionPolicy) {
			p.Spec.Thresholds.CriticalDays = ptr.To[int32](-1)
		}, "spec.thresholds.criticalDays", "greater than or equal to 0"),
		Entry("confidence that is not a decimal below 1", func(p *subv1.SubscriptionPolicy) {
			p.Spec.Forecast.Confidence = "1.5"
		}, "spec.forecast.confidence", "should match"),
		Entry("unknown thresholds basis", func(p *subv1.SubscriptionPolicy) {
			p.Spec.Thresholds.Basis = "worst"
		}, "spec.thresholds.basis", "Unsupported value"),
		Entry("sink URL with credentials", func(p *subv1.SubscriptionPolicy) {
			p.Spec.Notifications = sinkSpec()
			p.Spec.Notifications.Sinks[0].URL = "https://user:pass@hooks.example/usage"
		}, "spec.notifications.sinks[0].url", "should match"),
		Entry("sink URL that is not http", func(p *subv1.SubscriptionPolicy) {
			p.Spec.Notifications = sinkSpec()
			p.Spec.Notifications.Sinks[0].URL = "ftp://hooks.example/usage"
		}, "spec.notifications.sinks[0].url", "should match"),
		Entry("duplicate sink name", func(p *subv1.SubscriptionPolicy) {
			p.Spec.Notifications = sinkSpec()
			p.Spec.Notifications.Sinks = append(p.Spec.Notifications.Sinks, p.Spec.Notifications.Sinks[0])
		}, "spec.notifications.sinks[1]", "Duplicate value"),
		Entry("unknown event type", func(p *subv1.SubscriptionPolicy) {
			p.Spec.Notifications = sinkSpec()
			p.Spec.Notifications.Sinks[0].Events[0].Type = "Breach"
		}, "spec.notifications.sinks[0].events[0].type", "Unsupported value"),
		Entry("usage percentage above 1000", func(p *subv1.SubscriptionPolicy) {
			p.Spec.Notifications = sinkSpec()
			p.Spec.Notifications.Sinks[0].Events[1].Percentages = []int32{80, 2000}
		}, "spec.notifications.sinks[0].events[1].percentages[1]", "less than or equal to 1000"),
		Entry("signing secret without a name", func(p *subv1.SubscriptionPolicy) {
			p.Spec.Notifications = sinkSpec()
			p.Spec.Notifications.Sinks[0].SigningSecretRef.Name = ""
		}, "spec.notifications.sinks[0].signingSecretRef.name"),
		Entry("schedule that is not cron", func(p *subv1.SubscriptionPolicy) {
			p.Spec.Snapshot.Schedule = "every day at two"
		}, "spec.snapshot.schedule"),
		Entry("schedule with six fields", func(p *subv1.SubscriptionPolicy) {
			p.Spec.Snapshot.Schedule = "0 0 2 * * *"
		}, "spec.snapshot.schedule"),
		Entry("retentionDays above 400", func(p *subv1.SubscriptionPolicy) {
			p.Spec.Snapshot.RetentionDays = 401
		}, "spec.snapshot.retentionDays", "less than or equal to 400"),
		Entry("malformed time zone", func(p *subv1.SubscriptionPolicy) {
			p.Spec.Snapshot.TimeZone = "Europe Madrid"
		}, "spec.snapshot.timeZone"),
		Entry("price with three decimals", func(p *subv1.SubscriptionPolicy) {
			p.Spec.Tiers[0].Price.Monthly = "49.999"
		}, "spec.tiers[0].price.monthly"),
		Entry("unknown HTTP method", func(p *subv1.SubscriptionPolicy) {
			p.Spec.Features[0].Routes[0].Method = "FETCH"
		}, "spec.features[0].routes[0].method", "Unsupported value"),
		Entry("route path not starting with /", func(p *subv1.SubscriptionPolicy) {
			p.Spec.Features[0].Routes[0].Path = "api/v1"
		}, "spec.features[0].routes[0].path"),
		Entry("no tiers", func(p *subv1.SubscriptionPolicy) {
			p.Spec.Tiers = nil
			p.Spec.Features = nil
		}, "spec.tiers"),
	)

	// Every CEL rule: the cause names the field to fix (fieldPath) and the
	// message names the offending item and value (messageExpression), exactly.
	// Numeric rules name the field only: see the note on SubscriptionPolicySpec.
	DescribeTable("CEL rules name the offending path and value",
		func(edit func(p *subv1.SubscriptionPolicy), field, message string) {
			p := samplePolicy(newNamespace())
			edit(p)
			expectCause(kube.Client.Create(ctx, p), field, message)
		},
		Entry("minimumTier names no declared tier", func(p *subv1.SubscriptionPolicy) {
			p.Spec.Features = append(p.Spec.Features, subv1.Feature{Name: "reports", MinimumTier: "premium"})
		}, "spec.features",
			"spec.features[].minimumTier: feature reports needs tier premium, which spec.tiers does not declare"),
		Entry("limit key names no declared metric", func(p *subv1.SubscriptionPolicy) {
			p.Spec.Tiers[1].Limits["ovens"] = 3
		}, "spec.tiers",
			"spec.tiers[].limits: tier professional has a limit for ovens, which spec.metrics does not declare"),
		Entry("negative limit", func(p *subv1.SubscriptionPolicy) {
			p.Spec.Tiers[0].Limits["products"] = -1
		}, "spec.tiers[0].limits", "spec.tiers[].limits values must be non-negative: the limit for products is negative"),
		Entry("warningPercent not below criticalPercent", func(p *subv1.SubscriptionPolicy) {
			p.Spec.Thresholds.WarningPercent = 95
		}, "spec.thresholds.warningPercent", "spec.thresholds.warningPercent must be less than criticalPercent"),
		Entry("warningDays not above criticalDays", func(p *subv1.SubscriptionPolicy) {
			p.Spec.Thresholds.WarningDays = 7
		}, "spec.thresholds.warningDays", "spec.thresholds.warningDays must be greater than criticalDays"),
		Entry("metric with two sources", func(p *subv1.SubscriptionPolicy) {
			p.Spec.Metrics[0].RedisCounter = &subv1.RedisCounterSource{}
		}, "spec.metrics[0]", "spec.metrics[]: metric products sets both postgres and redisCounter; keep one"),
		Entry("metric with no source", func(p *subv1.SubscriptionPolicy) {
			p.Spec.Metrics[0].Postgres = nil
		}, "spec.metrics[0]", "spec.metrics[]: metric products needs a source: set postgres or redisCounter"),
		Entry("redis key pattern without {date}", func(p *subv1.SubscriptionPolicy) {
			p.Spec.Metrics[8].RedisCounter.KeyPattern = "storage:{tenant}"
		}, "spec.metrics[8].redisCounter.keyPattern", `"storage:{tenant}": spec.metrics[].redisCounter.keyPattern must contain {tenant} and {date}`),
		Entry("redis key pattern with an unknown placeholder", func(p *subv1.SubscriptionPolicy) {
			p.Spec.Metrics[8].RedisCounter.KeyPattern = "usage_daily:{tenant}:{metric}:{date}"
		}, "spec.metrics[8].redisCounter.keyPattern",
			"spec.metrics[].redisCounter.keyPattern of metric storage_mb: unknown placeholder {metric} in usage_daily:{tenant}:{metric}:{date}; only {tenant} and {date} are replaced"),
		Entry("redis key pattern with a stray brace", func(p *subv1.SubscriptionPolicy) {
			p.Spec.Metrics[8].RedisCounter.KeyPattern = "usage_daily:{tenant}:{date}}"
		}, "spec.metrics[8].redisCounter.keyPattern",
			"spec.metrics[].redisCounter.keyPattern of metric storage_mb: unmatched { or } in usage_daily:{tenant}:{date}}; only {tenant} and {date} are replaced"),
		Entry("retentionDays below minHistoryDays", func(p *subv1.SubscriptionPolicy) {
			p.Spec.Snapshot.RetentionDays = 5
		}, "spec.snapshot.retentionDays", "spec.snapshot.retentionDays must be at least minHistoryDays"),
		Entry("time zone Local", func(p *subv1.SubscriptionPolicy) {
			p.Spec.Snapshot.TimeZone = "Local"
		}, "spec.snapshot.timeZone",
			`"Local": spec.snapshot.timeZone must name an IANA zone such as UTC or Europe/Madrid, not Local (the zone of whichever node the operator runs on)`),
		Entry("messages without English", func(p *subv1.SubscriptionPolicy) {
			delete(p.Spec.Features[0].Messages, "en")
		}, "spec.features[0].messages", "spec.features[].messages must include en, the fallback language"),
		Entry("messages keyed by a non-language", func(p *subv1.SubscriptionPolicy) {
			p.Spec.Features[0].Messages["Spanish!"] = p.Spec.Features[0].Messages["es"]
		}, "spec.features[0].messages", "spec.features[].messages keys must be language codes such as en, es or eu, not Spanish!"),
		Entry("ROI maximum below minimum", func(p *subv1.SubscriptionPolicy) {
			p.Spec.Features[0].ROIEstimate.MonthlySavingsMax = 10
		}, "spec.features[0].roiEstimate.monthlySavingsMax", "spec.features[].roiEstimate.monthlySavingsMax must be >= monthlySavingsMin"),
		Entry("gateway enabled without upstream", func(p *subv1.SubscriptionPolicy) {
			p.Spec.Gateway.Upstream = ""
		}, "spec.gateway.upstream", "spec.gateway.upstream is required when the gateway is enabled"),
		Entry("JWT with both a secret and a JWKS URL", func(p *subv1.SubscriptionPolicy) {
			p.Spec.Gateway.TenantIdentity.JWT.JWKSURL = "https://auth.example/jwks.json"
		}, "spec.gateway.tenantIdentity.jwt", "spec.gateway.tenantIdentity.jwt: set secretRef (HS256) or jwksURL (RS256/ES256), not both"),
		Entry("JWT with neither a secret nor a JWKS URL", func(p *subv1.SubscriptionPolicy) {
			p.Spec.Gateway.TenantIdentity.JWT = &subv1.JWTVerification{Issuer: "https://auth.example"}
		}, "spec.gateway.tenantIdentity.jwt", "spec.gateway.tenantIdentity.jwt: set secretRef (HS256) or jwksURL (RS256/ES256)"),
		Entry("jwtClaim identity without JWT settings", func(p *subv1.SubscriptionPolicy) {
			p.Spec.Gateway.TenantIdentity.JWT = nil
		}, "spec.gateway.tenantIdentity.jwt", "spec.gateway.tenantIdentity.jwt is required when from is jwtClaim"),
		Entry("confidence below 0.5", func(p *subv1.SubscriptionPolicy) {
			p.Spec.Forecast.Confidence = "0.3"
		}, "spec.forecast.confidence", `"0.3": spec.forecast.confidence must be a decimal from 0.5 to 0.99, not 0.3`),
		Entry("withinDays on a UsageThreshold event", func(p *subv1.SubscriptionPolicy) {
			p.Spec.Notifications = sinkSpec()
			p.Spec.Notifications.Sinks[0].Events[1].WithinDays = ptr.To[int32](3)
		}, "spec.notifications.sinks[0].events[1].withinDays",
			"spec.notifications.sinks[].events[].withinDays applies only to type PredictedBreach, not UsageThreshold"),
		Entry("basis on a LimitReached event", func(p *subv1.SubscriptionPolicy) {
			p.Spec.Notifications = sinkSpec()
			p.Spec.Notifications.Sinks[0].Events[2].Basis = subv1.BasisEarliest
		}, "spec.notifications.sinks[0].events[2].basis",
			"spec.notifications.sinks[].events[].basis applies only to type PredictedBreach, not LimitReached"),
		Entry("UsageThreshold without percentages", func(p *subv1.SubscriptionPolicy) {
			p.Spec.Notifications = sinkSpec()
			p.Spec.Notifications.Sinks[0].Events[1].Percentages = nil
		}, "spec.notifications.sinks[0].events[1].percentages",
			"spec.notifications.sinks[].events[].percentages is required for type UsageThreshold"),
		Entry("percentages on a PredictedBreach event", func(p *subv1.SubscriptionPolicy) {
			p.Spec.Notifications = sinkSpec()
			p.Spec.Notifications.Sinks[0].Events[0].Percentages = []int32{50}
		}, "spec.notifications.sinks[0].events[0].percentages",
			"spec.notifications.sinks[].events[].percentages applies only to type UsageThreshold, not PredictedBreach"),
		Entry("a sink that wants only Recovered", func(p *subv1.SubscriptionPolicy) {
			p.Spec.Notifications = sinkSpec()
			p.Spec.Notifications.Sinks[0].Events = []subv1.SinkEvent{{Type: subv1.EventRecovered}}
		}, "spec.notifications.sinks[0].events",
			"spec.notifications.sinks[].events of sink crm needs an event other than Recovered: Recovered only reports that one of the others cleared"),
	)

	It("accepts a notifications block with every event type", func() {
		p := samplePolicy(newNamespace())
		p.Spec.Notifications = sinkSpec()
		p.Spec.Forecast.Confidence = "0.95"
		p.Spec.Thresholds.Basis = subv1.BasisEarliest
		Expect(kube.Client.Create(ctx, p)).To(Succeed())
	})

	// Issue 11, row 7: enabled: false is omitted from the object, and a rule
	// reading self.enabled without has() refused the whole gateway block.
	It("accepts a gateway block without enabled, or with enabled: false, and no upstream", func() {
		ns := newNamespace()
		p := samplePolicy(ns)
		p.Name = "gateway-off"
		p.Spec.Gateway = &subv1.GatewaySpec{TenantIdentity: subv1.TenantIdentity{From: subv1.IdentityPath}}
		Expect(kube.Client.Create(ctx, p)).To(Succeed())
		got := &subv1.SubscriptionPolicy{}
		Expect(kube.Client.Get(ctx, keyOf(p), got)).To(Succeed())
		Expect(got.Spec.Gateway.Enabled).To(BeFalse())

		// The same with enabled: false written out, as kubectl apply of a YAML file sends it.
		u := &unstructured.Unstructured{}
		u.SetGroupVersionKind(subv1.GroupVersion.WithKind("SubscriptionPolicy"))
		u.SetNamespace(ns)
		u.SetName("gateway-off-explicit")
		Expect(unstructured.SetNestedField(u.Object, []any{map[string]any{"name": "free"}}, "spec", "tiers")).To(Succeed())
		Expect(unstructured.SetNestedField(u.Object, []any{map[string]any{"name": "api_calls", "redisCounter": map[string]any{}}}, "spec", "metrics")).To(Succeed())
		Expect(unstructured.SetNestedField(u.Object, map[string]any{"enabled": false, "tenantIdentity": map[string]any{"from": "path"}}, "spec", "gateway")).To(Succeed())
		Expect(kube.Client.Create(ctx, u)).To(Succeed())
	})

	It("applies the documented defaults", func() {
		ns := newNamespace()
		p := &subv1.SubscriptionPolicy{
			ObjectMeta: metav1.ObjectMeta{Name: "minimal", Namespace: ns},
			Spec: subv1.SubscriptionPolicySpec{
				Tiers:   []subv1.Tier{{Name: "free"}},
				Metrics: []subv1.Metric{{Name: "api_calls", RedisCounter: &subv1.RedisCounterSource{}}},
				Gateway: &subv1.GatewaySpec{Enabled: true, Upstream: "http://app:8080",
					TenantIdentity: subv1.TenantIdentity{From: subv1.IdentityPath}},
			},
		}
		Expect(kube.Client.Create(ctx, p)).To(Succeed())
		got := &subv1.SubscriptionPolicy{}
		Expect(kube.Client.Get(ctx, keyOf(p), got)).To(Succeed())
		Expect(got.Spec.Thresholds).To(Equal(subv1.Thresholds{WarningPercent: 80, CriticalPercent: 90, WarningDays: 14, CriticalDays: ptr.To[int32](7), Basis: subv1.BasisExpected}))
		Expect(got.Spec.Forecast).To(Equal(subv1.ForecastSpec{Method: subv1.ForecastLinear, Confidence: "0.8"}))
		Expect(got.Spec.Thresholds.Basis).To(Equal(subv1.BasisExpected))
		Expect(got.Spec.Snapshot).To(Equal(subv1.SnapshotSpec{
			Schedule: "0 2 * * *", TimeZone: "UTC", RetentionDays: 60, MinHistoryDays: 7,
			StartingDeadlineSeconds: ptr.To[int64](86400),
		}))
		Expect(got.Spec.Gateway.Replicas).To(Equal(ptr.To[int32](1)))
		Expect(got.Spec.Gateway.UpgradeURL).To(Equal("/app/settings/subscription"))
		Expect(got.Spec.Gateway.TenantIdentity.Claim).To(Equal("tenant_id"))
		Expect(got.Spec.Gateway.TenantIdentity.Header).To(Equal("X-Tenant-ID"))
	})

	It("accepts @daily-style macros and a zero critical-days threshold", func() {
		p := samplePolicy(newNamespace())
		p.Spec.Snapshot.Schedule = "@daily"
		p.Spec.Thresholds = subv1.Thresholds{WarningPercent: 70, CriticalPercent: 100, WarningDays: 3, CriticalDays: ptr.To[int32](0)}
		Expect(kube.Client.Create(ctx, p)).To(Succeed())
		got := &subv1.SubscriptionPolicy{}
		Expect(kube.Client.Get(ctx, keyOf(p), got)).To(Succeed())
		Expect(got.Spec.Thresholds.CriticalDays).To(Equal(ptr.To[int32](0)), "an explicit 0 is kept")
	})
})

var _ = Describe("TenantUsage admission", func() {
	ctx := context.Background()

	It("accepts the sample tenants and defaults policyRef to \"default\"", func() {
		ns := newNamespace()
		for _, tu := range sampleTenants(ns) {
			Expect(kube.Client.Create(ctx, tu)).To(Succeed())
		}
		got := &subv1.TenantUsage{}
		Expect(kube.Client.Get(ctx, keyOf(sampleTenants(ns)[0]), got)).To(Succeed())
		Expect(got.Spec.PolicyRef.Name).To(Equal("default"))
	})

	DescribeTable("rejects invalid tenants with a message naming the field",
		func(edit func(tu *subv1.TenantUsage), fragments ...string) {
			tu := minimalTenant(newNamespace(), "bakery-1")
			edit(tu)
			expectInvalid(kube.Client.Create(ctx, tu), fragments...)
		},
		Entry("missing tenantID", func(tu *subv1.TenantUsage) { tu.Spec.TenantID = "" }, "spec.tenantID"),
		Entry("tenantID that is not DNS-safe", func(tu *subv1.TenantUsage) { tu.Spec.TenantID = "Bakery_1" }, "spec.tenantID"),
		Entry("tenantID longer than 63", func(tu *subv1.TenantUsage) { tu.Spec.TenantID = strings.Repeat("a", 64) }, "spec.tenantID"),
		Entry("tier that is not a name", func(tu *subv1.TenantUsage) { tu.Spec.Tier = "Pro Plan" }, "spec.tier"),
	)

	DescribeTable("CEL rules name the offending path and value",
		func(edit func(tu *subv1.TenantUsage), field, message string) {
			tu := minimalTenant(newNamespace(), "bakery-1")
			edit(tu)
			expectCause(kube.Client.Create(ctx, tu), field, message)
		},
		Entry("negative limit override", func(tu *subv1.TenantUsage) {
			tu.Spec.LimitOverrides = map[string]int64{"products": -5}
		}, "spec.limitOverrides", "spec.limitOverrides values must be non-negative: the override for products is negative"),
		Entry("limit override keyed by a non-metric", func(tu *subv1.TenantUsage) {
			tu.Spec.LimitOverrides = map[string]int64{"Products!": 5}
		}, "spec.limitOverrides", "spec.limitOverrides keys must be metric names, not Products!"),
	)

	It("keeps tenantID immutable", func() {
		tu := minimalTenant(newNamespace(), "bakery-2")
		Expect(kube.Client.Create(ctx, tu)).To(Succeed())
		tu.Spec.TenantID = "bakery-3"
		expectCause(kube.Client.Update(ctx, tu), "spec.tenantID", `"bakery-3": spec.tenantID is immutable`)
	})
})

var _ = Describe("kubectl", func() {
	// Issue 11, row 3: what users read. The schema walk in hack/gen-config-docs
	// checks every field; this checks that kubectl shows it.
	It("explains every threshold, and discovery's query as (tenant_id, tier)", func() {
		Eventually(func(g Gomega) {
			out, err := kube.Kubectl("explain", "subscriptionpolicy.spec.thresholds", "--recursive=false")
			g.Expect(err).NotTo(HaveOccurred(), out)
			g.Expect(out).To(ContainSubstring("criticalDays"))
			g.Expect(out).NotTo(ContainSubstring("<no description>"))
			g.Expect(out).NotTo(ContainSubstring("pointer"))
		}).WithTimeout(30 * time.Second).Should(Succeed())
		out, err := kube.Kubectl("explain", "subscriptionpolicy.spec.tenantDiscovery.postgres.query")
		Expect(err).NotTo(HaveOccurred(), out)
		Expect(out).To(ContainSubstring("tier"))
		Expect(out).NotTo(ContainSubstring("Tenants without a row get 0"))
	})

	It("applies config/samples and prints the dashboard columns", func() {
		out, err := kube.Kubectl("apply", "-f", filepath.Join(testenv.RepoRoot(), "config", "samples"))
		Expect(err).NotTo(HaveOccurred(), out)
		out, err = kube.Kubectl("get", "tu", "-n", "bakery-ia")
		Expect(err).NotTo(HaveOccurred(), out)
		Expect(strings.Fields(strings.SplitN(out, "\n", 2)[0])).To(Equal(
			[]string{"NAME", "TENANT", "TIER", "STATUS", "DAYS-LEFT", "METRIC", "LAST-SNAPSHOT", "AGE"}))
		Expect(out).To(ContainSubstring("panaderia-san-pablo"))
		out, err = kube.Kubectl("get", "tu", "-n", "bakery-ia", "-o", "wide")
		Expect(err).NotTo(HaveOccurred(), out)
		Expect(strings.Fields(strings.SplitN(out, "\n", 2)[0])).To(Equal(
			[]string{"NAME", "TENANT", "TIER", "STATUS", "DAYS-LEFT", "METRIC", "WINDOW", "LAST-SNAPSHOT", "READY", "POLICY", "AGE"}))
		out, err = kube.Kubectl("get", "subpol", "-n", "bakery-ia")
		Expect(err).NotTo(HaveOccurred(), out)
		Expect(strings.Fields(strings.SplitN(out, "\n", 2)[0])).To(Equal(
			[]string{"NAME", "TIERS", "TENANTS", "NEXT-SNAPSHOT", "READY", "AGE"}))
		out, err = kube.Kubectl("get", "subscriptions", "-n", "bakery-ia")
		Expect(err).NotTo(HaveOccurred(), out)
		Expect(out).To(ContainSubstring("subscriptionpolicy.subscriptions.bakery-ia.io/default"))
	})
})
