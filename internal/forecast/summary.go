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

package forecast

import "time"

// Summary is a tenant's overall capacity state, for printer columns and
// alerts that need one value per tenant rather than one per metric.
type Summary struct {
	// Status is the worst status of any metric.
	Status Status
	// DaysUntilBreach is the fewest days left of any metric; nil when no
	// metric has a predicted breach.
	DaysUntilBreach *int
	// Metric is the metric that decided Status: the worst status, then the
	// fewest days left, then the highest percentage, then the smallest name,
	// so the answer is the same whatever order the metrics come in. Empty
	// when Status is Unlimited: no metric is limited, so none decided it.
	Metric string
	// EarliestBreachDate and LatestBreachDate are the breach window of the
	// metric that decided Status (copies); nil when it has none.
	EarliestBreachDate *time.Time
	LatestBreachDate   *time.Time
}

// severity orders statuses from best to worst; unknown values rank lowest.
func severity(s Status) int {
	switch s {
	case Safe:
		return 1
	case Warning:
		return 2
	case Critical:
		return 3
	default: // Unlimited
		return 0
	}
}

// Summarize reduces a tenant's results to one Summary. With no results the
// tenant is Unlimited: nothing is limited, so nothing can run out.
func Summarize(results []Result) Summary {
	sum := Summary{Status: Unlimited}
	var decider *Result
	var minDays int
	haveDays := false
	for i := range results {
		r := &results[i]
		if r.DaysUntilBreach != nil && (!haveDays || *r.DaysUntilBreach < minDays) {
			minDays, haveDays = *r.DaysUntilBreach, true
		}
		if decider == nil || worse(r, decider) {
			decider = r
		}
	}
	if decider != nil && severity(decider.Status) > 0 {
		sum.Status = decider.Status
		sum.Metric = decider.Metric
		if e := decider.EarliestBreachDate; e != nil {
			v := *e
			sum.EarliestBreachDate = &v
		}
		if l := decider.LatestBreachDate; l != nil {
			v := *l
			sum.LatestBreachDate = &v
		}
	}
	if haveDays {
		// A copy, so the Summary does not alias a Result's field.
		sum.DaysUntilBreach = &minDays
	}
	return sum
}

// worse reports whether a outranks b as the metric that decides a summary.
func worse(a, b *Result) bool {
	if sa, sb := severity(a.Status), severity(b.Status); sa != sb {
		return sa > sb
	}
	// A known breach is more urgent than none; fewer days more than more.
	switch {
	case a.DaysUntilBreach != nil && b.DaysUntilBreach == nil:
		return true
	case a.DaysUntilBreach == nil && b.DaysUntilBreach != nil:
		return false
	case a.DaysUntilBreach != nil && *a.DaysUntilBreach != *b.DaysUntilBreach:
		return *a.DaysUntilBreach < *b.DaysUntilBreach
	}
	switch {
	case a.UsagePercentage != nil && b.UsagePercentage == nil:
		return true
	case a.UsagePercentage == nil && b.UsagePercentage != nil:
		return false
	case a.UsagePercentage != nil && *a.UsagePercentage != *b.UsagePercentage:
		return *a.UsagePercentage > *b.UsagePercentage
	}
	return a.Metric < b.Metric
}
