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

import "fmt"

// Check is the answer of a preflight: may the tenant use a feature, or
// consume amount of a metric now?
type Check struct {
	Allowed bool    `json:"allowed"`
	Reason  *Reason `json:"reason"`
	// RemainingAfter is limit - current - amount: what is left after the
	// action (negative: the shortfall when denied); null for a feature or an
	// unlimited metric.
	RemainingAfter *int64 `json:"remaining_after"`
	// RequiredTier is the feature's minimum tier, or the tier a denied
	// metric check is offered ("" otherwise).
	RequiredTier string `json:"required_tier,omitempty"`
	// UpgradeOffer is the offer of a denied check: an Offer for a feature, a
	// LimitOffer for a metric; null when allowed or when there is none.
	UpgradeOffer any `json:"upgrade_offer"`
}

// CheckFeature answers whether the tenant may use feature now.
func (v *View) CheckFeature(feature string) Check {
	f := v.Feature(feature)
	c := Check{Allowed: f.HasAccess, Reason: f.Reason, RequiredTier: f.RequiredTier}
	if f.UpgradeOffer != nil {
		c.UpgradeOffer = f.UpgradeOffer
	}
	return c
}

// MaxAmount bounds the amount of a metric check.
const MaxAmount int64 = 1 << 40

// CheckAmount answers whether the tenant may add amount to metric now: the
// current value plus amount must not exceed the limit (the gateway admits a
// call while today's count is below the daily limit: the same rule). ok is
// false when the policy has no such metric.
func (v *View) CheckAmount(metric string, amount int64) (Check, error) {
	if amount < 0 || amount > MaxAmount {
		return Check{}, fmt.Errorf("amount %d is outside 0..%d", amount, MaxAmount)
	}
	m := v.metric(metric)
	if m == nil {
		return Check{}, fmt.Errorf("%q is not a metric of the policy", metric)
	}
	c := Check{Allowed: true}
	if m.Limit != nil {
		after := *m.Limit - m.Current - amount
		c.RemainingAfter = &after
		if after < 0 {
			r := ReasonQuotaExhausted
			c.Allowed, c.Reason = false, &r
			if o, ok := v.spec.LimitOffer(v.spec.Tiers[v.rank], metric); ok {
				lo := limitOffer(o)
				c.UpgradeOffer, c.RequiredTier = &lo, lo.MinimumTier
			}
		}
	}
	return c, nil
}
