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

package policy_test

import (
	"strings"
	"testing"

	subv1 "github.com/bakery-ia/subscription-operator/api/v1alpha1"
	"github.com/bakery-ia/subscription-operator/internal/policy"
)

func rulesWith(t testing.TB, routes map[string][]subv1.Route) *policy.Rules {
	t.Helper()
	p := &subv1.SubscriptionPolicy{}
	p.Name = "default"
	p.Spec.Tiers = []subv1.Tier{{Name: "a"}, {Name: "b"}}
	p.Spec.Gateway = &subv1.GatewaySpec{TenantIdentity: subv1.TenantIdentity{From: subv1.IdentityPath}}
	// Declaration order is the order of the names given.
	for _, name := range []string{"f1", "f2", "f3", "f4", "f5"} {
		if rs, ok := routes[name]; ok {
			p.Spec.Features = append(p.Spec.Features, subv1.Feature{Name: name, MinimumTier: "b", Routes: rs})
		}
	}
	r, err := policy.CompileRules(p)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestRouteSpecificity(t *testing.T) {
	r := rulesWith(t, map[string][]subv1.Route{
		"f1": {{Method: "*", Path: "/api/**"}},
		"f2": {{Method: "*", Path: "/api/*/x"}},
		"f3": {{Method: "GET", Path: "/api/{tenant}/x"}},
		"f4": {{Method: "GET", Path: "/api/lit/x"}, {Method: "POST", Path: "/api/lit/x"}},
		"f5": {{Method: "GET", Path: "/api/lit/x"}, {Method: "*", Path: "/"}},
	})
	cases := []struct{ method, path, feature, tenant string }{
		{"GET", "/api/lit/x", "f4", ""},   // literal beats {tenant} and *; f4 declared before f5
		{"PUT", "/api/lit/x", "f2", ""},   // literal branch has no PUT: backtrack to * (since {tenant} is GET only)
		{"GET", "/api/t9/x", "f3", "t9"},  // {tenant} beats *
		{"POST", "/api/t9/x", "f2", ""},   // {tenant} route is GET only
		{"GET", "/api/lit/y", "f1", ""},   // falls back to **
		{"GET", "/api", "f1", ""},         // ** matches zero segments
		{"GET", "/", "f5", ""},            // root
		{"GET", "/other", "", ""},         // nothing
		{"HEAD", "/api/t9/x", "f3", "t9"}, // HEAD uses GET routes
		{"GET", "api/t9/x", "f3", "t9"},   // missing leading slash is cleaned
		{"GET", "/api/./t9/x/", "f3", "t9"},
		{"GET", "/api/lit/x/../../t9/x", "f3", "t9"},
		{"GET", "/api/..t9/x", "f3", "..t9"}, // not a dot segment
	}
	for _, c := range cases {
		f, tenant, ok := r.Match(c.method, c.path)
		got := ""
		if ok {
			got = f.Name
		}
		if got != c.feature || tenant != c.tenant {
			t.Errorf("%s %s: got %q tenant %q, want %q tenant %q", c.method, c.path, got, tenant, c.feature, c.tenant)
		}
	}
}

func TestMatchAllocs(t *testing.T) {
	r := rulesWith(t, map[string][]subv1.Route{
		"f1": {{Method: "GET", Path: "/api/v1/tenants/{tenant}/forecasting/analytics/**"}},
	})
	for _, p := range []string{"/api/v1/tenants/t1/forecasting/analytics/advanced", "/api/v1/tenants/t1/orders", "/healthz"} {
		if n := testing.AllocsPerRun(100, func() { r.Match("GET", p) }); n != 0 {
			t.Errorf("%s: %v allocations per match, want 0", p, n)
		}
	}
}

func FuzzMatch(f *testing.F) {
	r := rulesWith(f, map[string][]subv1.Route{
		"f1": {{Method: "GET", Path: "/api/v1/tenants/{tenant}/forecasting/analytics/**"}},
		"f2": {{Method: "*", Path: "/api/*/x"}},
	})
	for _, s := range []string{"/", "", "/api/v1/tenants/a/forecasting/analytics", "//..//.", "/api/./../api/x/x", "/a/b/../../.."} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, p string) {
		feat, tenant, ok := r.Match("GET", p)
		if ok != (feat != nil) {
			t.Fatalf("ok=%v feature=%v", ok, feat)
		}
		if tenant != "" && (strings.Contains(tenant, "/") || feat.Name != "f1") {
			t.Fatalf("bad tenant capture %q for %q", tenant, p)
		}
	})
}

func BenchmarkMatch(b *testing.B) {
	r := rulesWith(b, map[string][]subv1.Route{
		"f1": {{Method: "GET", Path: "/api/v1/tenants/{tenant}/forecasting/analytics/**"}},
		"f2": {{Method: "*", Path: "/api/v1/tenants/*/reports/**"}},
		"f3": {{Method: "POST", Path: "/api/v1/tenants/{tenant}/export"}},
	})
	b.ReportAllocs()
	for b.Loop() {
		r.Match("GET", "/api/v1/tenants/panaderia-san-pablo/forecasting/analytics/advanced")
	}
}
