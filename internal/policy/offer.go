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

package policy

// Offer is a finished upgrade offer: which tier to move to, what it costs and
// where to go. The gateway (402 and 429 bodies, the X-Upgrade-URL header) and
// the forecast API only render it; nothing else decides an offer.
type Offer struct {
	// Tier is the tier offered; From the tenant's current tier name.
	Tier Tier
	From string
	// Subject is the feature (402) or metric (429) the offer is about.
	Subject string
	// URL is spec.gateway.upgradeURL?upgrade=<tier>&from=<tier>&feature=<subject>.
	URL string
	// Price is nil for a free or custom-priced tier.
	Price *OfferPrice
}

// OfferPrice is a tier's price as rendered in bodies: decimal strings without
// trailing zeros ("149", "4.97") and the same values in cents.
type OfferPrice struct {
	Monthly, PerDay           string
	MonthlyCents, PerDayCents int64
	Currency                  string
}

func (r *Spec) offer(to Tier, from, subject string) Offer {
	o := Offer{Tier: to, From: from, Subject: subject, URL: r.upgradeURLFor(to.Name, from, subject)}
	if p := to.Price; p != nil {
		o.Price = &OfferPrice{
			Monthly: FormatCents(p.Cents), PerDay: FormatCents(p.PerDayCents()),
			MonthlyCents: p.Cents, PerDayCents: p.PerDayCents(), Currency: p.Currency,
		}
	}
	return o
}

// FeatureOffer is the offer made to a tenant on tier current that called
// feature f: f's minimum tier.
func (r *Spec) FeatureOffer(f *Feature, current Tier) Offer {
	return r.offer(r.Tiers[f.MinRank], current.Name, f.Name)
}

// LimitOffer is the offer made to a tenant on tier current that spent its
// daily limit of metric: the lowest higher tier with a higher limit or none.
// It is computed against the tier's own limit, so a tenant with an override
// gets the same offer as its tier. ok is false when no tier offers more.
func (r *Spec) LimitOffer(current Tier, metric string) (Offer, bool) {
	limit, limited := current.Limits[metric]
	if !limited {
		limit = Unlimited
	}
	up, ok := r.upgradeTierForLimit(current.Rank, metric, limit)
	if !ok {
		return Offer{}, false
	}
	return r.offer(up, current.Name, metric), true
}
