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

// Package forecastapi is the load benchmark of the forecast API against real
// services (kube-apiserver and etcd from envtest, redis-server). It lives
// apart from package bench because one run takes minutes of fixture set-up.
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
	authnv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	subv1 "github.com/bakery-ia/subscription-operator/api/v1alpha1"
	"github.com/bakery-ia/subscription-operator/bench/internal/loadgen"
	"github.com/bakery-ia/subscription-operator/internal/forecastapi"
	"github.com/bakery-ia/subscription-operator/internal/history"
	"github.com/bakery-ia/subscription-operator/internal/testenv"
)

var (
	loadTenants  = flag.Int("forecastapi.tenants", 10000, "TenantUsage objects to create")
	loadDays     = flag.Int("forecastapi.days", 60, "days of history per tenant and metric")
	loadRate     = flag.Int("forecastapi.rate", 1000, "requests per second")
	loadDuration = flag.Duration("forecastapi.duration", 30*time.Second, "length of each load run")
	settle       = flag.Duration("forecastapi.settle", 30*time.Second, "pause between creating the fixtures and measuring")
	// time.Sleep is the default: on 2 shared cores the nanosleep pacer's own
	// thread costs the server more than its precision gains (2026-12-02, quiet
	// machine, uniform at 5,000/s: nanosleep 646 timeouts and p99 674 ms;
	// time.Sleep 0 errors and p99 100 ms). Use nanosleep where the generator
	// has a core of its own.
	pacing = flag.String("forecastapi.pacing", loadgen.PacingSleep, "how the generator waits for each send time: "+
		loadgen.PacingSleep+" (time.Sleep: about 1 ms granularity; the default) or "+loadgen.PacingNanosleep+" (a high-resolution sleep on a thread of its own)")
	cpuProfile = flag.String("forecastapi.cpuprofile", "", "write a CPU profile of the server process during each load run to this path prefix (<prefix>-<scenario>.pprof)")
	memProfile = flag.String("forecastapi.memprofile", "", "write an allocation profile of the server process after each load run to this path prefix (<prefix>-<scenario>.pprof)")
)

const benchNS = "bench"

var benchMetrics = []string{"products", "users", "locations", "recipes", "suppliers", "training_jobs", "forecasts", "api_calls", "storage_mb"}

// BenchmarkForecastAPILoad serves GET /api/v1/usage-forecast from a real
// manager (envtest kube-apiserver, informer cache with the tenant index) and
// a real Redis holding the history, with TokenReview/SubjectAccessReview auth
// on, and drives it over loopback with an open-loop load generator at a fixed
// rate for a fixed time. The generator is this test binary run again as a
// separate process (see TestMain), so that its goroutines and garbage share
// neither the Go scheduler nor the GC with the server it measures. Latency is
// measured from each request's scheduled send time to the end of its body, so
// a stalled server cannot hide behind a stalled generator (no coordinated
// omission). Every non-200 is an error.
//
//	KUBEBUILDER_ASSETS=$(hack/setup-envtest.sh --print-dir) \
//	  go test ./bench/forecastapi -run '^$' -bench ForecastAPILoad -benchtime 1x -timeout 30m
//
// Scenarios: "hot" picks among 100 tenants (response cache hits); "uniform"
// picks any of the tenants at random, starting from an empty response cache
// (about two thirds of the requests miss it and read Redis); "tokens" is
// "uniform" with 100 distinct callers' tokens (each token's first request,
// and its first after the 10 s auth cache TTL, makes a TokenReview and a
// SubjectAccessReview).
func BenchmarkForecastAPILoad(b *testing.B) {
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
	store := history.New(rdb)

	// Fixtures go through an unthrottled client (QPS < 0: no client-side limit).
	fastCfg := rest.CopyConfig(kube.Config)
	fastCfg.QPS = -1
	c, err := client.New(fastCfg, client.Options{Scheme: kube.Scheme})
	if err != nil {
		b.Fatal(err)
	}
	today := time.Now().UTC()
	start := time.Now()
	if err := createTenants(ctx, c, *loadTenants); err != nil {
		b.Fatal(err)
	}
	created := time.Since(start)
	start = time.Now()
	if err := writeHistory(ctx, store, *loadTenants, *loadDays, today); err != nil {
		b.Fatal(err)
	}
	written := time.Since(start)
	fmt.Fprintf(os.Stderr, "fixtures: %d TenantUsage objects (create + status update, 32 concurrent) in %s; "+
		"%d days x %d metrics of history in %s\n", *loadTenants, created.Round(time.Millisecond),
		*loadDays, len(benchMetrics), written.Round(time.Millisecond))

	tokens, err := callerTokens(ctx, kube.Config, 100)
	if err != nil {
		b.Fatal(err)
	}

	srv, addr, stop := startAPI(b, ctx, cancel, kube, store)
	defer stop()

	base := "http://" + addr + forecastapi.PathForecast + "?tenant_id="
	httpc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 512, DisableCompression: true}, Timeout: 10 * time.Second}
	if err := waitReady(httpc, base+tenantID(0), tokens[0]); err != nil {
		b.Fatal(err)
	}

	// CPU cost per request without the network: the handler alone, on a
	// response cache hit and on a miss (Redis read + JSON rendering).
	handler := srv.Handler()
	serve := func(tenant int) {
		req := httptest.NewRequest(http.MethodGet, base+tenantID(tenant), nil)
		req.Header.Set("Authorization", "Bearer "+tokens[0])
		rec := httptest.NewRecorder()
		handler.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			b.Fatalf("handler answered %d: %s", rec.Code, rec.Body)
		}
	}
	// (testing.Benchmark cannot run inside a benchmark: a fixed loop instead.)
	measure := func(n int, f func()) (perOp time.Duration, allocs, allocBytes uint64) {
		var m0, m1 runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&m0)
		start := time.Now()
		for range n {
			f()
		}
		perOp = time.Since(start) / time.Duration(n)
		runtime.ReadMemStats(&m1)
		return perOp, (m1.Mallocs - m0.Mallocs) / uint64(n), (m1.TotalAlloc - m0.TotalAlloc) / uint64(n)
	}
	fmt.Printf("\n| handler path (no network) | time/op | allocs/op | bytes/op |\n|---|---|---|---|\n")
	for _, p := range []struct {
		name string
		f    func()
	}{
		{"cache hit", func() { serve(0) }},
		{"cache miss (Redis read + render)", func() { srv.Invalidate(tenantID(1)); serve(1) }},
	} {
		p.f() // warm
		d, allocs, allocBytes := measure(2000, p.f)
		fmt.Printf("| %s | %.1f µs | %d | %d |\n", p.name, float64(d)/1e3, allocs, allocBytes)
	}

	// Let the API server and etcd finish digesting the fixtures (they share
	// the machine) and drop the fixtures' garbage before measuring.
	time.Sleep(*settle)
	runtime.GC()
	debug.FreeOSMemory()

	rng := rand.New(rand.NewPCG(1, 2))
	scenarios := []struct {
		name   string
		tenant func() int
		tokens []string
	}{
		{"hot", func() int { return rng.IntN(min(100, *loadTenants)) }, tokens[:1]},
		{"uniform", func() int { return rng.IntN(*loadTenants) }, tokens[:1]},
		{"tokens", func() int { return rng.IntN(*loadTenants) }, tokens},
	}
	fmt.Printf("\n| scenario | rate | duration | requests | errors | p50 | p90 | p99 | p99.9 | max | p99 from actual send |\n|---|---|---|---|---|---|---|---|---|---|---|\n")
	var costs strings.Builder
	for _, sc := range scenarios {
		b.Run(sc.name, func(b *testing.B) {
			for range b.N {
				srv.InvalidateAll() // every scenario starts with a cold response cache
				n := int(float64(*loadRate) * loadDuration.Seconds())
				job := loadgen.Job{Rate: *loadRate, URLs: make([]string, n), Tokens: sc.tokens, TokenOf: make([]int, n), Pacing: *pacing}
				for i := range n {
					job.URLs[i] = base + tenantID(sc.tenant())
					job.TokenOf[i] = i % len(sc.tokens)
				}
				runAndReport(b, "forecast", sc.name, job, *loadDuration, &costs)
			}
		})
	}
	fmt.Print(costHeader + costs.String())
}

// runAndReport runs one load job in its own process and reports it the same
// way for every benchmark: metrics, one row of the latency table, the CPU
// cost row, and a benchmark error when any request failed.
func runAndReport(b *testing.B, bench, scenario string, job loadgen.Job, duration time.Duration, costs *strings.Builder) {
	b.Helper()
	r, cost, err := measureRun(bench+"-"+scenario, func() (loadgen.Result, error) { return loadgen.Run(b.Context(), job) })
	if err != nil {
		b.Fatal(err)
	}
	costs.WriteString(cost.row(scenario, r))
	b.ReportMetric(ms(r.Pct(50)), "p50-ms")
	b.ReportMetric(ms(r.Pct(99)), "p99-ms")
	b.ReportMetric(ms(r.Pct(99.9)), "p99.9-ms")
	b.ReportMetric(float64(r.Errors), "errors")
	fmt.Printf("| %s | %d/s | %s | %d | %d | %.2f ms | %.2f ms | %.2f ms | %.2f ms | %.2f ms | %.2f ms |\n",
		scenario, job.Rate, duration, len(r.Latencies), r.Errors,
		ms(r.Pct(50)), ms(r.Pct(90)), ms(r.Pct(99)), ms(r.Pct(99.9)), ms(r.Pct(100)), ms(loadgen.Percentile(r.Service, 99)))
	if r.Errors > 0 {
		b.Errorf("%d errors, first: %s", r.Errors, r.FirstError)
	}
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func tenantID(i int) string { return fmt.Sprintf("bakery-%05d", i) }

// createTenants creates n TenantUsage objects with a nine-metric forecast in
// their status, 32 at a time.
func createTenants(ctx context.Context, c client.Client, n int) error {
	if err := c.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: benchNS}}); err != nil {
		return err
	}
	// The tenants' policy: the API reads its time zone for "today".
	policy := &subv1.SubscriptionPolicy{
		ObjectMeta: metav1.ObjectMeta{Namespace: benchNS, Name: "default"},
		Spec: subv1.SubscriptionPolicySpec{
			Tiers:    []subv1.Tier{{Name: "starter", Limits: map[string]int64{}}},
			Snapshot: subv1.SnapshotSpec{TimeZone: "Europe/Madrid"},
		},
	}
	for k, m := range benchMetrics {
		policy.Spec.Metrics = append(policy.Spec.Metrics, subv1.Metric{Name: m, RedisCounter: &subv1.RedisCounterSource{}})
		if k < 7 {
			policy.Spec.Tiers[0].Limits[m] = 100
		}
	}
	if err := c.Create(ctx, policy); err != nil {
		return fmt.Errorf("creating the policy: %w", err)
	}
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
					Spec:       subv1.TenantUsageSpec{TenantID: tenantID(i), Tier: "starter"},
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
			}
		})
	}
	wg.Wait()
	close(errs)
	return <-errs
}

func benchStatus(i int) subv1.TenantUsageStatus {
	st := subv1.TenantUsageStatus{Tier: "starter", ForecastedAt: &metav1.Time{Time: time.Now().Truncate(time.Second)}}
	for k, m := range benchMetrics {
		f := subv1.MetricForecast{Metric: m, Label: strings.ToUpper(m[:1]) + m[1:], Current: int64(10 + i%40 + k), Status: subv1.UsageSafe}
		if k < 7 {
			f.Limit = ptr.To[int64](100)
			f.DailyGrowthRate = ptr.To("0.5")
			f.PredictedBreachDate = ptr.To("2030-01-01")
			f.DaysUntilBreach = ptr.To[int32](100)
			f.UsagePercentage = ptr.To(fmt.Sprintf("%.1f", float64(f.Current)))
		} else {
			f.Status = subv1.UsageUnlimited
		}
		st.Metrics = append(st.Metrics, f)
	}
	return st
}

// writeHistory stores days of history for every tenant and metric, through
// the history store (pipelined), 4 dates at a time.
func writeHistory(ctx context.Context, store *history.Store, tenants, days int, today time.Time) error {
	dates := make(chan int)
	errs := make(chan error, 4)
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for d := range dates {
				date := today.AddDate(0, 0, -d).Format(time.DateOnly)
				vals := make([]history.Value, 0, tenants*len(benchMetrics))
				for i := range tenants {
					for k, m := range benchMetrics {
						vals = append(vals, history.Value{TenantID: tenantID(i), Metric: m, Value: int64(1000 + i%97 + k - d)})
					}
				}
				if err := store.Write(ctx, date, 60, vals); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	for d := range days {
		dates <- d
	}
	close(dates)
	wg.Wait()
	close(errs)
	return <-errs
}

// callerTokens returns n tokens of a service account that may get
// tenantusages in the benchmark namespace.
func callerTokens(ctx context.Context, cfg *rest.Config, n int) ([]string, error) {
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	if _, err := cs.CoreV1().ServiceAccounts(benchNS).Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "frontend"}}, metav1.CreateOptions{}); err != nil {
		return nil, err
	}
	if _, err := cs.RbacV1().Roles(benchNS).Create(ctx, &rbacv1.Role{
		ObjectMeta: metav1.ObjectMeta{Name: "forecast-reader"},
		Rules:      []rbacv1.PolicyRule{{APIGroups: []string{subv1.GroupVersion.Group}, Resources: []string{"tenantusages"}, Verbs: []string{"get"}}},
	}, metav1.CreateOptions{}); err != nil {
		return nil, err
	}
	if _, err := cs.RbacV1().RoleBindings(benchNS).Create(ctx, &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "frontend-reads-forecasts"},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: "forecast-reader"},
		Subjects:   []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Namespace: benchNS, Name: "frontend"}},
	}, metav1.CreateOptions{}); err != nil {
		return nil, err
	}
	tokens := make([]string, n)
	for i := range n {
		tr, err := cs.CoreV1().ServiceAccounts(benchNS).CreateToken(ctx, "frontend", &authnv1.TokenRequest{
			Spec: authnv1.TokenRequestSpec{ExpirationSeconds: ptr.To[int64](3600)},
		}, metav1.CreateOptions{})
		if err != nil {
			return nil, err
		}
		tokens[i] = tr.Status.Token
	}
	return tokens, nil
}

// waitReady polls until the API answers 200 (cache synced, RBAC in force).
func waitReady(c *http.Client, url, token string) error {
	deadline := time.Now().Add(2 * time.Minute)
	for {
		code, err := loadgen.Do(c, url, token, "")
		if err == nil && code == http.StatusOK {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("API not ready: status %d: %w", code, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// TestMain runs the benchmarks, or is the load generator process.
func TestMain(m *testing.M) {
	loadgen.Main()
	os.Exit(m.Run())
}
