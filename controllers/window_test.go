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
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"k8s.io/utils/ptr"

	subv1 "github.com/bakery-ia/subscription-operator/api/v1alpha1"
	"github.com/bakery-ia/subscription-operator/internal/history"
)

var _ = Describe("The breach window in TenantUsage status", func() {
	It("follows spec.forecast.confidence, and spec.thresholds.basis: earliest colours by the window's pessimistic end", func() {
		op := startOperator()
		ns := newNamespace("win")
		id := ns + "-w"
		// products grows 0.5/day to 35 of 50 (30 days left) with ±4 of noise:
		// a window of about two weeks either side at 0.8.
		today := op.clock.Now().UTC()
		for i := 0; i < 30; i++ {
			noise := int64(4)
			if i%2 == 1 {
				noise = -4
			}
			Expect(store.Write(ctx, today.AddDate(0, 0, -i).Format(time.DateOnly), 60, []history.Value{
				{TenantID: id, Metric: "products", Value: 35 - int64(i)/2 + noise},
			})).To(Succeed())
		}
		p := testPolicy(ns, "UTC")
		p.Spec.Thresholds = subv1.Thresholds{WarningPercent: 95, CriticalPercent: 99, WarningDays: 20, CriticalDays: ptr.To[int32](3)}
		create(p, tenant(ns, id, "starter"))
		products := func() subv1.MetricForecast {
			for _, m := range getTenant(ns, id).Status.Metrics {
				if m.Metric == "products" {
					return m
				}
			}
			return subv1.MetricForecast{}
		}
		Eventually(func() *string { return products().EarliestBreachDate }).ShouldNot(BeNil())
		wide := products()
		Expect(*wide.EarliestBreachDate < *wide.PredictedBreachDate).To(BeTrue(), "earliest %s, expected %s", *wide.EarliestBreachDate, *wide.PredictedBreachDate)
		Expect(*wide.LatestBreachDate > *wide.PredictedBreachDate).To(BeTrue())
		Expect(*wide.DaysUntilBreach).To(BeNumerically(">", 20))
		Expect(wide.Status).To(Equal(subv1.UsageSafe), "basis expected: the predicted date is more than warningDays away")
		Expect(getTenant(ns, id).Status.Summary.Window).To(Equal(*wide.EarliestBreachDate + ".." + *wide.LatestBreachDate))

		By("a lower confidence narrows the window")
		edit(getPolicy(ns), func(p *subv1.SubscriptionPolicy) { p.Spec.Forecast.Confidence = "0.5" })
		Eventually(func() string { return *products().EarliestBreachDate }).Should(Satisfy(func(d string) bool { return d > *wide.EarliestBreachDate }))
		narrow := products()
		Expect(*narrow.LatestBreachDate < *wide.LatestBreachDate).To(BeTrue())
		Expect(narrow.PredictedBreachDate).To(Equal(wide.PredictedBreachDate), "the point estimate does not depend on the confidence")

		By("basis earliest colours by the earliest date")
		edit(getPolicy(ns), func(p *subv1.SubscriptionPolicy) {
			p.Spec.Forecast.Confidence = "0.8"
			p.Spec.Thresholds.Basis = subv1.BasisEarliest
		})
		Eventually(func() subv1.UsageStatus { return products().Status }).Should(Equal(subv1.UsageWarning))
	})
})
