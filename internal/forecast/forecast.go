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

// Package forecast turns a tenant's daily usage history for one metric into a
// capacity forecast: growth rate, predicted breach date and the window it
// falls in at a chosen confidence, days left, usage percentage and a status
// color.
//
// It is pure maths on purpose: no Kubernetes, Redis or clock imports, so the
// controllers, the forecast API and the tests all get the same answer for the
// same input, and the numbers can be checked by hand.
package forecast

import (
	"math"
	"time"
)

// Method selects how the daily growth rate is estimated from the history.
type Method string

const (
	// Linear is the ordinary least-squares slope, as Prometheus predict_linear
	// computes it. It uses every point, so it reacts to real trend changes
	// quickly but a single bad day pulls it.
	Linear Method = "linear"
	// TheilSen is the median of the slopes between every pair of points. A
	// one-day spike (a bulk import, a test tenant) changes only a minority of
	// the pairs, so the median ignores it.
	TheilSen Method = "theilSen"
)

// Status is the color a metric is shown with; its values are the seed's JSON
// contract.
type Status string

const (
	// Unlimited means the tier has no limit for the metric.
	Unlimited Status = "unlimited"
	// Safe means a limit exists and no threshold is reached.
	Safe Status = "safe"
	// Warning means the warning percentage or warning days-left threshold is reached.
	Warning Status = "warning"
	// Critical means the critical percentage or days-left threshold is
	// reached, or the tenant is already at or over the limit.
	Critical Status = "critical"
)

// Point is one daily snapshot of a metric.
type Point struct {
	// Date is the calendar date of the snapshot, midnight UTC. Only its UTC
	// calendar date is used, so a stray time of day cannot skew the x axis.
	Date time.Time
	// Value is the metric's value on that date.
	Value int64
}

// Thresholds decide the status of a limited metric. A threshold <= 0 is
// disabled: the policy layer applies the defaults, and a zero here would
// otherwise make every metric warning or critical.
type Thresholds struct {
	// WarningPercent: usage percentage at or above which the metric is Warning.
	WarningPercent int
	// CriticalPercent: usage percentage at or above which the metric is Critical.
	CriticalPercent int
	// WarningDays: days until breach at or below which the metric is Warning.
	WarningDays int
	// CriticalDays: days until breach at or below which the metric is Critical.
	CriticalDays int
}

// Input is everything Compute needs for one tenant and one metric.
type Input struct {
	// Metric is the metric's machine name, copied to the Result.
	Metric string
	// Label is the metric's display name, copied to the Result.
	Label string
	// Unit is the metric's unit, copied to the Result.
	Unit string
	// Limit is the tier's limit after overrides; nil means unlimited.
	Limit *int64
	// Points is the history, in any order and possibly with gaps. When two
	// points share a date the later one in the slice wins, matching how the
	// history store overwrites a date on a re-run.
	Points []Point
	// Today is the calendar date (midnight UTC) the forecast is made for; the
	// breach date is counted from it.
	Today time.Time
	// Method is the slope estimator; "" (and any unknown value) means Linear.
	Method Method
	// MinHistoryDays is the number of distinct dates needed before a rate and
	// a breach date are predicted. Values below 2 are treated as 2, the least
	// a slope can be computed from.
	MinHistoryDays int
	// Thresholds decide the status.
	Thresholds Thresholds
	// Confidence is the level c of the breach window, in [MinConfidence,
	// MaxConfidence]; 0 means DefaultConfidence and values outside the
	// range are clamped (the policy layer rejects them before they get
	// here).
	Confidence float64
	// Basis selects the breach day that decides the status; "" (and any
	// unknown value) means BasisExpected, which keeps the colours the
	// point estimate alone gives.
	Basis Basis
}

// Result is the forecast for one metric, shaped like the seed's JSON response.
// Optional numbers are pointers because the JSON contract uses null for
// "no prediction", which is different from zero.
type Result struct {
	// Metric is copied from Input.
	Metric string
	// Label is copied from Input.
	Label string
	// Unit is copied from Input.
	Unit string
	// Current is the value of the latest point, 0 when there is none.
	Current int64
	// Limit is the limit the forecast was made against; nil when unlimited.
	Limit *int64
	// DailyGrowthRate is the slope in units per day, rounded to 2 decimals;
	// nil with fewer than MinHistoryDays points.
	DailyGrowthRate *float64
	// PredictedBreachDate is the date (midnight UTC) the limit is expected to
	// be reached: Today when already at or over it, otherwise set only when
	// the rate is positive and the breach is within maxBreachDays.
	PredictedBreachDate *time.Time
	// DaysUntilBreach is the number of days from Today to
	// PredictedBreachDate; nil exactly when PredictedBreachDate is nil.
	DaysUntilBreach *int
	// UsagePercentage is Current/Limit*100 rounded to 1 decimal; nil when
	// unlimited. Never NaN or Inf: a limit <= 0 gives 100 when Current has
	// reached it and 0 otherwise.
	UsagePercentage *float64
	// EarliestBreachDate and LatestBreachDate are the breach window: the
	// first days after Today on which the upper and the lower bound of the
	// c-level prediction interval (Linear) or of the slope's confidence
	// interval (TheilSen) reach the limit. Both are Today when the limit is
	// already reached; each is nil beyond maxBreachDays, and both are nil
	// when PredictedBreachDate could not be predicted for lack of history
	// or growth, or when the history is too short to bound the
	// uncertainty (fewer than 3 points for Linear; for TheilSen, too few
	// for level c). When set, Earliest <= PredictedBreachDate <= Latest.
	EarliestBreachDate *time.Time
	LatestBreachDate   *time.Time
	// Status is the color derived from the percentage and days left.
	Status Status
}

// maxBreachDays caps the prediction horizon. A tiny positive rate against a
// huge limit would otherwise predict a date millennia away (or overflow the
// int conversion); beyond a century the honest answer is "no breach".
const maxBreachDays = 36525

// secondsPerDay converts Unix seconds to day numbers. Dates are UTC calendar
// dates, which have no DST, so every day is exactly this long.
const secondsPerDay = 86400

// resultValues holds the targets of a Result's pointers. Allocating them
// together costs one allocation per Compute instead of up to five, which is
// most of Compute's cost on a 60-point history.
type resultValues struct {
	limit    int64
	rate     float64
	pct      float64
	days     int
	breach   time.Time
	earliest time.Time
	latest   time.Time
}

// Compute forecasts one metric. It never panics and never returns NaN or Inf,
// whatever the input: a forecast is shown on a dashboard and written to a
// CRD status, where a bad number is worse than a missing one.
func Compute(in Input) Result {
	res := Result{Metric: in.Metric, Label: in.Label, Unit: in.Unit}
	points := normalize(in.Points)
	if len(points) > 0 {
		res.Current = points[len(points)-1].Value
	}

	vals := new(resultValues)
	// The window's spread is only worth computing when a breach lies ahead.
	wantWindow := in.Limit != nil && res.Current < *in.Limit
	var sp spread
	if len(points) >= max(in.MinHistoryDays, 2) {
		var slope float64
		var ok bool
		if wantWindow {
			slope, sp, ok = fitSorted(points, in.Method, confidence(in.Confidence))
		} else {
			slope, ok = slopeSorted(points, in.Method)
		}
		if ok {
			// The rounded rate drives the breach date too, so the published
			// numbers agree with each other: a reader can recompute
			// days = ceil((limit-current)/rate) from the JSON and get the same
			// answer.
			vals.rate = roundTo(slope, 100)
			res.DailyGrowthRate = &vals.rate
		}
	}

	if in.Limit == nil {
		res.Status = Unlimited
		return res
	}
	vals.limit = *in.Limit
	res.Limit = &vals.limit
	limit := vals.limit

	vals.pct = percentage(res.Current, limit)
	res.UsagePercentage = &vals.pct

	breached := res.Current >= limit
	var days *int
	var w window
	today := dayNumber(in.Today)
	if breached {
		// Already at the limit: that is a fact, not a prediction, so it needs
		// no history and the breach day is today, at both ends of the window.
		vals.days = 0
		days = &vals.days
		vals.earliest = time.Unix(today*secondsPerDay, 0).UTC()
		vals.latest = vals.earliest
		res.EarliestBreachDate, res.LatestBreachDate = &vals.earliest, &vals.latest
	} else if res.DailyGrowthRate != nil && vals.rate > 0 {
		if d, ok := daysToBreach(res.Current, limit, vals.rate); ok {
			vals.days = d
			days = &vals.days
		}
		if sp.ok {
			if in.Method == TheilSen {
				w = theilSenWindow(res.Current, limit, sp)
			} else {
				w = linearWindow(res.Current, limit, vals.rate, sp)
			}
		}
		if w.earliest > 0 {
			vals.earliest = time.Unix((today+int64(w.earliest))*secondsPerDay, 0).UTC()
			res.EarliestBreachDate = &vals.earliest
		}
		if w.latest > 0 {
			vals.latest = time.Unix((today+int64(w.latest))*secondsPerDay, 0).UTC()
			res.LatestBreachDate = &vals.latest
		}
	}
	if days != nil {
		vals.breach = time.Unix((today+int64(*days))*secondsPerDay, 0).UTC()
		res.DaysUntilBreach = days
		res.PredictedBreachDate = &vals.breach
	}
	colourDays := days
	if in.Basis == BasisEarliest && w.earliest > 0 {
		// The pessimistic end: never later than the point estimate.
		colourDays = &w.earliest
	}
	res.Status = classify(vals.pct, colourDays, breached, in.Thresholds)
	return res
}

// daysToBreach returns ceil((limit-current)/rate) for a rate already rounded
// to cents. It divides whole hundredths so that a rate such as 0.3, which has
// no exact binary form, cannot turn an exact 50 days into 51. ok is false when
// the breach is beyond maxBreachDays.
func daysToBreach(current, limit int64, rate float64) (int, bool) {
	// float64 on both sides: limit-current can overflow int64.
	need := (float64(limit) - float64(current)) * 100
	cents := math.Round(rate * 100)
	days := math.Ceil(need / cents)
	if !(days >= 1 && days <= maxBreachDays) {
		return 0, false
	}
	return int(days), true
}

// percentage is current/limit*100 rounded to one decimal, defined for every
// limit: a limit <= 0 (a feature switched off for the tier) reads as full
// once current has reached it, instead of a division by zero.
func percentage(current, limit int64) float64 {
	if limit <= 0 {
		if current >= limit {
			return 100
		}
		return 0
	}
	return roundTo(float64(current)/float64(limit)*100, 10)
}

// classify applies the thresholds. Percentages are compared after rounding,
// so a dashboard showing 80.0 % never shows it as safe under an 80 % rule.
func classify(pct float64, days *int, breached bool, t Thresholds) Status {
	switch {
	case breached,
		t.CriticalPercent > 0 && pct >= float64(t.CriticalPercent),
		days != nil && t.CriticalDays > 0 && *days <= t.CriticalDays:
		return Critical
	case t.WarningPercent > 0 && pct >= float64(t.WarningPercent),
		days != nil && t.WarningDays > 0 && *days <= t.WarningDays:
		return Warning
	default:
		return Safe
	}
}

// roundTo rounds v to 1/scale (scale 100 = two decimals, half away from
// zero). It also turns -0 into 0, which encoding/json would print as "-0".
func roundTo(v float64, scale float64) float64 {
	r := math.Round(v*scale) / scale
	if r == 0 {
		return 0
	}
	return r
}
