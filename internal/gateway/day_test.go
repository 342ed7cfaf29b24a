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
	"testing"
	"time"

	"github.com/bakery-ia/subscription-operator/internal/policy"
	"github.com/bakery-ia/subscription-operator/internal/policy/policytest"
)

func TestDayClock(t *testing.T) {
	pol := policytest.Policy()
	pol.Spec.Snapshot.TimeZone = "Europe/Madrid"
	spec, err := policy.CompileSpec(pol)
	if err != nil {
		t.Fatal(err)
	}
	c := newDayClock(spec)
	cases := []struct {
		now   time.Time
		date  string
		retry int64
	}{
		{time.Date(2026, 3, 10, 22, 30, 0, 0, time.UTC), "2026-03-10", 1800},
		{time.Date(2026, 3, 10, 23, 0, 0, 0, time.UTC), "2026-03-11", 86400},
		{time.Date(2026, 3, 10, 22, 59, 59, 500_000_000, time.UTC), "2026-03-10", 1},
		// 29 March 2026 has 23 hours in Madrid (clocks jump 02:00 -> 03:00).
		{time.Date(2026, 3, 28, 23, 30, 0, 0, time.UTC), "2026-03-29", 22*3600 + 1800},
		// 25 October 2026 has 25 hours.
		{time.Date(2026, 10, 24, 22, 0, 0, 0, time.UTC), "2026-10-25", 25 * 3600},
	}
	for _, tc := range cases {
		d := c.at(tc.now)
		if d.date != tc.date || d.retryAfter(tc.now) != tc.retry {
			t.Errorf("%v: %s retry %d, want %s retry %d", tc.now, d.date, d.retryAfter(tc.now), tc.date, tc.retry)
		}
	}
}
