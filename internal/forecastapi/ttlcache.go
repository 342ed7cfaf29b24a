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
	"sync"
	"time"
)

// ttlCache is a bounded map whose entries expire. When full, expired entries
// are dropped first, then arbitrary ones (Go's map order is random, so this is
// random eviction: no bookkeeping on the read path, and a flood of one-off
// keys, such as garbage tokens, cannot grow memory past max).
type ttlCache[K comparable, V any] struct {
	mu  sync.RWMutex
	m   map[K]ttlEntry[V]
	max int
}

type ttlEntry[V any] struct {
	v       V
	expires time.Time
	renew   time.Time // from then on the owner may renew it early (put: the expiry)
}

func newTTLCache[K comparable, V any](maxEntries int) *ttlCache[K, V] {
	return &ttlCache[K, V]{m: make(map[K]ttlEntry[V]), max: max(maxEntries, 1)}
}

// get returns the value of k if it has not expired at now.
func (c *ttlCache[K, V]) get(k K, now time.Time) (V, bool) {
	v, _, ok := c.getRenewal(k, now)
	return v, ok
}

// getRenewal is get that also reports whether the value is due for renewal
// (see putRenewing).
func (c *ttlCache[K, V]) getRenewal(k K, now time.Time) (v V, renewDue, ok bool) {
	c.mu.RLock()
	e, ok := c.m[k]
	c.mu.RUnlock()
	if !ok || !now.Before(e.expires) {
		var zero V
		return zero, false, false
	}
	return e.v, !now.Before(e.renew), true
}

// put stores v under k until now+ttl.
func (c *ttlCache[K, V]) put(k K, v V, now time.Time, ttl time.Duration) {
	c.putRenewing(k, v, now, ttl, ttl)
}

// putRenewing stores v under k until now+ttl, due for renewal from
// now+renewAfter on.
func (c *ttlCache[K, V]) putRenewing(k K, v V, now time.Time, ttl, renewAfter time.Duration) {
	if ttl <= 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.m[k]; !ok && len(c.m) >= c.max {
		c.evictLocked(now)
	}
	c.m[k] = ttlEntry[V]{v: v, expires: now.Add(ttl), renew: now.Add(min(renewAfter, ttl))}
}

// evictLocked makes room: expired entries go first; if that frees less than a
// tenth, random entries go until a tenth is free.
func (c *ttlCache[K, V]) evictLocked(now time.Time) {
	for k, e := range c.m {
		if !now.Before(e.expires) {
			delete(c.m, k)
		}
	}
	target := c.max - max(c.max/10, 1)
	for k := range c.m {
		if len(c.m) <= target {
			break
		}
		delete(c.m, k)
	}
}

func (c *ttlCache[K, V]) len() int {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return len(c.m)
}
