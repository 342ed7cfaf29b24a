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

package controllers

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	subv1 "github.com/bakery-ia/subscription-operator/api/v1alpha1"
	"github.com/bakery-ia/subscription-operator/internal/notify"
	"github.com/bakery-ia/subscription-operator/internal/policy"
)

// observe feeds one tenant's forecast, as written to its status, to the
// notifier: each episode that starts or ends enqueues one event per sink
// that wants it, with a stable id. Every configured sink gets its events,
// also one whose Secret is missing right now: they wait in the outbox.
func (n *Notifications) observe(ctx context.Context, spec *policy.Spec, tier policy.Tier, tu *subv1.TenantUsage,
	metrics []subv1.MetricForecast, today string, now time.Time) error {
	if n == nil || len(spec.Sinks) == 0 || len(metrics) == 0 {
		return nil
	}
	todayT, err := time.Parse(time.DateOnly, today)
	if err != nil {
		return fmt.Errorf("notifications: today %q: %w", today, err)
	}
	subjects := make([]notify.Subject, 0, len(metrics))
	for _, m := range metrics {
		s := notify.Subject{
			Namespace: spec.Namespace, Policy: spec.Name, Tenant: tu.Spec.TenantID, Tier: tier.Name,
			Metric: m.Metric, MetricLabel: m.Label, Unit: m.Unit, Current: m.Current, Limit: m.Limit,
			Percentage:          percentageOf(m.UsagePercentage),
			PredictedBreachDate: deref(m.PredictedBreachDate),
			BreachEarliest:      deref(m.EarliestBreachDate),
			BreachLatest:        deref(m.LatestBreachDate),
			NextTier:            nextTierOffer(spec, tier, m.Metric, m.Label),
		}
		if m.DaysUntilBreach != nil {
			d := int(*m.DaysUntilBreach)
			s.DaysUntilBreach = &d
		}
		if e := m.EarliestBreachDate; e != nil {
			if t, err := time.Parse(time.DateOnly, *e); err == nil {
				d := int(t.Sub(todayT).Round(24*time.Hour) / (24 * time.Hour))
				s.DaysUntilEarliest = &d
			}
		}
		subjects = append(subjects, s)
	}
	if _, err := n.Notifier.Observe(ctx, sinkWants(spec), subjects, now); err != nil {
		return fmt.Errorf("notifications for %s: %w", tu.Spec.TenantID, err)
	}
	return nil
}

// sinkWants turns the compiled sinks into what the notifier evaluates.
func sinkWants(spec *policy.Spec) []notify.SinkWants {
	out := make([]notify.SinkWants, 0, len(spec.Sinks))
	for _, s := range spec.Sinks {
		sw := notify.SinkWants{Sink: s.ID, Recovered: s.Recovered}
		for _, e := range s.Events {
			c := notify.Condition{WithinDays: e.WithinDays, Earliest: e.Earliest, Percentages: e.Percentages}
			switch e.Type {
			case subv1.EventPredictedBreach:
				c.Kind = notify.KindPredictedBreach
			case subv1.EventUsageThreshold:
				c.Kind = notify.KindUsageThreshold
			default:
				c.Kind = notify.KindLimitReached
			}
			sw.Conditions = append(sw.Conditions, c)
		}
		out = append(out, sw)
	}
	return out
}

// nextTierOffer is the upgrade offer for a metric, in the policy's fallback
// language (the only one the policy is sure to have); nil on the highest tier.
func nextTierOffer(spec *policy.Spec, tier policy.Tier, metric, label string) *notify.Offer {
	o, ok := spec.LimitOffer(tier, metric)
	if !ok {
		return nil
	}
	name := o.Tier.DisplayName
	if name == "" {
		name = o.Tier.Name
	}
	msg := fmt.Sprintf("Upgrade to %s for unlimited %s", name, label)
	if v, limited := o.Tier.Limits[metric]; limited {
		msg = fmt.Sprintf("Upgrade to %s for up to %s %s", name, strconv.FormatInt(v, 10), label)
	}
	offer := &notify.Offer{Tier: o.Tier.Name, DisplayName: o.Tier.DisplayName, Language: policy.FallbackLanguage, Message: msg, UpgradeURL: o.URL}
	if p := o.Price; p != nil {
		offer.MonthlyPrice, offer.Currency = json.Number(p.Monthly), p.Currency
	}
	return offer
}

// percentageOf parses status' usagePercentage ("86.4"); nil when unlimited.
func percentageOf(s *string) *float64 {
	if s == nil {
		return nil
	}
	v, err := strconv.ParseFloat(*s, 64)
	if err != nil {
		return nil
	}
	return &v
}
