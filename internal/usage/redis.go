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

package usage

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/redis/go-redis/v9"

	"github.com/bakery-ia/subscription-operator/internal/policy"
	"github.com/bakery-ia/subscription-operator/internal/redisretry"
)

// RedisCounterSource reads per-tenant daily counters that other components
// INCR, such as the gateway's api_calls.
type RedisCounterSource struct {
	rdb   redis.UniversalClient
	batch int // keys per pipelined round trip
	// retry paces the retries of transient faults (redisretry.DefaultPolicy).
	retry redisretry.Policy
}

// NewRedisCounters returns a source reading counters from rdb.
func NewRedisCounters(rdb redis.UniversalClient) *RedisCounterSource {
	return &RedisCounterSource{rdb: rdb, batch: 10000, retry: redisretry.DefaultPolicy}
}

// DefaultKeyPattern is the counter key of metric when the policy names none,
// as the compiled policy decides it (policy.DefaultKeyPattern). {tenant} and
// {date} are placeholders (see CounterKey).
func DefaultKeyPattern(metric string) string { return policy.DefaultKeyPattern(metric) }

// CounterKey fills a key pattern: every "{tenant}" becomes tenant and every
// "{date}" becomes date. It is policy.CounterKey, the one the gateway
// increments with, so a policy's own pattern is read where it was written.
func CounterKey(pattern, tenant, date string) string { return policy.CounterKey(pattern, tenant, date) }

// CheckKeyPattern reports a key pattern that CounterKey cannot fill: one
// without {tenant} (every tenant would read the same key) or with any other
// "{...}" or a stray brace. It is policy.CheckKeyPattern, which CompileSpec
// applies; ReadAll checks again for callers outside a compiled policy.
func CheckKeyPattern(pattern string) error { return policy.CheckKeyPattern(pattern) }

// ReadAll GETs the counter of every tenant for date (substituted as given,
// normally YYYY-MM-DD) in one pipelined round trip per 10,000 tenants (per
// node in Cluster). A missing key is 0; a value that is not an integer is an
// error naming the metric and the key. Errors of Redis itself start with
// "redis: ", so a snapshot's failed metric says which service failed.
//
// GETs that met a transient fault (a node died, the cluster is failing over:
// redisretry.Transient) are sent again with backoff until they answer or the
// retry policy's time is spent; the retries are recorded in ctx's
// redisretry.Faults.
func (r *RedisCounterSource) ReadAll(ctx context.Context, metric, keyPattern, date string, tenants []string) (map[string]int64, error) {
	if err := CheckKeyPattern(keyPattern); err != nil {
		return nil, fmt.Errorf("metric %s: %w", metric, err)
	}
	out := make(map[string]int64, len(tenants))
	cmds := make([]*redis.StringCmd, 0, min(len(tenants), r.batch))
	for start := 0; start < len(tenants); start += r.batch {
		pending := tenants[start:min(start+r.batch, len(tenants))]
		retrier := redisretry.New(r.retry)
		for len(pending) > 0 {
			cmds = cmds[:0]
			pipe := r.rdb.Pipeline()
			for _, t := range pending {
				cmds = append(cmds, pipe.Get(ctx, CounterKey(keyPattern, t, date)))
			}
			// In Cluster one node's failure leaves the other nodes' commands
			// answered: each command's own outcome is redisretry.CmdErr.
			_, execErr := pipe.Exec(ctx)
			var retry []string
			var fault error
			for i, cmd := range cmds {
				s := cmd.Val()
				err := redisretry.CmdErr(r.rdb, cmd, execErr)
				switch {
				case errors.Is(err, redis.Nil):
					out[pending[i]] = 0
					continue
				case redisretry.Transient(r.rdb, err):
					retry, fault = append(retry, pending[i]), err
					continue
				case err != nil && !isServerError(err):
					return nil, fmt.Errorf("redis: metric %s: read %d counters for %s: %w", metric, len(pending), date, err)
				case err != nil:
					return nil, fmt.Errorf("redis: metric %s: key %s: %w", metric, cmd.Args()[1], err)
				}
				n, err := strconv.ParseInt(s, 10, 64)
				if err != nil {
					return nil, fmt.Errorf("redis: metric %s: key %s holds %q, not an integer", metric, cmd.Args()[1], s)
				}
				out[pending[i]] = n
			}
			if len(retry) > 0 {
				if err := retrier.Wait(ctx, fault); err != nil {
					return nil, fmt.Errorf("redis: metric %s: read %d counters for %s: %w", metric, len(retry), date, err)
				}
				redisretry.Refresh(ctx, r.rdb)
			}
			pending = retry
		}
	}
	return out, nil
}

// isServerError reports whether err is an error reply concerning one command
// (e.g. WRONGTYPE) rather than a failed round trip.
func isServerError(err error) bool {
	var rerr redis.Error
	return errors.As(err, &rerr) && !errors.Is(err, redis.Nil) && !strings.HasPrefix(err.Error(), "redis: ")
}
