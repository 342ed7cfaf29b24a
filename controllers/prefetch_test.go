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
	"sync/atomic"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	subv1 "github.com/bakery-ia/subscription-operator/api/v1alpha1"
	"github.com/bakery-ia/subscription-operator/controllers"
	"github.com/bakery-ia/subscription-operator/internal/history"
	"github.com/bakery-ia/subscription-operator/internal/policy"
	"github.com/bakery-ia/subscription-operator/internal/redisurl"
	"github.com/bakery-ia/subscription-operator/internal/testenv"
)

func prefetchCount(result string) float64 {
	return counter("subscription_history_prefetch_total", map[string]string{"result": result})
}

var _ = Describe("History read ahead after a run (Prefetch)", func() {
	const today = "2026-03-10"
	metrics := []string{"products", "users", "api_calls"}
	var (
		ns  string
		pol *subv1.SubscriptionPolicy
	)
	BeforeEach(func() {
		nsSeq++
		ns = fmt.Sprintf("pf-%d-%d", nsSeq, time.Now().UnixNano()%100000)
		pol = &subv1.SubscriptionPolicy{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "default",
			UID: types.UID(ns + "-uid")}}
	})
	id := func(i int) string { return fmt.Sprintf("%s-t%02d", ns, i) }
	// takeNext takes t as its reconcile would once the read-ahead reached
	// it: batches are read in order and taken in order, so what is held is
	// always the next tenants. (A Take before that is a miss: the tenant's
	// reconcile came first and reads it itself.)
	takeNext := func(pf *controllers.Prefetch, t string) map[string][]history.Point {
		GinkgoHelper()
		Eventually(func() int { return pf.Held(pol.UID) }, "10s").Should(BeNumerically(">=", 1), t)
		got, ok := pf.Take(ctx, pol.UID, t, metrics, today, 60)
		Expect(ok).To(BeTrue(), t)
		return got
	}
	// seed writes days of history for tenant i: products and users, not api_calls.
	seed := func(i, days int) {
		GinkgoHelper()
		end, _ := time.Parse(time.DateOnly, today)
		for d := days - 1; d >= 0; d-- {
			Expect(store.Write(ctx, end.AddDate(0, 0, -d).Format(time.DateOnly), 60, []history.Value{
				{TenantID: id(i), Metric: "products", Value: int64(10*i + days - d)},
				{TenantID: id(i), Metric: "users", Value: int64(i)},
			})).To(Succeed())
		}
	}

	It("holds exactly what a tenant's own read returns, once, for the same date and metrics", func() {
		// Table: full history, a few days, none at all, and a legacy
		// (seed-format) key that the read converts.
		seed(0, 60)
		seed(1, 3)
		Expect(rdb.Set(ctx, history.Key(id(3), "products"),
			`[{"date":"2026-03-08","value":4},{"date":"2026-03-09","value":5}]`, 0).Err()).To(Succeed())
		ids := []string{id(0), id(1), id(2), id(3)}
		pf := &controllers.Prefetch{Reader: store, Batch: 3}
		DeferCleanup(pf.Stop, pol.UID)
		pf.Start(ctx, pol, ids, metrics, today, 60)
		Eventually(func() int { return pf.Held(pol.UID) }).Should(Equal(len(ids)))

		for _, t := range ids {
			own, err := store.Read(ctx, t, metrics, today, 60)
			Expect(err).NotTo(HaveOccurred())
			got, ok := pf.Take(ctx, pol.UID, t, metrics, today, 60)
			Expect(ok).To(BeTrue(), t)
			Expect(got).To(Equal(own), t)
			_, again := pf.Take(ctx, pol.UID, t, metrics, today, 60)
			Expect(again).To(BeFalse(), "points are taken once")
		}

		By("another date, window or metric list is a miss")
		pf.Start(ctx, pol, ids, metrics, today, 60)
		Eventually(func() int { return pf.Held(pol.UID) }).Should(Equal(len(ids)))
		misses := prefetchCount("miss")
		_, ok := pf.Take(ctx, pol.UID, id(0), metrics, "2026-03-11", 60)
		Expect(ok).To(BeFalse())
		_, ok = pf.Take(ctx, pol.UID, id(1), metrics, today, 30)
		Expect(ok).To(BeFalse())
		_, ok = pf.Take(ctx, pol.UID, id(2), metrics[:2], today, 60)
		Expect(ok).To(BeFalse())
		_, ok = pf.Take(ctx, "other-policy", id(3), metrics, today, 60)
		Expect(ok).To(BeFalse())
		Expect(prefetchCount("miss") - misses).To(Equal(3.0))

		By("Stop drops what is held")
		pf.Stop(pol.UID)
		_, ok = pf.Take(ctx, pol.UID, id(3), metrics, today, 60)
		Expect(ok).To(BeFalse())
	})

	It("stays a bounded distance ahead and reads on as tenants are taken", func() {
		const n = 10
		ids := make([]string, n)
		for i := range n {
			seed(i, 2)
			ids[i] = id(i)
		}
		pf := &controllers.Prefetch{Reader: store, Batch: 2, Ahead: 4}
		DeferCleanup(pf.Stop, pol.UID)
		pf.Start(ctx, pol, ids, metrics, today, 60)
		Eventually(func() int { return pf.Held(pol.UID) }).Should(Equal(4))
		Consistently(func() int { return pf.Held(pol.UID) }, "300ms").Should(Equal(4))
		for _, t := range ids {
			got := takeNext(pf, t)
			Expect(pf.Held(pol.UID)).To(BeNumerically("<=", 4))
			Expect(got["products"]).To(HaveLen(2))
		}
	})

	It("calls Finished once every tenant is read and taken, never for a stopped or stalled read-ahead", func() {
		ids := []string{id(0), id(1), id(2)}
		for i := range ids {
			seed(i, 2)
		}
		var finished atomic.Int32
		pf := &controllers.Prefetch{Reader: store, Batch: 2, Stall: 300 * time.Millisecond,
			Finished: func() { finished.Add(1) }}
		DeferCleanup(pf.Stop, pol.UID)
		pf.Start(ctx, pol, ids, metrics, today, 60)
		for _, t := range ids {
			takeNext(pf, t)
		}
		Eventually(finished.Load).Should(Equal(int32(1)))
		Consistently(finished.Load, "200ms").Should(Equal(int32(1)))

		By("stopped")
		pf.Start(ctx, pol, ids, metrics, today, 60)
		Eventually(func() int { return pf.Held(pol.UID) }).Should(Equal(len(ids)))
		pf.Stop(pol.UID)
		By("stalled: nothing taken for Stall")
		pf.Start(ctx, pol, ids, metrics, today, 60)
		Eventually(func() int { return pf.Held(pol.UID) }).Should(Equal(len(ids)))
		Eventually(func() int { return pf.Held(pol.UID) }, "3s").Should(Equal(0))
		Consistently(finished.Load, "200ms").Should(Equal(int32(1)))
	})

	It("does not hold a tenant its reconcile has already read", func() {
		for i := range 4 {
			seed(i, 2)
		}
		pf := &controllers.Prefetch{Reader: store, Batch: 1, Ahead: 1}
		DeferCleanup(pf.Stop, pol.UID)
		pf.Start(ctx, pol, []string{id(0), id(1), id(2), id(3)}, metrics, today, 60)
		Eventually(func() int { return pf.Held(pol.UID) }).Should(Equal(1))
		// id(2)'s reconcile comes before its read: a miss, and it is skipped.
		_, ok := pf.Take(ctx, pol.UID, id(2), metrics, today, 60)
		Expect(ok).To(BeFalse())
		for _, t := range []string{id(0), id(1), id(3)} {
			takeNext(pf, t)
		}
		Consistently(func() int { return pf.Held(pol.UID) }, "300ms").Should(BeZero())
	})

	It("stops on a Redis failure mid-prefetch, counts it, and leaves the rest to the tenants' own reads", func() {
		srv, err := testenv.StartRedis()
		Expect(err).NotTo(HaveOccurred())
		DeferCleanup(srv.Close)
		own, err := redisurl.NewClient(srv.URL)
		Expect(err).NotTo(HaveOccurred())
		DeferCleanup(own.Close)
		ownStore := history.New(own)
		ids := make([]string, 6)
		for i := range ids {
			ids[i] = id(i)
			Expect(ownStore.Write(ctx, today, 60, []history.Value{{TenantID: ids[i], Metric: "products", Value: int64(i + 1)}})).To(Succeed())
		}
		pf := &controllers.Prefetch{Reader: ownStore, Batch: 2, Ahead: 2}
		DeferCleanup(pf.Stop, pol.UID)
		failed := prefetchCount("failed")
		pf.Start(ctx, pol, ids, metrics, today, 60)
		Eventually(func() int { return pf.Held(pol.UID) }).Should(Equal(2))

		By("Redis goes down while the first batch waits to be taken")
		Expect(srv.Stop()).To(Succeed())
		for _, t := range ids[:2] {
			got, ok := pf.Take(ctx, pol.UID, t, metrics, today, 60)
			Expect(ok).To(BeTrue(), "read before the fault: still exact")
			Expect(got["products"]).To(HaveLen(1))
		}
		Eventually(func() float64 { return prefetchCount("failed") - failed }).Should(Equal(1.0))
		for _, t := range ids[2:] {
			_, ok := pf.Take(ctx, pol.UID, t, metrics, today, 60)
			Expect(ok).To(BeFalse(), "not read ahead: the reconcile reads it and reports a failure itself")
		}
		_, err = ownStore.Read(ctx, ids[2], metrics, today, 60)
		Expect(err).To(HaveOccurred(), "the fallback read reports the outage")

		By("Redis back: the next run's prefetch works again")
		Expect(srv.Start()).To(Succeed())
		pf.Start(ctx, pol, ids, metrics, today, 60)
		for _, t := range ids {
			takeNext(pf, t)
		}
	})
})

var _ = Describe("Forecasts after a run with history read ahead", func() {
	var (
		op *operator
		ns string
	)
	BeforeEach(func() {
		op = startOperator()
		ns = newNamespace("pfrun")
	})

	It("writes the same statuses as each tenant's own read, from batched reads", func() {
		const n = 12
		var tenants []*subv1.TenantUsage
		first := op.nextLocal(time.UTC, 2, 0)
		for i := range n {
			t := fmt.Sprintf("%s-%02d", ns, i)
			insertRows("products", t, 3+i)
			insertRows("users", t, 1+i%3)
			// Ten days of growth before the run, so every tenant gets a forecast.
			for d := 10; d >= 1; d-- {
				Expect(store.Write(ctx, first.AddDate(0, 0, -d).Format(time.DateOnly), 60, []history.Value{
					{TenantID: t, Metric: "products", Value: int64(i + 10 - d)},
					{TenantID: t, Metric: "users", Value: int64(i % 3)},
				})).To(Succeed())
			}
			tenants = append(tenants, tenant(ns, t, []string{"starter", "professional", "enterprise"}[i%3]))
		}
		pol := testPolicy(ns, "UTC")
		create(pol)
		for _, t := range tenants {
			create(t)
		}
		Eventually(func(g Gomega) { g.Expect(getPolicy(ns).Status.NextSnapshotTime).NotTo(BeNil()) }).Should(Succeed())
		hits := prefetchCount("hit")

		op.setTime(first)
		date := first.Format(time.DateOnly)
		for _, t := range tenants {
			Eventually(func() string { return getTenant(ns, t.Name).Status.LastSnapshotDate }).Should(Equal(date), t.Name)
		}
		Expect(prefetchCount("hit")-hits).To(BeNumerically(">=", 1), "the forecasts took batched reads")

		By("every status equals the forecast of the tenant's own, unbatched read")
		spec, err := policy.CompileSpec(getPolicy(ns))
		Expect(err).NotTo(HaveOccurred())
		for _, t := range tenants {
			got := getTenant(ns, t.Name)
			tier, ok := spec.Tier(got.Spec.Tier)
			Expect(ok).To(BeTrue())
			points, err := store.Read(ctx, got.Spec.TenantID, spec.MetricNames(), date, spec.RetentionDays)
			Expect(err).NotTo(HaveOccurred())
			metrics, summary, last, _ := controllers.Forecast(spec, tier, got.Spec.LimitOverrides, points, date)
			Expect(got.Status.Metrics).To(Equal(metrics), t.Name)
			Expect(got.Status.Summary).To(Equal(summary), t.Name)
			Expect(got.Status.LastSnapshotDate).To(Equal(last))
			Expect(condition(got.Status.Conditions, subv1.ConditionReady).Reason).To(Equal(controllers.ReasonForecastCurrent))
		}
	})
})
