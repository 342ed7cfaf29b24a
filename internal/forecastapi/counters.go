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
	key := usage.CounterKey(apiCallsKeyPattern, tenantID, date)
	n, err := r.Client.Get(ctx, key).Int64()
	switch {
	case errors.Is(err, redis.Nil):
		return 0, nil
	case err != nil:
		return 0, fmt.Errorf("reading %s: %w", key, err)
	}
	return n, nil
}
