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
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/events"
	"k8s.io/utils/clock"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/metrics"

	subv1 "github.com/bakery-ia/subscription-operator/api/v1alpha1"
	"github.com/bakery-ia/subscription-operator/internal/kube"
	"github.com/bakery-ia/subscription-operator/internal/policy"
	"github.com/bakery-ia/subscription-operator/internal/redisretry"
	"github.com/bakery-ia/subscription-operator/internal/snapshot"
)

// Retry backoff for failed or partial runs: doubling from minRetry, capped at
// maxRetry, and never past the next scheduled run (which supersedes the retry).
const (
	minRetry = 5 * time.Second
	maxRetry = 10 * time.Minute
)

// SnapshotScheduler decides when a policy's snapshot is due, runs it (one run
// per policy at a time), and tells the forecast controller which tenants have
// new history. It never writes the policy's status: every run's outcome is
// kept here and applied by the policy reconciler (Apply), the one writer of
// that status; a run started outside a reconcile (RunNow) wakes it.
type SnapshotScheduler struct {
	Client   client.Client
	Clock    clock.PassiveClock
	Recorder events.EventRecorder
	Runner   *snapshot.Runner
	// Forecasts is told about tenants whose history changed.
	Forecasts *Wakeups
	// Policies wakes the policy reconciler when RunNow has an outcome for it.
	Policies *Wakeups
	// Prefetch, when set, reads the histories a run wrote in batches for the
	// forecasts the run wakes.
	Prefetch *Prefetch
	// HistoryWritten, when set, is called with the tenant IDs of every run
	// that wrote history (complete or partial), scheduled, retried or run
	// now. The manager points it at the forecast API's response cache so a
	// snapshot is served at once rather than when the cache TTL ends. Set it
	// before the manager starts.
	HistoryWritten func(tenantIDs []string)

	mu      sync.Mutex
	running map[types.UID]*sync.Mutex // one run per policy, also across the forecast API's "run now"
	retries map[types.UID]retryState
	// lastRun is the scheduled time of the last run that completed, per
	// policy. The cache may not have seen the status write that records it
	// yet when the next reconcile comes; this memory is what makes one tick
	// run once.
	lastRun map[types.UID]time.Time
	// outcomes are run results not yet applied to the policy's status.
	outcomes map[types.UID]outcome
}

type retryState struct {
	due       time.Time // the scheduled run being retried
	attempts  int
	notBefore time.Time
}

// outcome is what a run leaves for the policy's status.
type outcome struct {
	run       subv1.SnapshotRun
	status    metav1.ConditionStatus
	reason    string
	message   string
	scheduled time.Time // the tick it completed; zero for RunNow and failures
}

// policyKey is the policy label value in metrics: namespace/name.
func policyKey(p *subv1.SubscriptionPolicy) string { return p.Namespace + "/" + p.Name }

// Step is what Reconcile decided.
type Step struct {
	// Next is when to reconcile again: the next tick or an earlier retry.
	Next time.Time
	// Due reports that a run is due and not yet done (a retry is waiting):
	// the policy is Reconciling.
	Due bool
	// Discovery is the tenant discovery pass of this reconcile, nil when none ran.
	Discovery *DiscoveryResult
}

// Reconcile runs the due snapshot, if any, and says when to come back.
// begin is called just before a run starts, so the caller can show
// Reconciling=True while it lasts.
func (s *SnapshotScheduler) Reconcile(ctx context.Context, pol *subv1.SubscriptionPolicy, spec *policy.Spec, discovery *Discovery, begin func()) (Step, error) {
	now := s.Clock.Now()
	last := s.last(pol)
	plan := spec.Schedule.Plan(last, now, spec.StartingDeadline)
	pol.Status.NextSnapshotTime = &metav1.Time{Time: plan.Next}

	if plan.Lost > 0 {
		// Ticks older than startingDeadlineSeconds are lost for good; ticks
		// folded into Due are not (Due stores the same snapshot later).
		snapshotRuns.WithLabelValues(policyKey(pol), resultMissed).Add(float64(plan.Lost))
		warn(s.Recorder, pol, "SnapshotMissed", "Snapshot", fmt.Sprintf(
			"%d scheduled snapshot(s) up to %s were missed by more than startingDeadlineSeconds and are skipped",
			plan.Lost, plan.TooLate.Format(time.RFC3339)))
	}
	if plan.Due.IsZero() {
		if !plan.TooLate.IsZero() {
			// Never run a stale tick: move the identity on.
			s.setLast(pol, plan.TooLate)
		}
		s.clearRetry(pol)
		return Step{Next: plan.Next}, nil
	}
	if plan.Lost > 0 {
		// Count them once: the run below (or its retries) starts from TooLate.
		s.setLast(pol, plan.TooLate)
	}
	if at, waiting := s.retryAt(pol, plan.Due); waiting && now.Before(at) {
		return Step{Next: earliest(at, plan.Next), Due: true}, nil
	}
	if begin != nil {
		begin()
	}

	var discovered map[string]bool
	var found *DiscoveryResult
	if discovery != nil && spec.DiscoveryQuery != "" {
		var err error
		found, err = discovery.Sync(ctx, pol, spec)
		if found != nil {
			discovered = found.Found
		}
		if err != nil {
			// Discovery is best effort: the snapshot still covers the tenants we know.
			warn(s.Recorder, pol, "DiscoveryFailed", "Discover", err.Error())
			log.FromContext(ctx).Info("tenant discovery failed; the snapshot covers the known tenants", "error", err.Error())
		}
	}

	res, err := s.runFor(ctx, pol, spec, spec.Schedule.DateOf(plan.Due), "", discovered, plan.Due)
	if err == nil && !res.Partial() {
		s.clearRetry(pol)
		s.setLast(pol, plan.Due)
		return Step{Next: plan.Next, Discovery: found}, nil
	}
	// Failed or partial: keep the last run time so the same tick (same date)
	// is retried; writes are idempotent per (tenant, metric, date).
	retry := s.scheduleRetry(pol, plan.Due, now)
	return Step{Next: earliest(retry, plan.Next), Due: true, Discovery: found}, nil
}

// RunNow runs a snapshot immediately for the policy (or for one tenant of it),
// under today's date in the policy's zone. It is what the forecast API's
// track-usage endpoint calls; it does not move the schedule. Its outcome
// reaches the policy's status through the policy reconciler, which it wakes.
func (s *SnapshotScheduler) RunNow(ctx context.Context, pol *subv1.SubscriptionPolicy, tenantID string) (snapshot.Result, error) {
	spec, err := policy.CompileSpec(pol)
	if err != nil {
		return snapshot.Result{}, err
	}
	res, runErr := s.runFor(ctx, pol, spec, spec.Today(s.Clock.Now()), tenantID, nil, time.Time{})
	if tenantID == "" && s.Policies != nil {
		s.Policies.Now(pol)
	}
	return res, runErr
}

// runFor does one run and records it in metrics, Events and the pending
// outcome. only limits it to one tenant (its outcome is not kept: a
// one-tenant run says nothing about the policy); discovered (when discovery
// ran) is the set of active tenants in the database, authoritative for the
// tenants discovery manages.
func (s *SnapshotScheduler) runFor(ctx context.Context, pol *subv1.SubscriptionPolicy, spec *policy.Spec, date, only string,
	discovered map[string]bool, scheduled time.Time) (snapshot.Result, error) {
	lock := s.lockFor(pol.UID)
	lock.Lock()
	defer lock.Unlock()

	tenants, err := kube.TenantsOfPolicy(ctx, s.Client, pol.Namespace, pol.Name, true)
	if err != nil {
		return snapshot.Result{}, err
	}
	ids := snapshot.ActiveTenants(tenants, only, discovered)
	if only != "" && len(ids) == 0 {
		return snapshot.Result{}, fmt.Errorf("tenant %q is not an active tenant of policy %s", only, policyKey(pol))
	}
	// Whatever an earlier prefetch holds is about to be overwritten: drop it
	// (and wait for its reads to end) before writing.
	s.Prefetch.Stop(pol.UID)
	res, err := s.Runner.Run(ctx, snapshot.NewRequest(spec, ids, date))
	o := s.record(ctx, pol, res, err)
	if only == "" {
		if err == nil && !res.Partial() {
			o.scheduled = scheduled
		}
		s.keep(pol, o)
	}
	if err == nil {
		// Read after the write, under the run lock: what it holds is what a
		// reconcile would read. Keyed by the date the reconciles will use
		// (today), which a catch-up run's date may not be.
		if len(ids) > 1 {
			s.Prefetch.Start(ctx, pol, ids, spec.MetricNames(), spec.Today(s.Clock.Now()), spec.RetentionDays)
		}
		s.nudgeForecasts(pol, tenants, ids)
		if s.HistoryWritten != nil {
			s.HistoryWritten(ids)
		}
	}
	return res, err
}

// snapshotRedisRetries counts the Redis round trips that runs repeated after
// a transient fault (a Redis Cluster or Sentinel failover). Defined here
// rather than in metrics.go to keep this reporting change in one file.
var snapshotRedisRetries = prometheus.NewCounterVec(prometheus.CounterOpts{
	Name: "subscription_snapshot_redis_retries_total",
	Help: "Redis round trips that snapshot runs repeated after a transient fault (failover, reset connection).",
}, []string{labelPolicy})

func init() { metrics.Registry.MustRegister(snapshotRedisRetries) }

// record puts the outcome into the metrics and an Event, and returns it for status.
func (s *SnapshotScheduler) record(ctx context.Context, pol *subv1.SubscriptionPolicy, res snapshot.Result, err error) outcome {
	key := policyKey(pol)
	snapshotDuration.WithLabelValues(key).Observe(res.Duration.Seconds())
	if res.Retries > 0 {
		// A run that rode through a failover may still succeed; the fault is
		// told as a Warning of its own (the Summary in the condition and the
		// run's Event says it too).
		snapshotRedisRetries.WithLabelValues(key).Add(float64(res.Retries))
		warn(s.Recorder, pol, "SnapshotRedisRetried", "Snapshot", fmt.Sprintf(
			"the snapshot for %s retried %d Redis round trips after transient faults (last: %s)",
			res.Date, res.Retries, redisretry.Message(res.LastFault)))
	}
	o := outcome{run: subv1.SnapshotRun{
		Time:           metav1.Time{Time: s.Clock.Now()},
		Date:           res.Date,
		Tenants:        int32(res.Tenants),
		Succeeded:      int32(res.Succeeded),
		Failed:         int32(res.Failed),
		DurationMillis: res.Duration.Milliseconds(),
		FailedMetrics:  res.FailedMetricNames(),
	}}
	switch {
	case err != nil:
		snapshotRuns.WithLabelValues(key, resultFailed).Inc()
		o.status, o.reason, o.message = metav1.ConditionFalse, "SnapshotFailed", err.Error()
		warn(s.Recorder, pol, "SnapshotFailed", "Snapshot", err.Error())
		log.FromContext(ctx).Info("snapshot failed; will retry", "date", res.Date, "error", err.Error())
	case res.Partial():
		snapshotRuns.WithLabelValues(key, resultPartial).Inc()
		o.status, o.reason, o.message = metav1.ConditionFalse, "PartialSnapshot", res.Summary()
		warn(s.Recorder, pol, "SnapshotPartial", "Snapshot", res.Summary())
	default:
		snapshotRuns.WithLabelValues(key, resultSuccess).Inc()
		snapshotLastSuccess.WithLabelValues(key).Set(float64(s.Clock.Now().Unix()))
		o.status, o.reason, o.message = metav1.ConditionTrue, "SnapshotRecorded", res.Summary()
		normal(s.Recorder, pol, "SnapshotRecorded", "Snapshot", res.Summary())
	}
	return o
}

// Apply writes the newest run outcome, and the last completed tick, into the
// policy's status. Only the policy reconciler calls it.
func (s *SnapshotScheduler) Apply(pol *subv1.SubscriptionPolicy) {
	s.mu.Lock()
	o, ok := s.outcomes[pol.UID]
	last := s.lastRun[pol.UID]
	s.mu.Unlock()
	if !last.IsZero() && (pol.Status.LastScheduleTime == nil || pol.Status.LastScheduleTime.Time.Before(last)) {
		pol.Status.LastScheduleTime = &metav1.Time{Time: last}
	}
	if !ok {
		return
	}
	setCondition(&pol.Status.Conditions, pol.Generation, subv1.ConditionSnapshotSucceeded, o.status, o.reason, o.message)
	run := o.run
	pol.Status.LastSnapshot = &run
}

func (s *SnapshotScheduler) keep(pol *subv1.SubscriptionPolicy, o outcome) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.outcomes == nil {
		s.outcomes = map[types.UID]outcome{}
	}
	s.outcomes[pol.UID] = o
}

// last is the scheduled time of the last completed (or skipped) tick: the
// newer of status.lastScheduleTime and this process's memory, or the
// policy's creation time when it never ran.
func (s *SnapshotScheduler) last(pol *subv1.SubscriptionPolicy) time.Time {
	last := pol.CreationTimestamp.Time
	if t := pol.Status.LastScheduleTime; t != nil {
		last = t.Time
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if t := s.lastRun[pol.UID]; t.After(last) {
		last = t
	}
	return last
}

func (s *SnapshotScheduler) setLast(pol *subv1.SubscriptionPolicy, t time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.lastRun == nil {
		s.lastRun = map[types.UID]time.Time{}
	}
	if t.After(s.lastRun[pol.UID]) {
		s.lastRun[pol.UID] = t
	}
}

// Forget drops what is kept about a deleted policy.
func (s *SnapshotScheduler) Forget(uid types.UID) {
	s.Prefetch.Stop(uid)
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.lastRun, uid)
	delete(s.outcomes, uid)
	delete(s.retries, uid)
	delete(s.running, uid)
}

// nudgeForecasts asks the forecast controller to recompute every tenant the run
// recorded. Tenants that discovery has just created are named by their tenant
// ID, which is also their object name.
func (s *SnapshotScheduler) nudgeForecasts(pol *subv1.SubscriptionPolicy, tenants []subv1.TenantUsage, ids []string) {
	byID := make(map[string]*subv1.TenantUsage, len(tenants))
	for i := range tenants {
		byID[tenants[i].Spec.TenantID] = &tenants[i]
	}
	for _, id := range ids {
		tu := byID[id]
		if tu == nil {
			tu = &subv1.TenantUsage{ObjectMeta: metav1.ObjectMeta{Name: id, Namespace: pol.Namespace}}
		}
		s.Forecasts.Now(tu)
	}
}

func (s *SnapshotScheduler) lockFor(uid types.UID) *sync.Mutex {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.running == nil {
		s.running = map[types.UID]*sync.Mutex{}
	}
	if s.running[uid] == nil {
		s.running[uid] = &sync.Mutex{}
	}
	return s.running[uid]
}

// retryAt returns when the failed run for due may be retried.
func (s *SnapshotScheduler) retryAt(pol *subv1.SubscriptionPolicy, due time.Time) (time.Time, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	st, ok := s.retries[pol.UID]
	if !ok || (!due.IsZero() && !st.due.Equal(due)) {
		return time.Time{}, false
	}
	return st.notBefore, true
}

func (s *SnapshotScheduler) scheduleRetry(pol *subv1.SubscriptionPolicy, due, now time.Time) time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.retries == nil {
		s.retries = map[types.UID]retryState{}
	}
	st := s.retries[pol.UID]
	if !st.due.Equal(due) {
		st = retryState{due: due}
	}
	backoff := minRetry << min(st.attempts, 16)
	st.attempts++
	st.notBefore = now.Add(min(backoff, maxRetry))
	s.retries[pol.UID] = st
	return st.notBefore
}

func (s *SnapshotScheduler) clearRetry(pol *subv1.SubscriptionPolicy) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.retries, pol.UID)
}

func earliest(a, b time.Time) time.Time {
	if a.IsZero() || (!b.IsZero() && b.Before(a)) {
		return b
	}
	return a
}
