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

// Package entitlements is a small Go client of the operator's entitlement
// API (GET /api/v1/entitlements, POST /api/v1/entitlements/check), for
// services that decide in-process whether a tenant may use a feature or
// create N more of something.
//
// The client keeps each answer with its ETag and revalidates it with
// If-None-Match: an unchanged answer costs the server no body and the caller
// no decoding. Answers may also be reused without asking for MaxAge. It
// depends on the standard library only.
//
//	c, err := entitlements.New("http://subscription-operator-forecast-api.subscription-system:8082",
//		entitlements.WithTokenFile(entitlements.ServiceAccountTokenFile))
//	e, err := c.Get(ctx, "panaderia-san-pablo")
//	if f := e.Feature("analytics"); !f.HasAccess { ... f.UpgradeOffer.UpgradeURL ... }
//	r, err := c.CheckAmount(ctx, "panaderia-san-pablo", "products", 25)
package entitlements

import "encoding/json"

// Reasons of a denial.
const (
	ReasonTierInsufficient = "tier_insufficient"
	ReasonQuotaExhausted   = "quota_exhausted"
	ReasonUnknownFeature   = "unknown_feature"
)

// Entitlements is a tenant's answer (docs/api.md, "Entitlements").
type Entitlements struct {
	TenantID     string `json:"tenant_id"`
	Tier         string `json:"tier"`
	DeclaredTier string `json:"declared_tier,omitempty"`
	// SnapshotsSuspended: usage snapshots are paused (spec.suspend), so
	// the figures are frozen; it denies nothing.
	SnapshotsSuspended bool      `json:"snapshots_suspended"`
	Language           string    `json:"language"`
	Features           []Feature `json:"features"`
	Metrics            []Metric  `json:"metrics"`
	// ETag is the answer's entity tag.
	ETag string `json:"-"`
}

// Feature is one gated feature. Reason is "" when HasAccess.
type Feature struct {
	Feature      string `json:"feature"`
	HasAccess    bool   `json:"has_access"`
	Reason       string `json:"reason"`
	RequiredTier string `json:"required_tier"`
	UpgradeOffer *Offer `json:"upgrade_offer"`
}

// Offer is the gateway's 402 upgrade offer.
type Offer struct {
	RequiredFeature string    `json:"required_feature"`
	MinimumTier     string    `json:"minimum_tier"`
	CurrentTier     string    `json:"current_tier"`
	Title           string    `json:"title"`
	Description     string    `json:"description"`
	Benefits        []Benefit `json:"benefits"`
	ROIEstimate     *ROI      `json:"roi_estimate"`
	UpgradeURL      string    `json:"upgrade_url"`
	SocialProof     string    `json:"social_proof"`
	Pricing         *Pricing  `json:"pricing"`
	PreviewURL      *string   `json:"preview_url"`
}

// Benefit is one line of an offer.
type Benefit struct {
	Text string `json:"text"`
	Icon string `json:"icon"`
}

// ROI is a feature's estimated return.
type ROI struct {
	MonthlySavingsMin int64  `json:"monthly_savings_min"`
	MonthlySavingsMax int64  `json:"monthly_savings_max"`
	PaybackPeriodDays int32  `json:"payback_period_days"`
	Currency          string `json:"currency"`
}

// Pricing is an offered tier's price; amounts are decimal strings ("4.97").
type Pricing struct {
	MonthlyPrice json.Number `json:"monthly_price"`
	PerDayCost   json.Number `json:"per_day_cost"`
	Currency     string      `json:"currency"`
}

// LimitOffer is the offer of a metric whose limit is reached (the gateway's 429 offer).
type LimitOffer struct {
	MinimumTier string   `json:"minimum_tier"`
	CurrentTier string   `json:"current_tier"`
	UpgradeURL  string   `json:"upgrade_url"`
	Pricing     *Pricing `json:"pricing"`
}

// Metric is one usage metric; Limit, Remaining and UsagePercentage are nil
// when unlimited.
type Metric struct {
	Metric              string      `json:"metric"`
	Label               string      `json:"label"`
	Unit                string      `json:"unit"`
	Current             int64       `json:"current"`
	Limit               *int64      `json:"limit"`
	Remaining           *int64      `json:"remaining"`
	UsagePercentage     *float64    `json:"usage_percentage"`
	Status              string      `json:"status"`
	PredictedBreachDate *string     `json:"predicted_breach_date"`
	DaysUntilBreach     *int32      `json:"days_until_breach"`
	Daily               bool        `json:"daily"`
	UpgradeOffer        *LimitOffer `json:"upgrade_offer"`
}

// Feature returns the named feature, or one denied as unknown_feature.
func (e *Entitlements) Feature(name string) Feature {
	for _, f := range e.Features {
		if f.Feature == name {
			return f
		}
	}
	return Feature{Feature: name, Reason: ReasonUnknownFeature}
}

// Metric returns the named metric; ok is false when the policy has none.
func (e *Entitlements) Metric(name string) (Metric, bool) {
	for _, m := range e.Metrics {
		if m.Metric == name {
			return m, true
		}
	}
	return Metric{}, false
}

// CheckResult is the answer of a preflight check. UpgradeOffer is the raw
// offer of a denial (an Offer for a feature, a LimitOffer for a metric).
type CheckResult struct {
	Allowed        bool            `json:"allowed"`
	Reason         string          `json:"reason"`
	RemainingAfter *int64          `json:"remaining_after"`
	RequiredTier   string          `json:"required_tier"`
	UpgradeOffer   json.RawMessage `json:"upgrade_offer"`
}

// checkRequest is the body of POST /api/v1/entitlements/check.
type checkRequest struct {
	TenantID  string `json:"tenant_id"`
	Namespace string `json:"namespace,omitempty"`
	Feature   string `json:"feature,omitempty"`
	Metric    string `json:"metric,omitempty"`
	Amount    *int64 `json:"amount,omitempty"`
}
