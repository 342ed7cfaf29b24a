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
// copy, and optional strings by one shared pointer. The manager reads the
// whole status (the forecast API serves it, the reconciler compares it), so
// nothing is dropped: the values stay equal, only their memory is shared.
// Sharing is safe because the cache hands out deep copies, never these
// objects. Measured in bench/scale (docs/operations.md, Capacity).
func TenantUsageTransform(in any) (any, error) {
	out, err := trim.Meta(in)
	tu, ok := out.(*subv1.TenantUsage)
	if err != nil || !ok {
		return out, err
	}
	tu.Namespace = intern(tu.Namespace)
	if len(tu.Labels) > 0 {
		labels := make(map[string]string, len(tu.Labels))
		for k, v := range tu.Labels {
			labels[intern(k)] = intern(v)
		}
		tu.Labels = labels
	}
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
		m.DailyGrowthRate = sharedPtr(m.DailyGrowthRate)
		m.PredictedBreachDate = sharedPtr(m.PredictedBreachDate)
		m.EarliestBreachDate = sharedPtr(m.EarliestBreachDate)
		m.LatestBreachDate = sharedPtr(m.LatestBreachDate)
		m.UsagePercentage = sharedPtr(m.UsagePercentage)
	}
	if s := st.Summary; s != nil {
		s.Status = subv1.UsageStatus(intern(string(s.Status)))
		s.Metric, s.Window = intern(s.Metric), intern(s.Window)
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

// maxSharedPtrs bounds the pointer table: dates, percentages and rates have
// a few thousand distinct values in practice; past the bound a value keeps
// its own pointer (its string is still interned).
const maxSharedPtrs = 1 << 16

var (
	sharedMu   sync.Mutex
	sharedPtrs = map[string]*string{}
)

// sharedPtr returns one pointer per distinct value, nil for nil.
func sharedPtr(p *string) *string {
	if p == nil {
		return nil
	}
	sharedMu.Lock()
	defer sharedMu.Unlock()
	if q, ok := sharedPtrs[*p]; ok {
		return q
	}
	v := intern(*p)
	if len(sharedPtrs) >= maxSharedPtrs {
		return &v
	}
	sharedPtrs[v] = &v
	return &v
}
