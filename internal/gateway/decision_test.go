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
	"net/http"
	"testing"

	"github.com/bakery-ia/subscription-operator/internal/testenv/golden"
)

func TestUpgradeBodyGolden(t *testing.T) {
	e := newEnv(t, envOpts{})
	for _, lang := range []string{"en", "es", "eu"} {
		t.Run(lang, func(t *testing.T) {
			r := e.get(t, analytics, starter, "Accept-Language", lang)
			if r.status != http.StatusPaymentRequired {
				t.Fatalf("status %d, want 402: %s", r.status, r.body)
			}
			if got := r.header.Get("Content-Language"); got != lang {
				t.Errorf("Content-Language %q, want %q", got, lang)
			}
			if got := r.header.Get("Vary"); got != "Accept-Language" {
				t.Errorf("Vary %q", got)
			}
			if got := r.header.Get("Content-Type"); got != "application/json; charset=utf-8" {
				t.Errorf("Content-Type %q", got)
			}
			golden.Assert(t, "upgrade_402_"+lang+".golden", indent(t, r.body))
		})
	}
	if e.upstreamHits() != 0 {
		t.Fatalf("a 402 request reached the upstream")
	}
	if got := metricValue(e.metrics.Upgrade.WithLabelValues("analytics", "starter", "professional")); got != 3 {
		t.Errorf("gateway_upgrade_required_total = %v, want 3", got)
	}
	if got := metricValue(e.metrics.Requests.WithLabelValues("upgrade_required")); got != 3 {
		t.Errorf("gateway_requests_total{decision=upgrade_required} = %v, want 3", got)
	}
}

func TestTiers(t *testing.T) {
	e := newEnv(t, envOpts{})
	cases := []struct {
		name, path, tenant string
		want               int
	}{
		{"starter gated", analytics, starter, 402},
		{"professional gated", "/api/v1/tenants/obrador-donostia/forecasting/analytics/advanced", professional, 200},
		{"enterprise gated", "/api/v1/tenants/horno-central/forecasting/analytics/advanced", enterprise, 200},
		{"unknown tenant is the lowest tier", analytics, "nueva-panaderia", 402},
		{"unknown tier is the lowest tier", analytics, "pasteleria-gold", 402},
		{"professional on an enterprise feature", "/api/v1/tenants/obrador-donostia/reports/2026", professional, 402},
		{"enterprise on an enterprise feature", "/api/v1/tenants/horno-central/reports/2026", enterprise, 200},
		{"ungated starter", ungated, starter, 200},
		{"ungated professional", ungated, professional, 200},
		{"ungated enterprise", ungated, enterprise, 200},
		{"ungated anonymous", ungated, "", 200},
		{"ungated root", "/", "", 200},
		{"gated anonymous", analytics, "", 401},
		{"path tricks do not dodge the gate", "/api/v1/tenants/x//forecasting/./analytics/../analytics/a", starter, 402},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			before := e.upstreamHits()
			r := e.get(t, c.path, c.tenant)
			if r.status != c.want {
				t.Fatalf("status %d, want %d: %s", r.status, c.want, r.body)
			}
			proxied := e.upstreamHits() > before
			if proxied != (c.want == 200) {
				t.Fatalf("proxied=%v with status %d", proxied, r.status)
			}
			if c.want == 200 {
				s := e.lastSeen()
				if s.Tenant != c.tenant {
					t.Errorf("upstream saw X-Tenant-Id %q, want %q", s.Tenant, c.tenant)
				}
				if string(r.body) != "upstream ok" {
					t.Errorf("body %q", r.body)
				}
			}
		})
	}
	s := func() *seen {
		e.get(t, "/api/v1/tenants/horno-central/forecasting/analytics/x", enterprise)
		return e.lastSeen()
	}()
	if s.Tier != "enterprise" {
		t.Errorf("upstream saw X-Tenant-Tier %q", s.Tier)
	}
}

func TestLanguageNegotiation(t *testing.T) {
	e := newEnv(t, envOpts{})
	cases := []struct{ accept, want string }{
		{"", "en"},
		{"en", "en"},
		{"en-GB,en;q=0.9", "en"},
		{"es", "es"},
		{"es-MX,es;q=0.9,en;q=0.5", "es"},
		{"eu-ES", "eu"},
		{"eu", "eu"},
		{"de-DE,de;q=0.9,eu;q=0.5", "eu"},
		{"fr", "en"},
		{"zh-Hant-TW", "en"},
		{"*", "en"},
		{"!!!not a language;;q=x", "en"},
		{"es;q=abc", "en"},
		{"x-klingon", "en"},
		{"ca", "en"},
		{"gl", "es"}, // x/text (CLDR) deliberately serves Spanish to Galician readers
		{"pt-BR", "en"},
	}
	for _, c := range cases {
		r := e.get(t, analytics, starter, "Accept-Language", c.accept)
		if got := r.header.Get("Content-Language"); got != c.want {
			t.Errorf("Accept-Language %q: Content-Language %q, want %q", c.accept, got, c.want)
		}
		if r.status != 402 {
			t.Fatalf("status %d", r.status)
		}
	}
	// A feature with English texts only answers in English whatever is asked.
	r := e.get(t, "/api/v1/tenants/obrador-donostia/reports/x", professional, "Accept-Language", "es")
	if got := r.header.Get("Content-Language"); got != "en" {
		t.Errorf("English-only feature: Content-Language %q", got)
	}
}
