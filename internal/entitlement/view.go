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

// Package entitlement is the per-tenant view of a compiled policy: the
// tenant's tier, every gated feature with has_access, the reason of a denial
// and the upgrade offer the gateway's 402 carries, and every metric with its
// current value, limit, remaining amount, status and predicted breach date.
// The forecast API's entitlement endpoints, the gateway's
// /.well-known/subscription/entitlements and the usage pages all render this
// view; none of them decides an entitlement itself.
//
// It is pure: no Kubernetes clients, no I/O. Callers bring the compiled
// policy, the tenant, its TenantUsage status and any live counters (the
// gateway's daily api_calls count), and a language picked by Negotiator.
package entitlement

import (
	"math"
	"strconv"
	"time"

	subv1 "github.com/bakery-ia/subscription-operator/api/v1alpha1"
	"github.com/bakery-ia/subscription-operator/internal/policy"
)

// Reason says why something is denied. Its values are the API's contract.
type Reason string

// Reasons.
const (
	ReasonTierInsufficient Reason = "tier_insufficient"
	ReasonQuotaExhausted   Reason = "quota_exhausted"
	ReasonUnknownFeature   Reason = "unknown_feature"
)

// Tenant is what Evaluate needs of a tenant (see TenantOf).
type Tenant struct {
	ID string
	// Tier is the tier the tenant declares (spec.tier). A tier the policy
	// lacks is treated as the lowest tier, as the gateway does.
	Tier string
	// SnapshotsSuspended is spec.suspend: snapshots stop, so the forecast
	// is frozen, but access is unchanged (the gateway does not deny a
	// suspended tenant, and this answer must equal what it enforces).
	SnapshotsSuspended bool
	// Overrides are spec.limitOverrides.
	Overrides map[string]int64
}

// TenantOf reads a TenantUsage's spec.
func TenantOf(tu *subv1.TenantUsage) Tenant {
	return Tenant{ID: tu.Spec.TenantID, Tier: tu.Spec.Tier, SnapshotsSuspended: tu.Spec.Suspend, Overrides: tu.Spec.LimitOverrides}
}

// Input is everything Evaluate reads.
type Input struct {
	Spec   *policy.Spec
	Tenant Tenant
	// Status is the TenantUsage's status.metrics (the forecast); may be nil.
	Status []subv1.MetricForecast
	// Counters are live values by metric that replace the status's current
	// value: today's api_calls count as the gateway sees it. A metric absent
	// here keeps the last snapshot's value.
	Counters map[string]int64
	// Now is when the view is made (reported as evaluated_at).
	Now time.Time
	// Lang is the language of the offers' texts, one of Spec.Languages
	// (Negotiator.Pick); others fall back to English.
	Lang string
}

// View is a tenant's entitlements. Its JSON is the body of GET
// /api/v1/entitlements and of the gateway's own endpoint.
type View struct {
	TenantID string `json:"tenant_id"`
	// Tier is the tier decisions use; DeclaredTier is spec.tier when it
	// differs (a tier the policy lacks), else omitted.
	Tier         string `json:"tier"`
	DeclaredTier string `json:"declared_tier,omitempty"`
	// SnapshotsSuspended is spec.suspend: the figures are the last
	// snapshot's (frozen forecast); it denies nothing.
	SnapshotsSuspended bool `json:"snapshots_suspended"`
	// Language of the offers' texts.
	Language string `json:"language"`
	// EvaluatedAt (RFC 3339) is not in the JSON: the body, and so its ETag,
	// changes only when an answer does.
	EvaluatedAt string    `json:"-"`
	Features    []Feature `json:"features"`
	Metrics     []Metric  `json:"metrics"`

	spec *policy.Spec
	rank int
}

// Feature is one gated feature for the tenant.
type Feature struct {
	Feature   string `json:"feature"`
	HasAccess bool   `json:"has_access"`
	// Reason is null when HasAccess.
	Reason       *Reason `json:"reason"`
	RequiredTier string  `json:"required_tier"`
	// UpgradeOffer is the gateway's 402 offer when the tier is insufficient.
	UpgradeOffer *Offer `json:"upgrade_offer"`
}

// Metric is one usage metric for the tenant.
type Metric struct {
	Metric  string `json:"metric"`
	Label   string `json:"label"`
	Unit    string `json:"unit"`
	Current int64  `json:"current"`
	// Limit, Remaining and UsagePercentage are null when unlimited.
	Limit           *int64   `json:"limit"`
	Remaining       *int64   `json:"remaining"`
	UsagePercentage *Percent `json:"usage_percentage"`
	Status          string   `json:"status"`
	// PredictedBreachDate and DaysUntilBreach come from the forecast (null
	// without enough history, when not growing or unlimited).
	PredictedBreachDate *string `json:"predicted_breach_date"`
	DaysUntilBreach     *int32  `json:"days_until_breach"`
	// Daily is true for the metric counted per day by the gateway
	// (api_calls): Current is today's count and the limit resets at midnight.
	Daily bool `json:"daily"`
	// UpgradeOffer is the gateway's 429 offer (the lowest tier with a higher
	// or no limit) when the limit is reached; null otherwise or when no tier
	// offers more.
	UpgradeOffer *LimitOffer `json:"upgrade_offer"`
}

// Evaluate builds the tenant's view. Limits are the compiled policy's
// (overrides applied), not the ones the last forecast was made with.
func Evaluate(in Input) View {
	v, tier := base(in)
	spec := in.Spec
	v.Features = make([]Feature, 0, len(spec.Features))
	v.Metrics = make([]Metric, 0, len(spec.Metrics))
	for _, m := range spec.Metrics {
		v.Metrics = append(v.Metrics, metricOf(spec, tier, m, in, forecastOf(in.Status, m.Name)))
	}
	for _, f := range spec.Features {
		v.Features = append(v.Features, v.feature(spec, f, v.Language))
	}
	return v
}

// base is the view without features and metrics, and the tier decisions use.
func base(in Input) (View, policy.Tier) {
	spec := in.Spec
	rank, ok := spec.TierRank(in.Tenant.Tier)
	if !ok {
		rank = 0
	}
	tier := spec.Tiers[rank]
	lang := in.Lang
	if lang == "" {
		lang = policy.FallbackLanguage
	}
	v := View{
		TenantID: in.Tenant.ID, Tier: tier.Name, SnapshotsSuspended: in.Tenant.SnapshotsSuspended,
		Language: lang, EvaluatedAt: in.Now.UTC().Format(time.RFC3339),
		spec: spec,
		rank: rank,
	}
	if in.Tenant.Tier != tier.Name {
		v.DeclaredTier = in.Tenant.Tier
	}
	return v, tier
}

// forecastOf is the status entry of a metric, nil without one. A scan: a
// status has one entry per metric (nine in the seed), so a map built per view
// would cost more than it saves.
func forecastOf(status []subv1.MetricForecast, metric string) *subv1.MetricForecast {
	for i := range status {
		if status[i].Metric == metric {
			return &status[i]
		}
	}
	return nil
}

// metricNamed is the policy's metric called name, nil without one.
func metricNamed(spec *policy.Spec, name string) *policy.Metric {
	for i := range spec.Metrics {
		if spec.Metrics[i].Name == name {
			return &spec.Metrics[i]
		}
	}
	return nil
}

// NeedsDailyCount reports whether an answer about the tenant can depend on
// today's api_calls count: only when the policy has the metric and the
// tenant's tier (with overrides) limits it. Without a limit the count decides
// no check (nothing is exhausted, remaining_after is null); only a view's
// "current" shows it.
func NeedsDailyCount(spec *policy.Spec, t Tenant) bool {
	if metricNamed(spec, policy.APICallsMetric) == nil {
		return false
	}
	rank, ok := spec.TierRank(t.Tier)
	if !ok {
		rank = 0
	}
	_, limited := spec.Tiers[rank].EffectiveLimit(policy.APICallsMetric, t.Overrides)
	return limited
}

// CheckFeature answers whether the tenant may use feature now: the answer of
// Evaluate(in).CheckFeature(feature), without evaluating the other features
// or any metric but api_calls (which decides quota_exhausted).
func CheckFeature(in Input, feature string) Check {
	v, tier := base(in)
	if m := metricNamed(in.Spec, policy.APICallsMetric); m != nil {
		v.Metrics = []Metric{metricOf(in.Spec, tier, *m, in, forecastOf(in.Status, m.Name))}
	}
	for _, f := range in.Spec.Features {
		if f.Name == feature {
			v.Features = []Feature{v.feature(in.Spec, f, v.Language)}
			break
		}
	}
	return v.CheckFeature(feature)
}

// CheckAmount answers whether the tenant may add amount to metric now: the
// answer of Evaluate(in).CheckAmount(metric, amount), evaluating that metric
// only.
func CheckAmount(in Input, metric string, amount int64) (Check, error) {
	v, tier := base(in)
	if m := metricNamed(in.Spec, metric); m != nil {
		v.Metrics = []Metric{metricOf(in.Spec, tier, *m, in, forecastOf(in.Status, m.Name))}
	}
	return v.CheckAmount(metric, amount)
}

func metricOf(spec *policy.Spec, tier policy.Tier, m policy.Metric, in Input, fc *subv1.MetricForecast) Metric {
	out := Metric{Metric: m.Name, Label: m.Label, Unit: m.Unit, Daily: m.Name == policy.APICallsMetric}
	if fc != nil {
		out.Current = fc.Current
		out.PredictedBreachDate, out.DaysUntilBreach = fc.PredictedBreachDate, fc.DaysUntilBreach
	}
	live, isLive := in.Counters[m.Name]
	if isLive {
		out.Current = live
	}
	limit, limited := tier.EffectiveLimit(m.Name, in.Tenant.Overrides)
	if !limited {
		out.Status = string(subv1.UsageUnlimited)
		out.PredictedBreachDate, out.DaysUntilBreach = nil, nil
		return out
	}
	remaining := max(limit-out.Current, 0)
	pct := Percent(percentage(out.Current, limit))
	out.Limit, out.Remaining, out.UsagePercentage = &limit, &remaining, &pct
	out.Status = string(statusOf(spec.Thresholds, pct, out.Current >= limit, fc))
	if remaining == 0 {
		if o, ok := spec.LimitOffer(tier, m.Name); ok {
			lo := limitOffer(o)
			out.UpgradeOffer = &lo
		}
	}
	return out
}

// statusOf is the worse of the forecast's status and what the current value
// alone says: a live counter may have moved past a threshold since the last
// snapshot, but the forecast's days-left thresholds are only known to it.
func statusOf(t policy.Thresholds, pct Percent, reached bool, fc *subv1.MetricForecast) subv1.UsageStatus {
	now := subv1.UsageSafe
	switch {
	case reached, t.CriticalPercent > 0 && pct >= Percent(t.CriticalPercent):
		now = subv1.UsageCritical
	case t.WarningPercent > 0 && pct >= Percent(t.WarningPercent):
		now = subv1.UsageWarning
	}
	if fc != nil && severity(fc.Status) > severity(now) {
		return fc.Status
	}
	return now
}

func severity(s subv1.UsageStatus) int {
	switch s {
	case subv1.UsageCritical:
		return 3
	case subv1.UsageWarning:
		return 2
	case subv1.UsageSafe:
		return 1
	}
	return 0
}

// Percent is a usage percentage with one decimal, rendered as the forecast
// API renders it (70 -> 70.0).
type Percent float64

// MarshalJSON renders one decimal.
func (p Percent) MarshalJSON() ([]byte, error) {
	return strconv.AppendFloat(nil, float64(p), 'f', 1, 64), nil
}

// percentage is current/limit x 100 rounded to one decimal, as the
// forecast's; a limit of 0 reads as full once reached.
func percentage(current, limit int64) float64 {
	if limit <= 0 {
		if current >= limit {
			return 100
		}
		return 0
	}
	r := math.Round(float64(current)/float64(limit)*1000) / 10
	if r == 0 {
		return 0 // never -0
	}
	return r
}

func (v *View) feature(spec *policy.Spec, f *policy.Feature, lang string) Feature {
	out := Feature{Feature: f.Name, RequiredTier: f.MinimumTier, HasAccess: true}
	deny := func(r Reason) {
		out.HasAccess, out.Reason = false, &r
	}
	switch {
	case v.rank < f.MinRank:
		deny(ReasonTierInsufficient)
		o := FeatureOffer(spec, f, spec.Tiers[v.rank], lang)
		out.UpgradeOffer = &o
	case v.dailyExhausted():
		// The gateway answers 429 to every call once the day's api_calls
		// are spent, gated routes included.
		deny(ReasonQuotaExhausted)
	}
	return out
}

// dailyExhausted is true when the daily api_calls limit is reached.
func (v *View) dailyExhausted() bool {
	m := v.metric(policy.APICallsMetric)
	return m != nil && m.Remaining != nil && *m.Remaining == 0
}

func (v *View) metric(name string) *Metric {
	for i := range v.Metrics {
		if v.Metrics[i].Metric == name {
			return &v.Metrics[i]
		}
	}
	return nil
}

// Feature returns the named feature of the view, or one denied as
// unknown_feature when the policy has no such feature.
func (v *View) Feature(name string) Feature {
	for _, f := range v.Features {
		if f.Feature == name {
			return f
		}
	}
	r := ReasonUnknownFeature
	return Feature{Feature: name, Reason: &r}
}

// Metric returns the named metric of the view.
func (v *View) Metric(name string) (Metric, bool) {
	if m := v.metric(name); m != nil {
		return *m, true
	}
	return Metric{}, false
}

// Only returns a copy of the view with one feature (GET ?feature=).
func (v View) Only(feature string) View {
	v.Features = []Feature{v.Feature(feature)}
	return v
}
