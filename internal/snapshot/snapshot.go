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

// Package snapshot runs one batched usage snapshot: every metric is read for all
// tenants at once (one Postgres query, or one pipelined Redis read, per metric)
// and all values are written to the history store in one pipelined batch. It
// knows nothing of Kubernetes: the operator and usage-tracker pass in the
// tenants and metrics they read from the API.
package snapshot

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"k8s.io/utils/clock"

	"github.com/bakery-ia/subscription-operator/internal/history"
	"github.com/bakery-ia/subscription-operator/internal/redisretry"
	"github.com/bakery-ia/subscription-operator/internal/usage"
)

// Metric is one metric to read; exactly one of PostgresQuery and RedisKeyPattern is set.
type Metric struct {
	Name            string
	PostgresQuery   string
	RedisKeyPattern string
}

// Request is one run.
type Request struct {
	// Date (YYYY-MM-DD in the policy's zone) the values are stored under: the
	// identity of the run, so running it twice overwrites rather than duplicates.
	Date string
	// CounterDate is the day whose Redis daily counters are read: the last
	// complete day before the snapshot, so a 02:00 run does not store two hours.
	CounterDate   string
	RetentionDays int
	Metrics       []Metric
	Tenants       []string
}

// Result summarises a run. A run with FailedMetrics is partial: the other
// metrics were stored.
type Result struct {
	Date          string
	Tenants       int
	Metrics       int
	Succeeded     int
	Failed        int
	FailedMetrics map[string]error
	Duration      time.Duration
	// Retries counts the Redis round trips repeated after a transient fault
	// (a failover, a reset connection); LastFault is the last such fault.
	// A run that retried and then stored everything is complete, but the
	// fault is worth telling: Summary names it.
	Retries   int
	LastFault error
}

// FailedMetricNames returns the failed metrics, sorted.
func (r Result) FailedMetricNames() []string {
	names := make([]string, 0, len(r.FailedMetrics))
	for n := range r.FailedMetrics {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Partial reports whether some metric could not be read.
func (r Result) Partial() bool { return len(r.FailedMetrics) > 0 }

// Summary is a one-line description naming failed metrics, for conditions and Events.
func (r Result) Summary() string {
	if !r.Partial() {
		return fmt.Sprintf("recorded %d tenants for %s in %s%s", r.Tenants, r.Date, r.Duration.Round(time.Millisecond), r.retrySummary())
	}
	parts := make([]string, 0, len(r.FailedMetrics))
	for _, n := range r.FailedMetricNames() {
		parts = append(parts, fmt.Sprintf("%s: %v", n, r.FailedMetrics[n]))
	}
	return fmt.Sprintf("partial snapshot for %s: %d of %d metrics failed (%s)%s",
		r.Date, len(r.FailedMetrics), r.Metrics, strings.Join(parts, "; "), r.retrySummary())
}

// retrySummary is the Summary's note on retried Redis faults, "" without any.
func (r Result) retrySummary() string {
	if r.Retries == 0 {
		return ""
	}
	return fmt.Sprintf(" after %d Redis retries (last fault: %s)", r.Retries, redisretry.Message(r.LastFault))
}

// ErrNoDatabase is returned for a Postgres metric when no DATABASE_URL was configured.
var ErrNoDatabase = errors.New("no Postgres connection configured (set DATABASE_URL)")

// Runner reads the metric sources and writes the history store.
type Runner struct {
	Postgres *usage.PostgresSource     // nil when the operator has no DATABASE_URL
	Redis    *usage.RedisCounterSource // counters live in the same Redis as history
	History  *history.Store
	// Parallel is how many metrics are read at once (default 4).
	Parallel int
	// Clock times runs (default the real clock); the programs inject theirs.
	Clock clock.PassiveClock
}

// Run reads every metric for every tenant and stores the values under req.Date.
// It returns an error only when nothing could be stored (the history write
// failed); metrics that failed to read are reported in Result.FailedMetrics.
func (r *Runner) Run(ctx context.Context, req Request) (res Result, err error) {
	var c clock.PassiveClock = clock.RealClock{}
	if r.Clock != nil {
		c = r.Clock
	}
	now := c.Now
	start := now()
	res = Result{Date: req.Date, Tenants: len(req.Tenants), Metrics: len(req.Metrics), FailedMetrics: map[string]error{}}
	// The sources and the store retry transient Redis faults on their own and
	// record them here, so a run that rode through a failover still says so.
	faults := &redisretry.Faults{}
	ctx = redisretry.WithFaults(ctx, faults)
	defer func() { res.Retries, res.LastFault = faults.Retries() }()
	if len(req.Tenants) == 0 {
		res.Duration = now().Sub(start)
		return res, nil
	}

	values := make([][]history.Value, len(req.Metrics))
	var mu sync.Mutex
	sem := make(chan struct{}, max(1, r.parallel()))
	var wg sync.WaitGroup
	for i, m := range req.Metrics {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			got, err := r.read(ctx, m, req)
			if err != nil {
				mu.Lock()
				res.FailedMetrics[m.Name] = err
				mu.Unlock()
				return
			}
			vs := make([]history.Value, 0, len(req.Tenants))
			for _, t := range req.Tenants {
				vs = append(vs, history.Value{TenantID: t, Metric: m.Name, Value: got[t]})
			}
			values[i] = vs
		}()
	}
	wg.Wait()

	all := make([]history.Value, 0, len(req.Tenants)*len(req.Metrics))
	for _, vs := range values {
		all = append(all, vs...)
	}
	if len(all) > 0 {
		if err := r.History.Write(ctx, req.Date, req.RetentionDays, all); err != nil {
			res.Duration = now().Sub(start)
			return res, fmt.Errorf("writing history for %s to Redis: %w", req.Date, err)
		}
	}
	if res.Partial() {
		res.Failed = len(req.Tenants)
	} else {
		res.Succeeded = len(req.Tenants)
	}
	res.Duration = now().Sub(start)
	return res, nil
}

func (r *Runner) parallel() int {
	if r.Parallel > 0 {
		return r.Parallel
	}
	return 4
}

func (r *Runner) read(ctx context.Context, m Metric, req Request) (map[string]int64, error) {
	switch {
	case m.PostgresQuery != "":
		if r.Postgres == nil {
			return nil, ErrNoDatabase
		}
		return r.Postgres.QueryAll(ctx, m.Name, m.PostgresQuery, req.Tenants)
	default:
		if m.RedisKeyPattern == "" {
			// NewRequest fills it from the compiled policy, which defaults it.
			return nil, fmt.Errorf("metric %s has neither a Postgres query nor a Redis key pattern", m.Name)
		}
		vals, err := r.Redis.ReadAll(ctx, m.Name, m.RedisKeyPattern, req.CounterDate, req.Tenants)
		if err != nil {
			return nil, fmt.Errorf("reading Redis counters: %w", err)
		}
		return vals, nil
	}
}
