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

package forecastapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-logr/logr"
	"github.com/go-logr/logr/funcr"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/redis/go-redis/v9"
	"golang.org/x/time/rate"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	clocktesting "k8s.io/utils/clock/testing"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/config"
	"sigs.k8s.io/controller-runtime/pkg/manager"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"
	"sigs.k8s.io/yaml"

	subv1 "github.com/bakery-ia/subscription-operator/api/v1alpha1"
	"github.com/bakery-ia/subscription-operator/internal/forecastapi"
	"github.com/bakery-ia/subscription-operator/internal/history"
	opkube "github.com/bakery-ia/subscription-operator/internal/kube"
	"github.com/bakery-ia/subscription-operator/internal/snapshot"
	"github.com/bakery-ia/subscription-operator/internal/testenv"
	"github.com/bakery-ia/subscription-operator/internal/testenv/golden"
	"github.com/bakery-ia/subscription-operator/internal/testenv/suite"
)

// The fake clocks start at the seed's forecast time; "today" is 2025-01-19.
var t0 = time.Date(2025, 1, 19, 10, 30, 0, 0, time.UTC)

var (
	kube  *testenv.Kube
	rds   *testenv.Redis
	rdb   *redis.Client
	store *history.Store
	mgr   manager.Manager
	k8s   client.Client // uncached, for fixtures and assertions

	// open serves without auth (golden files, errors, track-usage, plans).
	openURL   string
	openClock *clocktesting.FakeClock
	openSrv   *forecastapi.Server
	openLogs  *logBuffer
	// secured authenticates and authorises against the API server.
	securedURL   string
	securedClock *clocktesting.FakeClock
	apiCalls     atomic.Int64 // requests the secured server's auth clients sent

	snaps = &fakeSnapshotter{}
)

func TestForecastAPI(t *testing.T) {
	suite.Run(t, "forecastapi")
}

var _ = BeforeSuite(func() {
	var err error
	kube, err = testenv.StartEnvtest()
	Expect(err).NotTo(HaveOccurred())
	DeferCleanup(kube.Stop)
	k8s = kube.Client

	rds, err = testenv.StartRedis()
	Expect(err).NotTo(HaveOccurred())
	DeferCleanup(rds.Close)
	rdb = redis.NewClient(&redis.Options{Addr: rds.Addr})
	DeferCleanup(rdb.Close)
	store = history.New(rdb)

	mgr, err = ctrl.NewManager(kube.Config, ctrl.Options{
		Scheme:                 kube.Scheme,
		Metrics:                metricsserver.Options{BindAddress: "0"},
		HealthProbeBindAddress: "0",
		Controller:             config.Controller{SkipNameValidation: ptr.To(true)},
	})
	Expect(err).NotTo(HaveOccurred())
	ctx, cancel := context.WithCancel(context.Background())
	Expect(opkube.SetupIndexes(ctx, mgr.GetCache())).To(Succeed())

	openClock = clocktesting.NewFakeClock(t0)
	openLogs = &logBuffer{}
	var l net.Listener
	l, openURL = listen()
	openSrv, err = forecastapi.New(mgr.GetCache(), nil, store,
		forecastapi.WithoutAuth(), forecastapi.WithListener(l), forecastapi.WithClock(openClock),
		forecastapi.WithSnapshotter(snaps), forecastapi.WithLogger(openLogs.logger()),
		forecastapi.WithTrackUsageRateLimit(rate.Inf, 0)) // the specs share one client address
	Expect(err).NotTo(HaveOccurred())
	Expect(mgr.Add(openSrv)).To(Succeed())

	// The secured server's review clients count their requests, to prove the
	// hot path makes none.
	authCfg := rest.CopyConfig(kube.Config)
	authCfg.WrapTransport = func(rt http.RoundTripper) http.RoundTripper {
		return roundTripFunc(func(r *http.Request) (*http.Response, error) {
			apiCalls.Add(1)
			return rt.RoundTrip(r)
		})
	}
	securedClock = clocktesting.NewFakeClock(t0)
	l, securedURL = listen()
	secured, err := forecastapi.New(mgr.GetCache(), authCfg, store,
		forecastapi.WithListener(l), forecastapi.WithClock(securedClock), forecastapi.WithSnapshotter(snaps),
		forecastapi.WithTrackUsageRateLimit(rate.Inf, 0))
	Expect(err).NotTo(HaveOccurred())
	Expect(mgr.Add(secured)).To(Succeed())

	done := make(chan error, 1)
	go func() {
		defer GinkgoRecover()
		done <- mgr.Start(ctx)
	}()
	DeferCleanup(func() {
		cancel()
		Eventually(done, 30*time.Second).Should(Receive(BeNil()))
	})

	createFixtures()

	// Both servers answer once the cache has synced.
	for _, u := range []string{openURL, securedURL} {
		Eventually(func() (int, error) {
			resp, err := http.Get(u + "/nothing-here")
			if err != nil {
				return 0, err
			}
			_ = resp.Body.Close()
			return resp.StatusCode, nil
		}, 30*time.Second, 50*time.Millisecond).Should(Equal(http.StatusNotFound))
	}
})

func listen() (net.Listener, string) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	Expect(err).NotTo(HaveOccurred())
	return l, "http://" + l.Addr().String()
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// logBuffer captures a logr.Logger's lines.
type logBuffer struct {
	mu    sync.Mutex
	lines []string
}

func (b *logBuffer) logger() logr.Logger {
	return funcr.New(func(prefix, args string) {
		b.mu.Lock()
		defer b.mu.Unlock()
		b.lines = append(b.lines, prefix+" "+args)
	}, funcr.Options{})
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return strings.Join(b.lines, "\n")
}

// ---- fixtures --------------------------------------------------------------

// loadPolicy returns testdata/policy.yaml placed in ns under name.
func loadPolicy(ns, name string) *subv1.SubscriptionPolicy {
	data, err := os.ReadFile(filepath.Join("testdata", "policy.yaml"))
	Expect(err).NotTo(HaveOccurred())
	var p subv1.SubscriptionPolicy
	Expect(yaml.UnmarshalStrict(data, &p)).To(Succeed())
	p.Namespace, p.Name = ns, name
	return &p
}

func createNamespace(name string) {
	Expect(k8s.Create(context.Background(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}})).To(Succeed())
}

func createPolicy(ns, name string) {
	Expect(k8s.Create(context.Background(), loadPolicy(ns, name))).To(Succeed())
}

// createTenant creates a TenantUsage and writes its status (the forecast
// controller does not run in this suite).
func createTenant(ns, name, tenantID string, mutate func(*subv1.TenantUsage)) *subv1.TenantUsage {
	ctx := context.Background()
	tu := &subv1.TenantUsage{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec:       subv1.TenantUsageSpec{TenantID: tenantID, Tier: "starter"},
	}
	if mutate != nil {
		mutate(tu)
	}
	status := tu.Status
	Expect(k8s.Create(ctx, tu)).To(Succeed())
	tu.Status = status
	if tu.Status.Metrics == nil {
		tu.Status = simpleStatus()
	}
	Expect(k8s.Status().Update(ctx, tu)).To(Succeed())
	return tu
}

func simpleStatus() subv1.TenantUsageStatus {
	return subv1.TenantUsageStatus{
		Tier:         "starter",
		ForecastedAt: &metav1.Time{Time: t0},
		Metrics: []subv1.MetricForecast{{
			Metric: "products", Label: "Products", Current: 10, Limit: ptr.To[int64](50),
			UsagePercentage: ptr.To("20.0"), Status: subv1.UsageSafe,
		}},
	}
}

// goldenStatus is the forecast of the golden tenant: nine metrics covering
// every shape: the seed's example, warning and critical colours, a limit
// already reached, no prediction (too little history), a shrinking metric,
// unlimited ones with and without a growth rate, and a unit.
func goldenStatus() subv1.TenantUsageStatus {
	i64 := ptr.To[int64]
	i32 := ptr.To[int32]
	s := ptr.To[string]
	return subv1.TenantUsageStatus{
		Tier: "starter", LastSnapshotDate: "2025-01-19",
		ForecastedAt: &metav1.Time{Time: t0},
		Metrics: []subv1.MetricForecast{
			{Metric: "products", Label: "Products", Current: 35, Limit: i64(50), DailyGrowthRate: s("0.5"),
				PredictedBreachDate: s("2025-02-18"), DaysUntilBreach: i32(30), UsagePercentage: s("70.0"), Status: subv1.UsageSafe,
				EarliestBreachDate: s("2025-02-14"), LatestBreachDate: s("2025-02-23")},
			{Metric: "users", Label: "Users", Current: 4, Limit: i64(5), DailyGrowthRate: s("0.1"),
				PredictedBreachDate: s("2025-01-29"), DaysUntilBreach: i32(10), UsagePercentage: s("80.0"), Status: subv1.UsageWarning},
			{Metric: "locations", Label: "Locations", Current: 1, Limit: i64(1), DailyGrowthRate: s("0"),
				PredictedBreachDate: s("2025-01-19"), DaysUntilBreach: i32(0), UsagePercentage: s("100.0"), Status: subv1.UsageCritical},
			{Metric: "recipes", Label: "Recipes", Current: 12, Limit: i64(50),
				UsagePercentage: s("24.0"), Status: subv1.UsageSafe},
			{Metric: "suppliers", Label: "Suppliers", Current: 3, Limit: i64(20), DailyGrowthRate: s("-0.25"),
				UsagePercentage: s("15.0"), Status: subv1.UsageSafe},
			{Metric: "training_jobs", Label: "Training jobs per day", Current: 4, Limit: i64(5), DailyGrowthRate: s("2"),
				PredictedBreachDate: s("2025-01-20"), DaysUntilBreach: i32(1), UsagePercentage: s("80.0"), Status: subv1.UsageCritical},
			{Metric: "forecasts", Label: "Forecasts per day", Current: 20, DailyGrowthRate: s("1.25"), Status: subv1.UsageUnlimited},
			{Metric: "api_calls", Label: "API calls per day", Current: 640, Status: subv1.UsageUnlimited},
			{Metric: "storage_mb", Label: "Storage", Unit: "MB", Current: 512, Limit: i64(1024), DailyGrowthRate: s("12.34"),
				PredictedBreachDate: s("2025-02-28"), DaysUntilBreach: i32(40), UsagePercentage: s("50.0"), Status: subv1.UsageSafe,
				EarliestBreachDate: s("2025-02-20")},
		},
		Summary: &subv1.ForecastSummary{Status: subv1.UsageCritical, DaysUntilBreach: i32(1), Metric: "training_jobs"},
	}
}

// writeHistory stores 35 days up to 2025-01-19 for the golden tenant; the
// API must show the last 30. Some metrics have gaps or no history at all.
func writeHistory(tenantID string) {
	ctx := context.Background()
	start := t0.AddDate(0, 0, -34)
	for d := range 35 {
		date := start.AddDate(0, 0, d).Format(time.DateOnly)
		vals := []history.Value{
			{TenantID: tenantID, Metric: "products", Value: int64(18 + d/2)},
			{TenantID: tenantID, Metric: "users", Value: int64(1 + d/12)},
			{TenantID: tenantID, Metric: "locations", Value: 1},
			{TenantID: tenantID, Metric: "suppliers", Value: int64(8 - d/7)},
		}
		if d%3 == 0 {
			vals = append(vals, history.Value{TenantID: tenantID, Metric: "storage_mb", Value: int64(100 + 12*d)})
		}
		if d >= 30 {
			vals = append(vals,
				history.Value{TenantID: tenantID, Metric: "training_jobs", Value: int64(d - 30)},
				history.Value{TenantID: tenantID, Metric: "forecasts", Value: int64(15 + d - 30)},
				history.Value{TenantID: tenantID, Metric: "api_calls", Value: int64(600 + 10*(d-30))})
		}
		Expect(store.Write(ctx, date, 60, vals)).To(Succeed())
	}
}

// Namespaces and objects shared by the specs.
const (
	nsMain  = "bakery-ia" // golden tenant, policies default and solo
	nsTwinA = "twin-a"    // tenant "twin" in both, policy "shared" in both
	nsTwinB = "twin-b"
	nsAuthA = "auth-a" // RBAC: the reader may get tenantusages here only
	nsAuthB = "auth-b"
)

func createFixtures() {
	for _, ns := range []string{nsMain, nsTwinA, nsTwinB, nsAuthA, nsAuthB} {
		createNamespace(ns)
	}
	createPolicy(nsMain, "default")
	createPolicy(nsMain, "solo")
	createPolicy(nsTwinA, "shared")
	createPolicy(nsTwinB, "shared")
	createPolicy(nsAuthA, "default")
	createPolicy(nsAuthB, "default")

	createTenant(nsMain, "test-tenant", "test-tenant", func(tu *subv1.TenantUsage) { tu.Status = goldenStatus() })
	writeHistory("test-tenant")
	createTenant(nsMain, "empty", "fresh-tenant", func(tu *subv1.TenantUsage) {
		tu.Status = subv1.TenantUsageStatus{Metrics: []subv1.MetricForecast{}}
	})
	createTenant(nsMain, "sleeper", "sleeper", func(tu *subv1.TenantUsage) { tu.Spec.Suspend = true })
	createTenant(nsMain, "track-me", "track-me", nil)
	createTenant(nsMain, "explode", "explode", nil)
	createTenant(nsMain, "cached", "cached", nil)
	shared := func(tu *subv1.TenantUsage) { tu.Spec.PolicyRef.Name = "shared" }
	createTenant(nsTwinA, "twin", "twin", shared)
	createTenant(nsTwinB, "twin", "twin", shared)
	createTenant(nsAuthA, "tenant-a", "tenant-a", nil)
	createTenant(nsAuthB, "tenant-b", "tenant-b", nil)
}

// ---- HTTP helpers -----------------------------------------------------------

type response struct {
	status int
	header http.Header
	body   []byte
}

// errorCode is the "code" of an error body ("" when the body is not one).
func (r response) errorCode() string {
	var e struct {
		Error string `json:"error"`
		Code  string `json:"code"`
	}
	if json.Unmarshal(r.body, &e) != nil || e.Error == "" {
		return ""
	}
	return e.Code
}

func do(method, url, token string, body string) response {
	GinkgoHelper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(context.Background(), method, url, rd)
	Expect(err).NotTo(HaveOccurred())
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	Expect(err).NotTo(HaveOccurred())
	defer func() { _ = resp.Body.Close() }()
	b, err := io.ReadAll(resp.Body)
	Expect(err).NotTo(HaveOccurred())
	return response{status: resp.StatusCode, header: resp.Header, body: b}
}

func get(url, token string) response { return do(http.MethodGet, url, token, "") }

// expectGolden compares an indented rendering of body with testdata/name
// (rewritten with -update, see internal/testenv/golden). Indenting keeps
// number literals such as 70.0.
func expectGolden(name string, body []byte) {
	GinkgoHelper()
	var buf bytes.Buffer
	Expect(json.Indent(&buf, body, "", "  ")).To(Succeed())
	buf.WriteByte('\n')
	golden.Assert(GinkgoT(), name, buf.Bytes())
}

// ---- fake snapshot runner -----------------------------------------------------

type snapCall struct {
	policy   string // namespace/name
	tenantID string
}

// fakeSnapshotter records calls. A tenant run stores value 999 for today's
// products in the real history store; tenant "explode" fails; a policy run is
// partial.
type fakeSnapshotter struct {
	mu    sync.Mutex
	calls []snapCall
}

func (f *fakeSnapshotter) RunNow(ctx context.Context, policy *subv1.SubscriptionPolicy, tenantID string) (snapshot.Result, error) {
	f.mu.Lock()
	f.calls = append(f.calls, snapCall{policy: policy.Namespace + "/" + policy.Name, tenantID: tenantID})
	f.mu.Unlock()
	switch tenantID {
	case "explode":
		return snapshot.Result{}, errors.New("writing history for 2025-01-19: connection refused")
	case "":
		return snapshot.Result{Date: "2025-01-19", Tenants: 3, Metrics: 9, Succeeded: 0, Failed: 3,
			FailedMetrics: map[string]error{"users": errors.New("timeout"), "api_calls": errors.New("redis down")},
			Duration:      1234 * time.Millisecond}, nil
	}
	err := store.Write(ctx, "2025-01-19", 60, []history.Value{{TenantID: tenantID, Metric: "products", Value: 999}})
	return snapshot.Result{Date: "2025-01-19", Tenants: 1, Metrics: 9, Succeeded: 1,
		FailedMetrics: map[string]error{}, Duration: 42 * time.Millisecond}, err
}

func (f *fakeSnapshotter) last() snapCall {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.calls) == 0 {
		return snapCall{}
	}
	return f.calls[len(f.calls)-1]
}

func forecastURL(base, query string) string {
	return fmt.Sprintf("%s%s?%s", base, forecastapi.PathForecast, query)
}
