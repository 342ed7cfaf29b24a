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
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Kind is a condition a sink can ask to be told about.
type Kind string

// The condition kinds, as spelled in spec.notifications.
const (
	KindPredictedBreach Kind = "PredictedBreach"
	KindUsageThreshold  Kind = "UsageThreshold"
	KindLimitReached    Kind = "LimitReached"
)

func (k Kind) eventType() EventType {
	switch k {
	case KindPredictedBreach:
		return PredictedBreach
	case KindUsageThreshold:
		return UsageThreshold
	default:
		return LimitReached
	}
}

// Default hysteresis. A condition fires when its threshold is reached and
// clears only once usage is this far back on the safe side, so a metric
// wobbling around a threshold makes one episode, not one per wobble.
const (
	// DefaultHysteresisPercent: percentage points below a usage threshold
	// (or below 100 for LimitReached) before the condition clears.
	DefaultHysteresisPercent = 5
	// DefaultHysteresisDays: days beyond WithinDays the predicted breach
	// must move before PredictedBreach clears.
	DefaultHysteresisDays = 3
)

// Condition is one thing to watch on every metric, with its parameters.
type Condition struct {
	Kind Kind
	// WithinDays (PredictedBreach): fire when the breach is at most this
	// many days away.
	WithinDays int
	// Earliest (PredictedBreach): use the earliest breach date of the
	// window instead of the expected one (falling back to the expected
	// date when there is no window).
	Earliest bool
	// Percentages (UsageThreshold): the usage percentages to report
	// crossings of, ascending.
	Percentages []int
	// HysteresisPercent and HysteresisDays: 0 means the default.
	HysteresisPercent int
	HysteresisDays    int
}

// Key identifies the condition among a metric's states and in event ids.
// It holds what defines a crossing (kind and thresholds) and not the
// hysteresis, so tuning the hysteresis does not restart episodes.
func (c Condition) Key() string {
	switch c.Kind {
	case KindPredictedBreach:
		basis := "expected"
		if c.Earliest {
			basis = "earliest"
		}
		return "predicted_breach:" + strconv.Itoa(c.WithinDays) + "d:" + basis
	case KindUsageThreshold:
		ps := make([]string, len(c.Percentages))
		for i, p := range c.Percentages {
			ps[i] = strconv.Itoa(p)
		}
		return "usage_threshold:" + strings.Join(ps, ",")
	default:
		return "limit_reached"
	}
}

// Validate reports what is wrong with c, naming the field.
func (c Condition) Validate() error {
	var errs []error
	switch c.Kind {
	case KindPredictedBreach:
		if c.WithinDays < 0 || c.WithinDays > 3650 {
			errs = append(errs, fmt.Errorf("withinDays %d is outside 0..3650", c.WithinDays))
		}
	case KindUsageThreshold:
		if len(c.Percentages) == 0 {
			errs = append(errs, errors.New("percentages is empty"))
		}
		for i, p := range c.Percentages {
			if p < 1 || p > 1000 {
				errs = append(errs, fmt.Errorf("percentages[%d] %d is outside 1..1000", i, p))
			}
			if i > 0 && p <= c.Percentages[i-1] {
				errs = append(errs, fmt.Errorf("percentages[%d] %d is not above the one before", i, p))
			}
		}
	case KindLimitReached:
	default:
		errs = append(errs, fmt.Errorf("kind %q is not one of PredictedBreach, UsageThreshold, LimitReached", c.Kind))
	}
	if c.HysteresisPercent < 0 || c.HysteresisPercent > 100 {
		errs = append(errs, fmt.Errorf("hysteresisPercent %d is outside 0..100", c.HysteresisPercent))
	}
	if c.HysteresisDays < 0 || c.HysteresisDays > 365 {
		errs = append(errs, fmt.Errorf("hysteresisDays %d is outside 0..365", c.HysteresisDays))
	}
	return errors.Join(errs...)
}

func (c Condition) hysteresisPercent() float64 {
	if c.HysteresisPercent == 0 {
		return DefaultHysteresisPercent
	}
	return float64(c.HysteresisPercent)
}

func (c Condition) hysteresisDays() int {
	if c.HysteresisDays == 0 {
		return DefaultHysteresisDays
	}
	return c.HysteresisDays
}

// Observation is what a condition looks at: one metric's latest forecast.
type Observation struct {
	// Percentage is the usage percentage; nil when the metric is unlimited,
	// which clears every condition.
	Percentage *float64
	// DaysUntilBreach is the expected days left; DaysUntilEarliest the
	// days left to the earliest breach date of the window. nil = none.
	DaysUntilBreach   *int
	DaysUntilEarliest *int
}

// State is a condition's memory for one metric, persisted between forecasts.
type State struct {
	// Active is true from the event that opened an episode until the
	// Recovered that closes it.
	Active bool
	// Level (UsageThreshold) is the highest percentage reported in the
	// episode that is still held (usage has not fallen HysteresisPercent
	// below it); a crossing above it is reported, one at or below is not.
	Level int
	// Episode counts the episodes started so far; Seq the events emitted
	// in the current one. Together they make event ids stable: the same
	// crossing, evaluated again after a crash, gets the same id.
	Episode, Seq uint64
}

// Transition is an event a Step decided to emit.
type Transition struct {
	Type EventType
	// Threshold is the percentage crossed (UsageThreshold) or held when
	// the episode cleared (Recovered of a UsageThreshold).
	Threshold    int
	Episode, Seq uint64
}

// Step advances a condition's state with a new observation. It emits at
// most one transition: the opening event of an episode, a higher usage
// threshold within it, or the Recovered that closes it. Pure and total.
func Step(c Condition, s State, o Observation) (State, Transition, bool) {
	enter, hold, level := c.evaluate(o)
	switch {
	case !s.Active && enter:
		s.Active, s.Episode, s.Seq, s.Level = true, s.Episode+1, 1, level
		return s, Transition{Type: c.Kind.eventType(), Threshold: level, Episode: s.Episode, Seq: s.Seq}, true
	case s.Active && !hold:
		tr := Transition{Type: Recovered, Threshold: s.Level, Episode: s.Episode, Seq: s.Seq + 1}
		s.Active, s.Level, s.Seq = false, 0, s.Seq+1
		return s, tr, true
	case s.Active && c.Kind == KindUsageThreshold && level > s.Level:
		s.Level, s.Seq = level, s.Seq+1
		return s, Transition{Type: UsageThreshold, Threshold: level, Episode: s.Episode, Seq: s.Seq}, true
	case s.Active && c.Kind == KindUsageThreshold:
		// Thresholds usage has fallen well below are re-armed.
		s.Level = min(s.Level, c.held(*o.Percentage))
	}
	return s, Transition{}, false
}

// evaluate says whether the condition is entered (reached now) and held
// (not yet cleared, with hysteresis), and for UsageThreshold the highest
// percentage reached.
func (c Condition) evaluate(o Observation) (enter, hold bool, level int) {
	if o.Percentage == nil {
		return false, false, 0
	}
	pct := *o.Percentage
	switch c.Kind {
	case KindLimitReached:
		return pct >= 100, pct >= 100-c.hysteresisPercent(), 0
	case KindUsageThreshold:
		for _, p := range c.Percentages {
			if pct >= float64(p) {
				level = p
			}
		}
		return level > 0, c.held(pct) > 0, level
	default: // KindPredictedBreach
		d := o.DaysUntilBreach
		if c.Earliest && o.DaysUntilEarliest != nil {
			d = o.DaysUntilEarliest
		}
		if d == nil {
			return false, false, 0
		}
		return *d <= c.WithinDays, *d <= c.WithinDays+c.hysteresisDays(), 0
	}
}

// held is the highest percentage usage has not fallen HysteresisPercent
// below; 0 when none.
func (c Condition) held(pct float64) int {
	h := c.hysteresisPercent()
	level := 0
	for _, p := range c.Percentages {
		if pct >= float64(p)-h {
			level = p
		}
	}
	return level
}

// encodeState is State's compact stored form: "active|level|episode|seq".
func encodeState(s State) string {
	a := "0"
	if s.Active {
		a = "1"
	}
	return a + "|" + strconv.Itoa(s.Level) + "|" + strconv.FormatUint(s.Episode, 10) + "|" + strconv.FormatUint(s.Seq, 10)
}

// decodeState parses encodeState's form.
func decodeState(v string) (State, error) {
	parts := strings.Split(v, "|")
	if len(parts) != 4 || (parts[0] != "0" && parts[0] != "1") {
		return State{}, fmt.Errorf("notify: malformed state %q", v)
	}
	level, err1 := strconv.Atoi(parts[1])
	ep, err2 := strconv.ParseUint(parts[2], 10, 64)
	seq, err3 := strconv.ParseUint(parts[3], 10, 64)
	if err := errors.Join(err1, err2, err3); err != nil {
		return State{}, fmt.Errorf("notify: malformed state %q: %w", v, err)
	}
	return State{Active: parts[0] == "1", Level: level, Episode: ep, Seq: seq}, nil
}
