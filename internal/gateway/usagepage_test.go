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
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	subv1 "github.com/bakery-ia/subscription-operator/api/v1alpha1"
	"github.com/bakery-ia/subscription-operator/internal/gateway"
	"github.com/bakery-ia/subscription-operator/internal/history"
	"github.com/bakery-ia/subscription-operator/internal/policy/policytest"
	"github.com/bakery-ia/subscription-operator/internal/usagepage"
)

const pagePath = gateway.DefaultUsagePagePath

func i64(v int64) *int64 { return &v }

// tenantsWithStatus are the fixture tenants, the starter and professional
// ones with a forecast in their status (numbers distinct per tenant).
func tenantsWithStatus() []subv1.TenantUsage {
	list := policytest.Tenants()
	for i := range list {
		tu := &list[i]
		switch tu.Name {
		case starter:
			tu.Status.Metrics = []subv1.MetricForecast{
				{Metric: "products", Label: "Products", Current: 41, Limit: i64(50), Status: subv1.UsageWarning,
					PredictedBreachDate: ptrTo("2026-03-19"), DaysUntilBreach: ptrTo(int32(9)), UsagePercentage: ptrTo("82")},
				{Metric: "api_calls", Label: "API calls", Current: 977, Limit: i64(1000), Status: subv1.UsageCritical},
			}
		case professional:
			tu.Status.Metrics = []subv1.MetricForecast{
				{Metric: "products", Label: "Products", Current: 313, Limit: i64(500), Status: subv1.UsageSafe},
			}
		}
	}
	return list
}

func ptrTo[T any](v T) *T { return &v }

func pageEnv(t testing.TB, mutate func(*subv1.SubscriptionPolicy), options func(*gateway.Options)) *env {
	return newEnv(t, envOpts{tenants: tenantsWithStatus(), mutate: mutate, options: options})
}

func TestUsagePageServesTheCallersOwnPage(t *testing.T) {
	e := pageEnv(t, nil, nil)
	r := e.get(t, pagePath, starter, "Accept-Language", "es-ES,es;q=0.9")
	if r.status != http.StatusOK {
		t.Fatalf("status %d: %s", r.status, r.body)
	}
	body := string(r.body)
	for _, want := range []string{`<html lang="es">`, `id="tenant">panaderia-san-pablo<`, `data-tier="starter"`,
		`<data class="current" value="41">`, `<data class="limit" value="1000">`, `Aviso`, `Crítico`,
		`data-feature="analytics" data-included="false"`, `upgrade=professional&amp;from=starter&amp;feature=analytics`} {
		if !strings.Contains(body, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	for h, want := range map[string]string{
		"Content-Security-Policy": usagepage.ContentSecurityPolicy, "Content-Language": "es",
		"Content-Type": "text/html; charset=utf-8", "Cache-Control": "private, no-store", "X-Frame-Options": "DENY",
	} {
		if got := r.header.Get(h); got != want {
			t.Errorf("%s = %q, want %q", h, got, want)
		}
	}
	if n := e.upstreamHits(); n != 0 {
		t.Errorf("the page reached the upstream %d times", n)
	}
	if c := e.gw.Counter().Count(starter, today); c != 0 {
		t.Errorf("the page was counted as %d API calls", c)
	}
}

// TestUsagePageNeverShowsAnotherTenant: nothing a caller sends besides its
// identity picks the tenant.
func TestUsagePageNeverShowsAnotherTenant(t *testing.T) {
	e := pageEnv(t, nil, nil)
	forged := token(t, jwt.MapClaims{"tenant_id": professional, "exp": fixedNow.Add(time.Hour).Unix()})
	forged = forged[:len(forged)-4] + "AAAA" // signature broken
	for name, c := range map[string]struct {
		path    string
		headers []string
		status  int
	}{
		"query tenant_id":         {pagePath + "?tenant_id=" + professional, nil, 200},
		"query tenant":            {pagePath + "?tenant=" + professional + "&namespace=bakery-ia", nil, 200},
		"identity header":         {pagePath, []string{"X-Tenant-ID", professional}, 200},
		"tenant path segment":     {pagePath + "/" + professional, nil, 404},
		"encoded segment":         {pagePath + "%2F" + professional, nil, -1},
		"dot segment":             {pagePath + "/../usage/" + professional, nil, 404},
		"second bearer":           {pagePath, []string{"Authorization", "Bearer " + tokenFor(t, professional)}, 200},
		"fragment-like":           {pagePath + "%23" + professional, nil, -1},
		"trailing slash":          {pagePath + "/", nil, 200},
		"double slash prefix":     {"/" + pagePath, nil, -1},
		"forwarded host trickery": {pagePath, []string{"X-Forwarded-Host", professional, "X-Original-URL", "/" + professional}, 200},
	} {
		t.Run(name, func(t *testing.T) {
			headers := append([]string{"Authorization", "Bearer " + tokenFor(t, starter)}, c.headers...)
			if name == "second bearer" {
				headers = c.headers // only the other tenant's (valid) token: its own page
			}
			r := do(t, http.MethodGet, e.proxy.URL+c.path, headers...)
			body := string(r.body)
			if c.status == -2 && string(r.body) != "upstream ok" {
				t.Fatalf("status %d, want the request proxied: %.200s", r.status, body)
			}
			if c.status > 0 && r.status != c.status {
				t.Fatalf("status %d, want %d: %.200s", r.status, c.status, body)
			}
			owner := starter
			if name == "second bearer" {
				owner = professional
			}
			other := professional
			if owner == professional {
				other = starter
			}
			if c.status == 200 && !strings.Contains(body, `id="tenant">`+owner+`<`) {
				t.Errorf("page is not %s's", owner)
			}
			if strings.Contains(body, `id="tenant">`+other) || strings.Contains(body, `value="313"`) && owner != professional {
				t.Errorf("page shows another tenant: %.300s", body)
			}
		})
	}
	for name, headers := range map[string][]string{
		"no identity":  nil,
		"broken token": {"Authorization", "Bearer " + forged},
		"alg none":     {"Authorization", "Bearer eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.eyJ0ZW5hbnRfaWQiOiJvYnJhZG9yLWRvbm9zdGlhIn0."},
		"header only":  {"X-Tenant-ID", professional},
	} {
		t.Run(name, func(t *testing.T) {
			r := do(t, http.MethodGet, e.proxy.URL+pagePath, headers...)
			if r.status != http.StatusUnauthorized || strings.Contains(string(r.body), professional) {
				t.Fatalf("status %d, want 401 without the tenant: %s", r.status, r.body)
			}
		})
	}
	if r := do(t, http.MethodPost, e.proxy.URL+pagePath, "Authorization", "Bearer "+tokenFor(t, starter)); r.status != http.StatusMethodNotAllowed {
		t.Errorf("POST: status %d, want 405", r.status)
	}
	if n := e.upstreamHits(); n != 1 {
		t.Errorf("requests reached the upstream %d times, want 1 (another path): %v", n, e.received())
	}
}

func TestUsagePageIdentityModes(t *testing.T) {
	t.Run("path", func(t *testing.T) {
		e := pageEnv(t, func(p *subv1.SubscriptionPolicy) {
			p.Spec.Gateway.TenantIdentity = subv1.TenantIdentity{From: subv1.IdentityPath}
		}, nil)
		if r := do(t, http.MethodGet, e.proxy.URL+pagePath+"/"+professional); r.status != 200 || !strings.Contains(string(r.body), `value="313"`) {
			t.Errorf("path identity: status %d", r.status)
		}
		for _, p := range []string{pagePath, pagePath + "/" + professional + "/x", pagePath + "/Bad_ID"} {
			if r := do(t, http.MethodGet, e.proxy.URL+p); r.status != http.StatusUnauthorized {
				t.Errorf("%s: status %d, want 401", p, r.status)
			}
		}
	})
	t.Run("trusted header", func(t *testing.T) {
		e := pageEnv(t, func(p *subv1.SubscriptionPolicy) {
			p.Spec.Gateway.TenantIdentity = subv1.TenantIdentity{From: subv1.IdentityTrustedHeader, Header: "X-Auth-Tenant"}
		}, nil)
		r := do(t, http.MethodGet, e.proxy.URL+pagePath+"?tenant_id="+starter, "X-Auth-Tenant", professional, "X-Tenant-ID", starter)
		if r.status != 200 || !strings.Contains(string(r.body), `id="tenant">`+professional+`<`) {
			t.Errorf("trusted header: status %d", r.status)
		}
		if got := r.header.Get("Vary"); !strings.Contains(got, "X-Auth-Tenant") {
			t.Errorf("Vary %q lacks the identity header", got)
		}
	})
	t.Run("a duplicated tenantID is the object Bind chose", func(t *testing.T) {
		e := pageEnv(t, nil, nil)
		// horno-central (enterprise) and zz-duplicate (starter) both claim it; the name sorting first wins.
		r := e.get(t, pagePath, enterprise)
		if r.status != 200 || !strings.Contains(string(r.body), `data-tier="enterprise"`) {
			t.Errorf("status %d, want the enterprise object's page", r.status)
		}
	})
	t.Run("unknown tenant is the lowest tier", func(t *testing.T) {
		e := pageEnv(t, nil, nil)
		r := e.get(t, pagePath, "no-such-bakery")
		if r.status != 200 || !strings.Contains(string(r.body), `data-tier="starter"`) {
			t.Errorf("status %d", r.status)
		}
	})
}

func TestUsagePagePathOptions(t *testing.T) {
	e := pageEnv(t, nil, func(o *gateway.Options) { o.UsagePage.Path = "/my/usage/" })
	if r := e.get(t, "/my/usage", starter); r.status != 200 {
		t.Errorf("configured path: status %d", r.status)
	}
	if r := e.get(t, pagePath, starter); r.status != 200 || string(r.body) != "upstream ok" {
		t.Errorf("default path with another configured: status %d, want it proxied", r.status)
	}
	e = pageEnv(t, nil, func(o *gateway.Options) { o.UsagePage.Disabled = true })
	if r := e.get(t, pagePath, starter); string(r.body) != "upstream ok" {
		t.Errorf("disabled page: %d %s, want it proxied", r.status, r.body)
	}
	e = pageEnv(t, nil, nil)
	if r := e.get(t, pagePath+"x", starter); string(r.body) != "upstream ok" {
		t.Errorf("%sx: want it proxied", pagePath)
	}
}

func TestUsagePageHistory(t *testing.T) {
	rs, rdb := startRedis(t)
	store := history.New(rdb)
	ctx := context.Background()
	day, _ := time.Parse(time.DateOnly, today)
	for back := 5; back >= 0; back-- {
		date := day.AddDate(0, 0, -back).Format(time.DateOnly)
		if err := store.Write(ctx, date, 60, []history.Value{
			{TenantID: starter, Metric: "products", Value: int64(30 + 2*(5-back))},
			{TenantID: professional, Metric: "products", Value: 999},
		}); err != nil {
			t.Fatal(err)
		}
	}
	e := pageEnv(t, nil, func(o *gateway.Options) { o.UsagePage.History = store })
	r := e.get(t, pagePath, starter)
	body := string(r.body)
	if r.status != 200 || strings.Count(body, `<polyline`) != 1 {
		t.Fatalf("status %d, %d sparklines, want 1 (products)", r.status, strings.Count(body, `<polyline`))
	}
	if !strings.Contains(body, `points="99.3,22.0 `) || !strings.Contains(body, ` 120.0,2.0"`) {
		t.Errorf("sparkline does not span the last six days from lowest to highest")
	}
	// Redis gone: the page still answers, without sparklines.
	rs.Close()
	r = e.get(t, pagePath, starter)
	if r.status != 200 || strings.Contains(string(r.body), "<polyline") || !strings.Contains(string(r.body), `value="41"`) {
		t.Errorf("without Redis: status %d", r.status)
	}
}

func TestUsagePageBeforeAnyPolicy(t *testing.T) {
	e := newEnv(t, envOpts{noTable: true})
	if r := e.get(t, pagePath, starter); r.status != http.StatusServiceUnavailable {
		t.Errorf("status %d, want 503", r.status)
	}
}

func FuzzUsagePagePath(f *testing.F) {
	for _, s := range []string{pagePath, pagePath + "/x", pagePath + "?tenant_id=a", pagePath + "/%2e%2e/", "//_subscription/usage", pagePath + "/a/b"} {
		f.Add(s, "es")
	}
	e := pageEnv(f, nil, nil)
	h := e.gw.Handler()
	auth := "Bearer " + tokenFor(f, starter)
	f.Fuzz(func(t *testing.T, target, accept string) {
		req, err := http.NewRequest(http.MethodGet, "http://gw/", nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := url.ParseRequestURI(target); err != nil || !strings.HasPrefix(target, "/") {
			return // the server refuses it before any handler
		}
		req.RequestURI = target
		req.Header.Set("Authorization", auth)
		req.Header.Set("Accept-Language", accept)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if body := rec.Body.String(); strings.Contains(body, `id="tenant">`+professional) || strings.Contains(body, `value="313"`) {
			t.Fatalf("%q showed another tenant", target)
		}
	})
}
