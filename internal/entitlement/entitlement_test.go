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
	"testing"
	"time"

	subv1 "github.com/bakery-ia/subscription-operator/api/v1alpha1"
	"github.com/bakery-ia/subscription-operator/internal/entitlement"
	"github.com/bakery-ia/subscription-operator/internal/policy"
	"github.com/bakery-ia/subscription-operator/internal/policy/policytest"
	"github.com/bakery-ia/subscription-operator/internal/testenv/golden"
)

var now = time.Date(2026, 3, 14, 9, 30, 0, 0, time.UTC)

func spec(t *testing.T) *policy.Spec {
	t.Helper()
	s, err := policy.CompileSpec(policytest.Policy())
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func ptr[T any](v T) *T { return &v }

func status(products int64, st subv1.UsageStatus, breach *string, days *int32) []subv1.MetricForecast {
	return []subv1.MetricForecast{
		{Metric: "products", Current: products, Limit: ptr(int64(50)), Status: st, PredictedBreachDate: breach, DaysUntilBreach: days},
		{Metric: "api_calls", Current: 700, Limit: ptr(int64(1000)), Status: subv1.UsageSafe},
	}
}

func reason(r *entitlement.Reason) string {
	if r == nil {
		return ""
	}
	return string(*r)
}

func TestEvaluateFeatures(t *testing.T) {
	s := spec(t)
	for _, tc := range []struct {
		name     string
		tenant   entitlement.Tenant
		counters map[string]int64
		// want is "feature=has_access/reason" per feature, in policy order.
		want        []string
		tier        string
		declared    string
		offerTitles []string // title of each denied tier_insufficient offer
		lang        string
	}{
		{name: "starter", tenant: entitlement.Tenant{ID: "a", Tier: "starter"}, tier: "starter",
			want:        []string{"analytics=false/tier_insufficient", "bulk-export=false/tier_insufficient"},
			offerTitles: []string{"Unlock Advanced Analytics", "Export everything at once"}},
		{name: "starter in Spanish (bulk-export has English only)", tenant: entitlement.Tenant{ID: "a", Tier: "starter"}, tier: "starter", lang: "es",
			want:        []string{"analytics=false/tier_insufficient", "bulk-export=false/tier_insufficient"},
			offerTitles: []string{"Desbloquea la Analítica Avanzada", "Export everything at once"}},
		{name: "professional", tenant: entitlement.Tenant{ID: "a", Tier: "professional"}, tier: "professional",
			want:        []string{"analytics=true/", "bulk-export=false/tier_insufficient"},
			offerTitles: []string{"Export everything at once"}},
		{name: "enterprise", tenant: entitlement.Tenant{ID: "a", Tier: "enterprise"}, tier: "enterprise",
			want: []string{"analytics=true/", "bulk-export=true/"}},
		{name: "a tier the policy lacks is the lowest", tenant: entitlement.Tenant{ID: "a", Tier: "gold"}, tier: "starter", declared: "gold",
			want:        []string{"analytics=false/tier_insufficient", "bulk-export=false/tier_insufficient"},
			offerTitles: []string{"Unlock Advanced Analytics", "Export everything at once"}},
		{name: "suspended enterprise keeps enterprise access", tenant: entitlement.Tenant{ID: "a", Tier: "enterprise", SnapshotsSuspended: true}, tier: "enterprise",
			want: []string{"analytics=true/", "bulk-export=true/"}},
		{name: "suspended starter is denied as a starter, not as suspended", tenant: entitlement.Tenant{ID: "a", Tier: "starter", SnapshotsSuspended: true}, tier: "starter",
			want:        []string{"analytics=false/tier_insufficient", "bulk-export=false/tier_insufficient"},
			offerTitles: []string{"Unlock Advanced Analytics", "Export everything at once"}},
		{name: "suspended with the day's calls spent is quota_exhausted", tenant: entitlement.Tenant{ID: "a", Tier: "professional", SnapshotsSuspended: true}, tier: "professional",
			counters:    map[string]int64{"api_calls": 10000},
			want:        []string{"analytics=false/quota_exhausted", "bulk-export=false/tier_insufficient"},
			offerTitles: []string{"Export everything at once"}},
		{name: "daily api_calls spent", tenant: entitlement.Tenant{ID: "a", Tier: "professional"}, tier: "professional",
			counters:    map[string]int64{"api_calls": 10000},
			want:        []string{"analytics=false/quota_exhausted", "bulk-export=false/tier_insufficient"},
			offerTitles: []string{"Export everything at once"}},
		{name: "override raises the daily limit", tenant: entitlement.Tenant{ID: "a", Tier: "professional", Overrides: map[string]int64{"api_calls": 25000}}, tier: "professional",
			counters: map[string]int64{"api_calls": 10000},
			want:     []string{"analytics=true/", "bulk-export=false/tier_insufficient"}, offerTitles: []string{"Export everything at once"}},
		{name: "enterprise api_calls are unlimited", tenant: entitlement.Tenant{ID: "a", Tier: "enterprise"}, tier: "enterprise",
			counters: map[string]int64{"api_calls": 1 << 40},
			want:     []string{"analytics=true/", "bulk-export=true/"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v := entitlement.Evaluate(entitlement.Input{Spec: s, Tenant: tc.tenant, Status: status(10, subv1.UsageSafe, nil, nil),
				Counters: tc.counters, Now: now, Lang: tc.lang})
			if v.Tier != tc.tier || v.DeclaredTier != tc.declared {
				t.Errorf("tier %q declared %q, want %q %q", v.Tier, v.DeclaredTier, tc.tier, tc.declared)
			}
			var got, titles []string
			for _, f := range v.Features {
				got = append(got, f.Feature+"="+map[bool]string{true: "true", false: "false"}[f.HasAccess]+"/"+reason(f.Reason))
				if (f.UpgradeOffer != nil) != (reason(f.Reason) == string(entitlement.ReasonTierInsufficient)) {
					t.Errorf("%s: offer %v with reason %q; an offer comes with tier_insufficient only", f.Feature, f.UpgradeOffer, reason(f.Reason))
				}
				if f.UpgradeOffer != nil {
					titles = append(titles, f.UpgradeOffer.Title)
					if f.UpgradeOffer.MinimumTier != f.RequiredTier || f.UpgradeOffer.CurrentTier != v.Tier {
						t.Errorf("%s: offer tiers %s <- %s", f.Feature, f.UpgradeOffer.MinimumTier, f.UpgradeOffer.CurrentTier)
					}
				}
			}
			if !equal(got, tc.want) || !equal(titles, tc.offerTitles) {
				t.Errorf("features %v offers %v, want %v %v", got, titles, tc.want, tc.offerTitles)
			}
		})
	}
}

func equal(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestEvaluateMetrics(t *testing.T) {
	s := spec(t)
	breach := ptr("2026-03-20")
	for _, tc := range []struct {
		name      string
		tenant    entitlement.Tenant
		status    []subv1.MetricForecast
		counters  map[string]int64
		metric    string
		current   int64
		limit     *int64
		remaining *int64
		pct       *entitlement.Percent
		st        string
		breach    *string
		offer     string // minimum_tier of the metric's offer
	}{
		{name: "from the forecast", tenant: entitlement.Tenant{Tier: "starter"}, status: status(20, subv1.UsageWarning, breach, ptr(int32(6))),
			metric: "products", current: 20, limit: ptr(int64(50)), remaining: ptr(int64(30)), pct: ptr(entitlement.Percent(40.0)), st: "warning", breach: breach},
		{name: "the current value can be worse than the forecast", tenant: entitlement.Tenant{Tier: "starter"}, status: status(45, subv1.UsageSafe, nil, nil),
			metric: "products", current: 45, limit: ptr(int64(50)), remaining: ptr(int64(5)), pct: ptr(entitlement.Percent(90.0)), st: "critical"},
		{name: "warning from the percentage", tenant: entitlement.Tenant{Tier: "starter"}, status: status(40, subv1.UsageSafe, nil, nil),
			metric: "products", current: 40, limit: ptr(int64(50)), remaining: ptr(int64(10)), pct: ptr(entitlement.Percent(80.0)), st: "warning"},
		{name: "over the limit: remaining 0 and the next tier offered", tenant: entitlement.Tenant{Tier: "starter"}, status: status(51, subv1.UsageCritical, nil, nil),
			metric: "products", current: 51, limit: ptr(int64(50)), remaining: ptr(int64(0)), pct: ptr(entitlement.Percent(102.0)), st: "critical", offer: "professional"},
		{name: "live counter replaces the snapshot", tenant: entitlement.Tenant{Tier: "starter"}, status: status(1, subv1.UsageSafe, nil, nil),
			counters: map[string]int64{"api_calls": 333}, metric: "api_calls", current: 333, limit: ptr(int64(1000)), remaining: ptr(int64(667)), pct: ptr(entitlement.Percent(33.3)), st: "safe"},
		{name: "one decimal", tenant: entitlement.Tenant{Tier: "starter", Overrides: map[string]int64{"api_calls": 9}}, counters: map[string]int64{"api_calls": 2},
			metric: "api_calls", current: 2, limit: ptr(int64(9)), remaining: ptr(int64(7)), pct: ptr(entitlement.Percent(22.2)), st: "safe"},
		{name: "one decimal, rounded", tenant: entitlement.Tenant{Tier: "starter", Overrides: map[string]int64{"api_calls": 3}}, counters: map[string]int64{"api_calls": 2},
			metric: "api_calls", current: 2, limit: ptr(int64(3)), remaining: ptr(int64(1)), pct: ptr(entitlement.Percent(66.7)), st: "safe"},
		{name: "override", tenant: entitlement.Tenant{Tier: "starter", Overrides: map[string]int64{"products": 200}}, status: status(50, subv1.UsageCritical, nil, nil),
			metric: "products", current: 50, limit: ptr(int64(200)), remaining: ptr(int64(150)), pct: ptr(entitlement.Percent(25.0)), st: "critical"},
		{name: "override of 0: full at once", tenant: entitlement.Tenant{Tier: "starter", Overrides: map[string]int64{"products": 0}},
			metric: "products", current: 0, limit: ptr(int64(0)), remaining: ptr(int64(0)), pct: ptr(entitlement.Percent(100.0)), st: "critical", offer: "professional"},
		{name: "unlimited drops the breach date", tenant: entitlement.Tenant{Tier: "enterprise"}, status: status(20, subv1.UsageWarning, breach, ptr(int32(6))),
			metric: "products", current: 20, st: "unlimited"},
		{name: "no forecast yet", tenant: entitlement.Tenant{Tier: "starter"},
			metric: "products", current: 0, limit: ptr(int64(50)), remaining: ptr(int64(50)), pct: ptr(entitlement.Percent(0.0)), st: "safe"},
		{name: "daily limit spent at the top tier with a limit offers the unlimited tier", tenant: entitlement.Tenant{Tier: "professional"},
			counters: map[string]int64{"api_calls": 10001}, metric: "api_calls", current: 10001, limit: ptr(int64(10000)), remaining: ptr(int64(0)), pct: ptr(entitlement.Percent(100.0)), st: "critical", offer: "enterprise"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v := entitlement.Evaluate(entitlement.Input{Spec: s, Tenant: tc.tenant, Status: tc.status, Counters: tc.counters, Now: now})
			m, ok := v.Metric(tc.metric)
			if !ok {
				t.Fatalf("no metric %s", tc.metric)
			}
			offer := ""
			if m.UpgradeOffer != nil {
				offer = m.UpgradeOffer.MinimumTier
			}
			if m.Current != tc.current || !eqp(m.Limit, tc.limit) || !eqp(m.Remaining, tc.remaining) || !eqp(m.UsagePercentage, tc.pct) ||
				m.Status != tc.st || !eqp(m.PredictedBreachDate, tc.breach) || offer != tc.offer {
				js, _ := json.Marshal(m)
				t.Errorf("got %s", js)
			}
			if m.Daily != (tc.metric == "api_calls") {
				t.Errorf("daily %v", m.Daily)
			}
		})
	}
}

func eqp[T comparable](a, b *T) bool {
	if a == nil || b == nil {
		return a == b
	}
	return *a == *b
}

func TestChecks(t *testing.T) {
	s := spec(t)
	for _, tc := range []struct {
		name      string
		tenant    entitlement.Tenant
		feature   string
		metric    string
		amount    int64
		allowed   bool
		reason    string
		remaining *int64
		required  string
		err       bool
	}{
		{name: "feature allowed", tenant: entitlement.Tenant{Tier: "professional"}, feature: "analytics", allowed: true, required: "professional"},
		{name: "feature denied", tenant: entitlement.Tenant{Tier: "starter"}, feature: "analytics", reason: "tier_insufficient", required: "professional"},
		{name: "unknown feature", tenant: entitlement.Tenant{Tier: "enterprise"}, feature: "teleport", reason: "unknown_feature"},
		{name: "suspended feature is allowed as unsuspended", tenant: entitlement.Tenant{Tier: "enterprise", SnapshotsSuspended: true}, feature: "analytics", allowed: true, required: "professional"},
		{name: "suspended starter feature is tier_insufficient", tenant: entitlement.Tenant{Tier: "starter", SnapshotsSuspended: true}, feature: "analytics", reason: "tier_insufficient", required: "professional"},
		{name: "amount fits exactly", tenant: entitlement.Tenant{Tier: "starter"}, metric: "products", amount: 40, allowed: true, remaining: ptr(int64(0))},
		{name: "amount one too many", tenant: entitlement.Tenant{Tier: "starter"}, metric: "products", amount: 41, reason: "quota_exhausted", remaining: ptr(int64(-1)), required: "professional"},
		{name: "amount 0 asks whether anything is left", tenant: entitlement.Tenant{Tier: "starter"}, metric: "products", amount: 0, allowed: true, remaining: ptr(int64(40))},
		{name: "unlimited", tenant: entitlement.Tenant{Tier: "enterprise"}, metric: "products", amount: entitlement.MaxAmount, allowed: true},
		{name: "suspended metric is allowed as unsuspended", tenant: entitlement.Tenant{Tier: "enterprise", SnapshotsSuspended: true}, metric: "products", amount: 1, allowed: true},
		{name: "suspended metric over the limit is quota_exhausted", tenant: entitlement.Tenant{Tier: "starter", SnapshotsSuspended: true}, metric: "products", amount: 41, reason: "quota_exhausted", remaining: ptr(int64(-1)), required: "professional"},
		{name: "daily calls: the gateway's rule", tenant: entitlement.Tenant{Tier: "starter"}, metric: "api_calls", amount: 300, allowed: true, remaining: ptr(int64(0))},
		{name: "daily calls: one more than left", tenant: entitlement.Tenant{Tier: "starter"}, metric: "api_calls", amount: 301, reason: "quota_exhausted", remaining: ptr(int64(-1)), required: "professional"},
		{name: "unknown metric", tenant: entitlement.Tenant{Tier: "starter"}, metric: "bread", amount: 1, err: true},
		{name: "negative amount", tenant: entitlement.Tenant{Tier: "starter"}, metric: "products", amount: -1, err: true},
		{name: "amount too large", tenant: entitlement.Tenant{Tier: "starter"}, metric: "products", amount: entitlement.MaxAmount + 1, err: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v := entitlement.Evaluate(entitlement.Input{Spec: s, Tenant: tc.tenant, Status: status(10, subv1.UsageSafe, nil, nil), Now: now})
			var c entitlement.Check
			if tc.feature != "" {
				c = v.CheckFeature(tc.feature)
			} else {
				var err error
				c, err = v.CheckAmount(tc.metric, tc.amount)
				if (err != nil) != tc.err {
					t.Fatalf("err %v, want error %v", err, tc.err)
				}
				if err != nil {
					return
				}
			}
			if c.Allowed != tc.allowed || reason(c.Reason) != tc.reason || !eqp(c.RemainingAfter, tc.remaining) || c.RequiredTier != tc.required {
				js, _ := json.Marshal(c)
				t.Errorf("got %s", js)
			}
			if (c.UpgradeOffer != nil) != (tc.required != "" && !c.Allowed) {
				t.Errorf("offer %v", c.UpgradeOffer)
			}
		})
	}
}

// TestSuspendDeniesNothing: spec.suspend pauses snapshots, not service (the
// gateway does not deny a suspended tenant), so a suspended tenant's answers
// equal the unsuspended one's, bar the snapshots_suspended flag.
func TestSuspendDeniesNothing(t *testing.T) {
	s := spec(t)
	for _, tier := range []string{"starter", "professional", "enterprise", "gold"} {
		for _, counters := range []map[string]int64{nil, {"api_calls": 299}, {"api_calls": 10000}} {
			eval := func(suspended bool) *entitlement.View {
				v := entitlement.Evaluate(entitlement.Input{Spec: s, Tenant: entitlement.Tenant{ID: "a", Tier: tier, SnapshotsSuspended: suspended},
					Status: status(10, subv1.UsageSafe, nil, nil), Counters: counters, Now: now})
				return &v
			}
			on, off := eval(true), eval(false)
			if !on.SnapshotsSuspended || off.SnapshotsSuspended {
				t.Fatalf("%s: snapshots_suspended %v/%v", tier, on.SnapshotsSuspended, off.SnapshotsSuspended)
			}
			on.SnapshotsSuspended = false
			a, _ := json.Marshal(on)
			b, _ := json.Marshal(off)
			if string(a) != string(b) {
				t.Errorf("%s %v: suspended view differs\n%s\n%s", tier, counters, a, b)
			}
			for _, f := range []string{"analytics", "bulk-export", "teleport"} {
				if ca, cb := on.CheckFeature(f), off.CheckFeature(f); ca.Allowed != cb.Allowed || reason(ca.Reason) != reason(cb.Reason) {
					t.Errorf("%s %v %s: check %v/%s, unsuspended %v/%s", tier, counters, f, ca.Allowed, reason(ca.Reason), cb.Allowed, reason(cb.Reason))
				}
			}
			for _, m := range []string{"products", "api_calls"} {
				for _, amount := range []int64{0, 1, 41, 301, entitlement.MaxAmount} {
					ca, errA := on.CheckAmount(m, amount)
					cb, errB := off.CheckAmount(m, amount)
					if errA != nil || errB != nil || ca.Allowed != cb.Allowed || reason(ca.Reason) != reason(cb.Reason) || !eqp(ca.RemainingAfter, cb.RemainingAfter) {
						t.Errorf("%s %v %s %d: check %+v (%v), unsuspended %+v (%v)", tier, counters, m, amount, ca, errA, cb, errB)
					}
				}
			}
		}
	}
}

// TestViewJSON holds the body shape (the API's contract) in a golden file.
func TestViewJSON(t *testing.T) {
	s := spec(t)
	for _, lang := range []string{"en", "es", "eu"} {
		v := entitlement.Evaluate(entitlement.Input{Spec: s, Tenant: entitlement.Tenant{ID: "panaderia-san-pablo", Tier: "starter"},
			Status: status(45, subv1.UsageWarning, ptr("2026-03-20"), ptr(int32(6))), Counters: map[string]int64{"api_calls": 1000}, Now: now, Lang: lang})
		body, err := json.MarshalIndent(v, "", "  ")
		if err != nil {
			t.Fatal(err)
		}
		golden.Assert(t, "view_"+lang+".json", append(body, '\n'))
	}
}

func TestNegotiator(t *testing.T) {
	n := entitlement.NewNegotiator([]string{"en", "es", "eu"})
	for accept, want := range map[string]string{
		"":                        "en",
		"es-ES,es;q=0.9":          "es",
		"eu-ES":                   "eu",
		"fr-FR, eu;q=0.5":         "eu",
		"fr":                      "en",
		"de;q=0.9, es;q=0.1":      "es",
		";;;===,,":                "en",
		"es;q=0, en;q=0.1":        "en",
		"x-klingon":               "en",
		string(make([]byte, 300)): "en",
	} {
		for range 2 { // second time from the cache
			if got := n.Language(accept); got != want {
				t.Errorf("%q: %s, want %s", accept, got, want)
			}
		}
	}
	if got := entitlement.NewNegotiator([]string{"en"}).Language("es"); got != "en" {
		t.Errorf("single language: %s", got)
	}
}
