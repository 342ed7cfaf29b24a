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

package entitlement_test

import (
	"encoding/json"
	"fmt"
	"testing"

	subv1 "github.com/bakery-ia/subscription-operator/api/v1alpha1"
	"github.com/bakery-ia/subscription-operator/internal/entitlement"
	"github.com/bakery-ia/subscription-operator/internal/policy"
	"github.com/bakery-ia/subscription-operator/internal/policy/policytest"
)

// checkInputs are tenants, counters, statuses and languages combined: every
// tier (and one the policy lacks), overrides, suspension, the daily count
// below, at and over the limit, no status at all.
func checkInputs(s *policy.Spec) []entitlement.Input {
	tenants := []entitlement.Tenant{
		{ID: "a", Tier: "starter"}, {ID: "a", Tier: "professional"}, {ID: "a", Tier: "enterprise"},
		{ID: "a", Tier: "gold"}, {ID: "a", Tier: "starter", SnapshotsSuspended: true},
		{ID: "a", Tier: "professional", Overrides: map[string]int64{"api_calls": 25000, "products": 3}},
		{ID: "a", Tier: "enterprise", Overrides: map[string]int64{"api_calls": 5}},
	}
	counters := []map[string]int64{nil, {"api_calls": 0}, {"api_calls": 999}, {"api_calls": 1000}, {"api_calls": 10000}, {"api_calls": 1 << 40}}
	statuses := [][]subv1.MetricForecast{nil, status(10, subv1.UsageSafe, nil, nil), status(50, subv1.UsageCritical, ptr("2026-03-20"), ptr(int32(6)))}
	var out []entitlement.Input
	for _, t := range tenants {
		for _, c := range counters {
			for _, st := range statuses {
				for _, lang := range []string{"", "es", "eu"} {
					out = append(out, entitlement.Input{Spec: s, Tenant: t, Status: st, Counters: c, Now: now, Lang: lang})
				}
			}
		}
	}
	return out
}

func js(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestDirectChecksEqualTheView holds CheckFeature and CheckAmount, which
// evaluate only what a check reads, to the answers of the whole view, for
// every input, feature and metric (and ones the policy lacks).
func TestDirectChecksEqualTheView(t *testing.T) {
	s := spec(t)
	features := []string{"teleport"}
	for _, f := range s.Features {
		features = append(features, f.Name)
	}
	metrics := append(s.MetricNames(), "bread")
	amounts := []int64{-1, 0, 1, 5, 40, 41, 300, 301, 1000, entitlement.MaxAmount, entitlement.MaxAmount + 1}
	n := 0
	for _, in := range checkInputs(s) {
		v := entitlement.Evaluate(in)
		for _, f := range features {
			if got, want := js(t, entitlement.CheckFeature(in, f)), js(t, v.CheckFeature(f)); got != want {
				t.Errorf("%+v feature %s:\n got %s\nwant %s", in.Tenant, f, got, want)
			}
			n++
		}
		for _, m := range metrics {
			for _, a := range amounts {
				got, gotErr := entitlement.CheckAmount(in, m, a)
				want, wantErr := v.CheckAmount(m, a)
				if fmt.Sprint(gotErr) != fmt.Sprint(wantErr) || js(t, got) != js(t, want) {
					t.Errorf("%+v %s %d:\n got %s %v\nwant %s %v", in.Tenant, m, a, js(t, got), gotErr, js(t, want), wantErr)
				}
				n++
			}
		}
	}
	if n < 10000 {
		t.Fatalf("only %d cases compared", n)
	}
}

// TestNeedsDailyCount: where it says the count is not needed, no count
// changes any check's answer; where it says it is, some count does.
func TestNeedsDailyCount(t *testing.T) {
	s := spec(t)
	for _, tc := range []struct {
		tenant entitlement.Tenant
		want   bool
	}{
		{entitlement.Tenant{Tier: "starter"}, true},
		{entitlement.Tenant{Tier: "professional"}, true},
		{entitlement.Tenant{Tier: "gold"}, true}, // the lowest tier's limit
		{entitlement.Tenant{Tier: "enterprise"}, false},
		{entitlement.Tenant{Tier: "enterprise", Overrides: map[string]int64{"api_calls": 5}}, true},
		{entitlement.Tenant{Tier: "enterprise", Overrides: map[string]int64{"products": 5}}, false},
	} {
		t.Run(tc.tenant.Tier+fmt.Sprint(tc.tenant.Overrides), func(t *testing.T) {
			if got := entitlement.NeedsDailyCount(s, tc.tenant); got != tc.want {
				t.Fatalf("NeedsDailyCount = %v, want %v", got, tc.want)
			}
			base := entitlement.Input{Spec: s, Tenant: tc.tenant, Status: status(10, subv1.UsageSafe, nil, nil), Now: now}
			changed := false
			for _, n := range []int64{0, 999, 1000, 5, 6, 1 << 40} {
				in := base
				in.Counters = map[string]int64{policy.APICallsMetric: n}
				for _, f := range []string{"analytics", "bulk-export"} {
					changed = changed || js(t, entitlement.CheckFeature(in, f)) != js(t, entitlement.CheckFeature(base, f))
				}
				got, _ := entitlement.CheckAmount(in, policy.APICallsMetric, 1)
				want, _ := entitlement.CheckAmount(base, policy.APICallsMetric, 1)
				changed = changed || js(t, got) != js(t, want)
			}
			if changed != tc.want {
				t.Fatalf("some count changes an answer: %v; NeedsDailyCount says %v", changed, tc.want)
			}
		})
	}

	t.Run("policy without api_calls", func(t *testing.T) {
		p := *s
		p.Metrics = nil
		for _, m := range s.Metrics {
			if m.Name != policy.APICallsMetric {
				p.Metrics = append(p.Metrics, m)
			}
		}
		if entitlement.NeedsDailyCount(&p, entitlement.Tenant{Tier: "starter"}) {
			t.Fatal("a policy without api_calls needs no count")
		}
	})
}

// BenchmarkCheckFeature compares a direct feature check with one through the
// whole view (the denied case builds the upgrade offer).
func BenchmarkCheckFeature(b *testing.B) {
	s, err := policy.CompileSpec(policytest.Policy())
	if err != nil {
		b.Fatal(err)
	}
	in := entitlement.Input{Spec: s, Tenant: entitlement.Tenant{ID: "a", Tier: "starter"},
		Status: status(10, subv1.UsageSafe, nil, nil), Counters: map[string]int64{"api_calls": 10}, Now: now}
	b.Run("direct", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_ = entitlement.CheckFeature(in, "analytics")
		}
	})
	b.Run("view", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			v := entitlement.Evaluate(in)
			_ = v.CheckFeature("analytics")
		}
	})
}
