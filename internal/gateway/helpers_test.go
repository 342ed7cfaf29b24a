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
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	clocktesting "k8s.io/utils/clock/testing"

	subv1 "github.com/bakery-ia/subscription-operator/api/v1alpha1"
	"github.com/bakery-ia/subscription-operator/internal/gateway"
	"github.com/bakery-ia/subscription-operator/internal/policy/policytest"
)

var testKey = []byte("hs256-test-key-that-is-long-enough-0123456789")

// fixedNow is 23:30 in Madrid (CET, UTC+1): 30 minutes before the daily reset.
var fixedNow = time.Date(2026, 3, 10, 22, 30, 0, 0, time.UTC)

const (
	starter      = "panaderia-san-pablo"
	professional = "obrador-donostia"
	enterprise   = "horno-central"
	analytics    = "/api/v1/tenants/panaderia-san-pablo/forecasting/analytics/advanced"
	ungated      = "/api/v1/tenants/panaderia-san-pablo/orders"
)

// seen is what the upstream received.
type seen struct {
	Path, URI, Tenant, Tier, XFF, XFHost, Host string
	Header                                     http.Header
}

type env struct {
	gw       *gateway.Gateway
	metrics  *gateway.Metrics
	proxy    *httptest.Server
	fa       *httptest.Server
	upstream *httptest.Server
	mu       sync.Mutex
	last     *seen
	hits     int
	uris     []string // every request target the upstream received
	all      []seen   // every request the upstream received (target and identity)
}

type envOpts struct {
	mutate  func(*subv1.SubscriptionPolicy)
	tenants []subv1.TenantUsage
	options func(*gateway.Options)
	server  gateway.ServerOptions
	noTable bool
}

func newEnv(t testing.TB, o envOpts) *env {
	t.Helper()
	e := &env{}
	e.upstream = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		e.mu.Lock()
		e.hits++
		e.uris = append(e.uris, r.RequestURI)
		e.all = append(e.all, seen{URI: r.RequestURI, Tenant: r.Header.Get("X-Tenant-Id"), Tier: r.Header.Get("X-Tenant-Tier")})
		e.last = &seen{Path: r.URL.Path, URI: r.RequestURI, Tenant: r.Header.Get("X-Tenant-Id"), Tier: r.Header.Get("X-Tenant-Tier"),
			XFF: r.Header.Get("X-Forwarded-For"), XFHost: r.Header.Get("X-Forwarded-Host"), Host: r.Host, Header: r.Header.Clone()}
		e.mu.Unlock()
		w.Header().Set("Content-Type", "text/plain")
		_, _ = io.WriteString(w, "upstream ok")
	}))
	t.Cleanup(e.upstream.Close)
	e.metrics = gateway.NewMetrics(prometheus.NewRegistry())
	opts := gateway.Options{
		Metrics: e.metrics,
		Logger:  slog.New(slog.NewTextHandler(io.Discard, nil)),
		Clock:   clocktesting.NewFakeClock(fixedNow),
		ReadSecret: func(_ context.Context, name, key string) ([]byte, error) {
			return testKey, nil
		},
	}
	opts.Counter = gateway.NewCounter(gateway.CounterOptions{Dropped: e.metrics.Dropped})
	if o.options != nil {
		o.options(&opts)
	}
	e.gw = gateway.New(opts)
	t.Cleanup(e.gw.Stop)
	if !o.noTable {
		pol := policytest.Policy()
		pol.Spec.Gateway.Upstream = e.upstream.URL
		if o.mutate != nil {
			o.mutate(pol)
		}
		tenants := o.tenants
		if tenants == nil {
			tenants = policytest.Tenants()
		}
		if err := e.gw.Update(context.Background(), pol, tenants); err != nil {
			t.Fatal(err)
		}
	}
	e.gw.SetSynced()
	// The proxy runs with the limits cmd/gateway gives it.
	e.proxy = httptest.NewUnstartedServer(e.gw.Handler())
	e.proxy.Config = gateway.NewServer(e.gw.Handler(), o.server)
	e.proxy.Listener = gateway.LimitListener(e.proxy.Listener, o.server)
	e.proxy.Start()
	t.Cleanup(e.proxy.Close)
	e.fa = httptest.NewServer(e.gw.ForwardAuthHandler())
	t.Cleanup(e.fa.Close)
	return e
}

func (e *env) lastSeen() *seen {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.last
}

func (e *env) receivedAll() []seen {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]seen(nil), e.all...)
}

func (e *env) received() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]string(nil), e.uris...)
}

func (e *env) upstreamHits() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.hits
}

func token(t testing.TB, claims jwt.MapClaims) string {
	t.Helper()
	s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString(testKey)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func tokenFor(t testing.TB, tenant string) string {
	return token(t, jwt.MapClaims{"tenant_id": tenant, "exp": fixedNow.Add(time.Hour).Unix()})
}

type reply struct {
	status int
	header http.Header
	body   []byte
}

// do sends a request; headers are name, value pairs.
func do(t testing.TB, method, target string, headers ...string) reply {
	t.Helper()
	req, err := http.NewRequest(method, target, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return reply{resp.StatusCode, resp.Header, body}
}

func (e *env) get(t testing.TB, path, tenant string, headers ...string) reply {
	t.Helper()
	if tenant != "" {
		headers = append(headers, "Authorization", "Bearer "+tokenFor(t, tenant))
	}
	return do(t, http.MethodGet, e.proxy.URL+path, headers...)
}

// indent pretty-prints JSON for golden files (the wire body is compact).
func indent(t *testing.T, body []byte) []byte {
	t.Helper()
	var out bytes.Buffer
	if err := json.Indent(&out, bytes.TrimSpace(body), "", "  "); err != nil {
		t.Fatalf("body is not JSON: %v\n%s", err, body)
	}
	out.WriteByte('\n')
	return out.Bytes()
}

func jsonField(t *testing.T, body []byte, path string) any {
	t.Helper()
	var v any
	if err := json.Unmarshal(body, &v); err != nil {
		t.Fatalf("body is not JSON: %v\n%s", err, body)
	}
	for _, k := range strings.Split(path, ".") {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[k]
	}
	return v
}

// metricValue reads a counter or gauge.
func metricValue(m prometheus.Metric) float64 {
	var d dto.Metric
	if err := m.Write(&d); err != nil {
		panic(err)
	}
	switch {
	case d.Counter != nil:
		return d.Counter.GetValue()
	case d.Gauge != nil:
		return d.Gauge.GetValue()
	}
	return 0
}

func fixtureTenants() []subv1.TenantUsage { return policytest.Tenants() }

func mustURL(s string) *url.URL {
	u, err := url.Parse(s)
	if err != nil {
		panic(err)
	}
	return u
}

func policyWithUpstream(e *env) *subv1.SubscriptionPolicy {
	p := policytest.Policy()
	p.Spec.Gateway.Upstream = e.upstream.URL
	return p
}
