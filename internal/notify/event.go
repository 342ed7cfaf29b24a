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

// Package notify turns forecast changes into signed webhook notifications
// delivered at least once from a durable outbox in Redis.
//
// The parts, each usable alone:
//
//   - event.go: the CloudEvents 1.0 structured-JSON payload and its stable id.
//   - episode.go: the pure state machine that decides when a crossing starts
//     and ends (one event per episode, hysteresis against flapping).
//   - sign.go: Standard Webhooks signatures (webhook-id, webhook-timestamp,
//     webhook-signature).
//   - outbox.go: the Redis outbox (idempotent enqueue, scheduled retries).
//   - worker.go: the delivery worker (leader only), sink status and metrics.
//
// The package has no Kubernetes client imports: the caller (the policy
// controller) turns the compiled policy into the plain structs here.
package notify

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// EventType is a CloudEvents type attribute.
type EventType string

// The event types. Their names are a contract with receivers.
const (
	// PredictedBreach: the (earliest or expected) breach date came within N days.
	PredictedBreach EventType = "io.bakery-ia.subscriptions.usage.predicted_breach"
	// UsageThreshold: usage crossed one of a list of percentages of the limit.
	UsageThreshold EventType = "io.bakery-ia.subscriptions.usage.usage_threshold"
	// LimitReached: usage reached the limit.
	LimitReached EventType = "io.bakery-ia.subscriptions.usage.limit_reached"
	// Recovered: a condition that fired one of the events above cleared.
	Recovered EventType = "io.bakery-ia.subscriptions.usage.recovered"
)

// Short returns the type's last segment ("predicted_breach"), the value of
// the metric's event label.
func (t EventType) Short() string {
	return string(t)[strings.LastIndexByte(string(t), '.')+1:]
}

// specVersion and contentType are fixed by CloudEvents 1.0.
const (
	specVersion = "1.0"
	// ContentType is the structured-mode media type the body is sent with.
	ContentType = "application/cloudevents+json; charset=utf-8"
)

// Offer is the next tier and its price: the upgrade offer in the policy's
// default language.
type Offer struct {
	Tier         string      `json:"tier"`
	DisplayName  string      `json:"display_name,omitempty"`
	MonthlyPrice json.Number `json:"monthly_price,omitempty"` // decimal, as in the policy
	Currency     string      `json:"currency,omitempty"`
	Language     string      `json:"language,omitempty"`
	Message      string      `json:"message,omitempty"`
	UpgradeURL   string      `json:"upgrade_url,omitempty"`
}

// Subject is what an event is about: plain values the caller copies from
// the compiled policy and the metric's forecast. Dates are YYYY-MM-DD.
type Subject struct {
	// Namespace and Policy name the SubscriptionPolicy; with Tenant and
	// Metric they make the event's identity.
	Namespace, Policy string
	Tenant, Tier      string
	Metric            string
	MetricLabel       string
	Unit              string
	Current           int64
	Limit             *int64
	// Percentage is current/limit*100 with one decimal, as in the status.
	Percentage      *float64
	DaysUntilBreach *int
	// DaysUntilEarliest is the days to BreachEarliest; it decides
	// PredictedBreach conditions on the earliest basis.
	DaysUntilEarliest   *int
	PredictedBreachDate string
	BreachEarliest      string
	BreachLatest        string
	// NextTier is the upgrade offer; nil on the highest tier.
	NextTier *Offer
}

// Data is the event's data member. Field names are snake_case like the
// forecast API's JSON; optional values are null rather than absent, so
// receivers see one shape.
type Data struct {
	Namespace               string   `json:"namespace"`
	Policy                  string   `json:"policy"`
	TenantID                string   `json:"tenant_id"`
	Tier                    string   `json:"tier"`
	Metric                  string   `json:"metric"`
	Label                   string   `json:"label,omitempty"`
	Unit                    string   `json:"unit,omitempty"`
	Current                 int64    `json:"current"`
	Limit                   *int64   `json:"limit"`
	UsagePercentage         *float64 `json:"usage_percentage"`
	Threshold               *int     `json:"threshold,omitempty"`
	WithinDays              *int     `json:"within_days,omitempty"`
	Condition               string   `json:"condition,omitempty"`
	DaysUntilBreach         *int     `json:"days_until_breach"`
	PredictedBreachDate     *string  `json:"predicted_breach_date"`
	PredictedBreachEarliest *string  `json:"predicted_breach_earliest"`
	PredictedBreachLatest   *string  `json:"predicted_breach_latest"`
	NextTier                *Offer   `json:"next_tier"`
	Episode                 uint64   `json:"episode"`
}

// Event is a CloudEvents 1.0 event in structured JSON form. The spec's
// attributes are encoded directly (see docs/notifications.md for why not
// the SDK).
type Event struct {
	SpecVersion     string    `json:"specversion"`
	ID              string    `json:"id"`
	Source          string    `json:"source"`
	Type            EventType `json:"type"`
	Subject         string    `json:"subject"`
	Time            string    `json:"time"`
	DataContentType string    `json:"datacontenttype"`
	Data            Data      `json:"data"`
}

// Source is the CloudEvents source of a policy's events: the policy's API
// path, a URI-reference that is unique per policy.
func Source(namespace, policy string) string {
	return "/apis/subscriptions.bakery-ia.io/v1alpha1/namespaces/" + namespace + "/subscriptionpolicies/" + policy
}

// EventID is the event's stable id: the same crossing (policy, tenant,
// metric, condition, event type, episode and sequence within it) always
// gives the same id, so a receiver can deduplicate at-least-once delivery
// and a re-run after a crash enqueues nothing new. Fields are
// length-prefixed so no two inputs collide by concatenation.
func EventID(namespace, policy, tenant, metric, condition string, typ EventType, episode, seq uint64) string {
	h := sha256.New()
	for _, s := range []string{namespace, policy, tenant, metric, condition, string(typ),
		strconv.FormatUint(episode, 10), strconv.FormatUint(seq, 10)} {
		_, _ = fmt.Fprintf(h, "%d:%s;", len(s), s)
	}
	return "evt_" + hex.EncodeToString(h.Sum(nil)[:16])
}

// NewEvent builds the event for transition tr of condition c about s,
// observed at now. It fails with a message naming the field when s cannot
// make a valid event.
func NewEvent(s Subject, c Condition, tr Transition, now time.Time) (Event, error) {
	if err := s.validate(); err != nil {
		return Event{}, err
	}
	d := Data{
		Namespace: s.Namespace, Policy: s.Policy, TenantID: s.Tenant, Tier: s.Tier,
		Metric: s.Metric, Label: s.MetricLabel, Unit: s.Unit, Current: s.Current, Limit: s.Limit,
		UsagePercentage: s.Percentage, DaysUntilBreach: s.DaysUntilBreach,
		PredictedBreachDate: optString(s.PredictedBreachDate), PredictedBreachEarliest: optString(s.BreachEarliest),
		PredictedBreachLatest: optString(s.BreachLatest), NextTier: s.NextTier, Episode: tr.Episode,
	}
	if tr.Threshold > 0 {
		th := tr.Threshold
		d.Threshold = &th
	}
	if c.Kind == KindPredictedBreach {
		wd := c.WithinDays
		d.WithinDays = &wd
	}
	if tr.Type == Recovered {
		d.Condition = c.Kind.eventType().Short()
	}
	return Event{
		SpecVersion:     specVersion,
		ID:              EventID(s.Namespace, s.Policy, s.Tenant, s.Metric, c.Key(), tr.Type, tr.Episode, tr.Seq),
		Source:          Source(s.Namespace, s.Policy),
		Type:            tr.Type,
		Subject:         "tenants/" + s.Tenant + "/metrics/" + s.Metric,
		Time:            now.UTC().Format(time.RFC3339),
		DataContentType: "application/json",
		Data:            d,
	}, nil
}

// Encode is the event's structured-mode body.
func (e Event) Encode() ([]byte, error) {
	b, err := json.Marshal(e)
	if err != nil {
		return nil, fmt.Errorf("encoding event %s: %w", e.ID, err)
	}
	return b, nil
}

func optString(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func (s Subject) validate() error {
	var errs []error
	for _, f := range []struct{ name, v string }{
		{"namespace", s.Namespace}, {"policy", s.Policy}, {"tenant", s.Tenant}, {"metric", s.Metric},
	} {
		if f.v == "" {
			errs = append(errs, fmt.Errorf("notify: subject.%s is empty", f.name))
		}
	}
	for _, f := range []struct{ name, v string }{
		{"predictedBreachDate", s.PredictedBreachDate}, {"breachEarliest", s.BreachEarliest}, {"breachLatest", s.BreachLatest},
	} {
		if f.v == "" {
			continue
		}
		if _, err := time.Parse(time.DateOnly, f.v); err != nil {
			errs = append(errs, fmt.Errorf("notify: subject.%s %q is not a YYYY-MM-DD date", f.name, f.v))
		}
	}
	if o := s.NextTier; o != nil && o.MonthlyPrice != "" {
		p := string(o.MonthlyPrice)
		if _, err := strconv.ParseFloat(p, 64); err != nil || strings.ContainsAny(p, "eEnNiIxX_+") || !json.Valid([]byte(p)) {
			errs = append(errs, fmt.Errorf("notify: subject.nextTier.monthlyPrice %q is not a decimal number", o.MonthlyPrice))
		}
	}
	return errors.Join(errs...)
}
