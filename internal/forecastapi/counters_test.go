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

package forecastapi

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/bakery-ia/subscription-operator/internal/testenv"
)

const counterDate = "2026-03-14"

func counterTenant(i int) string { return fmt.Sprintf("tenant-%04d", i) }

func counterKeyOf(i int) string {
	return "usage_daily:" + counterTenant(i) + ":api_calls:" + counterDate
}

// gateHook counts round trips (a command, or a pipeline) of GETs and the
// GETs (not the HELLO and CLIENT SETINFO of a new connection), and can hold
// round trips until released.
type gateHook struct {
	trips, keys atomic.Int64
	mu          sync.Mutex
	gate        chan struct{} // nil: open
}

func (h *gateHook) wait() {
	h.mu.Lock()
	g := h.gate
	h.mu.Unlock()
	if g != nil {
		<-g
	}
}

func (h *gateHook) DialHook(next redis.DialHook) redis.DialHook { return next }
func (h *gateHook) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		if cmd.Name() == "get" {
			h.trips.Add(1)
			h.keys.Add(1)
			h.wait()
		}
		return next(ctx, cmd)
	}
}
func (h *gateHook) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		gets := 0
		for _, c := range cmds {
			if c.Name() == "get" {
				gets++
			}
		}
		if gets > 0 {
			h.trips.Add(1)
			h.keys.Add(int64(gets))
			h.wait()
		}
		return next(ctx, cmds)
	}
}

func (c *coalescedCounters) queued() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.queue)
}

func (c *coalescedCounters) inFlight() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.flights
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// readAll reads tenants 0..n-1 concurrently and returns each one's answer.
func readAll(ctx context.Context, c Counters, n int) ([]int64, []error) {
	vals, errs := make([]int64, n), make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { vals[i], errs[i] = c.DailyAPICalls(ctx, counterTenant(i), counterDate) })
	}
	wg.Wait()
	return vals, errs
}

// coalescingCases runs the coalescer's cases against a client of a single
// Redis or of a Redis Cluster (where one batch's keys live on several nodes).
func coalescingCases(t *testing.T, rdb redis.UniversalClient) {
	ctx := context.Background()
	const n = 600 // more than two batches of maxCounterBatch
	for i := range n {
		if i%10 == 0 || i == 7 {
			continue // no call today: no key (7 is a hash, below)
		}
		if err := rdb.Set(ctx, counterKeyOf(i), 1000+i, 0).Err(); err != nil {
			t.Fatal(err)
		}
	}
	// A key of the wrong type: its tenant's read fails, nobody else's.
	if err := rdb.HSet(ctx, counterKeyOf(7), "x", "1").Err(); err != nil {
		t.Fatal(err)
	}
	want := func(i int) int64 {
		if i%10 == 0 {
			return 0
		}
		return int64(1000 + i)
	}
	check := func(t *testing.T, vals []int64, errs []error) {
		t.Helper()
		for i := range vals {
			switch {
			case i == 7:
				if errs[i] == nil || !strings.Contains(errs[i].Error(), "WRONGTYPE") {
					t.Errorf("tenant 7 (a hash): got %d, %v; want the WRONGTYPE error", vals[i], errs[i])
				}
			case errs[i] != nil || vals[i] != want(i):
				t.Errorf("tenant %d: got %d, %v; want %d", i, vals[i], errs[i], want(i))
			}
		}
	}

	hook := &gateHook{}
	rdb.AddHook(hook)
	c := newCoalescedCounters(RedisCounters{Client: rdb})

	t.Run("a lone read is one GET of its own", func(t *testing.T) {
		trips, keys := hook.trips.Load(), hook.keys.Load()
		for i := range 20 {
			got, err := c.DailyAPICalls(ctx, counterTenant(i), counterDate)
			if i == 7 {
				if err == nil {
					t.Error("tenant 7 (a hash): no error")
				}
				continue
			}
			if err != nil || got != want(i) {
				t.Errorf("tenant %d: got %d, %v; want %d", i, got, err, want(i))
			}
		}
		if d := hook.trips.Load() - trips; d != 20 {
			t.Errorf("20 sequential reads made %d round trips", d)
		}
		if d := hook.keys.Load() - keys; d != 20 {
			t.Errorf("20 sequential reads read %d keys", d)
		}
	})

	t.Run("reads queued behind busy flights share round trips, each gets its own value", func(t *testing.T) {
		// Hold the round trips: the first maxCounterFlights reads fly and
		// wait, every other read queues.
		gate := make(chan struct{})
		hook.mu.Lock()
		hook.gate = gate
		hook.mu.Unlock()
		trips, keys := hook.trips.Load(), hook.keys.Load()
		var vals []int64
		var errs []error
		done := make(chan struct{})
		go func() { vals, errs = readAll(ctx, c, n); close(done) }()
		waitFor(t, "every read to fly or queue", func() bool { return c.queued() == n-maxCounterFlights })
		hook.mu.Lock()
		hook.gate = nil
		hook.mu.Unlock()
		close(gate)
		<-done
		check(t, vals, errs)
		// In a cluster a pipeline is one round trip per node: count keys,
		// and round trips only on a single Redis.
		if d := hook.keys.Load() - keys; d != n {
			t.Errorf("%d reads read %d keys", n, d)
		}
		if _, single := rdb.(*redis.Client); single {
			queued := n - maxCounterFlights
			batches := (queued + maxCounterBatch - 1) / maxCounterBatch
			if d := hook.trips.Load() - trips; d != int64(maxCounterFlights+batches) {
				t.Errorf("%d reads made %d round trips; want %d single reads and %d batches", n, d, maxCounterFlights, batches)
			}
		}
		waitFor(t, "the flights to be given back", func() bool { return c.inFlight() == 0 })
	})

	t.Run("a read whose context ends while queued returns; the others are answered", func(t *testing.T) {
		gate := make(chan struct{})
		hook.mu.Lock()
		hook.gate = gate
		hook.mu.Unlock()
		var wg sync.WaitGroup
		for i := range maxCounterFlights {
			wg.Go(func() { _, _ = c.DailyAPICalls(ctx, counterTenant(i+1), counterDate) })
		}
		waitFor(t, "the flights", func() bool { return c.inFlight() == maxCounterFlights })
		short, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
		defer cancel()
		_, err := c.DailyAPICalls(short, counterTenant(3), counterDate)
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("got %v, want the context's deadline", err)
		}
		var later int64
		var laterErr error
		wg.Go(func() { later, laterErr = c.DailyAPICalls(ctx, counterTenant(4), counterDate) })
		waitFor(t, "the later read to queue", func() bool { return c.queued() == 2 })
		hook.mu.Lock()
		hook.gate = nil
		hook.mu.Unlock()
		close(gate)
		wg.Wait()
		if laterErr != nil || later != want(4) {
			t.Errorf("later read: %d, %v", later, laterErr)
		}
		waitFor(t, "the flights to be given back", func() bool { return c.inFlight() == 0 && c.queued() == 0 })
	})
}

func TestCoalescedCountersRedis(t *testing.T) {
	rds, err := testenv.StartRedis()
	if err != nil {
		t.Fatal(err)
	}
	defer rds.Close()
	rdb := redis.NewClient(&redis.Options{Addr: rds.Addr})
	defer func() { _ = rdb.Close() }()
	coalescingCases(t, rdb)
}

func TestCoalescedCountersRedisCluster(t *testing.T) {
	rc, err := testenv.StartRedisCluster(3)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	rdb := redis.NewClusterClient(&redis.ClusterOptions{Addrs: rc.Addrs})
	defer func() { _ = rdb.Close() }()
	coalescingCases(t, rdb)
}

// TestCoalescedCountersRedisDown: with nothing listening every read fails,
// within its context, and the flights are given back.
func TestCoalescedCountersRedisDown(t *testing.T) {
	port, err := testenv.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	rdb := redis.NewClient(&redis.Options{Addr: fmt.Sprintf("127.0.0.1:%d", port), MaxRetries: -1})
	defer func() { _ = rdb.Close() }()
	c := newCoalescedCounters(RedisCounters{Client: rdb})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, errs := readAll(ctx, c, 100)
	for i, err := range errs {
		if err == nil {
			t.Fatalf("read %d: no error with Redis down", i)
		}
	}
	waitFor(t, "the flights to be given back", func() bool { return c.inFlight() == 0 && c.queued() == 0 })
}
