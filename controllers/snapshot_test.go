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

	subv1 "github.com/bakery-ia/subscription-operator/api/v1alpha1"
	"github.com/bakery-ia/subscription-operator/internal/history"
)

var _ = Describe("Scheduled snapshots", func() {
	var (
		op *operator
		ns string
	)
	BeforeEach(func() {
		op = startOperator()
		ns = newNamespace("snap")
	})

	lastDate := func() string {
		p := getPolicy(ns)
		if p.Status.LastSnapshot == nil {
			return ""
		}
		return p.Status.LastSnapshot.Date
	}

	It("runs at 02:00 and not before, catches up one missed run, and never runs stale days", func() {
		a, b := ns+"-a", ns+"-b"
		insertRows("products", a, 12)
		insertRows("products", b, 3)
		insertRows("users", a, 4)
		create(testPolicy(ns, "UTC"), tenant(ns, a, "starter"), tenant(ns, b, "professional"))
		Eventually(func(g Gomega) {
			g.Expect(getPolicy(ns).Status.NextSnapshotTime).NotTo(BeNil())
		}).Should(Succeed())

		By("01:59: nothing runs")
		first := op.nextLocal(time.UTC, 2, 0)
		op.setTime(first.Add(-time.Minute))
		Consistently(func() float64 { return runs(ns, "default", "success") }, "2s").Should(BeZero())

		By("02:00: one run records every tenant and metric")
		rdb.Set(ctx, fmt.Sprintf("usage_daily:%s:api_calls:%s", a, first.AddDate(0, 0, -1).Format(time.DateOnly)), 321, 0)
		op.setTime(first)
		Eventually(lastDate).Should(Equal(first.Format(time.DateOnly)))
		Expect(runs(ns, "default", "success")).To(Equal(1.0))
		Expect(op.historyWritten()).To(Equal([]string{a, b}), "the run reports the tenants whose history it wrote")
		pts, err := store.Read(ctx, a, []string{"products", "users", "locations", "api_calls", "forecasts"}, first.Format(time.DateOnly), 60)
		Expect(err).NotTo(HaveOccurred())
		Expect(pts["products"]).To(HaveLen(1))
		Expect(pts["products"][0].Value).To(Equal(int64(12)))
		Expect(pts["users"][0].Value).To(Equal(int64(4)))
		Expect(pts["locations"][0].Value).To(BeZero(), "a tenant without rows gets 0")
		Expect(pts["api_calls"][0].Value).To(Equal(int64(321)), "yesterday's counter")
		p := getPolicy(ns)
		Expect(p.Status.LastSnapshot.Tenants).To(Equal(int32(2)))
		Expect(p.Status.LastSnapshot.Succeeded).To(Equal(int32(2)))
		Expect(condition(p.Status.Conditions, subv1.ConditionSnapshotSucceeded).Status).To(Equal(metav1.ConditionTrue))
		Expect(p.Status.NextSnapshotTime.Time).To(BeTemporally("==", first.Add(day)))
		Eventually(func() string { return getTenant(ns, a).Status.LastSnapshotDate }).Should(Equal(first.Format(time.DateOnly)))

		By("operator down from 01:00 to 05:00: exactly one catch-up run")
		op.setTime(first.Add(day + 3*time.Hour))
		Eventually(lastDate).Should(Equal(first.Add(day).Format(time.DateOnly)))
		Consistently(func() float64 { return runs(ns, "default", "success") }, "2s").Should(Equal(2.0))

		By("down for three days: only today's run, the stale days are skipped")
		op.setTime(first.Add(4*day + 3*time.Hour))
		Eventually(lastDate).Should(Equal(first.Add(4 * day).Format(time.DateOnly)))
		Consistently(func() float64 { return runs(ns, "default", "success") }, "2s").Should(Equal(3.0))
		Expect(runs(ns, "default", "missed")).To(Equal(2.0))
		pts, err = store.Read(ctx, a, []string{"products"}, first.Add(4*day).Format(time.DateOnly), 60)
		Expect(err).NotTo(HaveOccurred())
		Expect(pts["products"]).To(HaveLen(3), "days 0, 1 and 4; never the missed ones")
		Expect(getPolicy(ns).Status.NextSnapshotTime.Time).To(BeTemporally("==", first.Add(5*day)))
	})

	It("runs once per local day in Europe/Madrid across both DST changes", func() {
		madrid, err := time.LoadLocation("Europe/Madrid")
		Expect(err).NotTo(HaveOccurred())
		t := ns + "-m"
		create(testPolicy(ns, "Europe/Madrid"), tenant(ns, t, "starter"))
		Eventually(func(g Gomega) { g.Expect(getPolicy(ns).Status.NextSnapshotTime).NotTo(BeNil()) }).Should(Succeed())
		for _, start := range []time.Time{
			time.Date(2027, 3, 25, 12, 0, 0, 0, madrid),  // spring forward on Sunday 28 March
			time.Date(2027, 10, 29, 12, 0, 0, 0, madrid), // fall back on Sunday 31 October
		} {
			op.setTime(start)
			Eventually(lastDate).Should(Equal(start.Format(time.DateOnly)), "catch-up of the morning's run")
			base := runs(ns, "default", "success")
			for i := 1; i <= 5; i++ {
				// Step through each local day in one-hour moves, as a running operator would see it.
				next := time.Date(start.Year(), start.Month(), start.Day()+i, 12, 0, 0, 0, madrid)
				for now := op.clock.Now(); now.Before(next); now = now.Add(time.Hour) {
					op.setTime(now)
				}
				op.setTime(next)
				Eventually(lastDate).Should(Equal(next.Format(time.DateOnly)))
				Consistently(func() float64 { return runs(ns, "default", "success") }, "1s").Should(Equal(base + float64(i)))
			}
		}
	})

	It("retries after Redis fails during a run and records the day once", func() {
		t := ns + "-r"
		insertRows("products", t, 7)
		create(testPolicy(ns, "UTC"), tenant(ns, t, "starter"))
		due := op.firstRun(ns)

		Expect(rsrv.Stop()).To(Succeed())
		op.setTime(due)
		Eventually(func(g Gomega) {
			c := snapshotCondition(g, ns)
			g.Expect(c.Status).To(Equal(metav1.ConditionFalse))
			g.Expect(c.Reason).To(Equal("SnapshotFailed"))
		}).Should(Succeed())
		Expect(eventsFor(ns, "default", "SnapshotFailed")).To(BeNumerically(">=", 1))
		Expect(runs(ns, "default", "failed")).To(BeNumerically(">=", 1))
		ready := condition(getPolicy(ns).Status.Conditions, subv1.ConditionReady)
		Expect(ready.Status).To(Equal(metav1.ConditionFalse))

		Expect(rsrv.Start()).To(Succeed())
		// The retry backoff doubles from 5 s; step the clock past a few of them.
		op.stepThroughBackoff(ns, due)
		pts, err := store.Read(ctx, t, []string{"products"}, due.Format(time.DateOnly), 60)
		Expect(err).NotTo(HaveOccurred())
		Expect(pts["products"]).To(Equal(pointsOf(due, 7)), "the day is recorded once")
		Expect(getPolicy(ns).Status.LastScheduleTime.Time).To(BeTemporally("==", due))
	})

	It("reports a partial run while Postgres is down and completes it when it returns", func() {
		t := ns + "-p"
		insertRows("recipes", t, 9)
		create(testPolicy(ns, "UTC"), tenant(ns, t, "starter"))
		due := op.firstRun(ns)

		Expect(pgsrv.Stop()).To(Succeed())
		op.setTime(due)
		Eventually(func(g Gomega) {
			c := snapshotCondition(g, ns)
			g.Expect(c.Reason).To(Equal("PartialSnapshot"))
			g.Expect(c.Message).To(ContainSubstring("products"))
			g.Expect(c.Message).To(ContainSubstring("recipes"))
		}).Should(Succeed())
		Expect(getPolicy(ns).Status.LastSnapshot.FailedMetrics).To(ConsistOf("products", "users", "locations", "recipes", "suppliers"))

		Expect(pgsrv.Start()).To(Succeed())
		op.stepThroughBackoff(ns, due)
		pts, err := store.Read(ctx, t, []string{"recipes", "api_calls"}, due.Format(time.DateOnly), 60)
		Expect(err).NotTo(HaveOccurred())
		Expect(pts["recipes"]).To(Equal(pointsOf(due, 9)))
		Expect(pts["api_calls"]).To(HaveLen(1), "the Redis metrics of the partial run were kept, once")
	})

	It("names a bad query and records the other metrics", func() {
		t := ns + "-q"
		insertRows("suppliers", t, 2)
		p := testPolicy(ns, "UTC")
		p.Spec.Metrics[0].Postgres.Query = "SELECT tenant_id FROM no_such_table"
		create(p, tenant(ns, t, "starter"))
		due := op.firstRun(ns)
		op.setTime(due)
		Eventually(func(g Gomega) {
			c := snapshotCondition(g, ns)
			g.Expect(c.Reason).To(Equal("PartialSnapshot"))
			g.Expect(c.Message).To(ContainSubstring("products"))
		}).Should(Succeed())
		Expect(getPolicy(ns).Status.LastSnapshot.FailedMetrics).To(Equal([]string{"products"}))
		Expect(eventsFor(ns, "default", "SnapshotPartial")).To(BeNumerically(">=", 1))
		pts, err := store.Read(ctx, t, []string{"suppliers"}, due.Format(time.DateOnly), 60)
		Expect(err).NotTo(HaveOccurred())
		Expect(pts["suppliers"]).To(Equal(pointsOf(due, 2)))
	})

	It("skips suspended tenants", func() {
		a, b := ns+"-on", ns+"-off"
		off := tenant(ns, b, "starter")
		off.Spec.Suspend = true
		create(testPolicy(ns, "UTC"), tenant(ns, a, "starter"), off)
		due := op.firstRun(ns)
		op.setTime(due)
		Eventually(lastDate).Should(Equal(due.Format(time.DateOnly)))
		Expect(getPolicy(ns).Status.LastSnapshot.Tenants).To(Equal(int32(1)))
		n, err := rdb.Exists(ctx, "usage_history:{"+b+"}:products").Result()
		Expect(err).NotTo(HaveOccurred())
		Expect(n).To(BeZero())
	})

	It("discovers tenants, updates their tier, marks the missing and keeps their history", func() {
		a, b := ns+"-d1", ns+"-d2"
		_, err := pool.Exec(ctx, "INSERT INTO tenants (tenant_id, tier) VALUES ($1, 'starter'), ($2, 'professional')", a, b)
		Expect(err).NotTo(HaveOccurred())
		p := testPolicy(ns, "UTC")
		p.Spec.TenantDiscovery = &subv1.TenantDiscovery{Postgres: subv1.DiscoveryQuery{
			Query: "SELECT tenant_id, tier FROM tenants WHERE active AND tenant_id LIKE '" + ns + "-%'"}}
		create(p)
		due := op.firstRun(ns)
		op.setTime(due)
		Eventually(lastDate).Should(Equal(due.Format(time.DateOnly)))
		tu := getTenant(ns, a)
		Expect(tu.Spec.Tier).To(Equal("starter"))
		Expect(tu.Labels).To(HaveKeyWithValue(subv1.LabelDiscoveryState, "active"))
		Expect(tu.OwnerReferences).To(HaveLen(1))
		Expect(getTenant(ns, b).Spec.Tier).To(Equal("professional"))

		_, err = pool.Exec(ctx, "UPDATE tenants SET tier = 'enterprise' WHERE tenant_id = $1", a)
		Expect(err).NotTo(HaveOccurred())
		_, err = pool.Exec(ctx, "UPDATE tenants SET active = false WHERE tenant_id = $1", b)
		Expect(err).NotTo(HaveOccurred())
		op.setTime(due.Add(day))
		Eventually(lastDate).Should(Equal(due.Add(day).Format(time.DateOnly)))
		Eventually(func() string { return getTenant(ns, a).Spec.Tier }).Should(Equal("enterprise"))
		Eventually(func(g Gomega) {
			gone := getTenant(ns, b)
			g.Expect(gone.Labels).To(HaveKeyWithValue(subv1.LabelDiscoveryState, "missing"))
			c := condition(gone.Status.Conditions, subv1.ConditionDiscovered)
			g.Expect(c).NotTo(BeNil())
			g.Expect(c.Status).To(Equal(metav1.ConditionFalse))
		}).Should(Succeed())
		n, err := rdb.Exists(ctx, "usage_history:{"+b+"}:products").Result()
		Expect(err).NotTo(HaveOccurred())
		Expect(n).To(Equal(int64(1)), "history of a missing tenant is kept")
		Expect(getPolicy(ns).Status.LastSnapshot.Tenants).To(Equal(int32(1)), "the missing tenant is not snapshotted")
	})
})

// lastSucceeded is the date of the last fully successful run ("" if none).
func lastSucceeded(ns string) string {
	p := getPolicy(ns)
	c := condition(p.Status.Conditions, subv1.ConditionSnapshotSucceeded)
	if c == nil || c.Status != metav1.ConditionTrue || p.Status.LastSnapshot == nil {
		return ""
	}
	return p.Status.LastSnapshot.Date
}

func pointsOf(date time.Time, v int64) []history.Point {
	return []history.Point{{Date: date.Format(time.DateOnly), Value: v}}
}

// stepThroughBackoff moves the clock past the doubling retry delays (5 s, 10 s,
// ...) until the run for due has succeeded.
func (o *operator) stepThroughBackoff(ns string, due time.Time) {
	GinkgoHelper()
	want := due.Format(time.DateOnly)
	for i := 0; i < 8 && lastSucceeded(ns) == ""; i++ {
		o.setTime(o.clock.Now().Add(time.Duration(5<<i) * time.Second))
		Eventually(lastSucceeded).WithArguments(ns).WithTimeout(3 * time.Second).Should(Or(Equal(""), Equal(want)))
	}
	Eventually(lastSucceeded).WithArguments(ns).Should(Equal(want))
}

// firstRun waits for the policy's first reconcile and returns the next 02:00 UTC.
func (o *operator) firstRun(ns string) time.Time {
	GinkgoHelper()
	Eventually(func(g Gomega) { g.Expect(getPolicy(ns).Status.NextSnapshotTime).NotTo(BeNil()) }).Should(Succeed())
	return o.nextLocal(time.UTC, 2, 0)
}

// snapshotCondition is the policy's SnapshotSucceeded condition (failing g when absent).
func snapshotCondition(g Gomega, ns string) *metav1.Condition {
	c := condition(getPolicy(ns).Status.Conditions, subv1.ConditionSnapshotSucceeded)
	g.Expect(c).NotTo(BeNil())
	return c
}
