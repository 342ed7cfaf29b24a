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
	"math"
	"sync"
	"time"

	"golang.org/x/time/rate"
	"k8s.io/utils/lru"
)

// callerLimits is a token bucket per caller (the authenticated user name, or
// the client address when auth is off). The map is an LRU of at most max
// callers: a caller pushed out starts again with a full bucket, which a flood
// of new identities can cause but gains nothing from (each is limited too).
type callerLimits struct {
	limit rate.Limit
	burst int

	mu       sync.Mutex
	limiters *lru.Cache
}

func newCallerLimits(limit rate.Limit, burst, maxCallers int) *callerLimits {
	return &callerLimits{limit: limit, burst: burst, limiters: lru.New(max(maxCallers, 1))}
}

// allow takes a token of key's bucket at now. When there is none it returns
// false and how long until there is.
func (c *callerLimits) allow(key string, now time.Time) (bool, time.Duration) {
	if c == nil || c.limit == rate.Inf {
		return true, 0
	}
	c.mu.Lock()
	var l *rate.Limiter
	if v, ok := c.limiters.Get(key); ok {
		l = v.(*rate.Limiter)
	} else {
		l = rate.NewLimiter(c.limit, c.burst)
		c.limiters.Add(key, l)
	}
	c.mu.Unlock()
	if l.AllowN(now, 1) {
		return true, 0
	}
	if c.limit <= 0 {
		return false, time.Duration(math.MaxInt64)
	}
	// One token is 1/limit seconds away at most.
	r := l.ReserveN(now, 1)
	wait := r.DelayFrom(now)
	r.CancelAt(now)
	return false, wait
}

// retryAfter renders a wait as whole seconds for Retry-After (at least 1).
func retryAfter(d time.Duration) int64 {
	if d > time.Hour {
		return 3600
	}
	return max(int64(math.Ceil(d.Seconds())), 1)
}
