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
	"slices"
	"strings"
	"sync"
	"unique"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	toolscache "k8s.io/client-go/tools/cache"

	subv1 "github.com/bakery-ia/subscription-operator/api/v1alpha1"
	"github.com/bakery-ia/subscription-operator/internal/kube/trim"
)

// TenantUsageTransform is the manager's cache transform for TenantUsage:
// trim.Meta, then every string that repeats across tenants (namespace,
// labels, tier, policy, metric names, labels and units, statuses, dates,
// percentages, growth rates, condition texts) is replaced by one shared
// copy, optional strings and numbers by one shared pointer, and the label
// map by one shared map per distinct set of labels. The manager reads the
// whole status (the forecast API serves it, the reconciler compares it), so
// nothing is dropped: the values stay equal, only their memory is shared.
// Sharing is safe because the cache hands out deep copies, and the readers
// that skip the copy (client.UnsafeDisableDeepCopy) only read. Measured in
// BenchmarkCachedTenantUsageSize and bench/scale (docs/operations.md,
// Capacity).
func TenantUsageTransform(in any) (any, error) {
	out, err := trim.Meta(in)
	tu, ok := out.(*subv1.TenantUsage)
	if err != nil || !ok {
		return out, err
	}
	tu.Namespace = intern(tu.Namespace)
	tu.Labels = sharedLabels(tu.Labels)
	tu.Spec.Tier = intern(tu.Spec.Tier)
	tu.Spec.PolicyRef.Name = intern(tu.Spec.PolicyRef.Name)
	st := &tu.Status
	st.Tier, st.LastSnapshotDate = intern(st.Tier), intern(st.LastSnapshotDate)
	// The JSON decoder grows a slice by doubling: nine metrics sit in room
	// for sixteen, 2 KB where 1.1 KB would do. The cached object lives until
	// the tenant's next write, so it keeps only its length.
	st.Metrics, st.Conditions = exactLen(st.Metrics), exactLen(st.Conditions)
	for i := range st.Conditions {
		c := &st.Conditions[i]
		c.Type, c.Reason, c.Message = intern(c.Type), intern(c.Reason), intern(c.Message)
		c.Status = metav1.ConditionStatus(intern(string(c.Status)))
	}
	for i := range st.Metrics {
		m := &st.Metrics[i]
		m.Metric, m.Label, m.Unit = intern(m.Metric), intern(m.Label), intern(m.Unit)
		m.Status = subv1.UsageStatus(intern(string(m.Status)))
		m.DailyGrowthRate = sharedStrings.share(m.DailyGrowthRate)
		m.PredictedBreachDate = sharedStrings.share(m.PredictedBreachDate)
		m.EarliestBreachDate = sharedStrings.share(m.EarliestBreachDate)
		m.LatestBreachDate = sharedStrings.share(m.LatestBreachDate)
		m.UsagePercentage = sharedStrings.share(m.UsagePercentage)
		m.Limit = sharedInt64s.share(m.Limit)
		m.DaysUntilBreach = sharedInt32s.share(m.DaysUntilBreach)
	}
	if s := st.Summary; s != nil {
		s.Status = subv1.UsageStatus(intern(string(s.Status)))
		s.Metric, s.Window = intern(s.Metric), intern(s.Window)
		s.DaysUntilBreach = sharedInt32s.share(s.DaysUntilBreach)
	}
	return tu, nil
}

var _ toolscache.TransformFunc = TenantUsageTransform

// exactLen returns s in an array of exactly its length (s itself when it has
// no spare room).
func exactLen[T any](s []T) []T {
	if cap(s) == len(s) {
		return s
	}
	out := make([]T, len(s))
	copy(out, s)
	return out
}

// intern returns the canonical copy of s (empty stays empty, unallocated).
func intern(s string) string {
	if s == "" {
		return ""
	}
	return unique.Make(s).Value()
}

// maxShared bounds each table of shared values: dates, percentages, rates,
// limits and day counts have a few thousand distinct values in practice.
// Past the bound a value keeps its own pointer (its string is still
// interned), so a hostile or just very varied fleet costs what it did before
// sharing plus the full table, never an unbounded one.
const maxShared = 1 << 16

// sharedTable hands out one pointer per distinct value of an optional field.
type sharedTable[T comparable] struct {
	mu   sync.Mutex
	ptrs map[T]*T
	// canon turns a new value into the copy the table keeps (intern for
	// strings); nil keeps the value as it is.
	canon func(T) T
}

var (
	sharedStrings = &sharedTable[string]{canon: intern}
	sharedInt64s  = &sharedTable[int64]{}
	sharedInt32s  = &sharedTable[int32]{}
)

// share returns the table's pointer for *p, nil for nil.
func (t *sharedTable[T]) share(p *T) *T {
	if p == nil {
		return nil
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if q, ok := t.ptrs[*p]; ok {
		return q
	}
	v := *p
	if t.canon != nil {
		v = t.canon(v)
	}
	if len(t.ptrs) >= maxShared {
		return &v
	}
	if t.ptrs == nil {
		t.ptrs = map[T]*T{}
	}
	t.ptrs[v] = &v
	return &v
}

// maxSharedLabelSets bounds the label-set table: a fleet labels its tenants
// with a few sets (policy, managed-by, discovery state); labels unique to
// each tenant fill the table to this bound and then keep their own maps.
const maxSharedLabelSets = 1 << 12

var (
	labelSetsMu sync.Mutex
	labelSets   = map[string]map[string]string{}
)

// sharedLabels returns one map per distinct set of labels, its keys and
// values interned; nil and empty stay as they are. A decoded map costs about
// 300 bytes for two labels, the same for every tenant of a policy.
func sharedLabels(labels map[string]string) map[string]string {
	if len(labels) == 0 {
		return labels
	}
	key := labelSetKey(labels)
	labelSetsMu.Lock()
	defer labelSetsMu.Unlock()
	if m, ok := labelSets[key]; ok {
		return m
	}
	m := make(map[string]string, len(labels))
	for k, v := range labels {
		m[intern(k)] = intern(v)
	}
	if len(labelSets) < maxSharedLabelSets {
		labelSets[key] = m
	}
	return m
}

// labelSetKey is a canonical spelling of a label set: sorted, each key and
// value followed by a NUL, which neither may contain (label keys and values
// are validated by the API server), so two different sets never meet.
func labelSetKey(labels map[string]string) string {
	keys := make([]string, 0, len(labels))
	for k := range labels {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var b strings.Builder
	for _, k := range keys {
		b.WriteString(k)
		b.WriteByte(0)
		b.WriteString(labels[k])
		b.WriteByte(0)
	}
	return b.String()
}
