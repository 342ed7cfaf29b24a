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

package usagepage

import (
	"time"

	subv1 "github.com/bakery-ia/subscription-operator/api/v1alpha1"
	"github.com/bakery-ia/subscription-operator/internal/history"
	"github.com/bakery-ia/subscription-operator/internal/policy"
)

// Input is what a page is built from; every part is read, never modified.
type Input struct {
	Spec   *policy.Spec
	Tenant *subv1.TenantUsage
	// Trend is the tenant's history per metric (history.Store.Read for
	// TrendDays days up to Today); nil shows no sparklines.
	Trend map[string][]history.Point
	Today string // YYYY-MM-DD in the policy's zone
	Lang  string
}

// Build assembles the page of one tenant: the metrics exactly as the
// TenantUsage status has them (the numbers the forecast API answers), and
// every feature of the policy with the tenant's access and, when denied, the
// offer the gateway's 402 makes (policy.Spec.FeatureOffer).
func Build(in Input) *Page {
	tu, spec := in.Tenant, in.Spec
	rank, ok := spec.TierRank(tu.Spec.Tier)
	if !ok {
		rank = 0 // as the gateway treats a tier the policy lacks
	}
	tier := spec.Tiers[rank]
	p := &Page{
		Lang: in.Lang, TenantID: tu.Spec.TenantID, Tier: tier.DisplayName, TierName: tier.Name,
		SnapshotsPaused: tu.Spec.Suspend,
		Metrics:         make([]Metric, 0, len(tu.Status.Metrics)),
		Features:        make([]Feature, 0, len(spec.Features)),
	}
	if tu.Status.ForecastedAt != nil {
		p.ForecastDate = tu.Status.ForecastedAt.In(spec.Location).Format(time.DateOnly)
	}
	p.FiguresDate = tu.Status.LastSnapshotDate
	if p.FiguresDate == "" {
		p.FiguresDate = p.ForecastDate
	}
	today, todayErr := time.Parse(time.DateOnly, in.Today)
	for i := range tu.Status.Metrics {
		mf := &tu.Status.Metrics[i]
		m := Metric{Name: mf.Metric, Label: mf.Label, Unit: mf.Unit, Current: mf.Current,
			Limit: policy.Unlimited, Status: string(mf.Status), DaysLeft: mf.DaysUntilBreach}
		if m.Label == "" {
			m.Label = metricLabel(spec, mf.Metric)
		}
		if mf.Limit != nil {
			m.Limit = *mf.Limit
		}
		if mf.UsagePercentage != nil {
			m.Percent = *mf.UsagePercentage
		}
		if mf.PredictedBreachDate != nil {
			m.BreachDate = *mf.PredictedBreachDate
		}
		// The breach window (issue #14): shown as "between X and Y", or
		// "not before X" when the latest end lies beyond the horizon.
		if mf.EarliestBreachDate != nil {
			m.Earliest = *mf.EarliestBreachDate
		}
		if mf.LatestBreachDate != nil {
			m.Latest = *mf.LatestBreachDate
		}
		if todayErr == nil {
			m.Trend = trendOf(in.Trend[mf.Metric], today)
		}
		p.Metrics = append(p.Metrics, m)
	}
	for _, f := range spec.Features {
		msg, _, _ := f.Message(in.Lang)
		pf := Feature{Name: f.Name, Title: msg.Title, Included: rank >= f.MinRank}
		if pf.Title == "" {
			pf.Title = f.Name
		}
		if !pf.Included {
			o := spec.FeatureOffer(f, tier)
			pf.RequiredTier, pf.UpgradeURL, pf.PreviewURL = o.Tier.DisplayName, o.URL, f.PreviewURL
			if o.Price != nil {
				pf.Price, pf.Currency = o.Price.Monthly, o.Price.Currency
			}
		}
		p.Features = append(p.Features, pf)
	}
	return p
}

func metricLabel(spec *policy.Spec, name string) string {
	if spec == nil {
		return name
	}
	for _, m := range spec.Metrics {
		if m.Name == name {
			return m.Label
		}
	}
	return name
}

// trendOf places history points on the window's days; points outside the
// window or with a bad date are left out.
func trendOf(points []history.Point, today time.Time) []TrendPoint {
	out := make([]TrendPoint, 0, len(points))
	for _, pt := range points {
		d, err := time.Parse(time.DateOnly, pt.Date)
		if err != nil {
			continue
		}
		back := int(today.Sub(d).Hours() / 24)
		if back < 0 || back >= TrendDays {
			continue
		}
		out = append(out, TrendPoint{Day: TrendDays - 1 - back, Value: pt.Value})
	}
	return out
}
