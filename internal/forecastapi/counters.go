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
	"slices"
	"sync"

	"github.com/redis/go-redis/v9"

	"github.com/bakery-ia/subscription-operator/internal/policy"
	"github.com/bakery-ia/subscription-operator/internal/usage"
)

// Counters reads a tenant's daily api_calls count: the counter the gateway
// increments and enforces its daily limit against. One call is one round trip.
type Counters interface {
	DailyAPICalls(ctx context.Context, tenantID, date string) (int64, error)
}

// WithCounters makes the entitlement endpoints read today's api_calls from
// the gateway's counters. Without it they use the last snapshot's value.
func WithCounters(c Counters) Option { return func(s *Server) { s.counters = c } }

// RedisCounters reads the gateway's counters from Redis.
type RedisCounters struct{ Client redis.Cmdable }

// apiCallsKeyPattern is the gateway's key (gateway.Key): the default pattern
// of api_calls, whatever key the policy's metric names for snapshots.
var apiCallsKeyPattern = policy.DefaultKeyPattern(policy.APICallsMetric)

// DailyAPICalls is one GET; a missing key is 0 (no call yet today).
func (r RedisCounters) DailyAPICalls(ctx context.Context, tenantID, date string) (int64, error) {
	return r.readOne(ctx, usage.CounterKey(apiCallsKeyPattern, tenantID, date))
}

// readOne is a single GET.
func (r RedisCounters) readOne(ctx context.Context, key string) (int64, error) {
	n, err := r.Client.Get(ctx, key).Int64()
	switch {
	case errors.Is(err, redis.Nil):
		return 0, nil
	case err != nil:
		return 0, fmt.Errorf("reading %s: %w", key, err)
	}
	return n, nil
}

// readMany reads several counters in one round trip: pipelined GETs, which
// answer exactly as readOne does key by key (an MGET would read a key of the
// wrong type as missing, where GET reports it; and a Redis Cluster refuses
// an MGET whose keys hash to different slots, while go-redis sends a
// pipeline to each node holding some of the keys). A missing key is 0. The
// error is the round trip's (no key was read); errs[i] is key i's own, which
// concerns that key's tenant only.
func (r RedisCounters) readMany(ctx context.Context, keys []string, out []int64, errs []error) error {
	cmds := make([]*redis.StringCmd, len(keys))
	_, err := r.Client.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, k := range keys {
			cmds[i] = p.Get(ctx, k)
		}
		return nil
	})
	if err != nil && allFailed(cmds) {
		return fmt.Errorf("reading %d api_calls counters (GET %s ...): %w", len(keys), keys[0], err)
	}
	for i, c := range cmds {
		n, err := c.Int64()
		switch {
		case errors.Is(err, redis.Nil):
			out[i], errs[i] = 0, nil
		case err != nil:
			out[i], errs[i] = 0, fmt.Errorf("reading %s: %w", keys[i], err)
		default:
			out[i], errs[i] = n, nil
		}
	}
	return nil
}

// allFailed is true when no command of a pipeline has a reply (a missing
// key's redis.Nil is a reply).
func allFailed(cmds []*redis.StringCmd) bool {
	for _, c := range cmds {
		if err := c.Err(); err == nil || errors.Is(err, redis.Nil) {
			return false
		}
	}
	return true
}

// Bounds of the coalescing reader.
const (
	// maxCounterFlights is how many round trips may be in flight at once:
	// below it a read goes out at once, alone; at it, reads wait for the
	// next round trip and share it.
	maxCounterFlights = 2
	// maxCounterBatch bounds the keys of one round trip.
	maxCounterBatch = 256
)

// coalescedCounters reads through RedisCounters, coalescing the reads of
// concurrent requests: while maxCounterFlights round trips are in flight,
// new reads queue, and the next round trip carries every queued read at
// once (one pipeline). Nothing ever waits for a batch to fill: a read that finds
// a free flight goes out immediately, so on a quiet server each read is one
// round trip of its own, and under a burst (after a GC pause, say) the
// server sends a few round trips instead of one per request, sparing the
// system calls on both sides. A read never carries another request's data:
// each waiter gets the value of its own key.
type coalescedCounters struct {
	rc RedisCounters

	mu      sync.Mutex
	queue   []*counterWait
	flights int
}

type counterWait struct {
	key  string
	n    int64
	err  error
	done chan struct{} // closed when n and err are set
}

func newCoalescedCounters(rc RedisCounters) *coalescedCounters { return &coalescedCounters{rc: rc} }

// DailyAPICalls queues the read and waits for its round trip or for ctx.
func (c *coalescedCounters) DailyAPICalls(ctx context.Context, tenantID, date string) (int64, error) {
	w := &counterWait{key: usage.CounterKey(apiCallsKeyPattern, tenantID, date), done: make(chan struct{})}
	c.mu.Lock()
	c.queue = append(c.queue, w)
	lead := c.flights < maxCounterFlights
	if lead {
		c.flights++
	}
	c.mu.Unlock()
	if lead {
		// The round trip serves other requests too: it must not end
		// with this one (see send).
		c.fly(context.WithoutCancel(ctx))
	}
	select {
	case <-w.done:
		return w.n, w.err
	case <-ctx.Done():
		// The round trip still answers w; nobody reads it.
		return 0, fmt.Errorf("reading %s: %w", w.key, ctx.Err())
	}
}

// fly holds one flight: it sends what is queued (up to maxCounterBatch) in
// one round trip and answers those waiters. If more queued meanwhile, a new
// goroutine keeps the flight for them, so the caller returns with its own
// answer; otherwise the flight is given back. (The queue is checked and the
// flight given back under one lock, so a read queued at any moment either
// finds a free flight or is picked up by a flight in progress.)
func (c *coalescedCounters) fly(ctx context.Context) {
	c.mu.Lock()
	n := min(len(c.queue), maxCounterBatch)
	batch := slices.Clone(c.queue[:n])
	c.queue = slices.Delete(c.queue, 0, n) // zeroes the tail: no waiter kept alive
	c.mu.Unlock()

	if n > 0 {
		c.send(ctx, batch)
	}

	c.mu.Lock()
	more := len(c.queue) > 0
	if !more {
		c.flights--
	}
	c.mu.Unlock()
	if more {
		go c.fly(ctx)
	}
}

// send makes the round trip of one batch. ctx carries no cancellation (the
// batch serves several requests); the deadline is the round trip's own,
// counterTimeout like a single read's.
func (c *coalescedCounters) send(ctx context.Context, batch []*counterWait) {
	ctx, cancel := context.WithTimeout(ctx, counterTimeout)
	defer cancel()
	if len(batch) == 1 {
		w := batch[0]
		w.n, w.err = c.rc.readOne(ctx, w.key)
		close(w.done)
		return
	}
	keys := make([]string, len(batch))
	for i, w := range batch {
		keys[i] = w.key
	}
	vals, errs := make([]int64, len(batch)), make([]error, len(batch))
	err := c.rc.readMany(ctx, keys, vals, errs)
	for i, w := range batch {
		switch {
		case err != nil:
			w.err = err
		default:
			w.n, w.err = vals[i], errs[i]
		}
		close(w.done)
	}
}
