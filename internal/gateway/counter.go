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
	"context"
	"hash/maphash"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
	"k8s.io/utils/clock"

	"github.com/bakery-ia/subscription-operator/internal/policy"
)

// Counter counts API calls per tenant per day. A request never waits for
// Redis: Admit only touches memory, and a background loop flushes the
// increments every FlushInterval with one pipelined INCRBY (+EXPIRE) per
// tenant. The INCRBY replies (the totals over all gateway replicas) refresh the
// in-memory view that Admit checks the daily limit against, so the 429
// decision needs no round trip.
//
// When Redis is down or slow, a flush fails: its increments are lost for
// Redis (counted in gateway_usage_counter_dropped_total) but stay in the local
// view, so this replica keeps enforcing limits from what it saw itself.
// Requests are never failed or delayed for it.
type Counter struct {
	rdb      redis.Cmdable // nil: count in memory only
	interval time.Duration
	ttl      time.Duration
	timeout  time.Duration
	dropped  prometheus.Counter
	log      *slog.Logger
	clock    clock.WithTicker

	// pattern is the api_calls counter's key pattern (policy.Spec.APICallsKeyPattern),
	// set from the rule table in force; the snapshot reads the same key.
	pattern atomic.Pointer[string]

	seed   maphash.Seed
	shards [counterShards]counterShard

	flushMu sync.Mutex // one flush at a time
}

const counterShards = 32

type counterShard struct {
	mu sync.Mutex
	m  map[string]*tenantCount
	_  [40]byte // keep shards on separate cache lines
}

type tenantCount struct {
	date     string // day the counts belong to
	base     int64  // last total read from Redis (or counted locally when it failed)
	pending  int64  // increments not yet sent
	inflight int64  // increments in the flush under way
	// leftover is a previous day's pending count that was not flushed before the
	// date changed; it is flushed under its own date.
	leftDate string
	leftover int64
}

// CounterOptions configure a Counter.
type CounterOptions struct {
	Redis         redis.Cmdable // nil: no persistence (counts live in memory only)
	FlushInterval time.Duration // default 100ms
	TTL           time.Duration // default 4 days
	Timeout       time.Duration // per flush, default 1s
	Dropped       prometheus.Counter
	Logger        *slog.Logger
	Clock         clock.WithTicker // ticks the flushes; default the real clock
}

// NewCounter returns a Counter; call Run to flush.
func NewCounter(o CounterOptions) *Counter {
	c := &Counter{rdb: o.Redis, interval: o.FlushInterval, ttl: o.TTL, timeout: o.Timeout,
		dropped: o.Dropped, log: o.Logger, clock: o.Clock, seed: maphash.MakeSeed()}
	if c.clock == nil {
		c.clock = clock.RealClock{}
	}
	if c.interval <= 0 {
		c.interval = 100 * time.Millisecond
	}
	if c.ttl <= 0 {
		c.ttl = 4 * 24 * time.Hour
	}
	if c.timeout <= 0 {
		c.timeout = time.Second
	}
	if c.dropped == nil {
		c.dropped = prometheus.NewCounter(prometheus.CounterOpts{Name: "unregistered_dropped"})
	}
	if c.log == nil {
		c.log = slog.Default()
	}
	for i := range c.shards {
		c.shards[i].m = map[string]*tenantCount{}
	}
	c.SetKeyPattern(policy.DefaultKeyPattern(policy.APICallsMetric))
	return c
}

// SetKeyPattern sets the key pattern of the counters ({tenant} and {date}
// placeholders): the compiled policy's APICallsKeyPattern. Until a policy is
// read it is the seed's usage_daily:{tenant}:api_calls:{date}. Increments not
// yet flushed go to the pattern in force at the flush.
func (c *Counter) SetKeyPattern(pattern string) {
	if cur := c.pattern.Load(); cur == nil || *cur != pattern {
		c.pattern.Store(&pattern)
	}
}

// KeyPattern is the key pattern in force.
func (c *Counter) KeyPattern() string { return *c.pattern.Load() }

func (c *Counter) shard(tenant string) *counterShard {
	return &c.shards[maphash.String(c.seed, tenant)%counterShards]
}

// Admit counts one call of tenant on date unless the tenant's count has
// reached limit (limit < 0: unlimited). It returns whether the call is
// admitted and the count before it.
func (c *Counter) Admit(tenant, date string, limit int64) (bool, int64) {
	s := c.shard(tenant)
	s.mu.Lock()
	tc := s.m[tenant]
	if tc == nil {
		tc = &tenantCount{date: date}
		s.m[strings.Clone(tenant)] = tc
	} else if tc.date != date {
		tc.rollover(date)
	}
	used := tc.base + tc.pending + tc.inflight
	if limit >= 0 && used >= limit {
		s.mu.Unlock()
		return false, used
	}
	tc.pending++
	s.mu.Unlock()
	return true, used
}

func (tc *tenantCount) rollover(date string) {
	if tc.pending > 0 {
		// Rare: the day changed between flushes. Keep the old day's count to
		// flush it under its own key; a second rollover within one flush
		// interval would merge into it (impossible with daily dates).
		tc.leftDate, tc.leftover = tc.date, tc.leftover+tc.pending
	}
	tc.date, tc.base, tc.pending = date, 0, 0
	// inflight belongs to the old day too; it is settled by the flush.
	tc.inflight = 0
}

// Count returns the tenant's count for date as this replica sees it.
func (c *Counter) Count(tenant, date string) int64 {
	s := c.shard(tenant)
	s.mu.Lock()
	defer s.mu.Unlock()
	if tc := s.m[tenant]; tc != nil && tc.date == date {
		return tc.base + tc.pending + tc.inflight
	}
	return 0
}

// Run flushes every FlushInterval until ctx ends, then flushes once more.
func (c *Counter) Run(ctx context.Context) {
	t := c.clock.NewTicker(c.interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			// The last flush must outlive the cancelled run context.
			fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), c.timeout)
			c.Flush(fctx)
			cancel()
			return
		case <-t.C():
			c.Flush(ctx)
		}
	}
}

type flushItem struct {
	tenant, date string
	n            int64
	tc           *tenantCount
	current      bool // counts of tc.date (not leftover)
	incr         *redis.IntCmd
}

// Flush sends the pending increments. It returns how many were dropped.
func (c *Counter) Flush(ctx context.Context) int64 {
	c.flushMu.Lock()
	defer c.flushMu.Unlock()
	var items []flushItem
	today := map[string]bool{}
	for i := range c.shards {
		s := &c.shards[i]
		s.mu.Lock()
		for tenant, tc := range s.m {
			if tc.leftover > 0 {
				items = append(items, flushItem{tenant: tenant, date: tc.leftDate, n: tc.leftover, tc: tc})
				tc.leftover, tc.leftDate = 0, ""
			}
			if tc.pending > 0 {
				items = append(items, flushItem{tenant: tenant, date: tc.date, n: tc.pending, tc: tc, current: true})
				tc.inflight += tc.pending
				tc.pending = 0
			}
			today[tc.date] = true
		}
		s.mu.Unlock()
	}
	if len(items) == 0 {
		c.gc(today)
		return 0
	}
	var err error
	if c.rdb != nil {
		pattern := c.KeyPattern()
		fctx, cancel := context.WithTimeout(ctx, c.timeout)
		_, err = c.rdb.Pipelined(fctx, func(p redis.Pipeliner) error {
			for i := range items {
				key := policy.CounterKey(pattern, items[i].tenant, items[i].date)
				items[i].incr = p.IncrBy(fctx, key, items[i].n)
				p.Expire(fctx, key, c.ttl)
			}
			return nil
		})
		cancel()
	}
	var dropped int64
	for i := range items {
		it := &items[i]
		// A failed pipeline may leave commands without an error of their own;
		// a successful INCRBY replies at least the increment.
		ok := c.rdb != nil && it.incr.Err() == nil && it.incr.Val() >= it.n
		if c.rdb != nil && !ok {
			dropped += it.n
		}
		if !it.current {
			continue
		}
		s := c.shard(it.tenant)
		s.mu.Lock()
		if it.tc.date == it.date {
			it.tc.inflight -= it.n
			if ok {
				// The reply is the total over all replicas including this flush;
				// increments admitted meanwhile are still in pending.
				it.tc.base = max(it.incr.Val(), it.tc.base+it.n)
			} else {
				it.tc.base += it.n
			}
		}
		s.mu.Unlock()
	}
	c.gc(today)
	if dropped > 0 {
		c.dropped.Add(float64(dropped))
		c.log.Warn("usage counter flush failed; API calls not recorded in Redis",
			"dropped", dropped, "tenants", len(items), "error", err)
	}
	return dropped
}

// gc forgets tenants idle since an earlier day.
func (c *Counter) gc(dates map[string]bool) {
	if len(dates) < 2 {
		return
	}
	latest := ""
	for d := range dates {
		if d > latest {
			latest = d
		}
	}
	for i := range c.shards {
		s := &c.shards[i]
		s.mu.Lock()
		for tenant, tc := range s.m {
			if tc.date < latest && tc.pending == 0 && tc.inflight == 0 && tc.leftover == 0 {
				delete(s.m, tenant)
			}
		}
		s.mu.Unlock()
	}
}
