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

package notify

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/bakery-ia/subscription-operator/internal/testenv/golden"
)

func sampleSubject() Subject {
	limit := int64(500)
	p := 86.4
	days := 9
	earliest := 7
	return Subject{
		Namespace: "bakeries", Policy: "default", Tenant: "tenant-42", Tier: "starter",
		Metric: "products", MetricLabel: "Products", Unit: "items", Current: 432, Limit: &limit,
		Percentage: &p, DaysUntilBreach: &days, DaysUntilEarliest: &earliest,
		PredictedBreachDate: "2025-01-28", BreachEarliest: "2025-01-26", BreachLatest: "2025-02-03",
		NextTier: &Offer{Tier: "professional", DisplayName: "Professional", MonthlyPrice: "149.00", Currency: "EUR",
			Language: "en", Message: "Upgrade to Professional for up to 2,000 products", UpgradeURL: "https://app.example/upgrade"},
	}
}

// TestEventGolden pins the payload receivers parse.
func TestEventGolden(t *testing.T) {
	now := time.Date(2025, 1, 19, 2, 0, 3, 0, time.UTC)
	c := Condition{Kind: KindPredictedBreach, WithinDays: 14, Earliest: true}
	ev, err := NewEvent(sampleSubject(), c, Transition{Type: PredictedBreach, Episode: 1, Seq: 1}, now)
	if err != nil {
		t.Fatal(err)
	}
	body, err := ev.Encode()
	if err != nil {
		t.Fatal(err)
	}
	var pretty bytes.Buffer
	if err := json.Indent(&pretty, body, "", "  "); err != nil {
		t.Fatal(err)
	}
	pretty.WriteByte('\n')
	golden.Assert(t, "predicted_breach.json", pretty.Bytes())

	// CloudEvents 1.0 structured mode: the required context attributes.
	var m map[string]any
	if err := json.Unmarshal(body, &m); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"specversion", "id", "source", "type"} {
		if s, _ := m[k].(string); s == "" {
			t.Errorf("required attribute %s missing", k)
		}
	}
	if m["specversion"] != "1.0" {
		t.Errorf("specversion %v", m["specversion"])
	}
	if _, err := time.Parse(time.RFC3339, m["time"].(string)); err != nil {
		t.Errorf("time: %v", err)
	}
	for k := range m {
		if k != strings.ToLower(k) || strings.ContainsAny(k, "_-") {
			t.Errorf("attribute name %q is not lower-case alphanumeric", k)
		}
	}
}

func TestEventIDStable(t *testing.T) {
	id := EventID("ns", "p", "t", "m", "limit_reached", LimitReached, 1, 1)
	if id != EventID("ns", "p", "t", "m", "limit_reached", LimitReached, 1, 1) {
		t.Fatal("same crossing, different ids")
	}
	seen := map[string]bool{id: true}
	for _, other := range []string{
		EventID("ns", "p", "t", "m", "limit_reached", LimitReached, 2, 1),
		EventID("ns", "p", "t", "m", "limit_reached", Recovered, 1, 2),
		EventID("ns", "p", "t", "m2", "limit_reached", LimitReached, 1, 1),
		EventID("ns", "p2", "t", "m", "limit_reached", LimitReached, 1, 1),
		// Concatenation would make these equal without length prefixes.
		EventID("ns", "pt", "", "m", "limit_reached", LimitReached, 1, 1),
		EventID("ns", "p", "tm", "", "limit_reached", LimitReached, 1, 1),
	} {
		if seen[other] {
			t.Errorf("id collision: %s", other)
		}
		seen[other] = true
	}
}

func TestNewEventRejectsBadSubject(t *testing.T) {
	s := sampleSubject()
	s.Tenant = ""
	s.BreachLatest = "03/02/2025"
	s.NextTier.MonthlyPrice = "1e9"
	_, err := NewEvent(s, Condition{Kind: KindLimitReached}, Transition{Type: LimitReached, Episode: 1, Seq: 1}, time.Now())
	for _, want := range []string{"subject.tenant is empty", "subject.breachLatest", "monthlyPrice"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v does not name %s", err, want)
		}
	}
}
