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
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/config"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	fakeclock "k8s.io/utils/clock/testing"

	subv1 "github.com/bakery-ia/subscription-operator/api/v1alpha1"
	"github.com/bakery-ia/subscription-operator/controllers"
	"github.com/bakery-ia/subscription-operator/internal/history"
	opkube "github.com/bakery-ia/subscription-operator/internal/kube"
)

// operatorOptions are what the notification specs vary: notifications on,
// and leader election between several managers.
type operatorOptions struct {
	notify *controllers.NotificationsConfig
	// leaderNamespace and leaderID turn leader election on.
	leaderNamespace, leaderID string
}

// startOperatorWith is startOperator with options: the same controllers,
// Redis and Postgres, each manager with its own fake clock for the
// controllers (notifications have their own, in opts.notify).
func startOperatorWith(opts operatorOptions) *operator {
	GinkgoHelper()
	clk := fakeclock.NewFakeClock(time.Now())
	skip := true
	mo := ctrl.Options{
		Scheme:                 kube.Scheme,
		Cache:                  opkube.CacheOptions(),
		Metrics:                metricsserver.Options{BindAddress: "0"},
		HealthProbeBindAddress: "0",
		Controller:             config.Controller{SkipNameValidation: &skip},
	}
	if opts.leaderID != "" {
		mo.LeaderElection = true
		mo.LeaderElectionID = opts.leaderID
		mo.LeaderElectionNamespace = opts.leaderNamespace
		mo.LeaderElectionReleaseOnCancel = true
		mo.LeaseDuration, mo.RenewDeadline, mo.RetryPeriod = ptr.To(4*time.Second), ptr.To(3*time.Second), ptr.To(500*time.Millisecond)
	}
	mgr, err := ctrl.NewManager(kube.Config, mo)
	Expect(err).NotTo(HaveOccurred())
	ctx, cancel := context.WithCancel(context.Background())
	Expect(opkube.SetupIndexes(ctx, mgr.GetCache())).To(Succeed())
	comps, err := controllers.Setup(mgr, controllers.Config{Clock: clk, Redis: rdb, Postgres: pool, Notifications: opts.notify})
	Expect(err).NotTo(HaveOccurred())
	op := &operator{clock: clk, components: comps, cancel: cancel, done: make(chan struct{})}
	go func() {
		defer GinkgoRecover()
		defer close(op.done)
		Expect(mgr.Start(ctx)).To(Succeed())
	}()
	DeferCleanup(op.stop)
	return op
}

// webhookReceiver is a real HTTP endpoint on loopback. Every request is
// checked with the Standard Webhooks reference library for Go, an
// implementation independent of internal/notify.
type webhookReceiver struct {
	srv    *httptest.Server
	secret string
	wh     *standardwebhooks.Webhook

	mu sync.Mutex
	// failFirst answers 503 to the first failFirst requests of each event id;
	// down answers 503 to everything; hang holds requests until the client
	// goes away.
	failFirst int
	down      bool
	hang      bool
	tries     map[string]int    // event id -> requests
	acked     map[string]int    // event id -> 2xx answers
	fullOK    map[string]bool   // event id -> a request passed the full Verify (signature and timestamp)
	bodies    map[string][]byte // event id -> last body
	headers   map[string]http.Header
	badSigs   int
	hung      int
}

func newWebhookReceiver() *webhookReceiver {
	GinkgoHelper()
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	r := &webhookReceiver{
		secret: "whsec_" + base64.StdEncoding.EncodeToString(key),
		tries:  map[string]int{}, acked: map[string]int{}, fullOK: map[string]bool{},
		bodies: map[string][]byte{}, headers: map[string]http.Header{},
	}
	var err error
	r.wh, err = standardwebhooks.NewWebhook(r.secret)
	Expect(err).NotTo(HaveOccurred())
	r.srv = httptest.NewServer(http.HandlerFunc(r.serve))
	DeferCleanup(r.srv.Close)
	return r
}

func (r *webhookReceiver) serve(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(http.MaxBytesReader(w, req.Body, 1<<20))
	id := req.Header.Get("webhook-id")
	r.mu.Lock()
	r.tries[id]++
	// The notification clock of most specs is fake, so the timestamp may
	// be far from the wall clock: the signature is checked on every
	// request, the timestamp tolerance where the clock is still close.
	if err := r.wh.VerifyIgnoringTimestamp(body, req.Header); err != nil {
		r.badSigs++
		r.mu.Unlock()
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	if r.wh.Verify(body, req.Header) == nil {
		r.fullOK[id] = true
	}
	r.headers[id] = req.Header.Clone()
	if r.hang {
		r.hung++
		r.mu.Unlock()
		<-req.Context().Done()
		return
	}
	if r.down || r.tries[id] <= r.failFirst {
		r.mu.Unlock()
		w.WriteHeader(http.StatusServiceUnavailable)
		return
	}
	r.acked[id]++
	r.bodies[id] = body
	r.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
}

func (r *webhookReceiver) set(f func(r *webhookReceiver)) {
	r.mu.Lock()
	defer r.mu.Unlock()
	f(r)
}

func (r *webhookReceiver) snapshot() (tries, acked map[string]int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	tries, acked = map[string]int{}, map[string]int{}
	for k, v := range r.tries {
		tries[k] = v
	}
	for k, v := range r.acked {
		acked[k] = v
	}
	return tries, acked
}

// totalTries is the number of requests received.
func (r *webhookReceiver) totalTries() int {
	tries, _ := r.snapshot()
	n := 0
	for _, v := range tries {
		n += v
	}
	return n
}

// event decodes the last acknowledged body of id.
func (r *webhookReceiver) event(id string) map[string]any {
	GinkgoHelper()
	r.mu.Lock()
	body := r.bodies[id]
	r.mu.Unlock()
	var ev map[string]any
	Expect(json.Unmarshal(body, &ev)).To(Succeed())
	return ev
}

// notifyingPolicy is testPolicy with one sink at the receiver, and the
// Secrets it names.
func notifyingPolicy(ns string, r *webhookReceiver, events ...subv1.SinkEvent) (*subv1.SubscriptionPolicy, *corev1.Secret, *corev1.Secret) {
	p := testPolicy(ns, "UTC")
	p.Spec.Tiers[1].DisplayName = "Professional"
	p.Spec.Tiers[1].Price = &subv1.Price{Monthly: "149", Currency: "EUR"}
	p.Spec.Notifications = &subv1.NotificationsSpec{Sinks: []subv1.WebhookSink{{
		Name: "crm", URL: r.srv.URL + "/hooks",
		SigningSecretRef: subv1.SecretKeyReference{Name: "crm-webhook", Key: "secret"},
		HeadersSecretRef: &subv1.LocalSecretReference{Name: "crm-headers"},
		Events:           events,
	}}}
	signing := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: "crm-webhook", Namespace: ns},
		Data:       map[string][]byte{"secret": []byte(r.secret + "\n")},
	}
	headers := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: "crm-headers", Namespace: ns},
		Data:       map[string][]byte{"Authorization": []byte("Bearer crm-token\n")},
	}
	return p, signing, headers
}

// seedGrowth writes 30 days of history ending on the clock's date: products
// grows 0.5/day to 35 (70 % of the starter limit, 30 days left), users is
// flat at 4 (80 %).
func seedGrowth(op *operator, tenantID string) {
	GinkgoHelper()
	today := op.clock.Now().UTC()
	for i := 0; i < 30; i++ {
		Expect(store.Write(ctx, today.AddDate(0, 0, -i).Format(time.DateOnly), 60, []history.Value{
			{TenantID: tenantID, Metric: "products", Value: 35 - int64(i)/2},
			{TenantID: tenantID, Metric: "users", Value: 4},
		})).To(Succeed())
	}
}

// stepWhenIdle moves the notification clock by d once the worker waits on
// it: a step taken while a pass runs would be lost, because the worker
// arms its next poll timer from the already-moved clock.
func stepWhenIdle(c *fakeclock.FakeClock, d time.Duration) {
	GinkgoHelper()
	Eventually(c.HasWaiters).Should(BeTrue())
	c.Step(d)
}
