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

package notify

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
	"k8s.io/utils/clock"
)

// The outbox is a sorted set of due times plus one hash per pending
// delivery, per sink; not a Redis Stream. A stream is a FIFO log whose
// consumer groups re-deliver entries after one idle time for all, while a
// webhook outbox needs a different next-attempt time for every entry
// (0 s, 5 s, 5 min ... 10 h after the last failure) and idempotent enqueue
// by event id, which a stream does not give (XADD ids are times, not
// keys). With a sorted set the due time is the score: claiming due work is
// one ZRANGEBYSCORE, rescheduling one ZADD, and both run atomically in a
// script with the event's hash.
//
// Layout, per sink (the braces are a Redis Cluster hash tag, so a sink's
// keys share a slot and the scripts may touch them together):
//
//	notify:{<sink>}:due          ZSET event id -> next attempt (unix ms)
//	notify:{<sink>}:ev:<id>      HASH body, type, created (unix ms), attempt, error
//	notify:{<sink>}:done:<id>    STRING, set for DeliveredTTL after delivery or expiry,
//	                             so enqueueing the same event again is a no-op
//	notify:{<sink>}:status       HASH the sink's delivery status (SinkStatus)
//	notify:{<sink>}:dead         LIST the last 1000 expired event ids
//
// A delivery stays until it is delivered or its last scheduled attempt
// fails (Expire); nothing is dropped before that.

// DefaultSchedule is the delay before each attempt, counted from the
// previous failure: Svix's schedule. Eight attempts over about 27 h 35 min.
var DefaultSchedule = []time.Duration{
	0, 5 * time.Second, 5 * time.Minute, 30 * time.Minute,
	2 * time.Hour, 5 * time.Hour, 10 * time.Hour, 10 * time.Hour,
}

// DeliveredTTL is how long a delivered (or expired) event id is remembered
// so that a late duplicate enqueue is ignored. It is longer than the retry
// window and than any plausible gap between a crash and the re-run that
// recomputes the same events.
const DeliveredTTL = 7 * 24 * time.Hour

// deadListMax bounds the list of expired ids kept per sink for inspection.
const deadListMax = 1000

// sinkNameRE is what a sink id may contain: the controller builds it as
// <namespace>/<policy>/<sink>, all Kubernetes names. Braces or spaces
// would break the hash tag or the key layout.
var sinkNameRE = regexp.MustCompile(`^[a-z0-9]([a-z0-9./-]{0,250}[a-z0-9])?$`)

// ValidSinkID reports whether id can name a sink.
func ValidSinkID(id string) error {
	if !sinkNameRE.MatchString(id) {
		return fmt.Errorf("notify: sink id %q must be lower-case letters, digits, '.', '/' and '-' (at most 252)", id)
	}
	return nil
}

func key(sink, suffix string) string { return "notify:{" + sink + "}:" + suffix }

var (
	//go:embed enqueue.lua
	enqueueSrc    string
	enqueueScript = redis.NewScript(enqueueSrc)
	//go:embed claim.lua
	claimSrc    string
	claimScript = redis.NewScript(claimSrc)
)

// Outbox stores pending deliveries in Redis (standalone, Sentinel or Cluster).
type Outbox struct {
	rdb   redis.UniversalClient
	clock clock.Clock
	// wake is signalled after an enqueue, so a worker in the same process
	// starts delivering without waiting for its next poll.
	wake chan struct{}
}

// NewOutbox returns an Outbox on rdb; clk is the time source (tests pass a
// fake clock to compress the retry schedule).
func NewOutbox(rdb redis.UniversalClient, clk clock.Clock) *Outbox {
	return &Outbox{rdb: rdb, clock: clk, wake: make(chan struct{}, 1)}
}

// Delivery is one event for one sink.
type Delivery struct {
	Sink  string
	Event Event
}

// enqueueBatch is how many deliveries share one pipelined round trip.
const enqueueBatch = 5000

// Enqueue stores deliveries. It is idempotent per (sink, event id): an
// event already pending or delivered is not stored again, so re-running
// the evaluation that produced it (after a crash, on a new leader) sends
// nothing twice. It returns how many were new.
func (o *Outbox) Enqueue(ctx context.Context, ds []Delivery) (int, error) {
	if len(ds) == 0 {
		return 0, nil
	}
	type call struct {
		keys []string
		args []any
	}
	calls := make([]call, len(ds))
	now := strconv.FormatInt(o.clock.Now().UnixMilli(), 10)
	for i, d := range ds {
		if err := ValidSinkID(d.Sink); err != nil {
			return 0, err
		}
		body, err := d.Event.Encode()
		if err != nil {
			return 0, err
		}
		calls[i] = call{
			keys: []string{key(d.Sink, "due"), key(d.Sink, "ev:"+d.Event.ID), key(d.Sink, "done:"+d.Event.ID)},
			args: []any{d.Event.ID, body, string(d.Event.Type), now},
		}
	}
	if err := enqueueScript.Load(ctx, o.rdb).Err(); err != nil {
		return 0, fmt.Errorf("notify: enqueue: load script: %w", err)
	}
	added := 0
	for start := 0; start < len(calls); start += enqueueBatch {
		batch := calls[start:min(start+enqueueBatch, len(calls))]
		pipe := o.rdb.Pipeline()
		cmds := make([]*redis.Cmd, len(batch))
		for i, c := range batch {
			cmds[i] = enqueueScript.EvalSha(ctx, pipe, c.keys, c.args...)
		}
		if _, err := pipe.Exec(ctx); err != nil && !redis.HasErrorPrefix(err, "NOSCRIPT") {
			return added, fmt.Errorf("notify: enqueue (deliveries %d-%d of %d): %w", start+1, start+len(batch), len(calls), err)
		}
		for i, cmd := range cmds {
			n, err := cmd.Int()
			if redis.HasErrorPrefix(err, "NOSCRIPT") {
				// A node lost its script cache mid-run (restart, failover).
				n, err = enqueueScript.Run(ctx, o.rdb, batch[i].keys, batch[i].args...).Int()
			}
			if err != nil {
				return added, fmt.Errorf("notify: enqueue %s: %w", ds[start+i].Event.ID, err)
			}
			added += n
		}
	}
	if added > 0 {
		o.Wake()
	}
	return added, nil
}

// Wake makes a worker in this process start a pass now instead of at its
// next poll: after an enqueue, or when the set of sinks changed (a sink
// whose Secret appeared can deliver what waited for it).
func (o *Outbox) Wake() {
	select {
	case o.wake <- struct{}{}:
	default:
	}
}

// Pending is the number of deliveries waiting for sink.
func (o *Outbox) Pending(ctx context.Context, sink string) (int64, error) {
	n, err := o.rdb.ZCard(ctx, key(sink, "due")).Result()
	if err != nil {
		return 0, fmt.Errorf("notify: pending for %s: %w", sink, err)
	}
	return n, nil
}

// Expired returns the ids of the most recently expired events of sink,
// newest first.
func (o *Outbox) Expired(ctx context.Context, sink string) ([]string, error) {
	ids, err := o.rdb.LRange(ctx, key(sink, "dead"), 0, -1).Result()
	if err != nil {
		return nil, fmt.Errorf("notify: expired for %s: %w", sink, err)
	}
	return ids, nil
}

// Purge deletes everything pending for sink: for a sink removed from its
// policy. Its status and expired list go too.
func (o *Outbox) Purge(ctx context.Context, sink string) error {
	for {
		ids, err := o.rdb.ZRange(ctx, key(sink, "due"), 0, 999).Result()
		if err != nil {
			return fmt.Errorf("notify: purge %s: %w", sink, err)
		}
		if len(ids) == 0 {
			break
		}
		keys := make([]string, 0, len(ids))
		members := make([]any, len(ids))
		for i, id := range ids {
			keys = append(keys, key(sink, "ev:"+id))
			members[i] = id
		}
		pipe := o.rdb.TxPipeline()
		pipe.Del(ctx, keys...)
		pipe.ZRem(ctx, key(sink, "due"), members...)
		if _, err := pipe.Exec(ctx); err != nil {
			return fmt.Errorf("notify: purge %s: %w", sink, err)
		}
	}
	if err := o.rdb.Del(ctx, key(sink, "status"), key(sink, "dead")).Err(); err != nil {
		return fmt.Errorf("notify: purge %s: %w", sink, err)
	}
	return nil
}

// claimed is one delivery taken by a worker for an attempt.
type claimed struct {
	id      string
	attempt int
	body    []byte
	typ     EventType
	created time.Time
}

// claim takes up to limit due deliveries of sink until leaseEnd.
func (o *Outbox) claim(ctx context.Context, sink string, now, leaseEnd time.Time, limit int) ([]claimed, error) {
	res, err := claimScript.Run(ctx, o.rdb, []string{key(sink, "due"), key(sink, "ev:")},
		now.UnixMilli(), leaseEnd.UnixMilli(), limit).Slice()
	if err != nil {
		if errors.Is(err, redis.Nil) {
			return nil, nil
		}
		return nil, fmt.Errorf("notify: claim for %s: %w", sink, err)
	}
	out := make([]claimed, 0, len(res)/5)
	for i := 0; i+4 < len(res); i += 5 {
		id, _ := res[i].(string)
		attempt, _ := res[i+1].(int64)
		body, _ := res[i+2].(string)
		typ, _ := res[i+3].(string)
		createdS, _ := res[i+4].(string)
		ms, _ := strconv.ParseInt(createdS, 10, 64)
		out = append(out, claimed{id: id, attempt: int(attempt), body: []byte(body), typ: EventType(typ), created: time.UnixMilli(ms)})
	}
	return out, nil
}

// outcome is the result of one attempt, to record.
type outcome struct {
	c   claimed
	err error // nil = delivered
	// next is the next attempt's time; zero when the delivery expires.
	next time.Time
}

// record applies attempt outcomes of sink in one pipelined round trip:
// delivered ones are removed and remembered, failed ones rescheduled or
// expired, and the sink's status updated.
func (o *Outbox) record(ctx context.Context, sink string, now time.Time, outs []outcome) error {
	pipe := o.rdb.TxPipeline()
	due := key(sink, "due")
	status := key(sink, "status")
	nowMS := now.UnixMilli()
	for _, r := range outs {
		ev := key(sink, "ev:"+r.c.id)
		switch {
		case r.err == nil:
			pipe.ZRem(ctx, due, r.c.id)
			pipe.Del(ctx, ev)
			pipe.Set(ctx, key(sink, "done:"+r.c.id), "delivered", DeliveredTTL)
			pipe.HSet(ctx, status, "lastSuccess", nowMS, "consecutiveFailures", 0)
		case r.next.IsZero():
			pipe.ZRem(ctx, due, r.c.id)
			pipe.Del(ctx, ev)
			pipe.Set(ctx, key(sink, "done:"+r.c.id), "expired", DeliveredTTL)
			pipe.LPush(ctx, key(sink, "dead"), r.c.id)
			pipe.LTrim(ctx, key(sink, "dead"), 0, deadListMax-1)
			pipe.HIncrBy(ctx, status, "expired", 1)
		default:
			// XX: a delivery purged meanwhile is not brought back.
			pipe.ZAddXX(ctx, due, redis.Z{Score: float64(r.next.UnixMilli()), Member: r.c.id})
			pipe.HSet(ctx, ev, "error", truncate(r.err.Error(), 512))
		}
		if r.err != nil {
			pipe.HIncrBy(ctx, status, "consecutiveFailures", 1)
			pipe.HSet(ctx, status, "lastError", truncate(r.err.Error(), 512), "lastFailure", nowMS)
		}
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return fmt.Errorf("notify: record attempts for %s: %w", sink, err)
	}
	return nil
}

// SinkStatus is a sink's delivery health, for the policy's status and
// conditions.
type SinkStatus struct {
	Sink string
	// Pending is the number of deliveries waiting (including retries).
	Pending int64
	// ConsecutiveFailures counts failed attempts since the last success.
	ConsecutiveFailures int64
	// Expired counts deliveries dropped after their last attempt failed.
	Expired     int64
	LastError   string
	LastFailure *time.Time
	LastSuccess *time.Time
}

// Failing reports whether the sink should be shown as failing: at least
// threshold attempts in a row failed.
func (s SinkStatus) Failing(threshold int64) bool { return s.ConsecutiveFailures >= threshold }

// Status reads sink's delivery status.
func (o *Outbox) Status(ctx context.Context, sink string) (SinkStatus, error) {
	pipe := o.rdb.Pipeline()
	h := pipe.HGetAll(ctx, key(sink, "status"))
	n := pipe.ZCard(ctx, key(sink, "due"))
	if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return SinkStatus{}, fmt.Errorf("notify: status of %s: %w", sink, err)
	}
	m := h.Val()
	st := SinkStatus{Sink: sink, Pending: n.Val(), LastError: m["lastError"]}
	st.ConsecutiveFailures, _ = strconv.ParseInt(m["consecutiveFailures"], 10, 64)
	st.Expired, _ = strconv.ParseInt(m["expired"], 10, 64)
	if ms, err := strconv.ParseInt(m["lastFailure"], 10, 64); err == nil {
		t := time.UnixMilli(ms).UTC()
		st.LastFailure = &t
	}
	if ms, err := strconv.ParseInt(m["lastSuccess"], 10, 64); err == nil {
		t := time.UnixMilli(ms).UTC()
		st.LastSuccess = &t
	}
	return st, nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}
