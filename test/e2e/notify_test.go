//go:build e2e

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

package e2e

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/clock"
	"sigs.k8s.io/controller-runtime/pkg/client"

	subv1 "github.com/bakery-ia/subscription-operator/api/v1alpha1"
	"github.com/bakery-ia/subscription-operator/internal/history"
	"github.com/bakery-ia/subscription-operator/internal/notify"
	"github.com/bakery-ia/subscription-operator/internal/redisurl"
	"github.com/bakery-ia/subscription-operator/internal/testenv"
	"github.com/bakery-ia/subscription-operator/test/scenario"
)

// The process-level half of issue 14's delivery tests: bin/manager is killed
// with SIGKILL while its first attempt is in flight, and a restarted
// bin/manager delivers the same event id. The receiver checks every request
// with the Standard Webhooks reference library, timestamp included (real
// clocks here).
var _ = Describe("webhook notifications across a manager crash", func() {
	It("delivers an event enqueued before SIGKILL after the restart, with the same id, once", func() {
		const nsN = "e2e-notify"
		c := kube.Client
		Expect(c.Create(context.Background(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: nsN}})).To(Succeed())

		key := make([]byte, 32)
		_, _ = rand.Read(key)
		secret := "whsec_" + base64.StdEncoding.EncodeToString(key)
		wh, err := standardwebhooks.NewWebhook(secret)
		Expect(err).NotTo(HaveOccurred())
		var (
			mu       sync.Mutex
			hang     = true
			inFlight = make(chan string, 1)
			tries    = map[string]int{}
			acked    = map[string]int{}
			badSigs  int
		)
		recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			body, _ := io.ReadAll(http.MaxBytesReader(w, r.Body, 1<<20))
			id := r.Header.Get("webhook-id")
			mu.Lock()
			tries[id]++
			if wh.Verify(body, r.Header) != nil {
				badSigs++
				mu.Unlock()
				w.WriteHeader(http.StatusUnauthorized)
				return
			}
			if hang {
				mu.Unlock()
				select {
				case inFlight <- id:
				default:
				}
				<-r.Context().Done() // until the killed manager's connection drops
				return
			}
			acked[id]++
			mu.Unlock()
			w.WriteHeader(http.StatusNoContent)
		}))
		DeferCleanup(recv.Close)

		By("one tenant at 80 % of its users limit, a policy with one sink")
		rc, err := redisurl.NewClient(rdb.URL)
		Expect(err).NotTo(HaveOccurred())
		DeferCleanup(rc.Close)
		store := history.New(rc)
		const tenantID = "e2e-notify-bakery"
		today := time.Now().UTC()
		for i := range 10 {
			Expect(store.Write(context.Background(), today.AddDate(0, 0, -i).Format(time.DateOnly), 60,
				[]history.Value{{TenantID: tenantID, Metric: "users", Value: 4}})).To(Succeed())
		}
		pol, err := scenario.SamplePolicy(testenv.RepoRoot())
		Expect(err).NotTo(HaveOccurred())
		pol.Namespace, pol.Spec.Gateway, pol.Spec.TenantDiscovery = nsN, nil, nil
		pol.Spec.Notifications = &subv1.NotificationsSpec{Sinks: []subv1.WebhookSink{{
			Name: "crm", URL: recv.URL + "/hooks", SigningSecretRef: subv1.SecretKeyReference{Name: "crm-webhook"},
			Events: []subv1.SinkEvent{{Type: subv1.EventUsageThreshold, Percentages: []int32{80}}},
		}}}
		Expect(c.Create(context.Background(), &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "crm-webhook", Namespace: nsN},
			Data: map[string][]byte{"key": []byte(secret)}})).To(Succeed())
		Expect(c.Create(context.Background(), pol)).To(Succeed())
		tu := &subv1.TenantUsage{ObjectMeta: metav1.ObjectMeta{Name: tenantID, Namespace: nsN},
			Spec: subv1.TenantUsageSpec{TenantID: tenantID, Tier: "starter", LimitOverrides: map[string]int64{"users": 5}}}
		Expect(c.Create(context.Background(), tu)).To(Succeed())
		DeferCleanup(func() {
			_ = c.Delete(context.Background(), tu)
			_ = c.Delete(context.Background(), pol)
		})

		By("starting bin/manager; killing it with SIGKILL while the first attempt is in flight")
		m := startManager("notify-1", leaderElectionNamespaceFlag())
		var id string
		Eventually(inFlight).WithTimeout(90 * time.Second).Should(Receive(&id))
		Expect(m.cmd.Process.Kill()).To(Succeed())
		<-m.done
		outbox := notify.NewOutbox(rc, clock.RealClock{})
		sink := nsN + "/default/crm"
		Expect(outbox.Pending(context.Background(), sink)).To(Equal(int64(1)), "the event survives the crash in the outbox")

		By("restarting bin/manager: the same id is delivered once the dead worker's lease ends")
		mu.Lock()
		hang = false
		mu.Unlock()
		startManager("notify-2", leaderElectionNamespaceFlag())
		Eventually(func() map[string]int {
			mu.Lock()
			defer mu.Unlock()
			return map[string]int{id: acked[id], "total": len(acked)}
		}).WithTimeout(3 * time.Minute).WithPolling(time.Second).Should(Equal(map[string]int{id: 1, "total": 1}))
		Consistently(func() int { mu.Lock(); defer mu.Unlock(); return len(acked) + badSigs }, "3s").Should(Equal(1))
		Eventually(func() (int64, error) { return outbox.Pending(context.Background(), sink) }).Should(BeZero())

		By("the policy reports the sink healthy again")
		Eventually(func(g Gomega) {
			got := &subv1.SubscriptionPolicy{}
			g.Expect(c.Get(context.Background(), client.ObjectKey{Namespace: nsN, Name: "default"}, got)).To(Succeed())
			g.Expect(got.Status.Notifications).NotTo(BeNil())
			g.Expect(got.Status.Notifications.Sinks[0].LastDeliveryTime).NotTo(BeNil())
			raw, _ := json.Marshal(got.Status.Conditions)
			g.Expect(string(raw)).To(ContainSubstring(`"type":"NotificationsHealthy","status":"True"`))
		}).WithTimeout(60 * time.Second).Should(Succeed())
	})
})
