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

package controllers_test

import (
	"fmt"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	subv1 "github.com/bakery-ia/subscription-operator/api/v1alpha1"
	"github.com/bakery-ia/subscription-operator/internal/history"
)

var _ = Describe("Forecasts in TenantUsage status", func() {
	var (
		op *operator
		ns string
	)
	BeforeEach(func() {
		op = startOperator()
		ns = newNamespace("fc")
	})

	// seedHistory writes every other day of history ending today: products
	// grows exactly 0.5/day to 35 (the seed's example), users is flat at 4.
	seedHistory := func(tenantID string, days int) string {
		today := op.clock.Now().UTC()
		for i := 0; i < days; i += 2 {
			date := today.AddDate(0, 0, -i).Format(time.DateOnly)
			Expect(store.Write(ctx, date, 60, []history.Value{
				{TenantID: tenantID, Metric: "products", Value: 35 - int64(i)/2},
				{TenantID: tenantID, Metric: "users", Value: 4},
			})).To(Succeed())
		}
		return today.Format(time.DateOnly)
	}

	metricOf := func(tu *subv1.TenantUsage, name string) *subv1.MetricForecast {
		for i := range tu.Status.Metrics {
			if tu.Status.Metrics[i].Metric == name {
				return &tu.Status.Metrics[i]
			}
		}
		return nil
	}

	It("writes forecasts and the summary, re-colours on threshold changes, follows tier changes, and emits Events once", func() {
		id := ns + "-t"
		today := seedHistory(id, 30)
		create(testPolicy(ns, "UTC"), tenant(ns, id, "starter"))

		By("history in Redis becomes forecasts in status")
		Eventually(func(g Gomega) {
			tu := getTenant(ns, id)
			g.Expect(tu.Status.Metrics).To(HaveLen(7))
			g.Expect(tu.Status.LastSnapshotDate).To(Equal(today))
			g.Expect(tu.Status.Summary).NotTo(BeNil())
		}).Should(Succeed())
		tu := getTenant(ns, id)
		p := metricOf(tu, "products")
		Expect(p.Current).To(Equal(int64(35)))
		Expect(p.Limit).To(Equal(ptr.To[int64](50)))
		Expect(*p.DailyGrowthRate).To(Equal("0.5"))
		Expect(*p.DaysUntilBreach).To(Equal(int32(30)))
		Expect(*p.UsagePercentage).To(Equal("70.0"))
		Expect(p.Status).To(Equal(subv1.UsageSafe))
		Expect(metricOf(tu, "locations").Status).To(Equal(subv1.UsageUnlimited))
		Expect(*metricOf(tu, "users").UsagePercentage).To(Equal("80.0"))
		Expect(metricOf(tu, "users").Status).To(Equal(subv1.UsageWarning))
		Expect(tu.Status.Summary.Status).To(Equal(subv1.UsageWarning))
		Expect(tu.Status.Summary.Metric).To(Equal("users"))
		Expect(condition(tu.Status.Conditions, subv1.ConditionReady).Status).To(Equal(metav1.ConditionTrue))
		Expect(tu.Status.ForecastedAt).NotTo(BeNil())

		By("lowering criticalPercent re-colours without a new snapshot")
		rv := tu.ResourceVersion
		edit(getPolicy(ns), func(pol *subv1.SubscriptionPolicy) {
			pol.Spec.Thresholds = subv1.Thresholds{WarningPercent: 50, CriticalPercent: 75, WarningDays: 40, CriticalDays: ptr.To[int32](31)}
		})
		Eventually(func() subv1.UsageStatus { return metricOf(getTenant(ns, id), "products").Status }).Should(Equal(subv1.UsageCritical))
		Expect(getTenant(ns, id).ResourceVersion).NotTo(Equal(rv))
		Eventually(func() int { return eventsFor(ns, id, "PredictedBreach") }).Should(Equal(1))
		Expect(eventNotes(ns, id, "PredictedBreach")).To(And(ContainSubstring("products is critical"), ContainSubstring("users is critical")))

		By("a new tier changes the limits")
		edit(getTenant(ns, id), func(tu *subv1.TenantUsage) { tu.Spec.Tier = "professional" })
		Eventually(func(g Gomega) {
			got := getTenant(ns, id)
			g.Expect(got.Status.Tier).To(Equal("professional"))
			g.Expect(metricOf(got, "products").Limit).To(Equal(ptr.To[int64](500)))
			g.Expect(metricOf(got, "products").Status).To(Equal(subv1.UsageSafe))
		}).Should(Succeed())
		Eventually(func() int { return eventsFor(ns, id, "UsageRecovered") }).Should(Equal(1))

		By("nothing changes, nothing is written, no Event repeats")
		rv = getTenant(ns, id).ResourceVersion
		edit(getPolicy(ns), func(pol *subv1.SubscriptionPolicy) {
			pol.Annotations = map[string]string{"touch": "1"}
			pol.Spec.Forecast.Method = subv1.ForecastLinear
		})
		Consistently(func() string { return getTenant(ns, id).ResourceVersion }, "2s").Should(Equal(rv))
		Expect(eventsFor(ns, id, "PredictedBreach")).To(Equal(1))
	})

	It("uses limit overrides and explains unknown tiers, missing policies and missing history", func() {
		id := ns + "-o"
		seedHistory(id, 14)
		over := tenant(ns, id, "starter")
		over.Spec.LimitOverrides = map[string]int64{"products": 37}
		create(testPolicy(ns, "UTC"), over)
		Eventually(func(g Gomega) {
			m := metricOf(getTenant(ns, id), "products")
			g.Expect(m).NotTo(BeNil())
			g.Expect(m.Limit).To(Equal(ptr.To[int64](37)))
			g.Expect(m.Status).To(Equal(subv1.UsageCritical))
		}).Should(Succeed())

		ready := func(name string) *metav1.Condition {
			return condition(getTenant(ns, name).Status.Conditions, subv1.ConditionReady)
		}
		unknown := tenant(ns, ns+"-u", "platinum")
		orphan := tenant(ns, ns+"-n", "starter")
		orphan.Spec.PolicyRef.Name = "nope"
		fresh := tenant(ns, ns+"-f", "starter")
		create(unknown, orphan, fresh)
		Eventually(func(g Gomega) {
			g.Expect(ready(unknown.Name)).To(HaveField("Reason", "UnknownTier"))
			g.Expect(ready(orphan.Name)).To(HaveField("Reason", "PolicyNotFound"))
			g.Expect(ready(fresh.Name)).To(HaveField("Reason", "NoHistory"))
		}).Should(Succeed())
		Expect(ready(unknown.Name).Message).To(ContainSubstring("platinum"))
	})
})

var _ = Describe("Status size and write volume", func() {
	It("keeps a 9-metric TenantUsage under 4 KB and writes only tenants whose status changed", func() {
		op := startOperator()
		ns := newNamespace("size")
		p := samplePolicy(ns)
		create(p)
		const tenants = 20
		ids := make([]string, tenants)
		for i := range ids {
			ids[i] = fmt.Sprintf("%s-%02d", ns, i)
			insertRows("products", ids[i], 10+i)
			insertRows("users", ids[i], 2)
			create(tenant(ns, ids[i], []string{"starter", "professional", "enterprise"}[i%3]))
		}
		// 59 days of history so the first run makes 60.
		today := op.clock.Now().UTC()
		for d := 59; d >= 1; d-- {
			var vals []history.Value
			for i, id := range ids {
				for _, m := range p.Spec.Metrics {
					vals = append(vals, history.Value{TenantID: id, Metric: m.Name, Value: int64(i + 60 - d)})
				}
			}
			Expect(store.Write(ctx, today.AddDate(0, 0, -d).Format(time.DateOnly), 60, vals)).To(Succeed())
		}
		Eventually(func(g Gomega) { g.Expect(getPolicy(ns).Status.NextSnapshotTime).NotTo(BeNil()) }).Should(Succeed())
		due := op.nextLocal(mustZone(p.Spec.Snapshot.TimeZone), 2, 0)
		op.setTime(due)
		Eventually(func(g Gomega) {
			for _, id := range ids {
				g.Expect(getTenant(ns, id).Status.LastSnapshotDate).To(Equal(due.In(mustZone(p.Spec.Snapshot.TimeZone)).Format(time.DateOnly)))
			}
		}).Should(Succeed())

		By("measuring the stored size, breach windows included")
		largest, windows := 0, 0
		for _, id := range ids {
			raw, err := rawTenant(ns, id)
			Expect(err).NotTo(HaveOccurred())
			largest = max(largest, len(raw))
			for _, m := range getTenant(ns, id).Status.Metrics {
				if m.EarliestBreachDate != nil && m.LatestBreachDate != nil {
					windows++
				}
			}
		}
		Expect(windows).To(BeNumerically(">", 0), "the largest objects carry earliestBreachDate and latestBreachDate")
		AddReportEntry(fmt.Sprintf("largest TenantUsage with %d metrics: %d bytes as stored (JSON)", len(p.Spec.Metrics), largest))
		Expect(largest).To(BeNumerically("<", 4096))

		By("a second run the same day writes no status")
		writes := counter("subscription_tenant_status_writes_total", nil)
		_, err := op.components.Snapshots.RunNow(ctx, getPolicy(ns), "")
		Expect(err).NotTo(HaveOccurred())
		Consistently(func() float64 { return counter("subscription_tenant_status_writes_total", nil) }, "3s").Should(Equal(writes))
		AddReportEntry(fmt.Sprintf("status writes for a repeated run of %d tenants: %v", tenants, counter("subscription_tenant_status_writes_total", nil)-writes))
	})
})
