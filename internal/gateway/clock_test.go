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

package gateway_test

import (
	"testing"
	"time"

	clocktesting "k8s.io/utils/clock/testing"

	"github.com/bakery-ia/subscription-operator/internal/gateway"
)

// TestDailyQuotaFollowsTheInjectedClock: the quota day, Retry-After and the
// reset come from Options.Clock only. Moving the fake clock past midnight in
// the policy's zone (Europe/Madrid) opens a new day with a fresh count.
func TestDailyQuotaFollowsTheInjectedClock(t *testing.T) {
	clk := clocktesting.NewFakeClock(fixedNow) // 23:30 in Madrid
	e := newEnv(t, envOpts{tenants: withOverride(starter, 2), options: func(o *gateway.Options) { o.Clock = clk }})
	for i := 0; i < 2; i++ {
		if r := e.get(t, ungated, starter); r.status != 200 {
			t.Fatalf("call %d: %d", i, r.status)
		}
	}
	r := e.get(t, ungated, starter)
	if r.status != 429 || r.header.Get("Retry-After") != "1800" {
		t.Fatalf("third call: %d Retry-After %q, want 429 and 1800", r.status, r.header.Get("Retry-After"))
	}

	clk.Step(29 * time.Minute) // 23:59 in Madrid: still the same day
	if r := e.get(t, ungated, starter); r.status != 429 || r.header.Get("Retry-After") != "60" {
		t.Fatalf("at 23:59: %d Retry-After %q, want 429 and 60", r.status, r.header.Get("Retry-After"))
	}

	clk.Step(time.Minute) // midnight in Madrid
	if r := e.get(t, ungated, starter); r.status != 200 {
		t.Fatalf("after midnight: %d, want 200", r.status)
	}
	if got := e.gw.Counter().Count(starter, "2026-03-11"); got != 1 {
		t.Fatalf("count of the new day %d, want 1", got)
	}
}
