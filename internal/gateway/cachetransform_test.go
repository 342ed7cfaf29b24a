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
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	toolscache "k8s.io/client-go/tools/cache"
	"k8s.io/utils/ptr"

	subv1 "github.com/bakery-ia/subscription-operator/api/v1alpha1"
	"github.com/bakery-ia/subscription-operator/internal/gateway"
	"github.com/bakery-ia/subscription-operator/internal/kube"
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
			Annotations:     map[string]string{kube.LastAppliedAnnotation: `{"spec":{}}`, "note": "x"},
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

func TestSlimTenantUsage(t *testing.T) {
	slim := func(tu *subv1.TenantUsage) *subv1.TenantUsage {
		want := &subv1.TenantUsage{
			TypeMeta: tu.TypeMeta,
			ObjectMeta: metav1.ObjectMeta{Name: tu.Name, Namespace: tu.Namespace, UID: tu.UID,
				ResourceVersion: tu.ResourceVersion, Generation: tu.Generation, DeletionTimestamp: tu.DeletionTimestamp},
			Spec:   tu.Spec,
			Status: subv1.TenantUsageStatus{ForecastedAt: tu.Status.ForecastedAt},
		}
		for _, m := range tu.Status.Metrics {
			m.DailyGrowthRate = nil
			want.Status.Metrics = append(want.Status.Metrics, m)
		}
		return want
	}
	deleting := fullTenant("closing", "starter")
	deleting.DeletionTimestamp = &forecastTime
	bare := &subv1.TenantUsage{ObjectMeta: metav1.ObjectMeta{Name: "bare", Namespace: "bakeries", ResourceVersion: "1"},
		Spec: subv1.TenantUsageSpec{TenantID: "bare", Tier: "starter"}}
	for name, tc := range map[string]struct {
		in, want *subv1.TenantUsage
	}{
		"nine metrics, every kind of metadata": {fullTenant("horno", "professional"), slim(fullTenant("horno", "professional"))},
		"being deleted":                        {deleting, slim(deleting)},
		"no status, no policyRef":              {bare, bare.DeepCopy()},
	} {
		t.Run(name, func(t *testing.T) {
			before := tc.in.DeepCopy()
			got, err := gateway.SlimTenantUsage(tc.in)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got\n%+v\nwant\n%+v", got, tc.want)
			}
			if !reflect.DeepEqual(tc.in, before) {
				t.Error("the input object was changed")
			}
		})
	}
}

func TestSlimTenantUsageOtherObjects(t *testing.T) {
	pol := policytest.Policy()
	pol.ManagedFields = []metav1.ManagedFieldsEntry{{Manager: "kubectl"}}
	pol.Annotations = map[string]string{kube.LastAppliedAnnotation: "{}", "keep": "me"}
	got, err := gateway.SlimTenantUsage(pol)
	if err != nil {
		t.Fatal(err)
	}
	gp := got.(*subv1.SubscriptionPolicy)
	if gp.ManagedFields != nil || !reflect.DeepEqual(gp.Annotations, map[string]string{"keep": "me"}) {
		t.Errorf("policy metadata after the transform: managedFields %v, annotations %v", gp.ManagedFields, gp.Annotations)
	}
	if !reflect.DeepEqual(gp.Spec, policytest.Policy().Spec) {
		t.Error("the policy's spec changed")
	}
	only := policytest.Policy()
	only.Annotations = map[string]string{kube.LastAppliedAnnotation: "{}"}
	got, _ = gateway.SlimTenantUsage(only)
	if a := got.(*subv1.SubscriptionPolicy).Annotations; a != nil {
		t.Errorf("annotations %v, want nil once the last-applied copy is gone", a)
	}
	tomb := toolscache.DeletedFinalStateUnknown{Key: "bakeries/horno", Obj: fullTenant("horno", "starter")}
	if got, err := gateway.SlimTenantUsage(tomb); err != nil || !reflect.DeepEqual(got, tomb) {
		t.Errorf("tombstone: %v, %v; want it unchanged", got, err)
	}
}

// TestSlimTenantsDecideTheSame binds the policy's rule table to the tenants
// as the API server sends them and as the cache keeps them: every tenant must
// get the same tier, limits, overrides and suspension.
func TestSlimTenantsDecideTheSame(t *testing.T) {
	pol := policytest.Policy()
	pol.Namespace, pol.Name = "bakeries", "default"
	rules, err := policy.CompileRules(pol)
	if err != nil {
		t.Fatal(err)
	}
	var full, slimmed []subv1.TenantUsage
	for _, tu := range policytest.Tenants() {
		f := fullTenant(tu.Spec.TenantID, tu.Spec.Tier)
		f.Spec.LimitOverrides, f.Spec.Suspend, f.Spec.PolicyRef = tu.Spec.LimitOverrides, tu.Spec.Suspend, tu.Spec.PolicyRef
		s, err := gateway.SlimTenantUsage(f.DeepCopy())
		if err != nil {
			t.Fatal(err)
		}
		full, slimmed = append(full, *f), append(slimmed, *s.(*subv1.TenantUsage))
	}
	a, b := rules.Bind(full), rules.Bind(slimmed)
	if a.TenantsVersion != b.TenantsVersion || len(a.Tenants()) < 2 || !reflect.DeepEqual(a.Tenants(), b.Tenants()) {
		t.Fatalf("tenants %v (version %q) vs %v (version %q)", a.Tenants(), a.TenantsVersion, b.Tenants(), b.TenantsVersion)
	}
	for _, id := range a.Tenants() {
		x, _ := a.Tenant(id)
		y, _ := b.Tenant(id)
		// The growth rate is the one forecast field the cache drops: no
		// decision, entitlement answer or usage page reads it.
		want := *x
		want.Forecast = append([]subv1.MetricForecast(nil), x.Forecast...)
		for i := range want.Forecast {
			want.Forecast[i].DailyGrowthRate = nil
		}
		if !reflect.DeepEqual(&want, y) {
			t.Errorf("tenant %s: %+v from the API object, %+v from the cached one", id, x, y)
		}
	}
}
