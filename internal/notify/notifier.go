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
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// SinkWants is what one sink asked for.
type SinkWants struct {
	Sink       string
	Conditions []Condition
	// Recovered: also send the Recovered event of each wanted condition.
	Recovered bool
}

// Notifier evaluates forecasts against the sinks' conditions, keeping each
// condition's episode state in Redis, and enqueues the resulting events.
//
// State layout: notify_state:{<tenant>} is a HASH (the braces are the same
// hash tag as the tenant's history), field <namespace>/<policy>/<metric>/
// <condition key>, value "active|level|episode|seq". It expires stateTTL
// after the tenant's last evaluation.
type Notifier struct {
	rdb     redis.UniversalClient
	outbox  *Outbox
	Metrics *Metrics
}

// stateTTL forgets the episode state of a tenant not evaluated for this
// long (deleted). A returning tenant starts at episode 1 again.
const stateTTL = 400 * 24 * time.Hour

// NewNotifier returns a Notifier storing state in rdb and events in o.
func NewNotifier(rdb redis.UniversalClient, o *Outbox) *Notifier {
	return &Notifier{rdb: rdb, outbox: o}
}

func stateKey(tenant string) string { return "notify_state:{" + tenant + "}" }

// observeBatch is how many subjects share one round trip.
const observeBatch = 5000

// Observe evaluates each subject (one tenant's metric, with its latest
// forecast) against every condition the sinks want, enqueues the events
// for the sinks that want them, and then saves the new states. Saving
// after enqueueing makes a crash in between harmless: the re-run computes
// the same transitions with the same ids, and the enqueue ignores them.
// Conditions wanted by several sinks (same Key) share one state; the
// first sink's hysteresis applies. It returns the number of new deliveries.
func (n *Notifier) Observe(ctx context.Context, sinks []SinkWants, subjects []Subject, now time.Time) (int, error) {
	var conds []Condition
	seen := map[string]bool{}
	for _, sw := range sinks {
		if err := ValidSinkID(sw.Sink); err != nil {
			return 0, err
		}
		for i, c := range sw.Conditions {
			if err := c.Validate(); err != nil {
				return 0, fmt.Errorf("notify: sink %s condition %d: %w", sw.Sink, i, err)
			}
			if !seen[c.Key()] {
				seen[c.Key()] = true
				conds = append(conds, c)
			}
		}
	}
	if len(conds) == 0 {
		return 0, nil
	}
	added := 0
	for start := 0; start < len(subjects); start += observeBatch {
		k, err := n.observeBatch(ctx, sinks, conds, subjects[start:min(start+observeBatch, len(subjects))], now)
		added += k
		if err != nil {
			return added, err
		}
	}
	return added, nil
}

func (n *Notifier) observeBatch(ctx context.Context, sinks []SinkWants, conds []Condition, subjects []Subject, now time.Time) (int, error) {
	fields := func(s Subject) []string {
		fs := make([]string, len(conds))
		for i, c := range conds {
			fs[i] = s.Namespace + "/" + s.Policy + "/" + s.Metric + "/" + c.Key()
		}
		return fs
	}
	pipe := n.rdb.Pipeline()
	gets := make([]*redis.SliceCmd, len(subjects))
	for i, s := range subjects {
		gets[i] = pipe.HMGet(ctx, stateKey(s.Tenant), fields(s)...)
	}
	if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return 0, fmt.Errorf("notify: read states: %w", err)
	}

	var deliveries []Delivery
	var saves []stateSave
	var errs []error
	for i, s := range subjects {
		ds, kv, err := evaluateSubject(sinks, conds, s, fields(s), gets[i].Val(), now)
		if err != nil {
			// Keep this subject's old states, so the transition is tried
			// again once the input is fixed, not lost.
			errs = append(errs, err)
			continue
		}
		deliveries = append(deliveries, ds...)
		if len(kv) > 0 {
			saves = append(saves, stateSave{tenant: s.Tenant, kv: kv})
		}
	}
	added, err := n.outbox.Enqueue(ctx, deliveries)
	if err != nil {
		return added, err
	}
	if n.Metrics != nil {
		// Counted per delivery attempted to enqueue; duplicates are rare
		// (a re-run after a crash) and harmless to over-count here.
		for _, d := range deliveries {
			n.Metrics.count(d.Sink, d.Event.Type, "enqueued")
		}
	}
	if len(saves) > 0 {
		pipe := n.rdb.Pipeline()
		for _, s := range saves {
			pipe.HSet(ctx, stateKey(s.tenant), s.kv...)
			pipe.Expire(ctx, stateKey(s.tenant), stateTTL)
		}
		if _, err := pipe.Exec(ctx); err != nil {
			return added, fmt.Errorf("notify: save states: %w", err)
		}
	}
	return added, errors.Join(errs...)
}

// stateSave is one tenant's changed state fields.
type stateSave struct {
	tenant string
	kv     []any
}

// evaluateSubject steps every condition for one subject, given its stored
// states (in conds order; nil = none), and returns the deliveries and the
// changed state fields.
func evaluateSubject(sinks []SinkWants, conds []Condition, s Subject, fields []string, stored []any, now time.Time) ([]Delivery, []any, error) {
	obs := Observation{Percentage: s.Percentage, DaysUntilBreach: s.DaysUntilBreach, DaysUntilEarliest: s.DaysUntilEarliest}
	var ds []Delivery
	var kv []any
	for j, c := range conds {
		var st State
		if v, ok := stored[j].(string); ok {
			var err error
			if st, err = decodeState(v); err != nil {
				// A corrupt state restarts the condition rather than
				// blocking every later notification.
				st = State{}
			}
		}
		next, tr, fired := Step(c, st, obs)
		if next != st {
			kv = append(kv, fields[j], encodeState(next))
		}
		if !fired {
			continue
		}
		ev, err := NewEvent(s, c, tr, now)
		if err != nil {
			return nil, nil, err
		}
		for _, sw := range sinks {
			if wants(sw, c, tr.Type) {
				ds = append(ds, Delivery{Sink: sw.Sink, Event: ev})
			}
		}
	}
	return ds, kv, nil
}

// wants reports whether sink sw gets event type t of condition c.
func wants(sw SinkWants, c Condition, t EventType) bool {
	for _, w := range sw.Conditions {
		if w.Key() == c.Key() {
			return t != Recovered || sw.Recovered
		}
	}
	return false
}
