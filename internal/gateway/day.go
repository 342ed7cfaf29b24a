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

package gateway

import (
	"sync/atomic"
	"time"

	"github.com/bakery-ia/subscription-operator/internal/policy"
)

// dayClock caches the current calendar date of a policy, so a request needs
// one reading of the clock and a comparison, not a time zone conversion. The
// date is the policy's Today, the date the snapshot reads the counters under.
type dayClock struct {
	spec *policy.Spec
	loc  *time.Location
	cur  atomic.Pointer[day]
}

type day struct {
	date     string    // YYYY-MM-DD in loc
	start    time.Time // midnight starting the day
	midnight time.Time // next midnight in loc
}

func newDayClock(spec *policy.Spec) *dayClock {
	loc := spec.Location
	if loc == nil {
		loc = time.UTC
	}
	return &dayClock{spec: spec, loc: loc}
}

// at returns the day containing now.
func (c *dayClock) at(now time.Time) *day {
	if d := c.cur.Load(); d != nil && now.Before(d.midnight) && !now.Before(d.start) {
		return d
	}
	y, m, dd := now.In(c.loc).Date()
	d := &day{
		date:     c.spec.Today(now),
		start:    time.Date(y, m, dd, 0, 0, 0, 0, c.loc),
		midnight: time.Date(y, m, dd+1, 0, 0, 0, 0, c.loc), // normalised by time.Date; DST-safe
	}
	c.cur.Store(d)
	return d
}

// retryAfter is the whole seconds until the next midnight, at least 1.
func (d *day) retryAfter(now time.Time) int64 {
	s := int64((d.midnight.Sub(now) + time.Second - 1) / time.Second)
	return max(s, 1)
}
