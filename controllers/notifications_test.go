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
	"encoding/base64"
	"fmt"
	"maps"
	"slices"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	fakeclock "k8s.io/utils/clock/testing"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	subv1 "github.com/bakery-ia/subscription-operator/api/v1alpha1"
	"github.com/bakery-ia/subscription-operator/controllers"
	"github.com/bakery-ia/subscription-operator/internal/notify"
)

func reconcileRequest(ns, name string) reconcile.Request {
	return reconcile.Request{NamespacedName: types.NamespacedName{Namespace: ns, Name: name}}
}

// End to end: history in Redis -> the tenant controller's forecast -> the
// notifier's episodes -> the Redis outbox -> the leader's worker -> a real
// HTTP receiver that checks signatures with the Standard Webhooks library;
// and back: sink health -> the policy's status, conditions and Events.
var _ = Describe("Webhook notifications", func() {
	var (
		ns   string
		recv *webhookReceiver
		nc   *fakeclock.FakeClock
	)
	BeforeEach(func() {
		ns = newNamespace("nt")
		recv = newWebhookReceiver()
		nc = fakeclock.NewFakeClock(time.Now())
	})
	sinkID := func() string { return ns + "/default/crm" }
	healthy := func() metav1.Condition {
		if c := condition(getPolicy(ns).Status.Conditions, subv1.ConditionNotificationsHealthy); c != nil {
			return *c
		}
		return metav1.Condition{}
	}
	sinkStatus := func() subv1.SinkStatus {
		GinkgoHelper()
		st := getPolicy(ns).Status.Notifications
		Expect(st).NotTo(BeNil())
		Expect(st.Sinks).To(HaveLen(1))
		return st.Sinks[0]
	}
	notifications := func(event, result string) float64 {
		return counter("subscription_notifications_total", map[string]string{"sink": sinkID(), "event": event, "result": result})
	}

	It("retries a receiver that fails the first attempts on Svix's schedule, delivers each id once, and reports the sink's health", func() {
		op := startOperatorWith(operatorOptions{notify: &controllers.NotificationsConfig{Clock: nc, FailingAfter: 2}})
		recv.set(func(r *webhookReceiver) { r.failFirst = 2 })
		id := ns + "-t"
		seedGrowth(op, id)
		pol, signing, headers := notifyingPolicy(ns, recv,
			subv1.SinkEvent{Type: subv1.EventPredictedBreach, WithinDays: ptr.To[int32](40)},
			subv1.SinkEvent{Type: subv1.EventUsageThreshold, Percentages: []int32{90, 80}},
			subv1.SinkEvent{Type: subv1.EventRecovered})
		create(signing, headers, pol, tenant(ns, id, "starter"))

		By("the forecast shows the breach window")
		Eventually(func(g Gomega) {
			tu := getTenant(ns, id)
			g.Expect(tu.Status.Summary).NotTo(BeNil())
			var products *subv1.MetricForecast
			for i := range tu.Status.Metrics {
				if tu.Status.Metrics[i].Metric == "products" {
					products = &tu.Status.Metrics[i]
				}
			}
			g.Expect(products).NotTo(BeNil())
			// A sawtooth (35 - i/2 in whole units): a narrow window around the predicted date.
			g.Expect(products.EarliestBreachDate).NotTo(BeNil())
			g.Expect(products.LatestBreachDate).NotTo(BeNil())
			g.Expect(*products.EarliestBreachDate <= *products.PredictedBreachDate).To(BeTrue())
			g.Expect(*products.LatestBreachDate >= *products.PredictedBreachDate).To(BeTrue())
			// users (flat at 80 %, no breach ahead) decides the summary, so no window.
			g.Expect(tu.Status.Summary.Metric).To(Equal("users"))
			g.Expect(tu.Status.Summary.Window).To(BeEmpty())
		}).Should(Succeed())

		By("two events (breach within 40 days, usage at 80 %), each refused twice, then delivered at 0 s, 5 s and 5 min")
		Eventually(recv.totalTries).Should(Equal(2))
		Eventually(func() string { return healthy().Reason }).Should(Equal(controllers.ReasonSinkFailing))
		Expect(healthy().Status).To(Equal(metav1.ConditionFalse))
		Expect(condition(getPolicy(ns).Status.Conditions, subv1.ConditionReady).Status).To(Equal(metav1.ConditionFalse))
		Eventually(func() int { return eventsFor(ns, "default", "NotificationSinkFailing") }).Should(Equal(1))
		Expect(sinkStatus().ConsecutiveFailures).To(BeNumerically(">=", 2))
		Expect(sinkStatus().LastError).To(ContainSubstring("HTTP 503"))

		stepWhenIdle(nc, 5*time.Second)
		Eventually(recv.totalTries).Should(Equal(4))
		stepWhenIdle(nc, 4*time.Minute)
		Consistently(recv.totalTries, "1s").Should(Equal(4), "the third attempt waits 5 minutes")
		stepWhenIdle(nc, time.Minute)
		Eventually(recv.totalTries).Should(Equal(6))

		tries, acked := recv.snapshot()
		Expect(acked).To(HaveLen(2))
		Consistently(func() map[string]int { _, a := recv.snapshot(); return a }, "2s").Should(Equal(map[string]int{
			slices.Sorted(maps.Keys(acked))[0]: 1, slices.Sorted(maps.Keys(acked))[1]: 1}))
		for evID, n := range tries {
			Expect(n).To(Equal(3), "event %s: every attempt carries the same webhook-id", evID)
			Expect(recv.fullOK[evID]).To(BeTrue(), "the first attempt passes the library's full Verify, timestamp included")
			Expect(recv.headers[evID].Get("Authorization")).To(Equal("Bearer crm-token"), "extra headers come from the Secret, trailing newline trimmed")
			Expect(recv.headers[evID].Get("Content-Type")).To(Equal(notify.ContentType))
		}
		Expect(recv.badSigs).To(BeZero())

		By("the payload is a CloudEvent with the forecast, the window and the upgrade offer")
		var breach, threshold map[string]any
		for evID := range acked {
			ev := recv.event(evID)
			Expect(ev["id"]).To(Equal(evID))
			Expect(ev["specversion"]).To(Equal("1.0"))
			switch ev["type"] {
			case string(notify.PredictedBreach):
				breach = ev
			case string(notify.UsageThreshold):
				threshold = ev
			}
		}
		Expect(breach).NotTo(BeNil())
		Expect(threshold).NotTo(BeNil())
		data := breach["data"].(map[string]any)
		Expect(data).To(HaveKeyWithValue("tenant_id", id))
		Expect(data).To(HaveKeyWithValue("metric", "products"))
		Expect(data).To(HaveKeyWithValue("days_until_breach", BeNumerically("==", 30)))
		Expect(data["predicted_breach_earliest"]).NotTo(BeNil())
		Expect(data["predicted_breach_latest"]).NotTo(BeNil())
		Expect(data["next_tier"]).To(And(HaveKeyWithValue("tier", "professional"), HaveKeyWithValue("monthly_price", BeNumerically("==", 149)),
			HaveKeyWithValue("message", "Upgrade to Professional for up to 500 products")))
		Expect(threshold["data"]).To(And(HaveKeyWithValue("metric", "users"), HaveKeyWithValue("threshold", BeNumerically("==", 80))))

		By("the sink recovers in status, condition, Events and metrics")
		Eventually(func() metav1.ConditionStatus { return healthy().Status }).Should(Equal(metav1.ConditionTrue))
		Eventually(func() int { return eventsFor(ns, "default", "NotificationSinkRecovered") }).Should(Equal(1))
		st := sinkStatus()
		Expect(st.ConsecutiveFailures).To(BeZero())
		Expect(st.LastDeliveryTime).NotTo(BeNil())
		Expect(st.LastError).To(BeEmpty())
		Expect(notifications("usage_threshold", "delivered")).To(Equal(1.0))
		Expect(notifications("predicted_breach", "delivered")).To(Equal(1.0))
		Expect(notifications("usage_threshold", "failed")).To(Equal(2.0))
		Expect(notifications("usage_threshold", "enqueued")).To(Equal(1.0))

		By("a tier with room recovers both conditions: one Recovered event each")
		recv.set(func(r *webhookReceiver) { r.failFirst = 0 })
		edit(getTenant(ns, id), func(tu *subv1.TenantUsage) { tu.Spec.Tier = "professional" })
		Eventually(func() int { _, a := recv.snapshot(); return len(a) }).Should(Equal(4))
		_, acked = recv.snapshot()
		types := []string{}
		for evID := range acked {
			types = append(types, recv.event(evID)["type"].(string))
		}
		Expect(types).To(ConsistOf(string(notify.PredictedBreach), string(notify.UsageThreshold), string(notify.Recovered), string(notify.Recovered)))
	})

	It("delivers after the manager is killed mid-delivery, with the same id, and sends nothing twice", func() {
		cfg := &controllers.NotificationsConfig{Clock: nc}
		a := startOperatorWith(operatorOptions{notify: cfg})
		recv.set(func(r *webhookReceiver) { r.hang = true })
		id := ns + "-k"
		seedGrowth(a, id)
		pol, signing, headers := notifyingPolicy(ns, recv, subv1.SinkEvent{Type: subv1.EventUsageThreshold, Percentages: []int32{80}})
		create(signing, headers, pol, tenant(ns, id, "starter"))

		By("the event is enqueued and its first attempt is in flight when the manager dies")
		Eventually(func() int { recv.mu.Lock(); defer recv.mu.Unlock(); return recv.hung }).Should(Equal(1))
		tries, _ := recv.snapshot()
		Expect(tries).To(HaveLen(1))
		var evID string
		for k := range tries {
			evID = k
		}
		a.stop()
		pending, err := a.components.Notifications.Outbox.Pending(ctx, sinkID())
		Expect(err).NotTo(HaveOccurred())
		Expect(pending).To(Equal(int64(1)), "nothing is lost: the claimed event stays in the outbox")

		By("a new manager re-evaluates the same forecast (no new event) and delivers the claimed one after its lease")
		recv.set(func(r *webhookReceiver) { r.hang = false })
		b := startOperatorWith(operatorOptions{notify: cfg})
		Consistently(recv.totalTries, "2s").Should(Equal(1), "the dead worker's claim is leased for timeout + 30 s")
		stepWhenIdle(nc, notify.DefaultTimeout+31*time.Second)
		Eventually(func() map[string]int { _, a := recv.snapshot(); return a }).Should(Equal(map[string]int{evID: 1}))
		// The re-run after restart evaluated the tenant again: same state, no new id.
		_, err = b.components.Forecasts.Reconcile(ctx, reconcileRequest(ns, id))
		Expect(err).NotTo(HaveOccurred())
		Consistently(func() map[string]int { _, a := recv.snapshot(); return a }, "2s").Should(Equal(map[string]int{evID: 1}))
		Expect(recv.event(evID)["data"]).To(HaveKeyWithValue("tenant_id", id))
	})

	It("with two managers under leader election, delivers every event exactly once", func() {
		lease := fmt.Sprintf("notify-%d", time.Now().UnixNano()%1000000)
		cfg := &controllers.NotificationsConfig{}
		first := startOperatorWith(operatorOptions{notify: cfg, leaderNamespace: ns, leaderID: lease})
		startOperatorWith(operatorOptions{notify: cfg, leaderNamespace: ns, leaderID: lease})
		const tenants = 5
		for i := range tenants {
			seedGrowth(first, fmt.Sprintf("%s-%d", ns, i))
		}
		pol, signing, headers := notifyingPolicy(ns, recv,
			subv1.SinkEvent{Type: subv1.EventUsageThreshold, Percentages: []int32{80}},
			subv1.SinkEvent{Type: subv1.EventPredictedBreach, WithinDays: ptr.To[int32](40)})
		create(signing, headers, pol)
		for i := range tenants {
			create(tenant(ns, fmt.Sprintf("%s-%d", ns, i), "starter"))
		}
		Eventually(func() int { _, a := recv.snapshot(); return len(a) }).WithTimeout(60 * time.Second).Should(Equal(2 * tenants))
		Consistently(func(g Gomega) {
			tries, acked := recv.snapshot()
			g.Expect(acked).To(HaveLen(2 * tenants))
			for evID, n := range acked {
				g.Expect(n).To(Equal(1), "event %s acknowledged %d times", evID, n)
				g.Expect(tries[evID]).To(Equal(1), "event %s attempted %d times", evID, tries[evID])
			}
		}, "3s").Should(Succeed())
	})

	It("reports a receiver down for longer than the retry window and keeps the event until its last attempt fails", func() {
		op := startOperatorWith(operatorOptions{notify: &controllers.NotificationsConfig{Clock: nc, FailingAfter: 3}})
		recv.set(func(r *webhookReceiver) { r.down = true })
		id := ns + "-d"
		seedGrowth(op, id)
		pol, signing, headers := notifyingPolicy(ns, recv, subv1.SinkEvent{Type: subv1.EventUsageThreshold, Percentages: []int32{80}})
		create(signing, headers, pol, tenant(ns, id, "starter"))
		outbox := op.components.Notifications.Outbox

		By("walking Svix's schedule: 0 s, 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h")
		Eventually(recv.totalTries).Should(Equal(1))
		for k, d := range notify.DefaultSchedule[1:] {
			Expect(outbox.Pending(ctx, sinkID())).To(Equal(int64(1)), "before attempt %d nothing is lost", k+2)
			stepWhenIdle(nc, d)
			Eventually(recv.totalTries).Should(Equal(k + 2))
			if k+2 == 3 {
				Eventually(func() string { return healthy().Reason }).Should(Equal(controllers.ReasonSinkFailing))
			}
		}

		By("after the eighth failure the event expires: counted, listed, reported")
		Eventually(func() (int64, error) { return outbox.Pending(ctx, sinkID()) }).Should(BeZero())
		expired, err := outbox.Expired(ctx, sinkID())
		Expect(err).NotTo(HaveOccurred())
		tries, _ := recv.snapshot()
		Expect(expired).To(ConsistOf(slices.Collect(maps.Keys(tries))))
		Eventually(func() int64 { return sinkStatus().Expired }).Should(Equal(int64(1)))
		Expect(sinkStatus().ConsecutiveFailures).To(Equal(int64(8)))
		Expect(healthy().Status).To(Equal(metav1.ConditionFalse))
		Expect(healthy().Message).To(ContainSubstring("sink crm: 8 attempts in a row failed"))
		Eventually(func() int { return eventsFor(ns, "default", "NotificationExpired") }).Should(Equal(1))
		Expect(eventsFor(ns, "default", "NotificationSinkFailing")).To(Equal(1))
		Expect(notifications("usage_threshold", "expired")).To(Equal(1.0))
		Expect(notifications("usage_threshold", "failed")).To(Equal(7.0))
		Consistently(recv.totalTries, "1s").Should(Equal(8))
	})

	It("reports a missing signing Secret and delivers what waited once it exists", func() {
		op := startOperatorWith(operatorOptions{notify: &controllers.NotificationsConfig{Clock: nc}})
		id := ns + "-s"
		seedGrowth(op, id)
		pol, signing, headers := notifyingPolicy(ns, recv, subv1.SinkEvent{Type: subv1.EventUsageThreshold, Percentages: []int32{80}})
		create(headers, pol, tenant(ns, id, "starter"))
		Eventually(func() string { return healthy().Reason }).Should(Equal(controllers.ReasonSinkInvalid))
		Expect(healthy().Message).To(ContainSubstring("secret crm-webhook not found in namespace " + ns))
		Expect(sinkStatus().LastError).To(ContainSubstring("crm-webhook"))
		Eventually(func() int { return eventsFor(ns, "default", "NotificationSinkInvalid") }).Should(Equal(1))
		Consistently(recv.totalTries, "1s").Should(BeZero())

		create(signing)
		// A Secret is read on the policy's reconcile (get only, no watch): an
		// annotation is the documented nudge.
		edit(getPolicy(ns), func(p *subv1.SubscriptionPolicy) { p.Annotations = map[string]string{"rotated": "1"} })
		Eventually(func() int { _, a := recv.snapshot(); return len(a) }).Should(Equal(1))
		Eventually(func() metav1.ConditionStatus { return healthy().Status }).Should(Equal(metav1.ConditionTrue))
	})

	DescribeTable("refuses hostile sink Secrets, naming the field and never the value",
		func(signing string, headers map[string]string, want string) {
			op := startOperatorWith(operatorOptions{notify: &controllers.NotificationsConfig{Clock: nc}})
			id := ns + "-h"
			seedGrowth(op, id)
			pol, sec, hdr := notifyingPolicy(ns, recv, subv1.SinkEvent{Type: subv1.EventLimitReached})
			if signing != "" {
				sec.Data["secret"] = []byte(signing)
			}
			hdr.Data = map[string][]byte{}
			for k, v := range headers {
				hdr.Data[k] = []byte(v)
			}
			create(sec, hdr, pol, tenant(ns, id, "starter"))
			Eventually(func() string { return healthy().Reason }).Should(Equal(controllers.ReasonSinkInvalid))
			msg := healthy().Message
			Expect(msg).To(ContainSubstring(want))
			Expect(msg).NotTo(ContainSubstring("s3cr3t-value"), "a Secret's value never reaches status")
			Expect(sinkStatus().LastError).NotTo(ContainSubstring("s3cr3t-value"))
		},
		Entry("a signing secret without the whsec_ prefix", "s3cr3t-value", nil, `does not start with "whsec_"`),
		Entry("a signing key that is too short", "whsec_"+base64.StdEncoding.EncodeToString([]byte("s3cr3t-value")), nil, "must be 24 to 64"),
		Entry("a header that would replace the signature", "", map[string]string{"webhook-signature": "v1,s3cr3t-value"}, `header "webhook-signature" is set by the operator`),
		Entry("a header that would replace the content type", "", map[string]string{"Content-Type": "text/s3cr3t-value"}, `header "Content-Type" is set by the operator`),
		Entry("a header value with a control byte", "", map[string]string{"X-Token": "s3cr3t-value\x00"}, `header "X-Token" has an invalid value`),
	)
})
