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
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	subv1 "github.com/bakery-ia/subscription-operator/api/v1alpha1"
	"github.com/bakery-ia/subscription-operator/internal/policy"
)

// Each spec here failed on the main branch before issue 11 was fixed.
var _ = Describe("Issue 11 defects", func() {
	var (
		op *operator
		ns string
	)
	BeforeEach(func() {
		op = startOperator()
		ns = newNamespace("i11")
	})

	minutely := func(tenants ...string) {
		GinkgoHelper()
		p := testPolicy(ns, "Europe/Madrid")
		p.Spec.Snapshot.Schedule = "* * * * *"
		p.Spec.Snapshot.StartingDeadlineSeconds = ptr.To[int64](300)
		objs := []client.Object{p}
		for _, t := range tenants {
			objs = append(objs, tenant(ns, t, "starter"))
		}
		create(objs...)
		Eventually(func(g Gomega) { g.Expect(getPolicy(ns).Status.NextSnapshotTime).NotTo(BeNil()) }).Should(Succeed())
	}
	lastRunTime := func() time.Time {
		p := getPolicy(ns)
		if p.Status.LastScheduleTime == nil {
			return time.Time{}
		}
		return p.Status.LastScheduleTime.Time
	}

	It("runs one tick once, even when a reconcile reads a policy from before the run (row 1)", func() {
		minutely(ns + "-t")
		stale := getPolicy(ns)
		tick := op.clock.Now().Truncate(time.Minute).Add(time.Minute)
		op.setTime(tick)
		Eventually(lastRunTime).Should(BeTemporally("==", tick))
		Expect(runs(ns, "default", "success")).To(Equal(1.0))

		By("a reconcile that still sees the status from before the run does not run the tick again")
		spec, err := policy.CompileSpec(stale)
		Expect(err).NotTo(HaveOccurred())
		step, err := op.components.Snapshots.Reconcile(ctx, stale, spec, nil, nil)
		Expect(err).NotTo(HaveOccurred())
		Expect(step.Next).To(BeTemporally("==", tick.Add(time.Minute)))
		Expect(runs(ns, "default", "success")).To(Equal(1.0))

		By("the reconciler schedules the next tick once, on its clock, not again with RequeueAfter")
		res, err := op.components.Policies.Reconcile(ctx, ctrl.Request{NamespacedName: client.ObjectKeyFromObject(stale)})
		Expect(err).NotTo(HaveOccurred())
		Expect(res.RequeueAfter).To(BeZero())

		By("ten more ticks, ten more runs")
		for i := 1; i <= 10; i++ {
			op.setTime(tick.Add(time.Duration(i) * time.Minute))
			Eventually(lastRunTime).Should(BeTemporally("==", tick.Add(time.Duration(i)*time.Minute)))
		}
		Consistently(func() float64 { return runs(ns, "default", "success") }, "2s").Should(Equal(11.0))
	})

	It("counts a tick folded into the next run within the deadline as not missed (row 5)", func() {
		minutely(ns + "-m")
		tick := op.clock.Now().Truncate(time.Minute).Add(time.Minute)
		Expect(rsrv.Stop()).To(Succeed())
		op.setTime(tick)
		Eventually(func(g Gomega) { g.Expect(snapshotCondition(g, ns).Reason).To(Equal("SnapshotFailed")) }).Should(Succeed())
		Expect(rsrv.Start()).To(Succeed())
		// The operator shares rdb: once it answers again, the next run can write.
		Eventually(func() error { return rdb.Ping(ctx).Err() }).Should(Succeed())
		op.setTime(tick.Add(time.Minute + 10*time.Second))
		Eventually(lastRunTime).Should(BeTemporally("==", tick.Add(time.Minute)))
		Expect(runs(ns, "default", "missed")).To(BeZero(), "the failed tick was folded into the next run, nothing was lost")

		By("a tick older than startingDeadlineSeconds is lost and counted once")
		op.setTime(tick.Add(20 * time.Minute))
		Eventually(lastRunTime).Should(BeTemporally("==", tick.Add(20*time.Minute)))
		Consistently(func() float64 { return runs(ns, "default", "missed") }, "2s").Should(Equal(13.0),
			"ticks 2..14 are more than 300 s old at minute 20; 15..19 were folded into the run at 20")
	})

	It("applies every valid discovery row when one is bad and reports the bad one (row 2)", func() {
		good, later := ns+"-g1", ns+"-g2"
		_, err := pool.Exec(ctx, "INSERT INTO tenants (tenant_id, tier) VALUES ($1, 'starter'), ($2, 'starter'), ($3, 'starter')",
			good, ns+"-Bad.Id", later)
		Expect(err).NotTo(HaveOccurred())
		p := testPolicy(ns, "UTC")
		p.Spec.TenantDiscovery = &subv1.TenantDiscovery{Postgres: subv1.DiscoveryQuery{
			Query: "SELECT tenant_id, tier FROM tenants WHERE active AND lower(tenant_id) LIKE '" + ns + "-%' ORDER BY tenant_id"}}
		create(p)
		due := op.firstRun(ns)
		op.setTime(due)
		Eventually(func(g Gomega) {
			for _, id := range []string{good, later} { // later: rows after the bad one are applied too
				tu := &subv1.TenantUsage{}
				g.Expect(kube.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: id}, tu)).To(Succeed())
				g.Expect(tu.Spec.Tier).To(Equal("starter"))
			}
		}).Should(Succeed())
		Eventually(func(g Gomega) {
			pol := getPolicy(ns)
			d := condition(pol.Status.Conditions, subv1.ConditionDiscovered)
			g.Expect(d).NotTo(BeNil())
			g.Expect(d.Status).To(Equal(metav1.ConditionFalse))
			g.Expect(d.Reason).To(Equal("RowsRejected"))
			g.Expect(d.Message).To(ContainSubstring("Bad.Id"))
			r := condition(pol.Status.Conditions, subv1.ConditionReady)
			g.Expect(r.Status).To(Equal(metav1.ConditionFalse))
			g.Expect(r.Reason).To(Equal("RowsRejected"))
		}).Should(Succeed())
		Expect(eventsFor(ns, "default", "DiscoveryRowsRejected")).To(BeNumerically(">=", 1))
		Expect(counter("subscription_discovery_rejected_rows", map[string]string{"policy": ns + "/default"})).To(Equal(1.0))
		Expect(getPolicy(ns).Status.LastSnapshot.Tenants).To(Equal(int32(2)))
	})

	It("stalls a policy whose time zone does not exist, with exact conditions", func() {
		// "Local" is refused the same way (internal/policy TestCompileSpecDecisions);
		// admission may refuse it first, so this spec uses a zone only the
		// controller can check.
		p := testPolicy(ns, "Nowhere/Atlantis")
		create(p)
		Eventually(func(g Gomega) {
			pol := getPolicy(ns)
			s := condition(pol.Status.Conditions, subv1.ConditionStalled)
			g.Expect(s).NotTo(BeNil())
			g.Expect(s.Status).To(Equal(metav1.ConditionTrue))
			g.Expect(s.Reason).To(Equal("InvalidSpec"))
			g.Expect(s.Message).To(ContainSubstring("spec.snapshot.timeZone: unknown time zone Nowhere/Atlantis"))
			r := condition(pol.Status.Conditions, subv1.ConditionReady)
			g.Expect(r.Status).To(Equal(metav1.ConditionFalse))
			g.Expect(r.Reason).To(Equal("InvalidSpec"))
			rc := condition(pol.Status.Conditions, subv1.ConditionReconciling)
			g.Expect(rc.Status).To(Equal(metav1.ConditionFalse))
			g.Expect(pol.Status.ObservedGeneration).To(Equal(pol.Generation))
		}).Should(Succeed())

		By("an edit to a real zone un-stalls it")
		edit(getPolicy(ns), func(pol *subv1.SubscriptionPolicy) { pol.Spec.Snapshot.TimeZone = "Europe/Madrid" })
		Eventually(func(g Gomega) {
			pol := getPolicy(ns)
			g.Expect(condition(pol.Status.Conditions, subv1.ConditionStalled).Status).To(Equal(metav1.ConditionFalse))
			g.Expect(condition(pol.Status.Conditions, subv1.ConditionReady).Status).To(Equal(metav1.ConditionTrue))
			g.Expect(pol.Status.ObservedGeneration).To(Equal(pol.Generation))
		}).Should(Succeed())
	})

	It("writes a run-now outcome through the reconciler, the one writer of policy status (item 3)", func() {
		t := ns + "-n"
		insertRows("products", t, 5)
		create(testPolicy(ns, "UTC"), tenant(ns, t, "starter"))
		Eventually(func(g Gomega) { g.Expect(getPolicy(ns).Status.NextSnapshotTime).NotTo(BeNil()) }).Should(Succeed())
		res, err := op.components.Snapshots.RunNow(ctx, getPolicy(ns), "")
		Expect(err).NotTo(HaveOccurred())
		Eventually(func(g Gomega) {
			pol := getPolicy(ns)
			g.Expect(pol.Status.LastSnapshot).NotTo(BeNil())
			g.Expect(pol.Status.LastSnapshot.Date).To(Equal(res.Date))
			g.Expect(snapshotCondition(g, ns).Reason).To(Equal("SnapshotRecorded"))
		}).Should(Succeed())
		Expect(getPolicy(ns).Status.LastScheduleTime).To(BeNil(), "run-now does not move the schedule")
	})

	It("keeps Ready=False NoHistory below minHistoryDays, as docs/operations.md says (row 4)", func() {
		t := ns + "-h"
		insertRows("products", t, 3)
		create(testPolicy(ns, "UTC"), tenant(ns, t, "starter"))
		due := op.firstRun(ns)
		op.setTime(due)
		Eventually(func(g Gomega) {
			tu := getTenant(ns, t)
			g.Expect(tu.Status.LastSnapshotDate).To(Equal(due.Format(time.DateOnly)))
			r := condition(tu.Status.Conditions, subv1.ConditionReady)
			g.Expect(r).NotTo(BeNil())
			g.Expect(r.Status).To(Equal(metav1.ConditionFalse))
			g.Expect(r.Reason).To(Equal("NoHistory"))
			g.Expect(r.Message).To(ContainSubstring("1 of 7 daily points"))
			g.Expect(tu.Status.Metrics).NotTo(BeEmpty(), "current usage is shown meanwhile")
		}).Should(Succeed())
	})
})
