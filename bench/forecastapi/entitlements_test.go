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

package forecastapi

import (
	"context"
	"flag"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"runtime/debug"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-logr/logr"
	"github.com/redis/go-redis/v9"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	subv1 "github.com/bakery-ia/subscription-operator/api/v1alpha1"
	"github.com/bakery-ia/subscription-operator/bench/internal/loadgen"
	"github.com/bakery-ia/subscription-operator/internal/forecastapi"
	"github.com/bakery-ia/subscription-operator/internal/history"
	"github.com/bakery-ia/subscription-operator/internal/testenv"
	"github.com/bakery-ia/subscription-operator/internal/testenv/cputime"
)

var (
	entRate     = flag.Int("entitlements.rate", 5000, "entitlement requests per second")
	entDuration = flag.Duration("entitlements.duration", 30*time.Second, "length of each entitlement load run")
)

// BenchmarkEntitlementsLoad drives GET /api/v1/entitlements the way
// BenchmarkForecastAPILoad drives the forecast (same fixtures' size, same
// open-loop generator in its own process, TokenReview/SubjectAccessReview
// on): 10,000 tenants of a three-tier policy with two gated features and
// nine metrics, today's api_calls in Redis for each (the one round trip a
// request makes), 5,000 requests a second by default. The target is p99 ≤ 1 ms.
//
//	KUBEBUILDER_ASSETS=$(hack/setup-envtest.sh --print-dir) \
//	  go test ./bench/forecastapi -run '^$' -bench EntitlementsLoad -benchtime 1x -timeout 30m
//
// Scenarios: "uniform" (any tenant, one caller's token), "tokens" (100
// callers' tokens, each first used during the run) and "check" (POST
// /api/v1/entitlements/check of a gated feature for any tenant, one token).
// A second table gives the CPU each process spent per request (the server
// is this process) and the load average around each run.
func BenchmarkEntitlementsLoad(b *testing.B) {
	ctrl.SetLogger(logr.Discard())
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	kube, err := testenv.StartEnvtest()
	if err != nil {
		b.Fatal(err)
	}
	defer func() { _ = kube.Stop() }()
	rds, err := testenv.StartRedis()
	if err != nil {
		b.Fatal(err)
	}
	defer rds.Close()
	rdb := redis.NewClient(&redis.Options{Addr: rds.Addr, PoolSize: 64})
	defer func() { _ = rdb.Close() }()

	fastCfg := rest.CopyConfig(kube.Config)
	fastCfg.QPS = -1
	c, err := client.New(fastCfg, client.Options{Scheme: kube.Scheme})
	if err != nil {
		b.Fatal(err)
	}
	start := time.Now()
	if err := createEntitlementTenants(ctx, c, rdb, *loadTenants); err != nil {
		b.Fatal(err)
	}
	fmt.Fprintf(os.Stderr, "fixtures: %d TenantUsage objects and api_calls counters in %s\n", *loadTenants, time.Since(start).Round(time.Millisecond))
	tokens, err := callerTokens(ctx, kube.Config, 100)
	if err != nil {
		b.Fatal(err)
	}

	srv, addr, stop := startAPI(b, ctx, cancel, kube, history.New(rdb),
		forecastapi.WithCounters(forecastapi.RedisCounters{Client: rdb}))
	defer stop()
	base := "http://" + addr + forecastapi.PathEntitlements + "?tenant_id="
	httpc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 512, DisableCompression: true}, Timeout: 10 * time.Second}
	if err := waitReady(httpc, base+tenantID(0), tokens[0]); err != nil {
		b.Fatal(err)
	}

	handler := srv.Handler()
	fmt.Printf("\n| handler path (no network) | time/op | CPU/op | allocs/op | bytes/op |\n|---|---|---|---|---|\n")
	checkURL := "http://" + addr + forecastapi.PathEntitlementCheck
	for _, p := range []struct{ name, query, body string }{
		{"GET entitlements (all features and metrics; one Redis GET)", "", ""},
		{"GET entitlements ?feature=analytics (one Redis GET)", "&feature=analytics", ""},
		{"POST check products (no Redis)", "", `{"tenant_id":"` + tenantID(7) + `","metric":"products","amount":1}`},
		{"POST check analytics, denied with the offer (one Redis GET)", "", `{"tenant_id":"` + tenantID(6) + `","feature":"analytics"}`},
	} {
		serve := func() {
			req := httptest.NewRequest(http.MethodGet, base+tenantID(7)+p.query, nil)
			if p.body != "" {
				req = httptest.NewRequest(http.MethodPost, checkURL, strings.NewReader(p.body))
			}
			req.Header.Set("Authorization", "Bearer "+tokens[0])
			rec := httptest.NewRecorder()
			handler.ServeHTTP(rec, req)
			if rec.Code != http.StatusOK {
				b.Fatalf("handler answered %d: %s", rec.Code, rec.Body)
			}
		}
		serve()
		var m0, m1 runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&m0)
		t0, c0 := time.Now(), cputime.Process()
		const n = 5000
		for range n {
			serve()
		}
		d, cpu := time.Since(t0)/n, (cputime.Process()-c0)/n
		runtime.ReadMemStats(&m1)
		fmt.Printf("| %s | %.1f µs | %.1f µs | %d | %d |\n", p.name, float64(d)/1e3, float64(cpu)/1e3, (m1.Mallocs-m0.Mallocs)/n, (m1.TotalAlloc-m0.TotalAlloc)/n)
	}

	time.Sleep(*settle)
	runtime.GC()
	debug.FreeOSMemory()

	rng := rand.New(rand.NewPCG(3, 4))
	fmt.Printf("\n| scenario | rate | duration | requests | errors | p50 | p90 | p99 | p99.9 | max | p99 from actual send |\n|---|---|---|---|---|---|---|---|---|---|---|\n")
	var costs strings.Builder
	for _, sc := range []struct {
		name   string
		tokens []string
		check  bool // POST /check of a feature instead of GET
	}{{"uniform", tokens[:1], false}, {"tokens", tokens, false}, {"check", tokens[:1], true}} {
		b.Run(sc.name, func(b *testing.B) {
			for range b.N {
				n := int(float64(*entRate) * entDuration.Seconds())
				job := loadgen.Job{Rate: *entRate, URLs: make([]string, n), Tokens: sc.tokens, TokenOf: make([]int, n), Pacing: *pacing}
				if sc.check {
					job.Bodies = make([]string, n)
				}
				for i := range n {
					t := tenantID(rng.IntN(*loadTenants))
					job.URLs[i] = base + t
					if sc.check {
						// A third of the tenants are starters: analytics is
						// denied to them with the upgrade offer.
						job.URLs[i] = checkURL
						job.Bodies[i] = `{"tenant_id":"` + t + `","feature":"analytics"}`
					}
					job.TokenOf[i] = i % len(sc.tokens)
				}
				runAndReport(b, "entitlements", sc.name, job, *entDuration, &costs)
			}
		})
	}
	fmt.Print(costHeader + costs.String())
}

// createEntitlementTenants creates the benchmark namespace, a policy with
// three tiers, two gated features and the nine metrics, and n tenants (a
// third per tier) with a forecast in their status and today's api_calls.
func createEntitlementTenants(ctx context.Context, c client.Client, rdb *redis.Client, n int) error {
	if err := c.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: benchNS}}); err != nil {
		return err
	}
	pol := &subv1.SubscriptionPolicy{
		ObjectMeta: metav1.ObjectMeta{Namespace: benchNS, Name: "default"},
		Spec: subv1.SubscriptionPolicySpec{
			Tiers: []subv1.Tier{
				{Name: "starter", Price: &subv1.Price{Monthly: "49", Currency: "€"}, Limits: map[string]int64{}},
				{Name: "professional", Price: &subv1.Price{Monthly: "149", Currency: "€"}, Limits: map[string]int64{}},
				{Name: "enterprise"},
			},
			Features: []subv1.Feature{
				{Name: "analytics", MinimumTier: "professional", Messages: map[string]subv1.FeatureMessage{
					"en": {Title: "Unlock Advanced Analytics", Benefits: []subv1.Benefit{{Text: "90-day forecasts", Icon: "calendar"}}},
					"es": {Title: "Desbloquea la Analítica Avanzada"},
				}},
				{Name: "bulk-export", MinimumTier: "enterprise"},
			},
			Snapshot: subv1.SnapshotSpec{TimeZone: "Europe/Madrid"},
		},
	}
	for k, m := range benchMetrics {
		pol.Spec.Metrics = append(pol.Spec.Metrics, subv1.Metric{Name: m, RedisCounter: &subv1.RedisCounterSource{}})
		if k < 8 {
			pol.Spec.Tiers[0].Limits[m], pol.Spec.Tiers[1].Limits[m] = 100, 1000
		}
	}
	if err := c.Create(ctx, pol); err != nil {
		return fmt.Errorf("creating the policy: %w", err)
	}
	today := time.Now().In(mustLoad("Europe/Madrid")).Format(time.DateOnly)
	tiers := []string{"starter", "professional", "enterprise"}
	next := atomic.Int64{}
	var wg sync.WaitGroup
	errs := make(chan error, 32)
	for range 32 {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				tu := &subv1.TenantUsage{
					ObjectMeta: metav1.ObjectMeta{Namespace: benchNS, Name: tenantID(i)},
					Spec:       subv1.TenantUsageSpec{TenantID: tenantID(i), Tier: tiers[i%3]},
				}
				if err := c.Create(ctx, tu); err != nil {
					errs <- fmt.Errorf("creating %s: %w", tu.Name, err)
					return
				}
				tu.Status = benchStatus(i)
				if err := c.Status().Update(ctx, tu); err != nil {
					errs <- fmt.Errorf("status of %s: %w", tu.Name, err)
					return
				}
				if err := rdb.Set(ctx, "usage_daily:"+tenantID(i)+":api_calls:"+today, 10+i%90, 0).Err(); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	return <-errs
}

func mustLoad(zone string) *time.Location {
	l, err := time.LoadLocation(zone)
	if err != nil {
		panic(err)
	}
	return l
}
