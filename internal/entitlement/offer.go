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

package entitlement

import (
	"encoding/json"

	"github.com/bakery-ia/subscription-operator/internal/policy"
)

// Offer is the upgrade offer of a feature the tenant's tier does not include:
// the same object as the "details" of the gateway's 402 body, field for field
// (a gateway test holds the two equal for every feature, tier and language).
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

// Pricing is the offered tier's price (decimal strings without trailing zeros).
type Pricing struct {
	MonthlyPrice json.Number `json:"monthly_price"`
	PerDayCost   json.Number `json:"per_day_cost"`
	Currency     string      `json:"currency"`
}

// LimitOffer is the upgrade offer of a metric whose limit is reached: the
// tier, URL and price of the gateway's 429 offer (policy.Spec.LimitOffer).
type LimitOffer struct {
	MinimumTier string   `json:"minimum_tier"`
	CurrentTier string   `json:"current_tier"`
	UpgradeURL  string   `json:"upgrade_url"`
	Pricing     *Pricing `json:"pricing"`
}

// FeatureOffer is the offer made to a tenant on tier current for feature f,
// with the texts in lang (English when the feature has none in lang).
func FeatureOffer(spec *policy.Spec, f *policy.Feature, current policy.Tier, lang string) Offer {
	o := spec.FeatureOffer(f, current)
	msg, _, _ := f.Message(lang)
	if msg.Title == "" {
		msg.Title = "Upgrade to " + o.Tier.DisplayName
	}
	out := Offer{
		RequiredFeature: f.Name, MinimumTier: o.Tier.Name, CurrentTier: o.From,
		Title: msg.Title, Description: msg.Description,
		Benefits:    make([]Benefit, 0, len(msg.Benefits)),
		UpgradeURL:  o.URL,
		SocialProof: msg.SocialProof,
		Pricing:     pricingOf(o.Price),
	}
	for _, b := range msg.Benefits {
		out.Benefits = append(out.Benefits, Benefit{Text: b.Text, Icon: b.Icon})
	}
	if f.ROI != nil {
		out.ROIEstimate = &ROI{f.ROI.MonthlySavingsMin, f.ROI.MonthlySavingsMax, f.ROI.PaybackPeriodDays, f.ROI.Currency}
	}
	if f.PreviewURL != "" {
		p := f.PreviewURL
		out.PreviewURL = &p
	}
	return out
}

func limitOffer(o policy.Offer) LimitOffer {
	return LimitOffer{MinimumTier: o.Tier.Name, CurrentTier: o.From, UpgradeURL: o.URL, Pricing: pricingOf(o.Price)}
}

func pricingOf(p *policy.OfferPrice) *Pricing {
	if p == nil {
		return nil
	}
	return &Pricing{MonthlyPrice: json.Number(p.Monthly), PerDayCost: json.Number(p.PerDay), Currency: p.Currency}
}
