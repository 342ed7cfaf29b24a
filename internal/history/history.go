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

// Package history stores the daily usage snapshots in Redis: one value per
// tenant, metric and calendar date, kept for a retention window.
//
// Layout (the key name is the seed's contract; the hash is this package's):
//
//	key    usage_history:{<tenant>}:<metric>, a HASH. The braces are literal:
//	       a Redis Cluster hash tag, so one tenant's keys share a slot.
//	fields <date> = <value>: the date as YYYYMMDD (ISO 8601 basic format,
//	       e.g. 20250119), the value an integer.
//	       "oldest" = the window start (YYYYMMDD) of the last write; no date
//	       field is older. With it a write deletes exactly the dates that
//	       left the window (normally one) without listing the fields.
//	TTL    retentionDays+1 days, refreshed on every write.
//
// The field format was measured with MEMORY USAGE on Redis 7.0 (key with a
// 36-character tenant id, 60 dates, listpack encoding): "2025-01-19" costs
// 1016 B with 2-digit values and 1400 B with 6-digit ones; "20250119" costs
// 632 B and 888 B (listpack stores it as an integer); days since 1970 would
// cost 504 B and 760 B but is unreadable in redis-cli. YYYYMMDD stays under
// 1 KB for any value below 2^31, with 61 dates too; the "oldest" field does
// not change these sizes.
//
// The seed stored a STRING holding a JSON array [{"date":"2025-01-19",
// "value":42}, ...] under the same key. Read and Write convert such a key in
// place, atomically (a Lua script): Read keeps all its points and its TTL,
// Write keeps the points inside the retention window. The normal
// path pays nothing for this: Write's script only converts when its first
// command on the key answers WRONGTYPE, and Read only converts keys whose
// HMGET answered WRONGTYPE.
package history

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/bakery-ia/subscription-operator/internal/redisretry"
)

// DateLayout is the layout of Point.Date and of the date arguments.
const DateLayout = "2006-01-02"

// fieldLayout is the layout of the hash fields.
const fieldLayout = "20060102"

// Point is one stored value.
type Point struct {
	Date  string // YYYY-MM-DD
	Value int64
}

// Value is one value to store.
type Value struct {
	TenantID, Metric string
	Value            int64
}

// Store reads and writes the history in Redis (standalone, Sentinel or Cluster).
type Store struct {
	rdb redis.UniversalClient
	// writeBatch is how many tenants go into one pipelined round trip of Write;
	// readBatch is how many keys go into one round trip of ReadMany.
	writeBatch, readBatch int
	// retry paces the retries of transient faults (redisretry.DefaultPolicy).
	retry redisretry.Policy
}

// New returns a Store using rdb.
func New(rdb redis.UniversalClient) *Store {
	return &Store{rdb: rdb, writeBatch: 1000, readBatch: 10000, retry: redisretry.DefaultPolicy}
}

// Key is the Redis key of one tenant's history of one metric:
// "usage_history:{" + tenantID + "}:" + metric. The braces are literal: a
// Redis Cluster hash tag.
func Key(tenantID, metric string) string {
	return "usage_history:{" + tenantID + "}:" + metric
}

//go:embed write.lua
var writeSrc string

//go:embed convert.lua
var convertSrc string

// legacyLua is the conversion function shared by both scripts.
//
//go:embed legacy.lua
var legacyLua string

var (
	writeScript   = redis.NewScript(legacyLua + writeSrc)
	convertScript = redis.NewScript(legacyLua + convertSrc)
)

// Write stores values under date (YYYY-MM-DD). Values of one tenant go into
// one script call (its keys share a slot), and writeBatch tenants share one
// pipelined round trip (per node in Cluster). For each key it sets the date's
// field (writing a date again overwrites it), deletes the fields of dates
// before date-retentionDays (a point exactly retentionDays old stays, so a
// key holds at most retentionDays+1 dates), and sets the TTL to
// retentionDays+1 days.
//
// Write is idempotent, which is what lets it retry: the tenants whose call
// failed with a transient fault (a node died, the cluster is failing over:
// redisretry.Transient) are sent again with backoff until they succeed or
// s.retry.For has passed since the first fault (or ctx ends). After a fault
// every tenant is written once more: Redis replicates asynchronously, so a
// write that a master acknowledged just before it died may never have
// reached the replica that took over. Retries are recorded in ctx's
// redisretry.Faults.
//
// On error some keys may be written and the caller retries the whole call.
// Errors that Redis returned say "redis: " after the operation
// ("history: write 2025-01-19: redis: load script: i/o timeout"). Errors of
// single keys (a legacy value that is not the seed's JSON) do not stop the
// other keys and are returned together.
func (s *Store) Write(ctx context.Context, date string, retentionDays int, values []Value) error {
	day, err := time.Parse(DateLayout, date)
	if err != nil {
		return fmt.Errorf("history: write: date %q is not YYYY-MM-DD", date)
	}
	if retentionDays < 1 {
		return fmt.Errorf("history: write %s: retentionDays must be at least 1, got %d", date, retentionDays)
	}
	calls, err := groupByTenant(values)
	if err != nil {
		return fmt.Errorf("history: write %s: %w", date, err)
	}
	if len(calls) == 0 {
		return nil
	}
	w := writeArgs{field: day.Format(fieldLayout), oldest: day.AddDate(0, 0, -retentionDays).Format(fieldLayout),
		ttl: strconv.Itoa((retentionDays + 1) * 24 * 60 * 60)}

	// Loading first (on every master in Cluster) lets the batches use EVALSHA;
	// a node that lacks the script (down now, or a replica promoted since) is
	// handled by evalBatch's NOSCRIPT fallback, so a transient fault here
	// does not stop the write.
	if err := writeScript.Load(ctx, s.rdb).Err(); err != nil && !redisretry.Transient(s.rdb, err) {
		return fmt.Errorf("history: write %s: redis: load script: %w", date, err)
	}
	// A pass that met a fault is followed by one that writes everything again
	// (see above); a fault in that pass too earns one more, then the write
	// fails rather than loop through a flapping cluster.
	const maxPasses = 3
	for pass := 1; ; pass++ {
		faulted, err := s.writePass(ctx, date, calls, w)
		if err != nil || !faulted {
			return err
		}
		if pass == maxPasses {
			return fmt.Errorf("history: write %s: redis: every one of %d passes met a transient fault; "+
				"writes acknowledged just before a failover may be lost, so the write is not trusted", date, maxPasses)
		}
	}
}

// writeArgs are the script arguments shared by every call of one Write.
type writeArgs struct{ field, oldest, ttl string }

// writePass writes every call once, retrying transient faults per tenant,
// and reports whether any fault was met.
func (s *Store) writePass(ctx context.Context, date string, calls []tenantCall, w writeArgs) (faulted bool, err error) {
	var keyErrs []error
	for start := 0; start < len(calls); start += s.writeBatch {
		batch := calls[start:min(start+s.writeBatch, len(calls))]
		r := redisretry.New(s.retry)
		for pending := batch; len(pending) > 0; {
			retry, fault, errs, err := s.evalBatch(ctx, pending, w)
			if err != nil {
				return faulted, fmt.Errorf("history: write %s (tenants %d-%d of %d): redis: %w", date, start+1, start+len(batch), len(calls), err)
			}
			keyErrs = append(keyErrs, errs...)
			if len(retry) == 0 {
				break
			}
			faulted = true
			if err := r.Wait(ctx, fault); err != nil {
				return faulted, fmt.Errorf("history: write %s (%d of tenants %d-%d of %d): redis: %w", date, len(retry), start+1, start+len(batch), len(calls), err)
			}
			redisretry.Refresh(ctx, s.rdb)
			pending = retry
		}
	}
	if len(keyErrs) > 0 {
		return faulted, fmt.Errorf("history: write %s: redis: %d of %d tenants failed: %w", date, len(keyErrs), len(calls), joinFirst(keyErrs, 5))
	}
	return faulted, nil
}

// tenantCall is one script call: the keys of one tenant and their values.
type tenantCall struct {
	tenant string
	keys   []string
	values []any
}

func groupByTenant(values []Value) ([]tenantCall, error) {
	index := make(map[string]int)
	var calls []tenantCall
	for i, v := range values {
		if v.TenantID == "" || v.Metric == "" {
			return nil, fmt.Errorf("value %d: tenant id and metric must not be empty (tenant %q, metric %q)", i, v.TenantID, v.Metric)
		}
		j, ok := index[v.TenantID]
		if !ok {
			j = len(calls)
			index[v.TenantID] = j
			calls = append(calls, tenantCall{tenant: v.TenantID})
		}
		calls[j].keys = append(calls[j].keys, Key(v.TenantID, v.Metric))
		calls[j].values = append(calls[j].values, v.Value)
	}
	return calls, nil
}

// evalBatch runs the write script for each call in one pipeline (go-redis
// splits it per node in Cluster). It sorts the outcome per call: retry holds
// the calls that met a transient fault (fault is one of them), tenantErrs
// the errors of single tenants; err is set when the round trip failed for a
// reason a retry cannot fix (the context ended).
func (s *Store) evalBatch(ctx context.Context, batch []tenantCall, w writeArgs) (retry []tenantCall, fault error, tenantErrs []error, err error) {
	run := func(useSha bool, calls []tenantCall) ([]*redis.Cmd, error) {
		pipe := s.rdb.Pipeline()
		cmds := make([]*redis.Cmd, len(calls))
		for i, c := range calls {
			args := make([]any, 0, 3+len(c.values))
			args = append(args, w.field, w.oldest, w.ttl)
			args = append(args, c.values...)
			if useSha {
				cmds[i] = writeScript.EvalSha(ctx, pipe, c.keys, args...)
			} else {
				cmds[i] = writeScript.Eval(ctx, pipe, c.keys, args...)
			}
		}
		// In Cluster one node's failure leaves the other nodes' commands done:
		// classify reads each command's own outcome (redisretry.CmdErr).
		_, execErr := pipe.Exec(ctx)
		return cmds, execErr
	}
	classify := func(calls []tenantCall, cmds []*redis.Cmd, execErr error, noscript *[]tenantCall) error {
		for i, cmd := range cmds {
			switch err := redisretry.CmdErr(s.rdb, cmd, execErr); {
			case err == nil:
			case noscript != nil && redis.HasErrorPrefix(err, "NOSCRIPT"):
				// A node without the script: a restarted node, or a replica
				// promoted by a failover (SCRIPT LOAD is not replicated).
				*noscript = append(*noscript, calls[i])
			case redisretry.Transient(s.rdb, err):
				retry, fault = append(retry, calls[i]), err
			case isServerError(err):
				tenantErrs = append(tenantErrs, fmt.Errorf("tenant %s: %w", calls[i].tenant, err))
			default:
				return err
			}
		}
		return nil
	}
	var noscript []tenantCall
	cmds, execErr := run(true, batch)
	if err := classify(batch, cmds, execErr, &noscript); err != nil {
		return nil, nil, nil, err
	}
	if len(noscript) > 0 {
		cmds, execErr := run(false, noscript)
		if err := classify(noscript, cmds, execErr, nil); err != nil {
			return nil, nil, nil, err
		}
	}
	return retry, fault, tenantErrs, nil
}

// Read returns the points of the last days days up to and including today
// (YYYY-MM-DD) for each metric of one tenant, sorted by date, in one pipelined
// round trip. Every metric has an entry; it is empty when nothing is stored.
func (s *Store) Read(ctx context.Context, tenantID string, metrics []string, today string, days int) (map[string][]Point, error) {
	all, err := s.ReadMany(ctx, []string{tenantID}, metrics, today, days)
	if err != nil {
		return nil, err
	}
	return all[tenantID], nil
}

// ReadMany is Read for many tenants: result[tenant][metric]. Up to readBatch
// keys share one pipelined round trip.
func (s *Store) ReadMany(ctx context.Context, tenantIDs []string, metrics []string, today string, days int) (map[string]map[string][]Point, error) {
	w, err := newWindow(today, days)
	if err != nil {
		return nil, fmt.Errorf("history: read: %w", err)
	}
	type keyRef struct{ tenant, metric string }
	refs := make([]keyRef, 0, len(tenantIDs)*len(metrics))
	keys := make([]string, 0, len(tenantIDs)*len(metrics))
	out := make(map[string]map[string][]Point, len(tenantIDs))
	for _, t := range tenantIDs {
		if out[t] != nil {
			continue
		}
		out[t] = make(map[string][]Point, len(metrics))
		for _, m := range metrics {
			refs = append(refs, keyRef{t, m})
			keys = append(keys, Key(t, m))
		}
	}
	for start := 0; start < len(keys); start += s.readBatch {
		batch := keys[start:min(start+s.readBatch, len(keys))]
		replies, err := s.hmget(ctx, batch, w)
		if err != nil {
			return nil, fmt.Errorf("history: read %s (keys %d-%d of %d): redis: %w", today, start+1, start+len(batch), len(keys), err)
		}
		for i, values := range replies {
			points, err := w.points(values)
			if err != nil {
				return nil, fmt.Errorf("history: read %s: %w", batch[i], err)
			}
			out[refs[start+i].tenant][refs[start+i].metric] = points
		}
	}
	return out, nil
}

// hmget reads the window's fields of keys in one pipelined round trip,
// converting legacy keys (WRONGTYPE) first when there are any. The reply of
// key i holds the values in the window's date order, "" for a missing date.
// Keys whose read met a transient fault (a failover) are read again with
// backoff, like Write's calls.
//
// HMGET of the window, not HGETALL of the hash: a reply of values alone
// decodes into one slice (one string per date) instead of a map of field and
// value strings, and the forecast API's trend window is half the retention
// window. Redis pays for it: it finds each field by a scan of the hash's
// listpack (at most 62 entries). Measured with BenchmarkRead and
// BenchmarkReadManyWindow (CPU per op, this process / redis-server):
// a forecast's nine 30-day reads 213 / 69 µs with HGETALL, 106 / 113 µs
// with HMGET; 1,000 tenants' nine 60-day reads 180 / 105 ms against
// 111 / 160 ms. Both are cheaper in all, and the leader, which is the one
// process that cannot be scaled out, does half the work.
func (s *Store) hmget(ctx context.Context, keys []string, w *window) ([][]string, error) {
	out := make([][]string, len(keys))
	pending := make([]int, len(keys))
	for i := range keys {
		pending[i] = i
	}
	retrier := redisretry.New(s.retry)
	for len(pending) > 0 {
		pipe := s.rdb.Pipeline()
		cmds := make([]*redis.StringSliceCmd, len(pending))
		for j, i := range pending {
			cmds[j] = w.hmget(ctx, keys[i])
			_ = pipe.Process(ctx, cmds[j])
		}
		_, execErr := pipe.Exec(ctx)
		var retry []int
		var fault error
		for j, cmd := range cmds {
			i := pending[j]
			switch err := redisretry.CmdErr(s.rdb, cmd, execErr); {
			case err == nil:
				out[i] = cmd.Val()
			case redisretry.Transient(s.rdb, err):
				retry, fault = append(retry, i), err
			case redis.HasErrorPrefix(err, "WRONGTYPE"):
				if err := s.convert(ctx, keys[i]); err != nil {
					return nil, fmt.Errorf("%s: %w", keys[i], err)
				}
				again := w.hmget(ctx, keys[i])
				if err := s.rdb.Process(ctx, again); err != nil {
					return nil, fmt.Errorf("%s: %w", keys[i], err)
				}
				out[i] = again.Val()
			case !isServerError(err):
				return nil, err
			default:
				return nil, fmt.Errorf("%s: %w", keys[i], err)
			}
		}
		if len(retry) > 0 {
			if err := retrier.Wait(ctx, fault); err != nil {
				return nil, err
			}
			redisretry.Refresh(ctx, s.rdb)
		}
		pending = retry
	}
	return out, nil
}

// window is the dates a read returns.
type window struct {
	dates []string // YYYY-MM-DD, oldest first; the points share these strings
	// args is "hmget", a placeholder for the key, then the dates as fields
	// (YYYYMMDD): built once per read, so each key's command copies it
	// instead of boxing every field again.
	args []any
}

func newWindow(today string, days int) (*window, error) {
	end, err := time.Parse(DateLayout, today)
	if err != nil {
		return nil, fmt.Errorf("date %q is not YYYY-MM-DD", today)
	}
	if days < 1 {
		return nil, fmt.Errorf("days must be at least 1, got %d", days)
	}
	w := &window{dates: make([]string, days), args: make([]any, 2, days+2)}
	w.args[0] = "hmget"
	for i := range days {
		d := end.AddDate(0, 0, i-days+1)
		w.dates[i] = d.Format(DateLayout)
		w.args = append(w.args, d.Format(fieldLayout))
	}
	return w, nil
}

// hmget is the HMGET of the window's fields of key.
func (w *window) hmget(ctx context.Context, key string) *redis.StringSliceCmd {
	args := slices.Clone(w.args)
	args[1] = key
	return redis.NewStringSliceCmd(ctx, args...)
}

// points returns the points of an HMGET reply (values in date order, "" for
// a date without a value), sorted by date.
func (w *window) points(values []string) ([]Point, error) {
	if len(values) != len(w.dates) {
		return nil, fmt.Errorf("HMGET answered %d values for %d dates", len(values), len(w.dates))
	}
	n := 0
	for _, v := range values {
		if v != "" {
			n++
		}
	}
	points := make([]Point, 0, n)
	for k, v := range values {
		if v == "" {
			continue
		}
		value, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("field %s holds %q, not an integer", w.args[k+2], v)
		}
		points = append(points, Point{Date: w.dates[k], Value: value})
	}
	return points, nil
}

// convert turns a legacy JSON string at key into the hash, keeping all points.
func (s *Store) convert(ctx context.Context, key string) error {
	if err := convertScript.Run(ctx, s.rdb, []string{key}).Err(); err != nil && !errors.Is(err, redis.Nil) {
		return fmt.Errorf("convert legacy value: %w", err)
	}
	return nil
}

// isServerError reports whether err is an error reply of the Redis server
// (which concerns one command) rather than a connection or context error
// (which concerns the round trip).
func isServerError(err error) bool {
	var rerr redis.Error
	return errors.As(err, &rerr) && !errors.Is(err, redis.Nil) && !strings.HasPrefix(err.Error(), "redis: ")
}

// joinFirst joins the first n errors and says how many more there were.
func joinFirst(errs []error, n int) error {
	if len(errs) <= n {
		return errors.Join(errs...)
	}
	return errors.Join(append(slices.Clip(errs[:n]), fmt.Errorf("... and %d more", len(errs)-n))...)
}
