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

package policy_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"k8s.io/utils/ptr"

	subv1 "github.com/bakery-ia/subscription-operator/api/v1alpha1"
	"github.com/bakery-ia/subscription-operator/internal/policy"
	"github.com/bakery-ia/subscription-operator/internal/policy/policytest"
)

func TestCompileSpecDecisions(t *testing.T) {
	for _, c := range []struct {
		name    string
		edit    func(*subv1.SubscriptionPolicy)
		check   func(*testing.T, *policy.Spec)
		wantErr string
	}{
		{name: "Local is not a zone", edit: func(p *subv1.SubscriptionPolicy) { p.Spec.Snapshot.TimeZone = "Local" },
			wantErr: `spec.snapshot.timeZone: "Local" is not allowed`},
		{name: "unknown zone", edit: func(p *subv1.SubscriptionPolicy) { p.Spec.Snapshot.TimeZone = "Mars/Olympus" },
			wantErr: "spec.snapshot.timeZone: unknown time zone Mars/Olympus"},
		{name: "cron that never fires", edit: func(p *subv1.SubscriptionPolicy) { p.Spec.Snapshot.Schedule = "0 0 30 2 *" },
			wantErr: "spec.snapshot.schedule:"},
		{name: "Madrid", edit: func(p *subv1.SubscriptionPolicy) { p.Spec.Snapshot.TimeZone = "Europe/Madrid" },
			check: func(t *testing.T, s *policy.Spec) {
				if s.Location.String() != "Europe/Madrid" {
					t.Errorf("location %s", s.Location)
				}
				// 23:30 UTC on 31 Dec is already 1 Jan in Madrid.
				if got := s.Today(time.Date(2025, 12, 31, 23, 30, 0, 0, time.UTC)); got != "2026-01-01" {
					t.Errorf("Today = %s", got)
				}
			}},
		{name: "retention and min history unset take the CRD defaults", edit: func(p *subv1.SubscriptionPolicy) {
			p.Spec.Snapshot.RetentionDays, p.Spec.Snapshot.MinHistoryDays = 0, 0
		}, check: func(t *testing.T, s *policy.Spec) {
			if s.RetentionDays != 60 || s.MinHistoryDays != 7 {
				t.Errorf("retention %d, min history %d; want 60, 7", s.RetentionDays, s.MinHistoryDays)
			}
		}},
		{name: "min history above retention", edit: func(p *subv1.SubscriptionPolicy) {
			p.Spec.Snapshot.RetentionDays, p.Spec.Snapshot.MinHistoryDays = 5, 7
		}, wantErr: "spec.snapshot.retentionDays: 5 is less than minHistoryDays (7)"},
		{name: "criticalDays 0 is kept", edit: func(p *subv1.SubscriptionPolicy) { p.Spec.Thresholds.CriticalDays = ptr.To[int32](0) },
			check: func(t *testing.T, s *policy.Spec) {
				if s.Thresholds.CriticalDays != 0 {
					t.Errorf("criticalDays %d", s.Thresholds.CriticalDays)
				}
			}},
		{name: "startingDeadlineSeconds 0 means no limit", edit: func(p *subv1.SubscriptionPolicy) {
			p.Spec.Snapshot.StartingDeadlineSeconds = ptr.To[int64](0)
		}, check: func(t *testing.T, s *policy.Spec) {
			if s.StartingDeadline != 0 {
				t.Errorf("deadline %s", s.StartingDeadline)
			}
		}},
		{name: "limit of an undeclared metric", edit: func(p *subv1.SubscriptionPolicy) { p.Spec.Tiers[0].Limits["ovens"] = 3 },
			wantErr: `spec.tiers[0].limits: "ovens" is not a metric of spec.metrics`},
		{name: "default key pattern and label", check: func(t *testing.T, s *policy.Spec) {
			m := s.Metrics[1]
			if m.Name != "api_calls" || m.RedisKeyPattern != "usage_daily:{tenant}:api_calls:{date}" || m.Label != "api_calls" {
				t.Errorf("metric %+v", m)
			}
			if got := s.APICallsKeyPattern(); got != m.RedisKeyPattern {
				t.Errorf("gateway counter pattern %q", got)
			}
		}},
		{name: "the gateway counts api_calls under the policy's key pattern",
			edit: func(p *subv1.SubscriptionPolicy) {
				p.Spec.Metrics[1].RedisCounter = &subv1.RedisCounterSource{KeyPattern: "calls:{date}:{tenant}"}
			},
			check: func(t *testing.T, s *policy.Spec) {
				if got := s.APICallsKeyPattern(); got != "calls:{date}:{tenant}" {
					t.Errorf("gateway counter pattern %q", got)
				}
				if got := policy.CounterKey(s.APICallsKeyPattern(), "t1", "2026-03-10"); got != "calls:2026-03-10:t1" {
					t.Errorf("key %q", got)
				}
			}},
		{name: "a stored key pattern without {tenant} (from before the admission rule)",
			edit: func(p *subv1.SubscriptionPolicy) {
				p.Spec.Metrics[1].RedisCounter = &subv1.RedisCounterSource{KeyPattern: "calls:{date}"}
			},
			wantErr: `spec.metrics[1].redisCounter.keyPattern: key pattern "calls:{date}" has no {tenant} placeholder`},
		{name: "a stored key pattern with an unknown placeholder",
			edit: func(p *subv1.SubscriptionPolicy) {
				p.Spec.Metrics[1].RedisCounter = &subv1.RedisCounterSource{KeyPattern: "calls:{tenant}:{metric}"}
			},
			wantErr: `spec.metrics[1].redisCounter.keyPattern: key pattern "calls:{tenant}:{metric}" has the unknown placeholder {metric}: only {tenant} and {date} are replaced`},
		{name: "api_calls read from Postgres: the gateway keeps the seed's key",
			edit: func(p *subv1.SubscriptionPolicy) {
				p.Spec.Metrics[1].RedisCounter = nil
				p.Spec.Metrics[1].Postgres = &subv1.PostgresSource{Query: "SELECT tenant_id, n FROM calls"}
			},
			check: func(t *testing.T, s *policy.Spec) {
				if got := s.APICallsKeyPattern(); got != "usage_daily:{tenant}:api_calls:{date}" {
					t.Errorf("gateway counter pattern %q", got)
				}
			}},
		{name: "prices in cents and offers", edit: func(p *subv1.SubscriptionPolicy) { p.Spec.Tiers[1].Price.Monthly = "049.5" },
			check: func(t *testing.T, s *policy.Spec) {
				starter, _ := s.Tier("starter")
				f := s.Features[0]
				o := s.FeatureOffer(f, starter)
				if o.Tier.Name != "professional" || o.Price == nil || o.Price.MonthlyCents != 4950 || o.Price.Monthly != "49.5" ||
					o.Price.PerDay != "1.65" || o.URL != "/app/settings/subscription?upgrade=professional&from=starter&feature=analytics" {
					t.Errorf("feature offer %+v price %+v", o, o.Price)
				}
				lo, ok := s.LimitOffer(starter, policy.APICallsMetric)
				if !ok || lo.Tier.Name != "professional" || lo.Subject != "api_calls" {
					t.Errorf("limit offer %+v %v", lo, ok)
				}
				ent, _ := s.Tier("enterprise")
				if _, ok := s.LimitOffer(ent, policy.APICallsMetric); ok {
					t.Error("the top tier got an offer")
				}
				if v, ok := starter.EffectiveLimit("products", map[string]int64{"products": 75}); !ok || v != 75 {
					t.Errorf("override: %d %v", v, ok)
				}
				if v, ok := starter.EffectiveLimit("products", nil); !ok || v != 50 {
					t.Errorf("tier limit: %d %v", v, ok)
				}
				if _, ok := ent.EffectiveLimit("products", nil); ok {
					t.Error("enterprise products should be unlimited")
				}
			}},
	} {
		t.Run(c.name, func(t *testing.T) {
			p := policytest.Policy()
			if c.edit != nil {
				c.edit(p)
			}
			s, err := policy.CompileSpec(p)
			if c.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), c.wantErr) {
					t.Fatalf("error %v, want one containing %q", err, c.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			c.check(t, s)
		})
	}
}

func TestNameOf(t *testing.T) {
	if got := policy.NameOf(&subv1.TenantUsage{}); got != "default" {
		t.Errorf("unset policyRef: %q", got)
	}
	tu := &subv1.TenantUsage{Spec: subv1.TenantUsageSpec{PolicyRef: subv1.PolicyReference{Name: "gold"}}}
	if got := policy.NameOf(tu); got != "gold" {
		t.Errorf("policyRef gold: %q", got)
	}
}

func TestCompileNotifications(t *testing.T) {
	pol := policytest.Policy()
	pol.Spec.Thresholds.Basis = subv1.BasisEarliest
	pol.Spec.Forecast.Confidence = "0.95"
	pol.Spec.Notifications = &subv1.NotificationsSpec{Sinks: []subv1.WebhookSink{{
		Name: "crm", URL: "https://hooks.example/usage",
		SigningSecretRef: subv1.SecretKeyReference{Name: "crm-webhook", Key: "secret"},
		HeadersSecretRef: &subv1.LocalSecretReference{Name: "crm-headers"},
		Events: []subv1.SinkEvent{
			{Type: subv1.EventPredictedBreach},
			{Type: subv1.EventPredictedBreach, WithinDays: ptr.To[int32](3), Basis: subv1.BasisExpected},
			{Type: subv1.EventUsageThreshold, Percentages: []int32{90, 80, 90}},
			{Type: subv1.EventRecovered},
		},
	}}}
	s, err := policy.CompileSpec(pol)
	if err != nil {
		t.Fatal(err)
	}
	if s.Confidence != 0.95 || s.Thresholds.Basis != subv1.BasisEarliest {
		t.Errorf("confidence %v basis %s", s.Confidence, s.Thresholds.Basis)
	}
	if len(s.Sinks) != 1 {
		t.Fatalf("sinks %+v", s.Sinks)
	}
	k := s.Sinks[0]
	if k.ID != pol.Namespace+"/"+pol.Name+"/crm" || k.SigningSecretKey != "secret" || k.HeadersSecretName != "crm-headers" || !k.Recovered {
		t.Errorf("sink %+v", k)
	}
	want := []policy.SinkEvent{
		{Type: subv1.EventPredictedBreach, WithinDays: 14, Earliest: true},
		{Type: subv1.EventPredictedBreach, WithinDays: 3},
		{Type: subv1.EventUsageThreshold, Percentages: []int{80, 90}},
	}
	if len(k.Events) != len(want) {
		t.Fatalf("events %+v", k.Events)
	}
	for i := range want {
		if k.Events[i].Type != want[i].Type || k.Events[i].WithinDays != want[i].WithinDays || k.Events[i].Earliest != want[i].Earliest ||
			!slices.Equal(k.Events[i].Percentages, want[i].Percentages) {
			t.Errorf("event %d = %+v, want %+v", i, k.Events[i], want[i])
		}
	}

	for _, c := range []struct {
		name, wantErr string
		edit          func(*subv1.SubscriptionPolicy)
	}{
		{"confidence above 0.99", "spec.forecast.confidence", func(p *subv1.SubscriptionPolicy) { p.Spec.Forecast.Confidence = "0.999" }},
		{"confidence not a number", "spec.forecast.confidence", func(p *subv1.SubscriptionPolicy) { p.Spec.Forecast.Confidence = "high" }},
		{"unknown basis", "spec.thresholds.basis", func(p *subv1.SubscriptionPolicy) { p.Spec.Thresholds.Basis = "worst" }},
		{"credentials in the URL", "spec.notifications.sinks[0].url", func(p *subv1.SubscriptionPolicy) {
			p.Spec.Notifications.Sinks[0].URL = "https://u:p@hooks.example/"
		}},
		{"ftp URL", "spec.notifications.sinks[0].url", func(p *subv1.SubscriptionPolicy) {
			p.Spec.Notifications.Sinks[0].URL = "ftp://hooks.example/"
		}},
		{"only Recovered", "spec.notifications.sinks[0].events", func(p *subv1.SubscriptionPolicy) {
			p.Spec.Notifications.Sinks[0].Events = []subv1.SinkEvent{{Type: subv1.EventRecovered}}
		}},
		{"sink id too long for the outbox", "spec.notifications.sinks[0].name", func(p *subv1.SubscriptionPolicy) {
			p.Name = strings.Repeat("p", 250)
		}},
		{"percentage out of range", "spec.notifications.sinks[0].events[2].percentages", func(p *subv1.SubscriptionPolicy) {
			p.Spec.Notifications.Sinks[0].Events[2].Percentages = []int32{0}
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			p := pol.DeepCopy()
			c.edit(p)
			_, err := policy.CompileSpec(p)
			if err == nil || !strings.Contains(err.Error(), c.wantErr) {
				t.Errorf("err = %v, want one naming %s", err, c.wantErr)
			}
		})
	}
}
