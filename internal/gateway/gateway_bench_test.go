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
	"fmt"
	"net/http"
	"testing"

	subv1 "github.com/bakery-ia/subscription-operator/api/v1alpha1"
	"github.com/bakery-ia/subscription-operator/internal/policy/policytest"
)

// discard is a minimal ResponseWriter (httptest.ResponseRecorder allocates).
type discard struct {
	h      http.Header
	status int
}

func (d *discard) Header() http.Header         { return d.h }
func (d *discard) Write(b []byte) (int, error) { return len(b), nil }
func (d *discard) WriteHeader(s int)           { d.status = s }

func benchRequest(b *testing.B, path, tenant string) *http.Request {
	r, err := http.NewRequest("GET", "http://gw"+path, nil)
	if err != nil {
		b.Fatal(err)
	}
	r.RequestURI = path // as net/http's server sets it: the proxy decides on it
	r.Header.Set("Authorization", "Bearer "+tokenFor(b, tenant))
	r.Header.Set("Accept-Language", "es-ES,es;q=0.9,en;q=0.8")
	return r
}

// BenchmarkServe402 is the whole 402 answer: decision, body pick, headers, write.
func BenchmarkServe402(b *testing.B) {
	e := newEnv(b, envOpts{})
	h := e.gw.Handler()
	r := benchRequest(b, analytics, starter)
	w := &discard{h: http.Header{}}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		w := &discard{h: http.Header{}}
		for pb.Next() {
			h.ServeHTTP(w, r)
		}
	})
	h.ServeHTTP(w, r)
	if w.status != 402 {
		b.Fatalf("status %d", w.status)
	}
}

// BenchmarkDecideAllow is the decision of a proxied request: route match, JWT
// (cached verification), tier, quota check and count.
func BenchmarkDecideAllow(b *testing.B) {
	e := newEnv(b, envOpts{})
	r := benchRequest(b, "/api/v1/tenants/horno-central/forecasting/analytics/x", enterprise)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			e.gw.Decide(r.Method, r.URL.Path, r.Header)
		}
	})
	if d := e.gw.Decide(r.Method, r.URL.Path, r.Header); d.Label != "allowed" {
		b.Fatalf("decision %s", d.Label)
	}
}

// BenchmarkUpdate is the cost of a swap: full recompile (policy change) and
// tenants only (TenantUsage change), with 1000 tenants.
func BenchmarkUpdate(b *testing.B) {
	e := newEnv(b, envOpts{})
	tenants := fixtureTenants()
	for i := 0; i < 1000; i++ {
		tenants = append(tenants, subv1.TenantUsage{Spec: subv1.TenantUsageSpec{TenantID: fmt.Sprintf("t%d", i), Tier: "starter"}})
		tenants[len(tenants)-1].Name = fmt.Sprintf("t%d", i)
		tenants[len(tenants)-1].Namespace = "bakery-ia"
	}
	ctx := context.Background()
	b.Run("policy", func(b *testing.B) {
		b.ReportAllocs()
		gen := int64(100)
		for b.Loop() {
			p := policytest.Policy()
			gen++
			p.Generation = gen
			if err := e.gw.Update(ctx, p, tenants); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("tenants", func(b *testing.B) {
		p := policytest.Policy()
		b.ReportAllocs()
		for b.Loop() {
			if err := e.gw.Update(ctx, p, tenants); err != nil {
				b.Fatal(err)
			}
		}
	})
}
