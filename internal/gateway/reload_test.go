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
	"context"
	"strconv"
	"strings"
	"testing"

	"github.com/bakery-ia/subscription-operator/internal/policy/policytest"
)

// TestOneBadEditOneFailure is row 10 of issue 10: the watcher re-reads a bad
// policy on every TenantUsage or status event; that is still one failed edit.
func TestOneBadEditOneFailure(t *testing.T) {
	e := newEnv(t, envOpts{})
	ctx := context.Background()
	bad := policytest.Policy()
	bad.UID = "policy-uid"
	bad.Generation = 4
	bad.Spec.Snapshot.TimeZone = "Nowhere/Atlantis"
	for i := 0; i < 5; i++ {
		bad.ResourceVersion = strconv.Itoa(100 + i) // status writes change it, not the generation
		err := e.gw.Update(ctx, bad, fixtureTenants())
		if err == nil || !strings.Contains(err.Error(), "keeping the last rule table") {
			t.Fatalf("re-read %d: %v", i, err)
		}
	}
	if got := metricValue(e.metrics.ReloadFailures); got != 1 {
		t.Fatalf("gateway_rule_table_reload_failures_total = %v after one bad edit, want 1", got)
	}
	bad.Generation = 5 // a second bad edit
	_ = e.gw.Update(ctx, bad, fixtureTenants())
	if got := metricValue(e.metrics.ReloadFailures); got != 2 {
		t.Fatalf("after a second bad edit: %v, want 2", got)
	}

	// At start-up there is no table to keep: the error must not claim one.
	fresh := newEnv(t, envOpts{noTable: true})
	err := fresh.gw.Update(ctx, bad, fixtureTenants())
	if err == nil || strings.Contains(err.Error(), "keeping the last") || !strings.Contains(err.Error(), "no rule table is in force yet") {
		t.Fatalf("start-up error: %v", err)
	}
}
