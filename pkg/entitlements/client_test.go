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

package entitlements

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/go-logr/logr"
	"github.com/redis/go-redis/v9"
	authnv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/config"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	subv1 "github.com/bakery-ia/subscription-operator/api/v1alpha1"
	"github.com/bakery-ia/subscription-operator/internal/forecastapi"
	"github.com/bakery-ia/subscription-operator/internal/history"
	opkube "github.com/bakery-ia/subscription-operator/internal/kube"
	"github.com/bakery-ia/subscription-operator/internal/policy/policytest"
	"github.com/bakery-ia/subscription-operator/internal/testenv"
)

// The tests run against the real forecast API: envtest's kube-apiserver
// (TokenReview, SubjectAccessReview, the informer cache) and redis-server
// holding today's api_calls.
var (
	apiURL string
	token  string
	rdb    *redis.Client
	today  = time.Now().In(mustZone("Europe/Madrid")).Format(time.DateOnly)
)

const ns = "client-test"

func mustZone(name string) *time.Location {
	l, err := time.LoadLocation(name)
	if err != nil {
		panic(err)
	}
	return l
}

func TestMain(m *testing.M) {
	code, err := run(m)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	os.Exit(code)
}

func run(m *testing.M) (int, error) {
	ctrl.SetLogger(logr.Discard())
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	kube, err := testenv.StartEnvtest()
	if err != nil {
		return 0, err
	}
	defer func() { _ = kube.Stop() }()
	rds, err := testenv.StartRedis()
	if err != nil {
		return 0, err
	}
	defer rds.Close()
	rdb = redis.NewClient(&redis.Options{Addr: rds.Addr})
	defer func() { _ = rdb.Close() }()

	c := kube.Client
	if err := c.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}); err != nil {
		return 0, err
	}
	pol := policytest.Policy()
	pol.Namespace, pol.ResourceVersion = ns, ""
	if err := c.Create(ctx, pol); err != nil {
		return 0, err
	}
	for _, t := range []subv1.TenantUsage{
		{ObjectMeta: metav1.ObjectMeta{Name: "starter"}, Spec: subv1.TenantUsageSpec{TenantID: "bakery-starter", Tier: "starter"},
			Status: subv1.TenantUsageStatus{Metrics: []subv1.MetricForecast{{Metric: "products", Current: 45, Limit: ptr.To[int64](50), Status: subv1.UsageWarning}}}},
		{ObjectMeta: metav1.ObjectMeta{Name: "pro"}, Spec: subv1.TenantUsageSpec{TenantID: "bakery-pro", Tier: "professional"}},
	} {
		t.Namespace = ns
		st := t.Status
		if err := c.Create(ctx, &t); err != nil {
			return 0, err
		}
		t.Status = st
		if err := c.Status().Update(ctx, &t); err != nil {
			return 0, err
		}
	}
	if token, err = readerToken(ctx, kube); err != nil {
		return 0, err
	}

	mgr, err := ctrl.NewManager(kube.Config, ctrl.Options{
		Scheme: kube.Scheme, Metrics: metricsserver.Options{BindAddress: "0"}, HealthProbeBindAddress: "0",
		Controller: config.Controller{SkipNameValidation: ptr.To(true)},
	})
	if err != nil {
		return 0, err
	}
	if err := opkube.SetupIndexes(ctx, mgr.GetCache()); err != nil {
		return 0, err
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	srv, err := forecastapi.New(mgr.GetCache(), kube.Config, history.New(rdb), forecastapi.WithListener(l),
		forecastapi.WithCounters(forecastapi.RedisCounters{Client: rdb}))
	if err != nil {
		return 0, err
	}
	if err := mgr.Add(srv); err != nil {
		return 0, err
	}
	done := make(chan error, 1)
	go func() { done <- mgr.Start(ctx) }()
	apiURL = "http://" + l.Addr().String()
	// Ready once the cache synced and RBAC is in force.
	cl, _ := New(apiURL, WithToken(token), WithCacheEntries(0))
	deadline := time.Now().Add(time.Minute)
	for {
		if _, err := cl.Get(ctx, "bakery-starter"); err == nil {
			break
		} else if time.Now().After(deadline) {
			return 0, fmt.Errorf("API not ready: %w", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	code := m.Run()
	cancel()
	return code, <-done
}

func readerToken(ctx context.Context, kube *testenv.Kube) (string, error) {
	cs, err := kubernetes.NewForConfig(kube.Config)
	if err != nil {
		return "", err
	}
	if _, err := cs.CoreV1().ServiceAccounts(ns).Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "shop"}}, metav1.CreateOptions{}); err != nil {
		return "", err
	}
	if _, err := cs.RbacV1().Roles(ns).Create(ctx, &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Name: "entitlements"},
		Rules: []rbacv1.PolicyRule{{APIGroups: []string{subv1.GroupVersion.Group}, Resources: []string{"tenantusages"}, Verbs: []string{"get"}}},
	}, metav1.CreateOptions{}); err != nil {
		return "", err
	}
	if _, err := cs.RbacV1().RoleBindings(ns).Create(ctx, &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "shop"},
		RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: "entitlements"},
		Subjects: []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Namespace: ns, Name: "shop"}},
	}, metav1.CreateOptions{}); err != nil {
		return "", err
	}
	tr, err := cs.CoreV1().ServiceAccounts(ns).CreateToken(ctx, "shop", &authnv1.TokenRequest{
		Spec: authnv1.TokenRequestSpec{ExpirationSeconds: ptr.To[int64](3600)}}, metav1.CreateOptions{})
	if err != nil {
		return "", err
	}
	return tr.Status.Token, nil
}

// recorder counts the answers the client received, by status.
type recorder struct {
	mu    sync.Mutex
	codes map[int]int
}

func (r *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err == nil {
		r.mu.Lock()
		r.codes[resp.StatusCode]++
		r.mu.Unlock()
	}
	return resp, err
}

func (r *recorder) count(code int) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.codes[code]
}

func newClient(t *testing.T, opts ...Option) (*Client, *recorder) {
	t.Helper()
	rec := &recorder{codes: map[int]int{}}
	c, err := New(apiURL, append([]Option{WithToken(token), WithHTTPClient(&http.Client{Transport: rec, Timeout: 5 * time.Second})}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return c, rec
}

func TestGet(t *testing.T) {
	ctx := context.Background()
	if err := rdb.Set(ctx, "usage_daily:bakery-starter:api_calls:"+today, 120, 0).Err(); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, tenant, lang string
		opts               []GetOption
		tier               string
		features           int
		analytics          bool
		offerTitle         string
	}{
		{name: "starter", tenant: "bakery-starter", tier: "starter", features: 2, offerTitle: "Unlock Advanced Analytics"},
		{name: "starter in Basque", tenant: "bakery-starter", lang: "eu", tier: "starter", features: 2, offerTitle: "Desblokeatu Analitika Aurreratua"},
		{name: "one feature", tenant: "bakery-pro", opts: []GetOption{OnlyFeature("analytics")}, tier: "professional", features: 1, analytics: true},
		{name: "in a namespace", tenant: "bakery-pro", opts: []GetOption{InNamespace(ns)}, tier: "professional", features: 2, analytics: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, _ := newClient(t, WithLanguage(tc.lang))
			e, err := c.Get(ctx, tc.tenant, tc.opts...)
			if err != nil {
				t.Fatal(err)
			}
			a := e.Feature("analytics")
			if e.Tier != tc.tier || len(e.Features) != tc.features || a.HasAccess != tc.analytics || e.ETag == "" {
				t.Fatalf("%+v", e)
			}
			if tc.offerTitle != "" && (a.UpgradeOffer == nil || a.UpgradeOffer.Title != tc.offerTitle || a.Reason != ReasonTierInsufficient) {
				t.Fatalf("analytics %+v", a)
			}
		})
	}
	c, _ := newClient(t)
	e, err := c.Get(ctx, "bakery-starter")
	if err != nil {
		t.Fatal(err)
	}
	if m, ok := e.Metric("api_calls"); !ok || m.Current != 120 || *m.Remaining != 880 || !m.Daily {
		t.Fatalf("api_calls %+v", m)
	}
	if m, _ := e.Metric("products"); m.Current != 45 || *m.UsagePercentage != 90 || m.Status != "critical" {
		t.Fatalf("products %+v", m)
	}
}

func TestETagCache(t *testing.T) {
	ctx := context.Background()
	key := "usage_daily:bakery-pro:api_calls:" + today
	c, rec := newClient(t)
	first, err := c.Get(ctx, "bakery-pro")
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		again, err := c.Get(ctx, "bakery-pro")
		if err != nil {
			t.Fatal(err)
		}
		if again.ETag != first.ETag || again.Tier != "professional" {
			t.Fatalf("revalidated answer %+v", again)
		}
	}
	if rec.count(http.StatusOK) != 1 || rec.count(http.StatusNotModified) != 3 {
		t.Fatalf("answers %v: want one 200 and three 304", rec.codes)
	}
	// A changed answer comes back whole.
	if err := rdb.IncrBy(ctx, key, 5).Err(); err != nil {
		t.Fatal(err)
	}
	changed, err := c.Get(ctx, "bakery-pro")
	if err != nil {
		t.Fatal(err)
	}
	if m, _ := changed.Metric("api_calls"); changed.ETag == first.ETag || m.Current < 5 {
		t.Fatalf("changed answer %+v", changed)
	}
	// A caller may modify what it got without touching the cache.
	changed.Features[0].HasAccess = false
	if again, _ := c.Get(ctx, "bakery-pro"); !again.Features[0].HasAccess {
		t.Fatal("the cache shares memory with a returned answer")
	}

	// Within MaxAge nothing is asked.
	now := time.Now()
	fresh, rec := newClient(t, WithMaxAge(time.Minute), withClock(func() time.Time { return now }))
	for range 5 {
		if _, err := fresh.Get(ctx, "bakery-pro"); err != nil {
			t.Fatal(err)
		}
	}
	if rec.count(http.StatusOK)+rec.count(http.StatusNotModified) != 1 {
		t.Fatalf("answers %v within MaxAge", rec.codes)
	}
	now = now.Add(2 * time.Minute)
	if _, err := fresh.Get(ctx, "bakery-pro"); err != nil || rec.count(http.StatusNotModified) != 1 {
		t.Fatalf("after MaxAge: %v %v", rec.codes, err)
	}
}

func TestCheck(t *testing.T) {
	ctx := context.Background()
	if err := rdb.Set(ctx, "usage_daily:bakery-starter:api_calls:"+today, 120, 0).Err(); err != nil {
		t.Fatal(err)
	}
	c, _ := newClient(t)
	for _, tc := range []struct {
		name      string
		check     func() (*CheckResult, error)
		allowed   bool
		reason    string
		remaining *int64
		offer     bool
	}{
		{"feature above the tier", func() (*CheckResult, error) { return c.CheckFeature(ctx, "bakery-starter", "analytics") }, false, ReasonTierInsufficient, nil, true},
		{"feature included", func() (*CheckResult, error) { return c.CheckFeature(ctx, "bakery-pro", "analytics", InNamespace(ns)) }, true, "", nil, false},
		{"unknown feature", func() (*CheckResult, error) { return c.CheckFeature(ctx, "bakery-pro", "teleport") }, false, ReasonUnknownFeature, nil, false},
		{"5 products fit", func() (*CheckResult, error) { return c.CheckAmount(ctx, "bakery-starter", "products", 5) }, true, "", ptr.To[int64](0), false},
		{"6 do not", func() (*CheckResult, error) { return c.CheckAmount(ctx, "bakery-starter", "products", 6) }, false, ReasonQuotaExhausted, ptr.To[int64](-1), true},
		{"880 calls left today", func() (*CheckResult, error) { return c.CheckAmount(ctx, "bakery-starter", "api_calls", 880) }, true, "", ptr.To[int64](0), false},
		{"881 are too many", func() (*CheckResult, error) { return c.CheckAmount(ctx, "bakery-starter", "api_calls", 881) }, false, ReasonQuotaExhausted, ptr.To[int64](-1), true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, err := tc.check()
			if err != nil {
				t.Fatal(err)
			}
			if r.Allowed != tc.allowed || r.Reason != tc.reason || (r.UpgradeOffer != nil) != tc.offer ||
				(r.RemainingAfter == nil) != (tc.remaining == nil) || (tc.remaining != nil && *r.RemainingAfter != *tc.remaining) {
				t.Fatalf("%+v (offer %s)", r, r.UpgradeOffer)
			}
		})
	}
}

func TestErrors(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	tokenFile := filepath.Join(dir, "token")
	if err := os.WriteFile(tokenFile, []byte(token+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	fromFile, err := New(apiURL, WithTokenFile(tokenFile))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := fromFile.Get(ctx, "bakery-starter"); err != nil {
		t.Fatalf("token from a file: %v", err)
	}
	c, _ := newClient(t)
	anon, _ := New(apiURL)
	bad, _ := New(apiURL, WithToken("not-a-token"))
	missing, _ := New(apiURL, WithTokenFile(filepath.Join(dir, "absent")))
	for _, tc := range []struct {
		name   string
		call   func() error
		status int
		code   string
	}{
		{"unknown tenant", func() error { _, err := c.Get(ctx, "nobody"); return err }, 404, "TENANT_NOT_FOUND"},
		{"invalid tenant", func() error { _, err := c.Get(ctx, "Not A Tenant"); return err }, 400, "INVALID_TENANT_ID"},
		{"namespace not allowed", func() error { _, err := c.Get(ctx, "bakery-pro", InNamespace("kube-system")); return err }, 403, "FORBIDDEN"},
		{"unknown metric", func() error { _, err := c.CheckAmount(ctx, "bakery-pro", "bread", 1); return err }, 400, "INVALID_PARAMETER"},
		{"negative amount", func() error { _, err := c.CheckAmount(ctx, "bakery-pro", "products", -1); return err }, 400, "INVALID_BODY"},
		{"no token", func() error { _, err := anon.Get(ctx, "bakery-pro"); return err }, 401, "UNAUTHENTICATED"},
		{"bad token", func() error { _, err := bad.CheckFeature(ctx, "bakery-pro", "analytics"); return err }, 401, "UNAUTHENTICATED"},
		{"token file missing", func() error { _, err := missing.Get(ctx, "bakery-pro"); return err }, 0, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.call()
			if err == nil {
				t.Fatal("no error")
			}
			var e *Error
			if tc.status == 0 {
				if asError(err, &e) {
					t.Fatalf("want a local error, got %v", err)
				}
				return
			}
			if !asError(err, &e) || e.Status != tc.status || e.Code != tc.code || e.Message == "" {
				t.Fatalf("%v", err)
			}
			if IsNotFound(err) != (tc.status == 404) {
				t.Fatalf("IsNotFound %v", IsNotFound(err))
			}
		})
	}
	if _, err := New("ftp://x"); err == nil {
		t.Fatal("ftp base URL accepted")
	}
}

func asError(err error, e **Error) bool { return errors.As(err, e) }
