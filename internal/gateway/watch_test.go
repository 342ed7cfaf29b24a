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

package gateway_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	clocktesting "k8s.io/utils/clock/testing"
	"sigs.k8s.io/controller-runtime/pkg/client"

	subv1 "github.com/bakery-ia/subscription-operator/api/v1alpha1"
	"github.com/bakery-ia/subscription-operator/internal/gateway"
	"github.com/bakery-ia/subscription-operator/internal/policy/policytest"
	"github.com/bakery-ia/subscription-operator/internal/testenv"
)

// TestLiveUpdates runs the gateway against a real kube-apiserver: policy and
// TenantUsage edits are enforced without a restart, while clients keep
// calling and no request fails during the swaps. The delays are logged.
func TestLiveUpdates(t *testing.T) {
	kube, err := testenv.StartEnvtest()
	if err != nil {
		t.Fatalf("this test needs envtest (kube-apiserver, etcd): %v", err)
	}
	t.Cleanup(func() { _ = kube.Stop() })
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	c := kube.Client
	const ns = "bakery-ia"
	must(t, c.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}))
	must(t, c.Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "gateway-jwt", Namespace: ns},
		Data: map[string][]byte{"hs256-key": testKey}}))

	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "ok") }))
	defer upstream.Close()

	// Objects in another namespace must not leak in.
	must(t, c.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "other"}}))
	other := policytest.Policy()
	other.ObjectMeta = metav1.ObjectMeta{Name: "default", Namespace: "other"}
	other.Spec.Features[0].MinimumTier = "starter"
	must(t, c.Create(ctx, other))

	metrics := gateway.NewMetrics(prometheus.NewRegistry())
	gw := gateway.New(gateway.Options{
		Metrics: metrics,
		Logger:  slog.New(slog.NewTextHandler(io.Discard, nil)),
		Clock:   clocktesting.NewFakeClock(fixedNow),
		ReadSecret: func(ctx context.Context, name, key string) ([]byte, error) {
			var s corev1.Secret
			if err := c.Get(ctx, types.NamespacedName{Namespace: ns, Name: name}, &s); err != nil {
				return nil, err
			}
			return s.Data[key], nil
		},
	})
	defer gw.Stop()
	proxy := httptest.NewServer(gw.Handler())
	defer proxy.Close()
	w, err := gateway.NewWatcher(kube.Config, gw, ns, "default")
	must(t, err)
	var bursts atomic.Int32
	w.AfterBurst, w.BurstUpdates, w.BurstQuiet = func() { bursts.Add(1) }, 3, 300*time.Millisecond
	go func() {
		if err := w.Run(ctx); err != nil {
			t.Errorf("watcher: %v", err)
		}
	}()
	if gw.Ready() {
		t.Fatal("ready before the caches synced and without a policy")
	}
	if r := do(t, "GET", proxy.URL+ungated); r.status != 503 {
		t.Fatalf("before any policy: %d, want 503 (fail closed)", r.status)
	}

	pol := policytest.Policy()
	pol.ObjectMeta = metav1.ObjectMeta{Name: "default", Namespace: ns}
	pol.Spec.Gateway.Upstream = upstream.URL
	must(t, c.Create(ctx, pol))
	for _, tu := range policytest.Tenants() {
		tu.ObjectMeta = metav1.ObjectMeta{Name: tu.Name, Namespace: ns}
		must(t, c.Create(ctx, &tu))
	}
	waitFor(t, 30*time.Second, "ready", gw.Ready)

	call := func(tenant, path string) int {
		return do(t, "GET", proxy.URL+path, "Authorization", "Bearer "+tokenFor(t, tenant)).status
	}
	const proPath = "/api/v1/tenants/obrador-donostia/forecasting/analytics/a"
	waitFor(t, 10*time.Second, "all tenants loaded", func() bool { return call(enterprise, analytics) == 200 })
	if got := call(starter, analytics); got != 402 {
		t.Fatalf("starter: %d", got)
	}
	if got := call(professional, proPath); got != 200 {
		t.Fatalf("professional: %d", got)
	}

	// Background load: every answer must be 200 or 402 throughout.
	var failed, total atomic.Int64
	loadCtx, stopLoad := context.WithCancel(ctx)
	var wg sync.WaitGroup
	tok := tokenFor(t, professional)
	for i := 0; i < 2; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			hc := &http.Client{}
			for loadCtx.Err() == nil {
				req, _ := http.NewRequest("GET", proxy.URL+proPath, nil)
				req.Header.Set("Authorization", "Bearer "+tok)
				resp, err := hc.Do(req)
				total.Add(1)
				if err != nil {
					failed.Add(1)
					continue
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				_ = resp.Body.Close()
				if resp.StatusCode != 200 && resp.StatusCode != 402 {
					failed.Add(1)
				}
			}
		}()
	}

	// Move analytics between enterprise and professional, 20 times.
	var delays []time.Duration
	for i := 0; i < 20; i++ {
		tier, want := "enterprise", 402
		if i%2 == 1 {
			tier, want = "professional", 200
		}
		var cur subv1.SubscriptionPolicy
		must(t, c.Get(ctx, client.ObjectKey{Namespace: ns, Name: "default"}, &cur))
		cur.Spec.Features[0].MinimumTier = tier
		start := time.Now()
		must(t, c.Update(ctx, &cur))
		waitFor(t, 10*time.Second, "policy change enforced", func() bool { return call(professional, proPath) == want })
		delays = append(delays, time.Since(start))
	}
	stopLoad()
	wg.Wait()
	sort.Slice(delays, func(i, j int) bool { return delays[i] < delays[j] })
	t.Logf("policy change -> enforced: min %v, p50 %v, p99/max %v over %d edits; %d requests during the edits, %d failed",
		delays[0], delays[len(delays)/2], delays[len(delays)-1], len(delays), total.Load(), failed.Load())
	if failed.Load() > 0 {
		t.Fatalf("%d requests failed during the swaps", failed.Load())
	}

	// A tenant's tier change.
	var tu subv1.TenantUsage
	must(t, c.Get(ctx, client.ObjectKey{Namespace: ns, Name: "panaderia-san-pablo"}, &tu))
	tu.Spec.Tier = "professional"
	start := time.Now()
	must(t, c.Update(ctx, &tu))
	waitFor(t, 10*time.Second, "tier change enforced", func() bool { return call(starter, analytics) == 200 })
	t.Logf("tenant tier change -> enforced in %v", time.Since(start))

	// The cache keeps a compact record (CompactTenantUsage): a nine-metric
	// status, annotations and labels on the object change nothing in the
	// decision and swap no table, the tenant's own endpoint shows the new
	// forecast at once, and a later tier change is still seen.
	swaps := metricValue(metrics.Swaps)
	must(t, c.Get(ctx, client.ObjectKey{Namespace: ns, Name: "panaderia-san-pablo"}, &tu))
	full := fullTenant(tu.Spec.TenantID, tu.Spec.Tier)
	tu.Status = full.Status
	tu.Status.Metrics[0].Metric, tu.Status.Metrics[0].Current = "products", 4242
	must(t, c.Status().Update(ctx, &tu))
	waitFor(t, 10*time.Second, "the new forecast on the tenant's own endpoint", func() bool {
		r := do(t, "GET", proxy.URL+gateway.PathEntitlements, "Authorization", "Bearer "+tokenFor(t, starter))
		v := selfView(t, r)
		for _, m := range v.Metrics {
			if m.Metric == "products" {
				return m.Current == 4242 && m.PredictedBreachDate != nil && *m.PredictedBreachDate == "2027-01-15"
			}
		}
		return false
	})
	// The informer keeps the binding only; the forecast was read from the
	// API server, and asking again for the same version reads nothing.
	reads := metricValue(metrics.ForecastReads.WithLabelValues("read"))
	for range 3 {
		selfView(t, do(t, "GET", proxy.URL+gateway.PathEntitlements, "Authorization", "Bearer "+tokenFor(t, starter)))
	}
	if got := metricValue(metrics.ForecastReads.WithLabelValues("read")); got != reads {
		t.Errorf("three requests for an unchanged status made %v reads, want 0", got-reads)
	}
	if got := metricValue(metrics.ForecastReads.WithLabelValues("cached")); got < 3 {
		t.Errorf("gateway_forecast_reads_total{result=cached} = %v, want at least 3", got)
	}
	tu.Annotations, tu.Labels = map[string]string{"note": strings.Repeat("x", 4096)}, map[string]string{"team": "a"}
	must(t, c.Update(ctx, &tu))
	if got := call(starter, analytics); got != 200 {
		t.Fatalf("professional tenant with a full status: %d, want 200", got)
	}
	time.Sleep(300 * time.Millisecond) // the metadata-only update has been delivered
	if got := metricValue(metrics.Swaps); got != swaps {
		t.Errorf("a status write and a metadata edit swapped the rule table %v times, want 0", got-swaps)
	}
	tu.Spec.Tier = "starter"
	must(t, c.Update(ctx, &tu))
	waitFor(t, 10*time.Second, "tier change after the status write enforced", func() bool { return call(starter, analytics) == 402 })
	tu.Spec.Tier = "professional"
	must(t, c.Update(ctx, &tu))
	waitFor(t, 10*time.Second, "tier change back enforced", func() bool { return call(starter, analytics) == 200 })
	if got := metricValue(metrics.Generation); got < 21 {
		t.Errorf("gateway_rule_table_generation = %v", got)
	}

	// A burst of status writes (as a snapshot run makes) is followed, once
	// quiet, by one AfterBurst; fewer updates than BurstUpdates by none.
	time.Sleep(500 * time.Millisecond) // earlier updates' quiet period is over
	statusBurst := func(writes int) {
		t.Helper()
		for i := range writes {
			must(t, c.Get(ctx, client.ObjectKey{Namespace: ns, Name: "panaderia-san-pablo"}, &tu))
			tu.Status.Metrics[0].Current = int64(5000 + i)
			must(t, c.Status().Update(ctx, &tu))
		}
	}
	b0 := bursts.Load()
	statusBurst(4)
	waitFor(t, 5*time.Second, "AfterBurst after four status writes", func() bool { return bursts.Load() == b0+1 })
	statusBurst(2)
	time.Sleep(time.Second)
	if got := bursts.Load(); got != b0+1 {
		t.Errorf("AfterBurst ran %d times after a burst of 4 and one of 2 updates, want once", got-b0)
	}

	// Deleting the policy keeps the last good table.
	must(t, c.Delete(ctx, &subv1.SubscriptionPolicy{ObjectMeta: metav1.ObjectMeta{Name: "default", Namespace: ns}}))
	time.Sleep(500 * time.Millisecond)
	if got := call(starter, analytics); got != 200 {
		t.Fatalf("after the policy was deleted: %d, want the last table (200)", got)
	}
	if got := call("nueva", analytics); got != 402 {
		t.Fatalf("after the policy was deleted, unknown tenant: %d", got)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
