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
	"testing"

	subv1 "github.com/bakery-ia/subscription-operator/api/v1alpha1"
	"github.com/bakery-ia/subscription-operator/internal/history"
	"github.com/bakery-ia/subscription-operator/internal/policy"
	"github.com/bakery-ia/subscription-operator/internal/snapshot"
	"github.com/bakery-ia/subscription-operator/internal/usage"
)

// defaultKey is the seed's counter key, used when the policy names no pattern.
func defaultKey(tenant, date string) string {
	return policy.CounterKey(policy.DefaultKeyPattern(policy.APICallsMetric), tenant, date)
}

// TestCounterKeyPatternEndToEnd: a policy with its own api_calls key pattern
// is counted by the gateway under that key, and the snapshot of the next day
// reads exactly those counts into history. Before, the gateway always wrote the
// seed's key and the snapshot read 0 from the policy's.
func TestCounterKeyPatternEndToEnd(t *testing.T) {
	_, rdb := startRedis(t)
	ctx := context.Background()
	const pattern = "bakery:{tenant}:calls:{date}"
	withPattern := func(p *subv1.SubscriptionPolicy) {
		for i := range p.Spec.Metrics {
			if p.Spec.Metrics[i].Name == policy.APICallsMetric {
				p.Spec.Metrics[i].RedisCounter = &subv1.RedisCounterSource{KeyPattern: pattern}
			}
		}
	}
	e := newEnv(t, envOpts{mutate: withPattern, options: manualCounter(rdb)})
	if got := e.gw.Counter().KeyPattern(); got != pattern {
		t.Fatalf("counter key pattern %q, want the policy's %q", got, pattern)
	}
	const calls = 3
	for i := 0; i < calls; i++ {
		if r := e.get(t, ungated, enterprise); r.status != 200 {
			t.Fatalf("call %d: %d %s", i, r.status, r.body)
		}
	}
	if d := e.gw.Counter().Flush(ctx); d != 0 {
		t.Fatalf("dropped %d", d)
	}
	if v, err := rdb.Get(ctx, "bakery:"+enterprise+":calls:"+today).Int64(); err != nil || v != calls {
		t.Fatalf("the policy's key holds %d (%v), want %d", v, err, calls)
	}
	if n := rdb.Exists(ctx, defaultKey(enterprise, today)).Val(); n != 0 {
		t.Fatalf("the seed's key %s was written too", defaultKey(enterprise, today))
	}

	// The snapshot of the next day reads the gateway's counters of today.
	pol := policyWithUpstream(e)
	withPattern(pol)
	spec, err := policy.CompileSpec(pol)
	if err != nil {
		t.Fatal(err)
	}
	req := snapshot.NewRequest(spec, []string{enterprise}, "2026-03-11")
	if req.CounterDate != today {
		t.Fatalf("counter date %s, want %s", req.CounterDate, today)
	}
	store := history.New(rdb)
	runner := &snapshot.Runner{Redis: usage.NewRedisCounters(rdb), History: store}
	res, err := runner.Run(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	// products is a Postgres metric and this test has no database.
	if _, ok := res.FailedMetrics[policy.APICallsMetric]; ok || len(res.FailedMetrics) != 1 {
		t.Fatalf("failed metrics %v, want only products", res.FailedMetrics)
	}
	points, err := store.Read(ctx, enterprise, []string{policy.APICallsMetric}, "2026-03-11", 1)
	if err != nil {
		t.Fatal(err)
	}
	if got := points[policy.APICallsMetric]; len(got) != 1 || got[0].Value != calls {
		t.Fatalf("history of api_calls %+v, want one point of %d", got, calls)
	}
}
