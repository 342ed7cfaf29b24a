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

package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// TenantUsageSpec names a tenant, its tier and the policy that measures it.
type TenantUsageSpec struct {
	// TenantID is the tenant's ID as stored in the database and in history keys.
	// Immutable: history is keyed by it.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=63
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`
	// +kubebuilder:validation:XValidation:rule="self == oldSelf",message="spec.tenantID is immutable"
	TenantID string `json:"tenantID"`

	// Tier is the tenant's plan; it must name a tier of the policy (checked by
	// the controller and reported in the Ready condition).
	// +required
	// +kubebuilder:validation:Pattern=`^[a-z][a-z0-9-]{0,62}$`
	Tier string `json:"tier"`

	// PolicyRef names the SubscriptionPolicy in the same namespace.
	// +optional
	// +kubebuilder:default={name: default}
	PolicyRef PolicyReference `json:"policyRef,omitempty"`

	// LimitOverrides replaces the tier's limit for the named metrics (for example
	// a negotiated contract). Keys must be metrics of the policy.
	// +optional
	// +kubebuilder:validation:MaxProperties=32
	// +kubebuilder:validation:XValidation:rule="self.all(k, self[k] >= 0)",message="spec.limitOverrides values must be non-negative",messageExpression=`'spec.limitOverrides values must be non-negative: the override for ' + self.filter(k, self[k] < 0)[0] + ' is negative'`
	// +kubebuilder:validation:XValidation:rule="self.all(k, k.matches('^[a-z][a-z0-9_]{0,62}$'))",message="spec.limitOverrides keys must be metric names",messageExpression=`'spec.limitOverrides keys must be metric names, not ' + self.filter(k, !k.matches('^[a-z][a-z0-9_]{0,62}$'))[0]`
	LimitOverrides map[string]int64 `json:"limitOverrides,omitempty"`

	// Suspend stops snapshots for this tenant; its history and forecast are kept.
	// +optional
	Suspend bool `json:"suspend,omitempty"`
}

// PolicyReference names a SubscriptionPolicy in the same namespace.
type PolicyReference struct {
	// Name of the SubscriptionPolicy that measures this tenant.
	// +optional
	// +kubebuilder:default=default
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$`
	// +kubebuilder:validation:MaxLength=253
	Name string `json:"name,omitempty"`
}

// UsageStatus is a metric's capacity colour.
// +kubebuilder:validation:Enum=unlimited;safe;warning;critical
type UsageStatus string

const (
	// UsageUnlimited means the tier has no limit for the metric.
	UsageUnlimited UsageStatus = "unlimited"
	// UsageSafe means usage is below the warning thresholds.
	UsageSafe UsageStatus = "safe"
	// UsageWarning means usage or the predicted breach crossed a warning threshold.
	UsageWarning UsageStatus = "warning"
	// UsageCritical means usage or the predicted breach crossed a critical
	// threshold, or the limit is already reached.
	UsageCritical UsageStatus = "critical"
)

// MetricForecast is the usage forecast for one metric. Decimal values are
// strings (Kubernetes APIs avoid floats).
type MetricForecast struct {
	// Metric is the metric name.
	Metric string `json:"metric"`
	// Label is the metric's display name.
	// +optional
	Label string `json:"label,omitempty"`
	// Current is the latest recorded value.
	Current int64 `json:"current"`
	// Limit is the effective limit (after overrides); absent when unlimited.
	// +optional
	Limit *int64 `json:"limit,omitempty"`
	// Unit of the values.
	// +optional
	Unit string `json:"unit,omitempty"`
	// DailyGrowthRate is the fitted growth per day, as a decimal string; absent
	// with fewer than minHistoryDays points.
	// +optional
	DailyGrowthRate *string `json:"dailyGrowthRate,omitempty"`
	// PredictedBreachDate (YYYY-MM-DD) is when usage reaches the limit at the
	// current rate; absent when not growing, unlimited or too little history.
	// +optional
	PredictedBreachDate *string `json:"predictedBreachDate,omitempty"`
	// DaysUntilBreach is the number of days until PredictedBreachDate.
	// +optional
	DaysUntilBreach *int32 `json:"daysUntilBreach,omitempty"`
	// EarliestBreachDate (YYYY-MM-DD) is the first day the upper bound of the
	// breach window (at spec.forecast.confidence) reaches the limit.
	// +optional
	EarliestBreachDate *string `json:"earliestBreachDate,omitempty"`
	// LatestBreachDate (YYYY-MM-DD) is the first day the lower bound reaches
	// the limit; absent when it does not within a century.
	// +optional
	LatestBreachDate *string `json:"latestBreachDate,omitempty"`
	// UsagePercentage is current / limit x 100 with one decimal; absent when unlimited.
	// +optional
	UsagePercentage *string `json:"usagePercentage,omitempty"`
	// Status is the metric's colour.
	Status UsageStatus `json:"status"`
}

// ForecastSummary is the worst of a tenant's metrics, for printer columns and alerts.
type ForecastSummary struct {
	// Status is the worst status over all metrics.
	Status UsageStatus `json:"status"`
	// DaysUntilBreach is the smallest days-left over all metrics, if any is predicted.
	// +optional
	DaysUntilBreach *int32 `json:"daysUntilBreach,omitempty"`
	// Metric is the metric that decided the summary.
	// +optional
	Metric string `json:"metric,omitempty"`
	// Window is that metric's breach window, "<earliest>..<latest>" (an end
	// absent when unknown), for the WINDOW column; empty when it has none.
	// +optional
	// +kubebuilder:validation:MaxLength=24
	Window string `json:"window,omitempty"`
}

// TenantUsageStatus holds the tenant's usage forecast.
type TenantUsageStatus struct {
	// ObservedGeneration is the generation the status was computed for.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`

	// Conditions: Ready (forecast is current; reasons UnknownTier,
	// PolicyNotFound, NoHistory, Suspended) and Discovered (for tenants created by
	// tenant discovery; False when the tenant disappeared from the database).
	// +optional
	// +listType=map
	// +listMapKey=type
	Conditions []metav1.Condition `json:"conditions,omitempty"`

	// Tier the forecast was computed for.
	// +optional
	Tier string `json:"tier,omitempty"`

	// LastSnapshotDate (YYYY-MM-DD) is the last date a snapshot recorded this tenant.
	// +optional
	LastSnapshotDate string `json:"lastSnapshotDate,omitempty"`

	// ForecastedAt is when the forecast last changed.
	// +optional
	ForecastedAt *metav1.Time `json:"forecastedAt,omitempty"`

	// Metrics holds one forecast per metric of the policy, in the policy's order.
	// Atomic: only the operator writes it, always whole, and an atomic list keeps
	// managedFields (stored in etcd with every object) small.
	// +optional
	// +listType=atomic
	Metrics []MetricForecast `json:"metrics,omitempty"`

	// Summary is the worst metric.
	// +optional
	Summary *ForecastSummary `json:"summary,omitempty"`
}

// Labels set on TenantUsage objects.
const (
	// LabelManagedBy marks TenantUsage objects created by tenant discovery.
	LabelManagedBy = "subscriptions.bakery-ia.io/managed-by"
	// LabelDiscoveryState is "active" or "missing" on discovered tenants.
	LabelDiscoveryState = "subscriptions.bakery-ia.io/discovery"
	// LabelPolicy names the policy of a TenantUsage (set by the operator).
	LabelPolicy = "subscriptions.bakery-ia.io/policy"

	// DiscoveryActive is the LabelDiscoveryState of a tenant the discovery query returns.
	DiscoveryActive = "active"
	// DiscoveryMissing is the LabelDiscoveryState of a tenant it no longer returns.
	DiscoveryMissing = "missing"
)

// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:shortName=tu,categories=subscriptions
// +kubebuilder:printcolumn:name="Tenant",type=string,JSONPath=`.spec.tenantID`
// +kubebuilder:printcolumn:name="Tier",type=string,JSONPath=`.spec.tier`
// +kubebuilder:printcolumn:name="Status",type=string,JSONPath=`.status.summary.status`
// +kubebuilder:printcolumn:name="Days-Left",type=integer,JSONPath=`.status.summary.daysUntilBreach`
// +kubebuilder:printcolumn:name="Metric",type=string,JSONPath=`.status.summary.metric`
// +kubebuilder:printcolumn:name="Window",type=string,priority=1,JSONPath=`.status.summary.window`
// +kubebuilder:printcolumn:name="Last-Snapshot",type=string,JSONPath=`.status.lastSnapshotDate`
// +kubebuilder:printcolumn:name="Ready",type=string,priority=1,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Policy",type=string,priority=1,JSONPath=`.spec.policyRef.name`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`

// TenantUsage is one tenant's tier and, in its status, the usage forecast for
// every metric of its policy.
type TenantUsage struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// +required
	Spec TenantUsageSpec `json:"spec"`
	// +optional
	Status TenantUsageStatus `json:"status,omitempty"`
}

// +kubebuilder:object:root=true

// TenantUsageList contains a list of TenantUsage.
type TenantUsageList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []TenantUsage `json:"items"`
}
