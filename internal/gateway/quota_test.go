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
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/bakery-ia/subscription-operator/internal/gateway"
	"github.com/bakery-ia/subscription-operator/internal/testenv"
	"github.com/bakery-ia/subscription-operator/internal/testenv/golden"
)

func startRedis(t *testing.T) (*testenv.Redis, *redis.Client) {
	t.Helper()
	rs, err := testenv.StartRedis()
	if err != nil {
		t.Fatalf("these tests need a real Redis: %v", err)
	}
	t.Cleanup(rs.Close)
	rdb := redis.NewClient(&redis.Options{Addr: rs.Addr, MaxRetries: -1,
		DialTimeout: 200 * time.Millisecond, ReadTimeout: 200 * time.Millisecond, WriteTimeout: 200 * time.Millisecond})
	t.Cleanup(func() { _ = rdb.Close() })
	return rs, rdb
}

// manualCounter flushes only when the test says so.
func manualCounter(rdb redis.Cmdable) func(*gateway.Options) {
	return func(o *gateway.Options) {
		o.Counter = gateway.NewCounter(gateway.CounterOptions{Redis: rdb, FlushInterval: time.Hour, Dropped: o.Metrics.Dropped, Logger: o.Logger})
	}
}

const today = "2026-03-10" // fixedNow in Europe/Madrid

func TestQuota(t *testing.T) {
	_, rdb := startRedis(t)
	ctx := context.Background()
	const n = 5
	e := newEnv(t, envOpts{tenants: withOverride(starter, n), options: manualCounter(rdb)})
	for i := 1; i <= n; i++ {
		if r := e.get(t, ungated, starter); r.status != 200 {
			t.Fatalf("call %d: %d %s", i, r.status, r.body)
		}
	}
	r := e.get(t, ungated, starter)
	if r.status != 429 {
		t.Fatalf("call %d: %d, want 429", n+1, r.status)
	}
	if got := r.header.Get("Retry-After"); got != "1800" { // 23:30 in Madrid
		t.Errorf("Retry-After %q, want 1800", got)
	}
	golden.Assert(t, "quota_429_en.golden", indent(t, r.body))
	if e.upstreamHits() != n {
		t.Fatalf("upstream saw %d calls, want %d", e.upstreamHits(), n)
	}
	if d := e.gw.Counter().Flush(ctx); d != 0 {
		t.Fatalf("dropped %d", d)
	}
	key := defaultKey(starter, today)
	if v, err := rdb.Get(ctx, key).Int64(); err != nil || v != n {
		t.Fatalf("%s = %d (%v), want %d", key, v, err, n)
	}
	if ttl := rdb.TTL(ctx, key).Val(); ttl < 3*24*time.Hour || ttl > 4*24*time.Hour {
		t.Errorf("TTL %v, want a few days", ttl)
	}
	// Other tenants are not affected; enterprise is unlimited.
	for i := 0; i < 20; i++ {
		if r := e.get(t, ungated, enterprise); r.status != 200 {
			t.Fatalf("enterprise call %d: %d", i, r.status)
		}
	}

	// A second replica sharing Redis learns the total on its first flush.
	e2 := newEnv(t, envOpts{tenants: withOverride(starter, n), options: manualCounter(rdb)})
	if r := e2.get(t, ungated, starter); r.status != 200 {
		t.Fatalf("replica 2 first call: %d (it has not seen Redis yet)", r.status)
	}
	e2.gw.Counter().Flush(ctx)
	if got := e2.gw.Counter().Count(starter, today); got != n+1 {
		t.Fatalf("replica 2 view %d, want %d", got, n+1)
	}
	if r := e2.get(t, ungated, starter); r.status != 429 {
		t.Fatalf("replica 2 after refresh: %d", r.status)
	}

	// Raising the override lets the tenant through at once (no restart, no round trip).
	if err := e.gw.Update(ctx, policyWithUpstream(e), withOverride(starter, 100)); err != nil {
		t.Fatal(err)
	}
	if r := e.get(t, ungated, starter); r.status != 200 {
		t.Fatalf("after raising the limit: %d", r.status)
	}
}

func TestRedisDown(t *testing.T) {
	rs, rdb := startRedis(t)
	ctx := context.Background()
	e := newEnv(t, envOpts{options: manualCounter(rdb)})
	if err := rs.Stop(); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	for i := 0; i < 20; i++ {
		if r := e.get(t, ungated, professional); r.status != 200 {
			t.Fatalf("call %d with Redis down: %d", i, r.status)
		}
	}
	if el := time.Since(start); el > 2*time.Second {
		t.Errorf("requests took %v with Redis down; they must not wait for it", el)
	}
	if d := e.gw.Counter().Flush(ctx); d != 20 {
		t.Fatalf("dropped %d, want 20", d)
	}
	if got := metricValue(e.metrics.Dropped); got != 20 {
		t.Fatalf("gateway_usage_counter_dropped_total = %v, want 20", got)
	}
	// The local view keeps counting, so limits are still enforced by this replica.
	if got := e.gw.Counter().Count(professional, today); got != 20 {
		t.Fatalf("local view %d, want 20", got)
	}
	if err := rs.Start(); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 3; i++ {
		e.get(t, ungated, professional)
	}
	var d int64
	deadline := time.Now().Add(5 * time.Second)
	for d = e.gw.Counter().Flush(ctx); d != 0 && time.Now().Before(deadline); d = e.gw.Counter().Flush(ctx) {
		time.Sleep(50 * time.Millisecond) // the client reconnects
	}
	if v, _ := rdb.Get(ctx, defaultKey(professional, today)).Int64(); v == 0 {
		t.Fatalf("nothing recorded after Redis came back (last flush dropped %d)", d)
	}
}

func TestCounterRolloverAndConcurrency(t *testing.T) {
	_, rdb := startRedis(t)
	ctx := context.Background()
	c := gateway.NewCounter(gateway.CounterOptions{Redis: rdb, FlushInterval: time.Hour})
	for i := 0; i < 3; i++ {
		c.Admit("t1", "2026-03-10", -1)
	}
	for i := 0; i < 2; i++ {
		c.Admit("t1", "2026-03-11", -1) // midnight passed before the flush
	}
	c.Flush(ctx)
	for date, want := range map[string]int64{"2026-03-10": 3, "2026-03-11": 2} {
		if v, _ := rdb.Get(ctx, defaultKey("t1", date)).Int64(); v != want {
			t.Errorf("%s: %d, want %d", date, v, want)
		}
	}
	if got := c.Count("t1", "2026-03-11"); got != 2 {
		t.Errorf("view %d", got)
	}

	// Many goroutines and concurrent flushes lose nothing.
	var wg sync.WaitGroup
	stop := make(chan struct{})
	go func() {
		for {
			select {
			case <-stop:
				return
			default:
				c.Flush(ctx)
				time.Sleep(time.Millisecond)
			}
		}
	}()
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 2000; i++ {
				c.Admit(fmt.Sprintf("c%d", i%10), "2026-03-12", -1)
			}
		}()
	}
	wg.Wait()
	close(stop)
	c.Flush(ctx)
	var total int64
	for i := 0; i < 10; i++ {
		v, _ := rdb.Get(ctx, defaultKey(fmt.Sprintf("c%d", i), "2026-03-12")).Int64()
		total += v
	}
	if total != 16000 {
		t.Fatalf("Redis total %d, want 16000", total)
	}
}
