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

package scale

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"text/tabwriter"
	"time"

	"github.com/go-logr/logr"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	toolscache "k8s.io/client-go/tools/cache"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"

	subv1 "github.com/bakery-ia/subscription-operator/api/v1alpha1"
	"github.com/bakery-ia/subscription-operator/bench/internal/loadgen"
	"github.com/bakery-ia/subscription-operator/internal/forecastapi"
	"github.com/bakery-ia/subscription-operator/internal/redisurl"
	"github.com/bakery-ia/subscription-operator/internal/testenv"
)

// freshness watches every TenantUsage from the benchmark's own informer,
// which keeps only the status date and a digest of the status.
type freshness struct {
	mu       sync.Mutex
	today    string
	fresh    map[string]bool
	changed  int // status digests that changed since reset
	lastSeen time.Time
	allAt    time.Time
	n        int
}

const digestAnnotation = "bench/status-digest"

func slimForWatch(in any) (any, error) {
	tu, ok := in.(*subv1.TenantUsage)
	if !ok {
		return in, nil
	}
	data, _ := json.Marshal(tu.Status)
	sum := sha256.Sum256(data)
	return &subv1.TenantUsage{
		ObjectMeta: metav1.ObjectMeta{Name: tu.Name, Namespace: tu.Namespace, ResourceVersion: tu.ResourceVersion,
			Annotations: map[string]string{digestAnnotation: fmt.Sprintf("%x", sum[:8])}},
		Status: subv1.TenantUsageStatus{LastSnapshotDate: tu.Status.LastSnapshotDate},
	}, nil
}

func (f *freshness) reset(today string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.today, f.fresh, f.changed, f.allAt, f.lastSeen = today, map[string]bool{}, 0, time.Time{}, time.Time{}
}

func (f *freshness) update(oldObj, newObj any) {
	o, _ := oldObj.(*subv1.TenantUsage)
	n, _ := newObj.(*subv1.TenantUsage)
	if o == nil || n == nil {
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fresh == nil {
		return
	}
	f.lastSeen = time.Now()
	if o.Annotations[digestAnnotation] != n.Annotations[digestAnnotation] {
		f.changed++
	}
	if n.Status.LastSnapshotDate == f.today && !f.fresh[n.Name] {
		f.fresh[n.Name] = true
		if len(f.fresh) == f.n {
			f.allAt = time.Now()
		}
	}
}

func (f *freshness) state() (fresh, changed int, allAt, lastSeen time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.fresh), f.changed, f.allAt, f.lastSeen
}

func envInt(b *testing.B, name string, def int) int {
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		b.Fatalf("%s=%q: want a positive number", name, v)
	}
	return n
}

// BenchmarkScale is one whole day at scale; run it with -benchtime 1x.
func BenchmarkScale(b *testing.B) {
	ctrllog.SetLogger(logr.Discard())
	n := envInt(b, "N", 10000)
	cluster := os.Getenv("REDIS_CLUSTER") != ""
	ctx := context.Background()
	began := time.Now()
	dir := b.TempDir()
	managerBin := binary(b, "MANAGER_BIN", "manager", dir)
	gatewayBin := binary(b, "GATEWAY_BIN", "gateway", dir)

	kube, err := testenv.StartEnvtest()
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = kube.Stop() })
	var redisURL string
	if cluster {
		rc, err := testenv.StartRedisCluster(3)
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(rc.Close)
		redisURL = rc.URL
	} else {
		r, err := testenv.StartRedis()
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(r.Close)
		redisURL = r.URL
	}
	rdb, err := redisurl.NewClient(redisURL)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = rdb.Close() })

	zone, err := time.LoadLocation(benchPolicy().Spec.Snapshot.TimeZone)
	if err != nil {
		b.Fatal(err)
	}
	now := time.Now().In(zone)
	if now.Hour() == 23 && now.Minute() >= 50 {
		b.Fatal("the run would straddle midnight in the policy's zone; start again after 00:00")
	}
	today := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, zone)
	todayS, yesterdayS := today.Format(time.DateOnly), today.AddDate(0, 0, -1).Format(time.DateOnly)
	// The fixture is written as fast as the API server takes it (the
	// harness client's default 20 QPS would take minutes per 10,000).
	fast := rest.CopyConfig(kube.Config)
	fast.QPS, fast.Burst = -1, 1000
	fc, err := client.New(fast, client.Options{Scheme: kube.Scheme})
	if err != nil {
		b.Fatal(err)
	}
	if err := createObjects(ctx, fc, n, yesterdayS, now.Add(-12*time.Hour)); err != nil {
		b.Fatal(err)
	}
	progress("%d TenantUsage objects with statuses created in %v", n, time.Since(began).Round(time.Second))
	if err := seedRedis(ctx, rdb, n, today); err != nil {
		b.Fatal(err)
	}
	progress("Redis history and counters seeded; fixture ready after %v", time.Since(began).Round(time.Second))

	cs, err := kubernetes.NewForConfig(kube.Config)
	if err != nil {
		b.Fatal(err)
	}
	token, err := callerToken(ctx, cs)
	if err != nil {
		b.Fatal(err)
	}
	// PROFILE_DIR: CPU profiles of the API server and the manager while the
	// statuses are written, and the manager's heap after the run.
	profDir := os.Getenv("PROFILE_DIR")
	apiMetrics := func() map[string]*dto {
		raw, err := cs.Discovery().RESTClient().Get().AbsPath("/metrics").DoRaw(ctx)
		if err != nil {
			b.Fatalf("API server metrics: %v", err)
		}
		fams, err := promText(strings.NewReader(string(raw)))
		if err != nil {
			b.Fatal(err)
		}
		return fams
	}

	// The benchmark's own watch of every status.
	watch := &freshness{n: n}
	wc, err := cache.New(kube.Config, cache.Options{Scheme: testenv.Scheme(),
		DefaultNamespaces: map[string]cache.Config{ns: {}},
		ByObject:          map[client.Object]cache.ByObject{&subv1.TenantUsage{}: {Transform: slimForWatch}}})
	if err != nil {
		b.Fatal(err)
	}
	inf, err := wc.GetInformer(ctx, &subv1.TenantUsage{})
	if err != nil {
		b.Fatal(err)
	}
	if _, err := inf.AddEventHandler(toolscache.ResourceEventHandlerFuncs{UpdateFunc: watch.update}); err != nil {
		b.Fatal(err)
	}
	wctx, stopWatch := context.WithCancel(ctx)
	b.Cleanup(stopWatch)
	go func() { _ = wc.Start(wctx) }()
	if !wc.WaitForCacheSync(ctx) {
		b.Fatal("benchmark informer did not sync")
	}

	// The gateway: RSS once its table holds every tenant.
	port := func() string {
		p, err := testenv.FreePort()
		if err != nil {
			b.Fatal(err)
		}
		return "127.0.0.1:" + strconv.Itoa(p)
	}
	gwOps := port()
	gwArgs := []string{"--namespace=" + ns, "--policy=default",
		"--listen=" + port(), "--forward-auth-listen=", "--metrics-listen=" + gwOps, "--redis-url=" + redisURL,
		"--upstream=http://127.0.0.1:1", "--log-level=info"}
	if profDir != "" {
		gwArgs = append(gwArgs, "--pprof")
	}
	gw := start(b, "gateway", gatewayBin, kube.Kubeconfig, strings.Fields(os.Getenv("GATEWAY_ENV")), gwArgs...)
	gwStart := time.Now()
	waitFor(b, gw, 5*time.Minute, 200*time.Millisecond, "gateway ready with every tenant", func() bool {
		return httpOK("http://"+gwOps+"/readyz") && strings.Contains(gw.out.String(), fmt.Sprintf(`"tenants":%d`, n))
	})
	gwSync := time.Since(gwStart)
	progress("gateway synced every tenant in %v, RSS %.1f MB", gwSync.Round(100*time.Millisecond), gw.rssMB(b))
	time.Sleep(3 * time.Second)
	gwRSSIdle := gw.rssMB(b)

	// The manager: its first pass over every tenant after start.
	mgrMetrics, mgrProbe, mgrAPI, mgrPprof := port(), port(), port(), port()
	mgrArgs := []string{"--metrics-bind-address=" + mgrMetrics,
		"--health-probe-bind-address=" + mgrProbe, "--forecast-api-bind-address=" + mgrAPI,
		"--redis-url=" + redisURL, "--leader-elect=false", "--gateway-image=bench/gateway:dev"}
	if profDir != "" {
		mgrArgs = append(mgrArgs, "--pprof-bind-address="+mgrPprof)
	}
	mgrArgs = append(mgrArgs, strings.Fields(os.Getenv("MANAGER_ARGS"))...)
	// MANAGER_ENV/GATEWAY_ENV (KEY=VALUE ...): e.g. GOMEMLIMIT, the soft
	// memory limit a pod with a given memory limit would set.
	mgr := start(b, "manager", managerBin, kube.Kubeconfig, strings.Fields(os.Getenv("MANAGER_ENV")), mgrArgs...)
	watch.reset(todayS)
	before, cpuBefore := apiMetrics(), cpuTimes()
	mgrStart := time.Now()
	waitFor(b, mgr, 2*time.Minute, 200*time.Millisecond, "manager ready", func() bool { return httpOK("http://" + mgrProbe + "/readyz") })
	settled := func(p *process, minReconciles int) time.Time {
		return waitSettled(b, p, ctx, "http://"+mgrMetrics+"/metrics", watch, minReconciles)
	}
	firstPass := settled(mgr, n).Sub(mgrStart)
	progress("manager first pass settled after %v", firstPass.Round(100*time.Millisecond))
	afterStart, cpuAfterStart := apiMetrics(), cpuTimes()
	mgrRSSIdle := mgr.rssMB(b)

	// The run: the schedule is set once, to a minute far enough ahead that
	// the reconciles the change itself causes (every tenant of the policy,
	// nothing to write) have settled before it. It is not set back: the run
	// will not come again for a day. (Setting it back right after the run
	// re-queued every tenant in the middle of the run's own pass: a second
	// reconcile each, which the figures counted.)
	watch.reset(todayS)
	var pol subv1.SubscriptionPolicy
	if err := kube.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: "default"}, &pol); err != nil {
		b.Fatal(err)
	}
	setSchedule := func(s string) {
		patch := client.RawPatch("application/merge-patch+json", []byte(`{"spec":{"snapshot":{"schedule":"`+s+`"}}}`))
		if err := kube.Client.Patch(ctx, &pol, patch); err != nil {
			b.Fatal(err)
		}
	}
	runAt := time.Now().In(zone).Add(time.Duration(envInt(b, "RUN_LEAD_SECONDS", 40)) * time.Second).Truncate(time.Minute).Add(time.Minute)
	setSchedule(fmt.Sprintf("%d %d * * *", runAt.Minute(), runAt.Hour()))
	progress("run scheduled for %s", runAt.Format(time.TimeOnly))
	settled(mgr, 0)
	if time.Now().After(runAt) {
		b.Logf("the schedule change's reconciles settled after the run began (%v): raise RUN_LEAD_SECONDS", runAt.Format(time.TimeOnly))
	}
	beforeRun, cpuBeforeRun := apiMetrics(), cpuTimes()
	mgr.resetPeak(b) // from here the peaks are the run's
	gw.resetPeak(b)
	var run *subv1.SnapshotRun
	waitFor(b, mgr, time.Until(runAt)+3*time.Minute, 100*time.Millisecond, "the snapshot run", func() bool {
		if err := kube.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: "default"}, &pol); err != nil {
			return false
		}
		if r := pol.Status.LastSnapshot; r != nil && r.Date == todayS {
			run = r
			return true
		}
		return false
	})
	runStart := run.Time.Add(-time.Duration(run.DurationMillis) * time.Millisecond)
	progress("snapshot run took %v", time.Duration(run.DurationMillis)*time.Millisecond)
	var profiles sync.WaitGroup
	if profDir != "" {
		secs := strconv.Itoa(envInt(b, "PROFILE_SECONDS", 15))
		profiles.Go(func() {
			err := saveProfile(profDir, "apiserver.cpu.pprof", func() ([]byte, error) {
				return cs.Discovery().RESTClient().Get().AbsPath("/debug/pprof/profile").Param("seconds", secs).DoRaw(ctx)
			})
			if err != nil {
				b.Error(err)
			}
		})
		profiles.Go(func() {
			err := saveProfile(profDir, "manager.cpu.pprof", func() ([]byte, error) {
				return httpBytes(ctx, "http://"+mgrPprof+"/debug/pprof/profile?seconds="+secs)
			})
			if err != nil {
				b.Error(err)
			}
		})
	}
	waitFor(b, mgr, 30*time.Minute, 200*time.Millisecond, "every status fresh", func() bool {
		fresh, _, _, _ := watch.state()
		return fresh == n
	})
	_, _, allAt, _ := watch.state()
	progress("every status fresh %v after the run began", allAt.Sub(runStart).Round(100*time.Millisecond))
	settled(mgr, 0)
	_, changed, _, _ := watch.state()
	afterRun, cpuAfterRun := apiMetrics(), cpuTimes()
	mgrRSS, mgrPeak := mgr.rssMB(b), mgr.peakMB(b)
	mgrFams, err := scrape(ctx, "http://"+mgrMetrics+"/metrics")
	if err != nil {
		b.Fatal(err)
	}
	mgrHeap, mgrIdle := heapMB(mgrFams)
	prefetch := byLabel(mgrFams, "subscription_history_prefetch_total", "result", nil)
	// The runtime returns idle heap to the kernel in the background: the
	// same reading a while later is what the pod settles at.
	time.Sleep(time.Duration(envInt(b, "SETTLE_SECONDS", 30)) * time.Second)
	mgrRSSLater := mgr.rssMB(b)
	profiles.Wait()
	if profDir != "" {
		if err := saveProfile(profDir, "manager.heap.pprof", func() ([]byte, error) {
			return httpBytes(ctx, "http://"+mgrPprof+"/debug/pprof/heap?gc=1")
		}); err != nil {
			b.Error(err)
		}
		b.Logf("profiles in %s", profDir)
	}

	// The forecast API under a fixed rate, after the run, every tenant's
	// status fresh, authenticated like any in-cluster caller.
	rate := envInt(b, "FORECAST_RATE", 1000)
	loadFor := time.Duration(envInt(b, "FORECAST_SECONDS", 10)) * time.Second
	apiURL := func(i int) string {
		return "http://" + mgrAPI + forecastapi.PathForecast + "?tenant_id=" + tenantID(i)
	}
	if code, err := loadgen.Do(http.DefaultClient, apiURL(0), token, ""); err != nil || code != http.StatusOK {
		b.Fatalf("forecast API: status %d, %v\n%s", code, err, mgr.tail())
	}
	// PROFILE_DIR: the manager's CPU while it serves the load (the p99's tail
	// is the collector, Redis round trips or the auth cache).
	var loadProfile sync.WaitGroup
	if profDir != "" {
		secs := strconv.Itoa(int(loadFor / time.Second))
		loadProfile.Go(func() {
			if err := saveProfile(profDir, "manager.load.cpu.pprof", func() ([]byte, error) {
				return httpBytes(ctx, "http://"+mgrPprof+"/debug/pprof/profile?seconds="+secs)
			}); err != nil {
				b.Error(err)
			}
		})
	}
	cpuBeforeLoad := cpuTimes()
	load, err := forecastLoad(ctx, apiURL, token, n, rate, loadFor)
	cpuAfterLoad := cpuTimes()
	loadProfile.Wait()
	if err != nil {
		b.Fatal(err)
	}
	// Timeouts are a figure of an overloaded machine (reported below); an
	// answer other than 200 means the API or the caller is broken.
	if load.Refused > 0 {
		b.Errorf("forecast API: %d answers other than 200 under load, first: %s", load.Refused, load.FirstError)
	} else if load.Errors > 0 {
		b.Logf("forecast API: %d requests timed out or failed under load, first: %s", load.Errors, load.FirstError)
	}
	mgrRSSLoad := mgr.rssMB(b)
	time.Sleep(3 * time.Second)
	gwRSS, gwPeak := gw.rssMB(b), gw.peakMB(b)
	gwFams, err := scrape(ctx, "http://"+gwOps+"/metrics")
	if err != nil {
		b.Fatal(err)
	}
	gwHeap, gwIdle := heapMB(gwFams)
	if profDir != "" {
		if err := saveProfile(profDir, "gateway.heap.pprof", func() ([]byte, error) {
			return httpBytes(ctx, "http://"+gwOps+"/debug/pprof/heap")
		}); err != nil {
			b.Error(err)
		}
	}
	histB, err := historyBytes(ctx, rdb, n)
	if err != nil {
		b.Fatal(err)
	}

	redisKind := "redis-server"
	if cluster {
		redisKind = "Redis Cluster (3 masters)"
	}
	tw := tabwriter.NewWriter(os.Stdout, 2, 4, 2, ' ', 0)
	p := func(format string, a ...any) { _, _ = fmt.Fprintf(tw, format+"\n", a...) }
	p("scale benchmark\t%d tenants x %d metrics, %s, envtest\t", n, len(metrics), redisKind)
	p("gateway: caches synced, table holds every tenant\t%v\t", gwSync.Round(100*time.Millisecond))
	p("gateway RSS before the run\t%.1f MB\t", gwRSSIdle)
	p("gateway RSS after the run (Go heap in use, idle heap kept)\t%.1f MB (%.1f MB, %.1f MB)\t", gwRSS, gwHeap, gwIdle)
	p("gateway peak RSS from the run to the end\t%.1f MB\t", gwPeak)
	p("manager: start -> first pass settled\t%v\t", firstPass.Round(100*time.Millisecond))
	p("manager: status writes of the first pass\t%.0f\t", statusWrites(afterStart)-statusWrites(before))
	p("manager RSS before the run\t%.1f MB\t", mgrRSSIdle)
	p("snapshot run (%d tenants, %d succeeded)\t%v\t", run.Tenants, run.Succeeded, time.Duration(run.DurationMillis)*time.Millisecond)
	p("run start -> every TenantUsage status fresh\t%v\t", allAt.Sub(runStart).Round(100*time.Millisecond))
	p("status writes per run\t%.0f\t", statusWrites(afterRun)-statusWrites(beforeRun))
	p("tenants whose status changed\t%d\t", changed)
	p("manager RSS after the run (Go heap in use, idle heap kept)\t%.1f MB (%.1f MB, %.1f MB)\t", mgrRSS, mgrHeap, mgrIdle)
	p("manager peak RSS, run start -> settled\t%.1f MB\t", mgrPeak)
	p("manager RSS %ds later\t%.1f MB\t", envInt(b, "SETTLE_SECONDS", 30), mgrRSSLater)
	p("history read ahead after the run: hit / miss / failed batches\t%.0f / %.0f / %.0f\t", prefetch["hit"], prefetch["miss"], prefetch["failed"])
	p("forecast API, %d req/s for %v, uniform over %d tenants, with token\tp50 %.2f ms, p99 %.2f ms, p99.9 %.2f ms, max %.2f ms, %d errors\t",
		rate, loadFor, n, ms(load.Pct(50)), ms(load.Pct(99)), ms(load.Pct(99.9)), ms(load.Pct(100)), load.Errors)
	p("forecast API p99 from the actual send; the generator's send lateness p50 / p99\t%.2f ms; %.2f / %.2f ms\t",
		ms(loadgen.Percentile(load.Service, 99)), ms(loadgen.Percentile(load.Late, 50)), ms(loadgen.Percentile(load.Late, 99)))
	p("manager RSS after the load\t%.1f MB\t", mgrRSSLoad)
	p("Redis history per tenant-metric (MEMORY USAGE)\t%.0f B\t", histB)
	for _, phase := range []struct {
		name     string
		from, to map[string]*dto
	}{{"first pass", before, afterStart}, {"run", beforeRun, afterRun}} {
		p("API server requests, %s, by verb (all resources)\t%s\t", phase.name, verbs(phase.from, phase.to))
	}
	p("CPU by process, first pass\t%s\t", cpuDelta(cpuBefore, cpuAfterStart))
	p("CPU by process, run start -> settled\t%s\t", cpuDelta(cpuBeforeRun, cpuAfterRun))
	p("CPU by process, forecast API load\t%s, load generator %.1f s\t", cpuDelta(cpuBeforeLoad, cpuAfterLoad), load.CPU.Seconds())
	_ = tw.Flush()
	b.ReportMetric(float64(run.DurationMillis)/1000, "run-s")
	b.ReportMetric(allAt.Sub(runStart).Seconds(), "fresh-s")
	b.ReportMetric(gwRSS, "gateway-MB")
	b.ReportMetric(mgrRSS, "manager-MB")
	b.ReportMetric(ms(load.Pct(99)), "forecast-p99-ms")
	b.ReportMetric(histB, "history-B/key")
}

// progress prints a step at once (b.Logf shows only at the end): a long run
// that fails still says how far it got.
func progress(format string, a ...any) {
	fmt.Fprintf(os.Stderr, "%s bench-scale: %s\n", time.Now().Format(time.TimeOnly), fmt.Sprintf(format, a...))
}

// statusWrites counts TenantUsage status writes (PATCH and PUT) the API server served.
func statusWrites(f map[string]*dto) float64 {
	var total float64
	for _, verb := range []string{"PATCH", "PUT", "APPLY"} {
		total += sum(f, "apiserver_request_total", map[string]string{"resource": "tenantusages", "subresource": "status", "verb": verb})
	}
	return total
}

// verbs is the per-verb request count between two scrapes.
func verbs(from, to map[string]*dto) string {
	a := byLabel(from, "apiserver_request_total", "verb", nil)
	z := byLabel(to, "apiserver_request_total", "verb", nil)
	var parts []string
	for v, c := range z {
		if d := c - a[v]; d > 0 {
			parts = append(parts, fmt.Sprintf("%s %.0f", v, d))
		}
	}
	sort.Strings(parts)
	return strings.Join(parts, ", ")
}

// waitSettled waits until the TenantUsage controller has reconciled at least
// minReconciles times since start (the first pass: every tenant once; before
// its caches sync the queues are empty too), its work queues are empty and no
// status has changed for three seconds, and returns when the last change was
// seen.
func waitSettled(b *testing.B, p *process, ctx context.Context, metricsURL string, w *freshness, minReconciles int) time.Time {
	quiet := time.Now()
	waitFor(b, p, 30*time.Minute, 500*time.Millisecond, "manager settled", func() bool {
		fams, err := scrape(ctx, metricsURL)
		if err != nil {
			return false
		}
		if sum(fams, "controller_runtime_reconcile_total", map[string]string{"controller": "tenantusage"}) < float64(minReconciles) ||
			sum(fams, "workqueue_depth", nil)+sum(fams, "controller_runtime_active_workers", nil) > 0 {
			quiet = time.Now()
			return false
		}
		_, _, _, last := w.state()
		if last.After(quiet) {
			quiet = last
		}
		return time.Since(quiet) > 3*time.Second
	})
	_, _, _, last := w.state()
	if last.IsZero() {
		return quiet
	}
	return last
}
