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
	"fmt"
	"reflect"
	"runtime"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	toolscache "k8s.io/client-go/tools/cache"
	"k8s.io/utils/ptr"

	subv1 "github.com/bakery-ia/subscription-operator/api/v1alpha1"
	"github.com/bakery-ia/subscription-operator/internal/gateway"
	"github.com/bakery-ia/subscription-operator/internal/kube/trim"
	"github.com/bakery-ia/subscription-operator/internal/policy"
	"github.com/bakery-ia/subscription-operator/internal/policy/policytest"
)

var forecastTime = metav1.Date(2026, 12, 2, 2, 0, 5, 0, metav1.Now().Location())

// fullTenant is a TenantUsage as the API server sends it: metadata the
// gateway never reads and a nine-metric status.
func fullTenant(id, tier string) *subv1.TenantUsage {
	tu := &subv1.TenantUsage{
		TypeMeta: metav1.TypeMeta{APIVersion: "subscriptions.bakery-ia.io/v1alpha1", Kind: "TenantUsage"},
		ObjectMeta: metav1.ObjectMeta{
			Name: id, Namespace: "bakeries", UID: "uid-" + "1", ResourceVersion: "4711", Generation: 3,
			Labels:          map[string]string{subv1.LabelManagedBy: "subscription-operator", subv1.LabelPolicy: "default"},
			Annotations:     map[string]string{trim.LastAppliedAnnotation: `{"spec":{}}`, "note": "x"},
			ManagedFields:   []metav1.ManagedFieldsEntry{{Manager: "manager", Operation: metav1.ManagedFieldsOperationUpdate}},
			OwnerReferences: []metav1.OwnerReference{{Kind: "SubscriptionPolicy", Name: "default"}},
			Finalizers:      []string{"example.com/keep"},
		},
		Spec: subv1.TenantUsageSpec{
			TenantID: id, Tier: tier, PolicyRef: subv1.PolicyReference{Name: "default"},
			LimitOverrides: map[string]int64{"api_calls": 5000}, Suspend: true,
		},
		Status: subv1.TenantUsageStatus{
			ObservedGeneration: 3, Tier: tier, LastSnapshotDate: "2026-12-02", ForecastedAt: &forecastTime,
			Conditions: []metav1.Condition{{Type: "Ready", Status: metav1.ConditionTrue, Reason: "Forecasted", Message: "ok", LastTransitionTime: forecastTime}},
			Summary:    &subv1.ForecastSummary{Status: subv1.UsageWarning, DaysUntilBreach: ptr.To[int32](12), Metric: "products"},
		},
	}
	for i := range 9 {
		tu.Status.Metrics = append(tu.Status.Metrics, subv1.MetricForecast{
			Metric: fmt.Sprintf("metric_%d", i), Label: "Metric", Current: int64(10 * i), Limit: ptr.To[int64](500), Unit: "items",
			DailyGrowthRate: ptr.To("1.25"), PredictedBreachDate: ptr.To("2027-01-15"), DaysUntilBreach: ptr.To[int32](44),
			UsagePercentage: ptr.To("12.0"), Status: subv1.UsageSafe,
		})
	}
	return tu
}

// withoutRates is the forecast as the gateway answers it: the growth rate is
// the one field the record drops (no decision, entitlement answer or usage
// page reads it).
func withoutRates(ms []subv1.MetricForecast) []subv1.MetricForecast {
	out := append([]subv1.MetricForecast(nil), ms...)
	for i := range out {
		out[i].DailyGrowthRate = nil
	}
	return out
}

func TestCompactTenantUsage(t *testing.T) {
	deleting := fullTenant("closing", "starter")
	deleting.DeletionTimestamp = &forecastTime
	bare := &subv1.TenantUsage{ObjectMeta: metav1.ObjectMeta{Name: "bare", Namespace: "bakeries", ResourceVersion: "1"},
		Spec: subv1.TenantUsageSpec{TenantID: "bare", Tier: "starter"}}
	odd := fullTenant("odd", "enterprise")
	odd.Spec.TenantID = "another-id"
	odd.Spec.PolicyRef.Name = "other"
	// Whatever a status writer put there comes back as it was: no parsing.
	odd.Status.Metrics = []subv1.MetricForecast{
		{Metric: "m", Current: -1, Limit: ptr.To[int64](0), UsagePercentage: ptr.To("82"), Status: "weird"},
		{Metric: "", Label: strings.Repeat("é", 300), Current: 1 << 62, PredictedBreachDate: ptr.To(""),
			EarliestBreachDate: ptr.To("not a date"), LatestBreachDate: ptr.To("9999-99-99"), DaysUntilBreach: ptr.To[int32](-5)},
		{},
	}
	for name, tu := range map[string]*subv1.TenantUsage{
		"nine metrics, every kind of metadata": fullTenant("horno", "professional"),
		"being deleted":                        deleting,
		"no status, no policyRef":              bare,
		"odd values, another policy":           odd,
	} {
		t.Run(name, func(t *testing.T) {
			before := tu.DeepCopy()
			got, err := gateway.CompactTenantUsage(tu)
			if err != nil {
				t.Fatal(err)
			}
			rec, ok := got.(*gateway.TenantRecord)
			if !ok {
				t.Fatalf("transform gave %T", got)
			}
			if want := policy.BindingOf(before); !reflect.DeepEqual(rec.Binding, want) {
				t.Errorf("binding %+v, want %+v", rec.Binding, want)
			}
			want := subv1.TenantUsageStatus{ForecastedAt: before.Status.ForecastedAt, LastSnapshotDate: before.Status.LastSnapshotDate,
				Metrics: withoutRates(before.Status.Metrics)}
			if st := rec.Status(); !reflect.DeepEqual(st, want) {
				t.Errorf("status\n%+v\nwant\n%+v", st, want)
			}
			if !reflect.DeepEqual(tu, before) {
				t.Error("the input object was changed")
			}
			// A reader that changes its copy changes nothing in the record.
			if fc := rec.Forecast(); len(fc) > 0 {
				fc[0].Current++
				if fc[0].Limit != nil {
					*fc[0].Limit = 7
				}
				if fc[0].UsagePercentage != nil {
					*fc[0].UsagePercentage = "x"
				}
				if again := rec.Forecast(); !reflect.DeepEqual(again, want.Metrics) {
					t.Errorf("the record changed through a reader's copy: %+v", again)
				}
			}
			// Idempotent, as client-go asks: a record passes unchanged.
			if again, _ := gateway.CompactTenantUsage(rec); again != any(rec) {
				t.Error("a record was transformed again")
			}
			key, err := toolscache.MetaNamespaceKeyFunc(rec)
			if err != nil || key != before.Namespace+"/"+before.Name {
				t.Errorf("store key %q, %v", key, err)
			}
		})
	}
}

// The informer's transform keeps the binding and nothing of the status: a
// gateway pod holds every tenant, and the forecast is read when asked for.
func TestCompactTenantBinding(t *testing.T) {
	tu := fullTenant("horno", "professional")
	before := tu.DeepCopy()
	got, err := gateway.CompactTenantBinding(tu)
	if err != nil {
		t.Fatal(err)
	}
	rec, ok := got.(*gateway.TenantRecord)
	if !ok {
		t.Fatalf("transform gave %T", got)
	}
	if want := policy.BindingOf(before); !reflect.DeepEqual(rec.Binding, want) {
		t.Errorf("binding %+v, want %+v", rec.Binding, want)
	}
	if st := rec.Status(); !reflect.DeepEqual(st, subv1.TenantUsageStatus{}) || rec.Forecast() != nil {
		t.Errorf("the binding record kept a status: %+v", st)
	}
	if again, _ := gateway.CompactTenantBinding(rec); again != any(rec) {
		t.Error("a record was transformed again")
	}
	tomb := toolscache.DeletedFinalStateUnknown{Key: "bakeries/horno", Obj: before}
	if got, err := gateway.CompactTenantBinding(tomb); err != nil || !reflect.DeepEqual(got, tomb) {
		t.Errorf("tombstone: %v, %v; want it unchanged", got, err)
	}
}

func TestCompactTenantUsageOtherObjects(t *testing.T) {
	tomb := toolscache.DeletedFinalStateUnknown{Key: "bakeries/horno", Obj: fullTenant("horno", "starter")}
	if got, err := gateway.CompactTenantUsage(tomb); err != nil || !reflect.DeepEqual(got, tomb) {
		t.Errorf("tombstone: %v, %v; want it unchanged", got, err)
	}
	pol := policytest.Policy()
	if got, err := gateway.CompactTenantUsage(pol); err != nil || got != any(pol) {
		t.Errorf("policy: %v, %v; want it unchanged", got, err)
	}
}

// TestCompactTenantsDecideTheSame binds the policy's rule table to the tenants
// as the API server sends them and as the cache keeps them: every tenant must
// get the same tier, limits, overrides and suspension.
func TestCompactTenantsDecideTheSame(t *testing.T) {
	pol := policytest.Policy()
	pol.Namespace, pol.Name = "bakeries", "default"
	rules, err := policy.CompileRules(pol)
	if err != nil {
		t.Fatal(err)
	}
	var full []subv1.TenantUsage
	var bs []*policy.Binding
	for _, tu := range policytest.Tenants() {
		f := fullTenant(tu.Spec.TenantID, tu.Spec.Tier)
		f.Spec.LimitOverrides, f.Spec.Suspend, f.Spec.PolicyRef = tu.Spec.LimitOverrides, tu.Spec.Suspend, tu.Spec.PolicyRef
		rec, err := gateway.CompactTenantUsage(f.DeepCopy())
		if err != nil {
			t.Fatal(err)
		}
		full, bs = append(full, *f), append(bs, &rec.(*gateway.TenantRecord).Binding)
	}
	a, b := rules.Bind(full), rules.BindAll(bs)
	if a.TenantsVersion != b.TenantsVersion || len(a.Tenants()) < 2 || !reflect.DeepEqual(a.Tenants(), b.Tenants()) {
		t.Fatalf("tenants %v (version %q) vs %v (version %q)", a.Tenants(), a.TenantsVersion, b.Tenants(), b.TenantsVersion)
	}
	for _, id := range a.Tenants() {
		x, _ := a.Tenant(id)
		y, _ := b.Tenant(id)
		if !reflect.DeepEqual(x, y) {
			t.Errorf("tenant %s: %+v from the API object, %+v from the record", id, x, y)
		}
	}
}

// BenchmarkTenantRecordSize reports the live heap per tenant of the
// gateway's record with the status (a read forecast), of the binding alone
// (what the informer keeps) and, for comparison, of the whole decoded object, for
// tenants with a realistic nine-metric status.
func BenchmarkTenantRecordSize(b *testing.B) {
	const n = 10000
	objects := func() []*subv1.TenantUsage {
		out := make([]*subv1.TenantUsage, n)
		for i := range out {
			tu := fullTenant(fmt.Sprintf("00000000-0000-4000-8000-%012x", i), "starter")
			for k := range tu.Status.Metrics {
				m := &tu.Status.Metrics[k]
				m.Current = int64((i*31 + k*7) % 700)
				m.UsagePercentage = ptr.To(fmt.Sprintf("%d.0", m.Current/10))
				m.PredictedBreachDate = ptr.To(time.Date(2027, 1, 1+i%400, 0, 0, 0, 0, time.UTC).Format(time.DateOnly))
			}
			out[i] = tu
		}
		return out
	}
	live := func() uint64 {
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		return ms.HeapAlloc
	}
	for b.Loop() {
		base := live()
		objs := objects()
		full := live()
		recs := make([]*gateway.TenantRecord, n)
		for i, tu := range objs {
			rec, _ := gateway.CompactTenantUsage(tu)
			recs[i] = rec.(*gateway.TenantRecord)
		}
		objs = nil //nolint:ineffassign,wastedassign // the objects become garbage here
		compact := live()
		b.ReportMetric(float64(full-base)/n, "object-B/tenant")
		b.ReportMetric(float64(compact-base)/n, "record-B/tenant")
		runtime.KeepAlive(recs)
		recs = nil //nolint:ineffassign,wastedassign // and the records
		// What the informer keeps: the binding alone.
		base = live()
		objs = objects()
		bindings := make([]*gateway.TenantRecord, n)
		for i, tu := range objs {
			rec, _ := gateway.CompactTenantBinding(tu)
			bindings[i] = rec.(*gateway.TenantRecord)
		}
		objs = nil //nolint:ineffassign,wastedassign // the objects become garbage here
		b.ReportMetric(float64(live()-base)/n, "binding-B/tenant")
		runtime.KeepAlive(bindings)
	}
}
