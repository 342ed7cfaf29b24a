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

package kube

import (
	"encoding/json"
	"fmt"
	"reflect"
	"runtime"
	"strings"
	"testing"
	"unsafe"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	toolscache "k8s.io/client-go/tools/cache"
	"k8s.io/utils/ptr"

	subv1 "github.com/bakery-ia/subscription-operator/api/v1alpha1"
	"github.com/bakery-ia/subscription-operator/internal/kube/trim"
)

// decoded returns a TenantUsage whose strings are all separate allocations,
// as the JSON decoder leaves them.
func decoded(i int) *subv1.TenantUsage {
	own := func(s string) string { return strings.Clone(s) }
	tu := &subv1.TenantUsage{
		ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("t-%d", i), Namespace: own("bakeries"),
			Labels:        map[string]string{own("subscriptions.bakery-ia.io/policy"): own("default")},
			Annotations:   map[string]string{trim.LastAppliedAnnotation: "{}"},
			ManagedFields: []metav1.ManagedFieldsEntry{{Manager: "kubectl"}}},
		Spec: subv1.TenantUsageSpec{TenantID: fmt.Sprintf("t-%d", i), Tier: own("starter")},
		Status: subv1.TenantUsageStatus{
			Tier: own("starter"), LastSnapshotDate: own("2026-03-10"),
			Conditions: []metav1.Condition{{Type: own("Ready"), Status: metav1.ConditionStatus(own("True")),
				Reason: own("ForecastCurrent"), Message: own("forecast from history up to 2026-03-10")}},
			Summary: &subv1.ForecastSummary{Status: subv1.UsageStatus(own("warning")), Metric: own("products"), Window: own("2026-04-01..")},
		},
	}
	for _, m := range []string{"products", "users", "api_calls"} {
		tu.Status.Metrics = append(tu.Status.Metrics, subv1.MetricForecast{
			Metric: own(m), Label: own(strings.ToUpper(m)), Unit: own("MB"), Current: int64(i), Limit: ptr.To[int64](100),
			DailyGrowthRate: ptr.To(own("1.5")), PredictedBreachDate: ptr.To(own("2026-04-01")),
			EarliestBreachDate: ptr.To(own("2026-03-28")), LatestBreachDate: ptr.To(own("2026-04-09")),
			UsagePercentage: ptr.To(own(fmt.Sprintf("%d.0", i%3))), Status: subv1.UsageStatus(own("safe")),
		})
	}
	return tu
}

// liveHeap is the heap in use after a collection, for the memory benchmarks.
func liveHeap() uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

func sameString(a, b string) bool { return unsafe.StringData(a) == unsafe.StringData(b) }

func TestTenantUsageTransformKeepsValuesAndSharesMemory(t *testing.T) {
	a, b := decoded(1), decoded(4) // 1%3 == 4%3: same usage percentage
	wantA := a.DeepCopy()
	wantA.ManagedFields, wantA.Annotations = nil, nil
	outA, err := TenantUsageTransform(a)
	if err != nil {
		t.Fatal(err)
	}
	outB, err := TenantUsageTransform(b)
	if err != nil {
		t.Fatal(err)
	}
	ga, gb := outA.(*subv1.TenantUsage), outB.(*subv1.TenantUsage)
	if !reflect.DeepEqual(ga, wantA) {
		t.Fatalf("values changed:\n got %+v\nwant %+v", ga, wantA)
	}
	for _, c := range []struct {
		name string
		x, y string
	}{
		{"namespace", ga.Namespace, gb.Namespace},
		{"label value", ga.Labels["subscriptions.bakery-ia.io/policy"], gb.Labels["subscriptions.bakery-ia.io/policy"]},
		{"spec tier", ga.Spec.Tier, gb.Spec.Tier},
		{"status tier", ga.Status.Tier, gb.Status.Tier},
		{"spec and status tier", ga.Spec.Tier, gb.Status.Tier},
		{"date", ga.Status.LastSnapshotDate, gb.Status.LastSnapshotDate},
		{"condition message", ga.Status.Conditions[0].Message, gb.Status.Conditions[0].Message},
		{"condition status", string(ga.Status.Conditions[0].Status), string(gb.Status.Conditions[0].Status)},
		{"metric", ga.Status.Metrics[2].Metric, gb.Status.Metrics[2].Metric},
		{"label", ga.Status.Metrics[2].Label, gb.Status.Metrics[2].Label},
		{"unit", ga.Status.Metrics[0].Unit, gb.Status.Metrics[1].Unit},
		{"metric status", string(ga.Status.Metrics[0].Status), string(gb.Status.Metrics[0].Status)},
		{"summary window", ga.Status.Summary.Window, gb.Status.Summary.Window},
	} {
		if !sameString(c.x, c.y) {
			t.Errorf("%s: %q is not shared", c.name, c.x)
		}
	}
	if ga.Status.Metrics[0].UsagePercentage != gb.Status.Metrics[0].UsagePercentage {
		t.Error("equal optional strings do not share one pointer")
	}
	if ga.Status.Metrics[0].DailyGrowthRate != gb.Status.Metrics[2].DailyGrowthRate {
		t.Error("growth rates do not share one pointer")
	}
	if ga.Status.Metrics[0].Limit != gb.Status.Metrics[1].Limit {
		t.Error("limits do not share one pointer")
	}
	if reflect.ValueOf(ga.Labels).UnsafePointer() != reflect.ValueOf(gb.Labels).UnsafePointer() {
		t.Error("equal label sets do not share one map")
	}
	if ga.Status.Metrics[0].Current == gb.Status.Metrics[0].Current {
		t.Fatal("fixture: the tenants should differ")
	}
	if m, c := ga.Status.Metrics, ga.Status.Conditions; cap(m) != len(m) || cap(c) != len(c) {
		t.Errorf("slices keep spare room: metrics %d of %d, conditions %d of %d", len(m), cap(m), len(c), cap(c))
	}
}

func TestTenantUsageTransformOtherInputs(t *testing.T) {
	for _, c := range []struct {
		name string
		in   any
	}{
		{"a Secret goes through trim.Meta", &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "s",
			ManagedFields: []metav1.ManagedFieldsEntry{{Manager: "x"}}}}},
		{"a tombstone passes unchanged", toolscache.DeletedFinalStateUnknown{Key: "ns/t", Obj: decoded(1)}},
		{"an empty TenantUsage", &subv1.TenantUsage{}},
		{"nil", nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			out, err := TenantUsageTransform(c.in)
			if err != nil {
				t.Fatal(err)
			}
			if s, ok := out.(*corev1.Secret); ok && s.ManagedFields != nil {
				t.Error("managedFields kept")
			}
			if d, ok := out.(toolscache.DeletedFinalStateUnknown); ok && d.Key != "ns/t" {
				t.Error("tombstone changed")
			}
		})
	}
}

// A hostile or just very varied status (every value distinct) must not grow
// a pointer table without bound.
func TestSharedPointersAreBounded(t *testing.T) {
	strs, ints := &sharedTable[string]{canon: intern}, &sharedTable[int64]{}
	for i := range maxShared + 1000 {
		v := fmt.Sprintf("rate-%d", i)
		if p := strs.share(&v); *p != v || p == &v {
			t.Fatalf("value changed or not copied: %q -> %q", v, *p)
		}
		n := int64(i)
		if p := ints.share(&n); *p != n {
			t.Fatalf("value changed: %d -> %d", n, *p)
		}
	}
	if len(strs.ptrs) > maxShared || len(ints.ptrs) > maxShared {
		t.Fatalf("%d and %d shared pointers kept, bound %d", len(strs.ptrs), len(ints.ptrs), maxShared)
	}
	if strs.share(nil) != nil || ints.share(nil) != nil {
		t.Fatal("nil must stay nil")
	}
	a, b := int64(7), int64(7)
	if ints.share(&a) != ints.share(&b) {
		t.Fatal("equal numbers do not share one pointer (7 was shared before the table filled)")
	}
}

func TestSharedLabels(t *testing.T) {
	own := func(s string) string { return strings.Clone(s) }
	set := func(policy string) map[string]string {
		return map[string]string{own(subv1.LabelPolicy): own(policy), own(subv1.LabelManagedBy): own("subscription-operator")}
	}
	a, b, other := sharedLabels(set("default")), sharedLabels(set("default")), sharedLabels(set("gold"))
	if !reflect.DeepEqual(a, set("default")) || !reflect.DeepEqual(other, set("gold")) {
		t.Fatalf("labels changed: %v, %v", a, other)
	}
	if reflect.ValueOf(a).UnsafePointer() != reflect.ValueOf(b).UnsafePointer() {
		t.Error("equal label sets do not share one map")
	}
	if reflect.ValueOf(a).UnsafePointer() == reflect.ValueOf(other).UnsafePointer() {
		t.Error("different label sets share a map")
	}
	// A key that ends where another set's value begins must not collide.
	x := sharedLabels(map[string]string{"a": "b", "c": "d"})
	y := sharedLabels(map[string]string{"a": "bc", "": "d"})
	if x["c"] != "d" || y["a"] != "bc" {
		t.Fatalf("label sets collided: %v, %v", x, y)
	}
	if sharedLabels(nil) != nil || len(sharedLabels(map[string]string{})) != 0 {
		t.Error("nil or empty labels changed")
	}
}

// Labels unique to each tenant fill the table to its bound and then keep
// their own maps, with the same values.
func TestSharedLabelsAreBounded(t *testing.T) {
	for i := range maxSharedLabelSets + 100 {
		want := map[string]string{"tenant": fmt.Sprint(i)}
		if got := sharedLabels(want); !reflect.DeepEqual(got, want) {
			t.Fatalf("labels changed: %v -> %v", want, got)
		}
	}
	labelSetsMu.Lock()
	n := len(labelSets)
	labelSetsMu.Unlock()
	if n > maxSharedLabelSets {
		t.Fatalf("%d label sets kept, bound %d", n, maxSharedLabelSets)
	}
}

// BenchmarkCachedTenantUsageSize is the live heap one cached TenantUsage with
// a nine-metric status takes in the manager: decoded from JSON as the informer
// decodes it, then through TenantUsageTransform.
func BenchmarkCachedTenantUsageSize(b *testing.B) {
	const n = 10000
	raw := make([][]byte, n)
	for i := range raw {
		tu := decoded(i)
		tu.Status.Metrics = nil
		for k := range 9 {
			tu.Status.Metrics = append(tu.Status.Metrics, subv1.MetricForecast{
				Metric: fmt.Sprintf("metric-%d", k), Label: fmt.Sprintf("Metric %d", k), Current: int64((i*31 + k*7) % 700),
				Limit: ptr.To[int64](1000), DailyGrowthRate: ptr.To("1.37"), PredictedBreachDate: ptr.To("2027-01-24"),
				DaysUntilBreach: ptr.To[int32](53), UsagePercentage: ptr.To(fmt.Sprintf("%d.0", (i*31+k*7)%700/10)),
				Status: subv1.UsageSafe,
			})
		}
		data, err := json.Marshal(tu)
		if err != nil {
			b.Fatal(err)
		}
		raw[i] = data
	}
	for b.Loop() {
		base := liveHeap()
		objs := make([]any, n)
		for i, data := range raw {
			tu := &subv1.TenantUsage{}
			if err := json.Unmarshal(data, tu); err != nil {
				b.Fatal(err)
			}
			out, err := TenantUsageTransform(tu)
			if err != nil {
				b.Fatal(err)
			}
			objs[i] = out
		}
		b.ReportMetric(float64(liveHeap()-base)/n, "live-B/tenant")
		runtime.KeepAlive(objs)
	}
}
