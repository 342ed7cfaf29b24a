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

package controllers

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/events"
	"sigs.k8s.io/controller-runtime/pkg/log"

	subv1 "github.com/bakery-ia/subscription-operator/api/v1alpha1"
	"github.com/bakery-ia/subscription-operator/internal/history"
)

// BatchHistoryReader reads many tenants' histories in pipelined round trips
// (history.Store.ReadMany).
type BatchHistoryReader interface {
	ReadMany(ctx context.Context, tenantIDs []string, metrics []string, today string, days int) (map[string]map[string][]history.Point, error)
}

// Prefetch defaults: 256 tenants x 9 metrics is one pipeline of ~2,300
// HMGETs; 1,024 tenants held is ~13 MB of points (60 days x 9 metrics x
// 24 B), a bound that does not grow with the number of tenants.
const (
	defaultPrefetchBatch = 256
	defaultPrefetchAhead = 1024
	defaultPrefetchStall = 30 * time.Second
)

// Prefetch reads the histories of the tenants a snapshot run has just
// written, in pipelined batches, a bounded distance ahead of the forecast
// reconciler, which takes each tenant's points instead of making its own
// round trip. After a run every tenant is reconciled in the order the run
// queued them; one pipeline per batch replaces one round trip per tenant.
//
// It is an optimisation only: a tenant whose points are not there (not read
// yet, the read failed, another date or metric set) is read by its reconcile
// as before, with the same error reporting. Points are taken once. A new run
// of the policy stops the previous prefetch and drops what it held before
// writing, so a reconcile never sees points older than the last write this
// process made.
type Prefetch struct {
	Reader BatchHistoryReader
	// Recorder, when set, gets a Warning Event on the policy when a batch fails.
	Recorder events.EventRecorder
	// Batch is tenants per pipelined read; Ahead is tenants read and not yet
	// taken, at most; a prefetch that sees nothing taken for Stall stops and
	// drops what it holds. Zero means the defaults above.
	Batch, Ahead int
	Stall        time.Duration
	// Finished, when set, is called once a run's read-ahead has ended with
	// every tenant read and taken: the run's forecasts are then all but
	// written (at most one batch of reconciles is still at work). It is not
	// called for a read-ahead that was stopped, stalled or failed.
	// cmd/manager hands the run's garbage back to the OS there.
	Finished func()

	mu   sync.Mutex
	runs map[types.UID]*prefetchRun
}

// prefetchRun is one run's read-ahead; guarded by Prefetch.mu.
type prefetchRun struct {
	cancel  context.CancelFunc
	done    chan struct{}
	metrics []string
	today   string
	days    int
	pending map[string]bool                       // tenants still to read
	reading map[string]chan struct{}              // tenants of the batch being read -> closed when it ends
	ready   map[string]map[string][]history.Point // read, not yet taken
	taken   chan struct{}                         // a token per take (buffer 1)
}

// Start begins reading ids' histories (metrics, up to today, days long) for
// the policy, replacing any earlier prefetch of it.
func (p *Prefetch) Start(ctx context.Context, pol *subv1.SubscriptionPolicy, ids, metrics []string, today string, days int) {
	if p == nil || len(ids) == 0 {
		return
	}
	p.Stop(pol.UID)
	// The run is started by a reconcile or an HTTP request; the read-ahead
	// outlives both, ended by Stop, the end of its work or Stall.
	ctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	run := &prefetchRun{
		cancel: cancel, done: make(chan struct{}),
		metrics: slices.Clone(metrics), today: today, days: days,
		pending: make(map[string]bool, len(ids)),
		reading: make(map[string]chan struct{}),
		ready:   make(map[string]map[string][]history.Point),
		taken:   make(chan struct{}, 1),
	}
	for _, id := range ids {
		run.pending[id] = true
	}
	p.mu.Lock()
	if p.runs == nil {
		p.runs = map[types.UID]*prefetchRun{}
	}
	p.runs[pol.UID] = run
	p.mu.Unlock()
	ref := pol.DeepCopy()
	go func() {
		defer close(run.done)
		defer p.drop(pol.UID, run)
		if p.read(ctx, ref, run, slices.Clone(ids)) && p.Finished != nil {
			p.Finished()
		}
	}()
}

// Stop ends the policy's prefetch and drops what it holds; it returns when
// its reads have ended, so nothing it read can be taken afterwards.
func (p *Prefetch) Stop(uid types.UID) {
	if p == nil {
		return
	}
	p.mu.Lock()
	run := p.runs[uid]
	delete(p.runs, uid)
	p.mu.Unlock()
	if run != nil {
		run.cancel()
		<-run.done
	}
}

// Take returns the tenant's prefetched points when the policy's prefetch
// holds them for exactly these metrics, date and window, and removes them.
// When the batch holding the tenant is being read it waits for it (one round
// trip is on its way already). On a miss the tenant is not read ahead any
// more: its reconcile reads it.
func (p *Prefetch) Take(ctx context.Context, uid types.UID, tenantID string, metrics []string, today string, days int) (map[string][]history.Point, bool) {
	if p == nil {
		return nil, false
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	run := p.runs[uid]
	if run == nil {
		return nil, false
	}
	if wait, ok := run.reading[tenantID]; ok {
		p.mu.Unlock()
		select {
		case <-wait:
		case <-ctx.Done():
		}
		p.mu.Lock()
		if run = p.runs[uid]; run == nil {
			return nil, false
		}
	}
	points, ok := run.ready[tenantID]
	delete(run.ready, tenantID)
	delete(run.pending, tenantID)
	if ok {
		select {
		case run.taken <- struct{}{}:
		default:
		}
	}
	if !ok || run.today != today || run.days != days || !slices.Equal(run.metrics, metrics) {
		prefetchReads.WithLabelValues(prefetchMiss).Inc()
		return nil, false
	}
	prefetchReads.WithLabelValues(prefetchHit).Inc()
	return points, true
}

// Held is how many tenants' histories the policy's prefetch holds now (for
// tests and debugging).
func (p *Prefetch) Held(uid types.UID) int {
	if p == nil {
		return 0
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if run := p.runs[uid]; run != nil {
		return len(run.ready)
	}
	return 0
}

// read fills run.ready batch by batch, keeping at most Ahead tenants held,
// then waits for them to be taken. It returns true when every tenant was
// read and taken; false on a failed batch, on Stop, or when nothing has been
// taken for Stall.
func (p *Prefetch) read(ctx context.Context, pol *subv1.SubscriptionPolicy, run *prefetchRun, ids []string) bool {
	batch, ahead, stall := positiveOr(p.Batch, defaultPrefetchBatch), positiveOr(p.Ahead, defaultPrefetchAhead), p.Stall
	if stall <= 0 {
		stall = defaultPrefetchStall
	}
	ahead = max(ahead, batch)
	next := 0
	for {
		p.mu.Lock()
		held := len(run.ready)
		var todo []string
		done := make(chan struct{})
		if held+batch <= ahead {
			for ; next < len(ids) && len(todo) < batch; next++ {
				if id := ids[next]; run.pending[id] {
					todo = append(todo, id)
					run.reading[id] = done
				}
			}
		}
		p.mu.Unlock()
		if len(todo) == 0 {
			if held == 0 && next >= len(ids) {
				return true // all read and taken
			}
			// Full, or everything is read: wait for a take.
			select {
			case <-ctx.Done():
				return false
			case <-run.taken:
				continue
			case <-time.After(stall):
				log.FromContext(ctx).V(1).Info("history prefetch stalled; dropping what it holds",
					"policy", policyKey(pol), "held", held)
				return false
			}
		}
		points, err := p.Reader.ReadMany(ctx, todo, run.metrics, run.today, run.days)
		p.mu.Lock()
		for _, id := range todo {
			// A tenant whose reconcile came first was removed from pending
			// and read by it; do not hold its points.
			if err == nil && run.pending[id] {
				run.ready[id] = points[id]
			}
			delete(run.pending, id)
			delete(run.reading, id)
		}
		p.mu.Unlock()
		close(done)
		if err != nil {
			if ctx.Err() != nil {
				return false
			}
			// Every tenant not read yet is read by its own reconcile, which
			// retries and reports in its Ready condition; this says why the
			// reads went slow.
			prefetchReads.WithLabelValues(prefetchFailed).Inc()
			msg := fmt.Sprintf("reading the history of %d tenants ahead of their forecasts failed; each forecast reads its own: %v", len(todo), err)
			log.FromContext(ctx).Info(msg, "policy", policyKey(pol))
			if p.Recorder != nil {
				warn(p.Recorder, pol, "HistoryPrefetchFailed", "Forecast", msg)
			}
			return false
		}
	}
}

// drop forgets run if it is still the policy's current prefetch.
func (p *Prefetch) drop(uid types.UID, run *prefetchRun) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.runs[uid] == run {
		delete(p.runs, uid)
	}
}

// positiveOr is v, or def when v is not positive.
func positiveOr(v, def int) int {
	if v > 0 {
		return v
	}
	return def
}
