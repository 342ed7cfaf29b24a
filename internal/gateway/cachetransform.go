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

package gateway

import (
	"unique"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	subv1 "github.com/bakery-ia/subscription-operator/api/v1alpha1"
	"github.com/bakery-ia/subscription-operator/internal/kube"
)

// SlimTenantUsage is the gateway's cache transform for TenantUsage: every pod
// holds every tenant of its namespace, so it keeps only what the gateway
// decides and answers on and lets the rest be collected before it reaches
// the informer's store:
//   - metadata: name, namespace, UID and resourceVersion (the rule table's
//     tenants version), deletionTimestamp; no labels, annotations,
//     managedFields, owners or finalizers (nothing here selects or reads them);
//   - spec, whole: tenant id, tier, policy reference, limit overrides, suspend;
//   - status: forecastedAt and, per metric, everything but dailyGrowthRate
//     (the entitlements view and the usage page read the forecast; neither
//     shows the rate); no conditions, summary, tier echo, lastSnapshotDate or
//     observedGeneration.
//
// Strings repeated across tenants (namespace, tier, policy, metric names,
// labels, units, statuses) are interned, so 100,000 tenants share one copy.
// Anything that is not a TenantUsage goes through kube.StripMeta.
func SlimTenantUsage(in any) (any, error) {
	tu, ok := in.(*subv1.TenantUsage)
	if !ok {
		return kube.StripMeta(in)
	}
	out := &subv1.TenantUsage{
		TypeMeta: tu.TypeMeta,
		ObjectMeta: metav1.ObjectMeta{
			Name:              tu.Name,
			Namespace:         intern(tu.Namespace),
			UID:               tu.UID,
			ResourceVersion:   tu.ResourceVersion,
			Generation:        tu.Generation,
			DeletionTimestamp: tu.DeletionTimestamp,
		},
		Spec: tu.Spec,
	}
	out.Spec.Tier = intern(tu.Spec.Tier)
	out.Spec.PolicyRef.Name = intern(tu.Spec.PolicyRef.Name)
	out.Status.ForecastedAt = tu.Status.ForecastedAt
	if len(tu.Status.Metrics) > 0 {
		ms := make([]subv1.MetricForecast, len(tu.Status.Metrics))
		for i, m := range tu.Status.Metrics {
			m.Metric, m.Label, m.Unit = intern(m.Metric), intern(m.Label), intern(m.Unit)
			m.Status = subv1.UsageStatus(intern(string(m.Status)))
			m.DailyGrowthRate = nil
			ms[i] = m
		}
		out.Status.Metrics = ms
	}
	return out, nil
}

// intern returns the canonical copy of s (empty stays empty, unallocated).
func intern(s string) string {
	if s == "" {
		return ""
	}
	return unique.Make(s).Value()
}
