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

import (
	"fmt"
	"net/url"
	"slices"
	"strconv"

	subv1 "github.com/bakery-ia/subscription-operator/api/v1alpha1"
)

// Defaults of the breach window and of notifications. DefaultConfidence and
// DefaultBasis equal the CRD's markers (TestCRDDefaultsMatchCompiled);
// DefaultWithinDays has no CRD default because withinDays exists only on
// PredictedBreach events, and a marker would write it onto every event.
const (
	DefaultConfidence = 0.8
	DefaultBasis      = subv1.BasisExpected
	DefaultWithinDays = 14

	// MaxSinkIDLength bounds <namespace>/<policy>/<sink> (notify.ValidSinkID).
	MaxSinkIDLength = 252
)

// Sink is one webhook of spec.notifications, defaulted. Its Secrets are
// resolved by the policy controller; everything else is decided here.
type Sink struct {
	// Name is the sink's name in the policy; ID is
	// <namespace>/<policy>/<name>, its identity in the outbox and metrics.
	Name, ID string
	URL      string
	// SigningSecretName and SigningSecretKey locate the "whsec_..." secret.
	SigningSecretName, SigningSecretKey string
	// HeadersSecretName is the Secret of extra headers; "" for none.
	HeadersSecretName string
	// Events are the conditions wanted, in declaration order.
	Events []SinkEvent
	// Recovered: also send the Recovered event of each condition.
	Recovered bool
}

// SinkEvent is one condition a sink wants.
type SinkEvent struct {
	Type subv1.NotificationEventType
	// WithinDays and Earliest (PredictedBreach).
	WithinDays int
	Earliest   bool
	// Percentages (UsageThreshold): ascending, without duplicates.
	Percentages []int
}

// compileWindow decides the breach window's confidence and the basis of the
// colours.
func (r *Spec) compileWindow(spec *subv1.SubscriptionPolicySpec) error {
	r.Confidence = DefaultConfidence
	if c := spec.Forecast.Confidence; c != "" {
		v, err := strconv.ParseFloat(c, 64)
		if err != nil || v < 0.5 || v > 0.99 {
			return fmt.Errorf("spec.forecast.confidence: %q is not a decimal from 0.5 to 0.99", c)
		}
		r.Confidence = v
	}
	r.Thresholds.Basis = DefaultBasis
	switch b := spec.Thresholds.Basis; b {
	case "":
	case subv1.BasisExpected, subv1.BasisEarliest:
		r.Thresholds.Basis = b
	default:
		return fmt.Errorf("spec.thresholds.basis: %q is not expected or earliest", b)
	}
	return nil
}

// compileNotifications defaults spec.notifications. It checks again what the
// CRD checks, so an object that bypassed admission fails with the field named.
func (r *Spec) compileNotifications(n *subv1.NotificationsSpec) error {
	r.Sinks = nil
	if n == nil {
		return nil
	}
	seen := map[string]bool{}
	for i, s := range n.Sinks {
		field := fmt.Sprintf("spec.notifications.sinks[%d]", i)
		if seen[s.Name] {
			return fmt.Errorf("%s.name: duplicate sink %q", field, s.Name)
		}
		seen[s.Name] = true
		u, err := url.Parse(s.URL)
		switch {
		case err != nil:
			return fmt.Errorf("%s.url: %w", field, err)
		case u.Scheme != "http" && u.Scheme != "https":
			return fmt.Errorf("%s.url: scheme %q must be http or https", field, u.Scheme)
		case u.Host == "":
			return fmt.Errorf("%s.url: %q has no host", field, s.URL)
		case u.User != nil:
			return fmt.Errorf("%s.url: must not carry credentials; use headersSecretRef", field)
		}
		cs := Sink{
			Name: s.Name, ID: r.Namespace + "/" + r.Name + "/" + s.Name, URL: s.URL,
			SigningSecretName: s.SigningSecretRef.Name, SigningSecretKey: orDefault(s.SigningSecretRef.Key, DefaultSecretKey),
		}
		// The outbox keys and the metrics' sink label hold the id; the
		// notifier refuses ids longer than this (a long policy name).
		if len(cs.ID) > MaxSinkIDLength {
			return fmt.Errorf("%s.name: the sink id %q is longer than %d characters; shorten the policy or sink name", field, cs.ID, MaxSinkIDLength)
		}
		if s.SigningSecretRef.Name == "" {
			return fmt.Errorf("%s.signingSecretRef.name: is empty", field)
		}
		if h := s.HeadersSecretRef; h != nil {
			cs.HeadersSecretName = h.Name
		}
		for j, e := range s.Events {
			ev, err := r.compileSinkEvent(e)
			if err != nil {
				return fmt.Errorf("%s.events[%d].%w", field, j, err)
			}
			if e.Type == subv1.EventRecovered {
				cs.Recovered = true
				continue
			}
			cs.Events = append(cs.Events, ev)
		}
		if len(cs.Events) == 0 {
			return fmt.Errorf("%s.events: needs an event other than Recovered", field)
		}
		r.Sinks = append(r.Sinks, cs)
	}
	return nil
}

func (r *Spec) compileSinkEvent(e subv1.SinkEvent) (SinkEvent, error) {
	ev := SinkEvent{Type: e.Type}
	switch e.Type {
	case subv1.EventPredictedBreach:
		ev.WithinDays = DefaultWithinDays
		if e.WithinDays != nil {
			if *e.WithinDays < 0 || *e.WithinDays > 3650 {
				return ev, fmt.Errorf("withinDays: %d is outside 0..3650", *e.WithinDays)
			}
			ev.WithinDays = int(*e.WithinDays)
		}
		basis := e.Basis
		if basis == "" {
			basis = r.Thresholds.Basis
		}
		ev.Earliest = basis == subv1.BasisEarliest
	case subv1.EventUsageThreshold:
		if len(e.Percentages) == 0 {
			return ev, fmt.Errorf("percentages: required for UsageThreshold")
		}
		for _, p := range e.Percentages {
			if p < 1 || p > 1000 {
				return ev, fmt.Errorf("percentages: %d is outside 1..1000", p)
			}
			ev.Percentages = append(ev.Percentages, int(p))
		}
		// Order does not matter to the user; the episode logic needs them
		// ascending and distinct.
		slices.Sort(ev.Percentages)
		ev.Percentages = slices.Compact(ev.Percentages)
	case subv1.EventLimitReached, subv1.EventRecovered:
	default:
		return ev, fmt.Errorf("type: %q is not PredictedBreach, UsageThreshold, LimitReached or Recovered", e.Type)
	}
	return ev, nil
}
