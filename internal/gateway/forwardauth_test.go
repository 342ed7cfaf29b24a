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
	"strings"
	"testing"

	subv1 "github.com/bakery-ia/subscription-operator/api/v1alpha1"
	"github.com/bakery-ia/subscription-operator/internal/gateway"
)

func TestForwardAuth(t *testing.T) {
	e := newEnv(t, envOpts{tenants: withOverride(starter, 2)})
	// Each proxy names the original request its own way.
	type adapter struct {
		name string
		ask  func(method, uri, tenant string, extra ...string) reply
	}
	auth := func(tenant string) []string {
		if tenant == "" {
			return nil
		}
		return []string{"Authorization", "Bearer " + tokenFor(t, tenant)}
	}
	adapters := []adapter{
		{"traefik", func(method, uri, tenant string, extra ...string) reply {
			h := append([]string{"X-Forwarded-Method", method, "X-Forwarded-Uri", uri, "X-Forwarded-Host", "bakery.example", "X-Forwarded-Proto", "https"}, auth(tenant)...)
			return do(t, "GET", e.fa.URL+"/traefik", append(h, extra...)...)
		}},
		{"envoy", func(method, uri, tenant string, extra ...string) reply {
			return do(t, method, e.fa.URL+"/envoy"+uri, append(auth(tenant), extra...)...)
		}},
		{"nginx", func(method, uri, tenant string, extra ...string) reply {
			h := append([]string{"X-Original-Method", method, "X-Original-Url", "https://bakery.example" + uri}, auth(tenant)...)
			return do(t, "GET", e.fa.URL+"/nginx", append(h, extra...)...)
		}},
	}
	for _, a := range adapters {
		t.Run(a.name, func(t *testing.T) {
			nginx := a.name == "nginx"
			// Allowed: 200 with the identity for the upstream.
			r := a.ask("GET", "/api/v1/tenants/horno-central/forecasting/analytics/x?period=90d", enterprise)
			if r.status != 200 || r.header.Get("X-Tenant-Id") != enterprise || r.header.Get("X-Tenant-Tier") != "enterprise" {
				t.Fatalf("enterprise: %d %v", r.status, r.header)
			}
			// Ungated, anonymous: 200 without identity.
			r = a.ask("POST", "/api/v1/orders", "")
			if r.status != 200 || r.header.Get("X-Tenant-Id") != "" {
				t.Fatalf("ungated anonymous: %d %v", r.status, r.header)
			}
			// Upgrade required.
			r = a.ask("GET", "/api/v1/tenants/x/forecasting/analytics/x", professional+"-nope", "Accept-Language", "es")
			if nginx {
				if r.status != 403 || r.header.Get(gateway.HeaderErrorCode) != gateway.CodeUpgradeRequired ||
					r.header.Get(gateway.HeaderUpgradeFeature) != "analytics" || r.header.Get(gateway.HeaderRequiredTier) != "professional" ||
					r.header.Get(gateway.HeaderCurrentTier) != "starter" ||
					r.header.Get(gateway.HeaderUpgradeURL) != "/app/settings/subscription?upgrade=professional&from=starter&feature=analytics" {
					t.Fatalf("nginx 402: %d %v", r.status, r.header)
				}
			} else if r.status != 402 || jsonField(t, r.body, "details.title") != "Desbloquea la Analítica Avanzada" || r.header.Get("Content-Language") != "es" {
				t.Fatalf("402: %d %s", r.status, r.body)
			}
			// No identity on a gated route.
			r = a.ask("GET", "/api/v1/tenants/x/forecasting/analytics/x", "")
			if r.status != 401 {
				t.Fatalf("anonymous gated: %d", r.status)
			}
		})
	}
	// Quota through each adapter: the starter's override allows 2 calls a day.
	for i, a := range adapters {
		r := a.ask("GET", "/api/v1/orders", starter)
		want := 200
		if i >= 2 {
			want = 429
			if a.name == "nginx" {
				want = 403
			}
		}
		if r.status != want {
			t.Fatalf("%s call %d: %d, want %d", a.name, i+1, r.status, want)
		}
		if want != 200 {
			if r.header.Get("Retry-After") != "1800" {
				t.Errorf("%s Retry-After %q", a.name, r.header.Get("Retry-After"))
			}
			if a.name == "nginx" && (r.header.Get(gateway.HeaderErrorCode) != gateway.CodeQuotaExceeded || r.header.Get(gateway.HeaderRequiredTier) != "professional") {
				t.Errorf("nginx 429 headers %v", r.header)
			}
		}
	}
	// Missing original-request headers fail closed.
	if r := do(t, "GET", e.fa.URL+"/traefik"); r.status != 400 {
		t.Errorf("traefik without headers: %d", r.status)
	}
	if r := do(t, "GET", e.fa.URL+"/nginx"); r.status != 403 {
		t.Errorf("nginx without headers: %d", r.status)
	}
	if e.upstreamHits() != 0 {
		t.Errorf("forward-auth reached the upstream")
	}
}

// withOverride returns the fixture tenants with an api_calls override for one.
func withOverride(tenant string, limit int64) []subv1.TenantUsage {
	ts := fixtureTenants()
	for i := range ts {
		if ts[i].Spec.TenantID == tenant {
			ts[i].Spec.LimitOverrides = map[string]int64{"api_calls": limit}
		}
	}
	return ts
}

func TestPathOfForwardedURI(t *testing.T) {
	e := newEnv(t, envOpts{})
	for uri, want := range map[string]int{
		"/api/v1/tenants/x/forecasting/analytics/a?x=1":                   402,
		"/api/v1/tenants/x/forecasting/analytics/a#frag":                  402,
		"/api/v1/tenants/x/./forecasting/analytics":                       402,
		"https://bakery.example/api/v1/tenants/x/forecasting/analytics/a": 402,
		"/api/v1/tenants/x/forecasting%2Fanalytics/a":                     400, // ambiguous: refused
		"/api/v1/tenants/x/reports/y/%2e%2e/%2e%2e/forecasting/analytics": 400,
		"/api/v1/tenants/x/forecasting/analytics\\a":                      400,
		strings.Repeat("%zz", 3):                                          400,
	} {
		r := do(t, "GET", e.fa.URL+"/traefik", "X-Forwarded-Method", "GET", "X-Forwarded-Uri", uri,
			"Authorization", "Bearer "+tokenFor(t, starter))
		if r.status != want {
			t.Errorf("%s: %d, want %d", uri, r.status, want)
		}
	}
}
