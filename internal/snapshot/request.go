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

package snapshot

import (
	"sort"
	"time"

	subv1 "github.com/bakery-ia/subscription-operator/api/v1alpha1"
	"github.com/bakery-ia/subscription-operator/internal/policy"
)

// DiscoveryManager is the value of subv1.LabelManagedBy on TenantUsage objects
// that tenant discovery created and keeps in step with the database.
const DiscoveryManager = "tenant-discovery"

// NewRequest is the run of a compiled policy for the tenants on date
// (YYYY-MM-DD in the policy's zone). Redis counters are read for the day
// before, the last complete day, so a 02:00 run does not store two hours.
func NewRequest(spec *policy.Spec, tenantIDs []string, date string) Request {
	req := Request{
		Date:          date,
		CounterDate:   previousDate(date),
		RetentionDays: spec.RetentionDays,
		Metrics:       make([]Metric, 0, len(spec.Metrics)),
		Tenants:       tenantIDs,
	}
	for _, m := range spec.Metrics {
		req.Metrics = append(req.Metrics, Metric{Name: m.Name, PostgresQuery: m.PostgresQuery, RedisKeyPattern: m.RedisKeyPattern})
	}
	return req
}

// previousDate is the calendar day before date (YYYY-MM-DD).
func previousDate(date string) string {
	t, err := time.Parse(time.DateOnly, date)
	if err != nil {
		return date
	}
	return t.AddDate(0, 0, -1).Format(time.DateOnly)
}

// ActiveTenants are the tenant IDs a run covers: not suspended, not marked
// missing by discovery, plus tenants discovery just found (the cache may not
// have their objects yet). discovered is nil when discovery did not run; when
// it ran it is authoritative for the tenants discovery manages. only limits
// the result to one tenant. Sorted, so runs are deterministic.
func ActiveTenants(tenants []subv1.TenantUsage, only string, discovered map[string]bool) []string {
	set := map[string]bool{}
	known := map[string]bool{}
	for i := range tenants {
		tu := &tenants[i]
		known[tu.Spec.TenantID] = true
		managed := tu.Labels[subv1.LabelManagedBy] == DiscoveryManager
		switch {
		case tu.Spec.Suspend:
		case managed && discovered != nil && !discovered[tu.Spec.TenantID]:
		case managed && discovered == nil && tu.Labels[subv1.LabelDiscoveryState] == subv1.DiscoveryMissing:
		default:
			set[tu.Spec.TenantID] = true
		}
	}
	for id := range discovered {
		if !known[id] {
			set[id] = true
		}
	}
	ids := make([]string, 0, len(set))
	for id := range set {
		if only == "" || id == only {
			ids = append(ids, id)
		}
	}
	sort.Strings(ids)
	return ids
}
