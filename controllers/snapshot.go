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
	"sort"
	"sync"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/events"
	"k8s.io/utils/clock"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log"

	subv1 "github.com/bakery-ia/subscription-operator/api/v1alpha1"
	"github.com/bakery-ia/subscription-operator/internal/schedule"
	"github.com/bakery-ia/subscription-operator/internal/snapshot"
)

// Retry backoff for failed or partial runs: doubling from minRetry, capped at
// maxRetry, and never past the next scheduled run (which supersedes the retry).
const (
	minRetry = 5 * time.Second
	maxRetry = 10 * time.Minute
)

// SnapshotScheduler decides when a policy's snapshot is due, runs it (one run
// per policy at a time), records the outcome, and tells the forecast controller
// which tenants have new history.
type SnapshotScheduler struct {
	Client   client.Client
	Clock    clock.PassiveClock
	Recorder events.EventRecorder
	Runner   *snapshot.Runner
	// Forecasts is told about tenants whose history changed.
	Forecasts *Wakeups
	// HistoryWritten, when set, is called with the tenant IDs of every run
	// that wrote history (complete or partial), scheduled, retried or run
	// now. The manager points it at the forecast API's response cache so a
	// snapshot is served at once rather than when the cache TTL ends. Set it
	// before the manager starts.
	HistoryWritten func(tenantIDs []string)

	mu      sync.Mutex
	running map[types.UID]*sync.Mutex // one run per policy, also across the forecast API's "run now"
	retries map[types.UID]retryState
}

type retryState struct {
	due       time.Time // the scheduled run being retried
	attempts  int
	notBefore time.Time
}

// policyKey is the policy label value in metrics: namespace/name.
func policyKey(p *subv1.SubscriptionPolicy) string { return p.Namespace + "/" + p.Name }

// Reconcile runs the due snapshot, if any, and returns the next scheduled time
// (or an earlier retry time).
func (s *SnapshotScheduler) Reconcile(ctx context.Context, policy *subv1.SubscriptionPolicy, sched *schedule.Schedule, discovery *Discovery) (time.Time, error) {
	now := s.Clock.Now()
	last := policy.CreationTimestamp.Time
	if policy.Status.LastScheduleTime != nil {
		last = policy.Status.LastScheduleTime.Time
	}
	deadline := time.Duration(0)
	if d := policy.Spec.Snapshot.StartingDeadlineSeconds; d != nil {
		deadline = time.Duration(*d) * time.Second
	}
	plan := sched.Plan(last, now, deadline)
	policy.Status.NextSnapshotTime = &metav1.Time{Time: plan.Next}

	if plan.Due.IsZero() {
		if !plan.TooLate.IsZero() {
			// Never run a stale day: report it once and move the identity on.
			msg := fmt.Sprintf("snapshot scheduled for %s was missed by more than startingDeadlineSeconds and is skipped",
				plan.TooLate.Format(time.RFC3339))
			warn(s.Recorder, policy, "SnapshotMissed", "Snapshot", msg)
			snapshotRuns.WithLabelValues(policyKey(policy), resultMissed).Add(float64(max(plan.Missed, 1)))
			policy.Status.LastScheduleTime = &metav1.Time{Time: plan.TooLate}
		}
		s.clearRetry(policy)
		return plan.Next, nil
	}
	if at, waiting := s.retryAt(policy, plan.Due); waiting && now.Before(at) {
		return earliest(at, plan.Next), nil
	}
	if plan.Missed > 0 {
		snapshotRuns.WithLabelValues(policyKey(policy), resultMissed).Add(float64(plan.Missed))
	}

	var discovered map[string]bool
	if discovery != nil && policy.Spec.TenantDiscovery != nil {
		var err error
		if discovered, err = discovery.Sync(ctx, policy); err != nil {
			// Discovery is best effort: the snapshot still covers the tenants we know.
			warn(s.Recorder, policy, "DiscoveryFailed", "Discover", err.Error())
			log.FromContext(ctx).Error(err, "tenant discovery failed")
		}
	}

	res, err := s.runFor(ctx, policy, sched.DateOf(plan.Due), "", discovered)
	if err == nil && !res.Partial() {
		s.clearRetry(policy)
		policy.Status.LastScheduleTime = &metav1.Time{Time: plan.Due}
		return plan.Next, nil
	}
	// Failed or partial: keep LastScheduleTime so the same run (same date) is
	// retried; writes are idempotent per (tenant, metric, date).
	retry := s.scheduleRetry(policy, plan.Due, now)
	return earliest(retry, plan.Next), nil
}

// RunNow runs a snapshot immediately for the policy (or for one tenant of it),
// under today's date in the policy's zone. It is what the forecast API's
// track-usage endpoint calls; it does not move the schedule.
func (s *SnapshotScheduler) RunNow(ctx context.Context, policy *subv1.SubscriptionPolicy, tenantID string) (snapshot.Result, error) {
	sched, err := PolicySchedule(policy)
	if err != nil {
		return snapshot.Result{}, err
	}
	before := policy.DeepCopy()
	res, runErr := s.runFor(ctx, policy, sched.DateOf(s.Clock.Now()), tenantID, nil)
	if tenantID == "" {
		if err := s.Client.Status().Patch(ctx, policy, client.MergeFrom(before)); err != nil {
			return res, fmt.Errorf("patching status: %w", err)
		}
	}
	return res, runErr
}

// runFor does one run and records it in status, metrics and Events. only
// limits it to one tenant; discovered (when discovery ran) is the set of active
// tenants in the database, authoritative for the tenants discovery manages.
func (s *SnapshotScheduler) runFor(ctx context.Context, policy *subv1.SubscriptionPolicy, date, only string, discovered map[string]bool) (snapshot.Result, error) {
	lock := s.lockFor(policy.UID)
	lock.Lock()
	defer lock.Unlock()

	tenants, err := TenantsOfPolicy(ctx, s.Client, policy)
	if err != nil {
		return snapshot.Result{}, err
	}
	ids := ActiveTenants(tenants, only, discovered)
	if only != "" && len(ids) == 0 {
		return snapshot.Result{}, fmt.Errorf("tenant %q is not an active tenant of policy %s", only, policyKey(policy))
	}
	res, err := s.Runner.Run(ctx, SnapshotRequest(policy, ids, date))
	s.record(ctx, policy, res, err)
	if err == nil {
		s.nudgeForecasts(policy, tenants, ids)
		if s.HistoryWritten != nil {
			s.HistoryWritten(ids)
		}
	}
	return res, err
}

// record puts the outcome into status, the SnapshotSucceeded condition, an
// Event and the metrics.
func (s *SnapshotScheduler) record(ctx context.Context, policy *subv1.SubscriptionPolicy, res snapshot.Result, err error) {
	key := policyKey(policy)
	snapshotDuration.WithLabelValues(key).Observe(res.Duration.Seconds())
	gen := policy.Generation
	switch {
	case err != nil:
		snapshotRuns.WithLabelValues(key, resultFailed).Inc()
		setCondition(&policy.Status.Conditions, gen, subv1.ConditionSnapshotSucceeded, metav1.ConditionFalse, "SnapshotFailed", err.Error())
		warn(s.Recorder, policy, "SnapshotFailed", "Snapshot", err.Error())
		log.FromContext(ctx).Error(err, "snapshot failed; will retry", "date", res.Date)
		return
	case res.Partial():
		snapshotRuns.WithLabelValues(key, resultPartial).Inc()
		setCondition(&policy.Status.Conditions, gen, subv1.ConditionSnapshotSucceeded, metav1.ConditionFalse, "PartialSnapshot", res.Summary())
		warn(s.Recorder, policy, "SnapshotPartial", "Snapshot", res.Summary())
	default:
		snapshotRuns.WithLabelValues(key, resultSuccess).Inc()
		snapshotLastSuccess.WithLabelValues(key).Set(float64(s.Clock.Now().Unix()))
		setCondition(&policy.Status.Conditions, gen, subv1.ConditionSnapshotSucceeded, metav1.ConditionTrue, "SnapshotRecorded", res.Summary())
		normal(s.Recorder, policy, "SnapshotRecorded", "Snapshot", res.Summary())
	}
	policy.Status.LastSnapshot = &subv1.SnapshotRun{
		Time:           metav1.Time{Time: s.Clock.Now()},
		Date:           res.Date,
		Tenants:        int32(res.Tenants),
		Succeeded:      int32(res.Succeeded),
		Failed:         int32(res.Failed),
		DurationMillis: res.Duration.Milliseconds(),
		FailedMetrics:  res.FailedMetricNames(),
	}
}

// nudgeForecasts asks the forecast controller to recompute every tenant the run
// recorded. Tenants that discovery has just created are named by their tenant
// ID, which is also their object name.
func (s *SnapshotScheduler) nudgeForecasts(policy *subv1.SubscriptionPolicy, tenants []subv1.TenantUsage, ids []string) {
	byID := make(map[string]*subv1.TenantUsage, len(tenants))
	for i := range tenants {
		byID[tenants[i].Spec.TenantID] = &tenants[i]
	}
	for _, id := range ids {
		tu := byID[id]
		if tu == nil {
			tu = &subv1.TenantUsage{ObjectMeta: metav1.ObjectMeta{Name: id, Namespace: policy.Namespace}}
		}
		s.Forecasts.Now(tu)
	}
}

// ActiveTenants are the tenant IDs a run covers: not suspended, not marked
// missing by discovery, plus tenants discovery just created (the cache may not
// have them yet). Sorted, so runs are deterministic.
func ActiveTenants(tenants []subv1.TenantUsage, only string, discovered map[string]bool) []string {
	set := map[string]bool{}
	known := map[string]bool{}
	for i := range tenants {
		tu := &tenants[i]
		known[tu.Spec.TenantID] = true
		managed := tu.Labels[subv1.LabelManagedBy] == discoveryManager
		switch {
		case tu.Spec.Suspend:
		case managed && discovered != nil && !discovered[tu.Spec.TenantID]:
		case managed && discovered == nil && tu.Labels[subv1.LabelDiscoveryState] == subv1.DiscoveryMissing:
		default:
			set[tu.Spec.TenantID] = true
		}
	}
	for id := range discovered {
		if !known[id] {
			set[id] = true
		}
	}
	ids := make([]string, 0, len(set))
	for id := range set {
		if only == "" || id == only {
			ids = append(ids, id)
		}
	}
	sort.Strings(ids)
	return ids
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
func (s *SnapshotScheduler) retryAt(policy *subv1.SubscriptionPolicy, due time.Time) (time.Time, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	st, ok := s.retries[policy.UID]
	if !ok || (!due.IsZero() && !st.due.Equal(due)) {
		return time.Time{}, false
	}
	return st.notBefore, true
}

func (s *SnapshotScheduler) scheduleRetry(policy *subv1.SubscriptionPolicy, due, now time.Time) time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.retries == nil {
		s.retries = map[types.UID]retryState{}
	}
	st := s.retries[policy.UID]
	if !st.due.Equal(due) {
		st = retryState{due: due}
	}
	backoff := minRetry << min(st.attempts, 16)
	st.attempts++
	st.notBefore = now.Add(min(backoff, maxRetry))
	s.retries[policy.UID] = st
	return st.notBefore
}

func (s *SnapshotScheduler) clearRetry(policy *subv1.SubscriptionPolicy) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.retries, policy.UID)
}

// SnapshotRequest is the run of policy for the tenants on date (YYYY-MM-DD in
// the policy's zone); Redis counters are read for the day before, the last
// complete day.
func SnapshotRequest(policy *subv1.SubscriptionPolicy, tenantIDs []string, date string) snapshot.Request {
	req := snapshot.Request{
		Date:          date,
		CounterDate:   previousDate(date),
		RetentionDays: int(policy.Spec.Snapshot.RetentionDays),
		Metrics:       snapshotMetrics(policy),
		Tenants:       tenantIDs,
	}
	if req.RetentionDays == 0 {
		req.RetentionDays = 60
	}
	return req
}

func snapshotMetrics(policy *subv1.SubscriptionPolicy) []snapshot.Metric {
	out := make([]snapshot.Metric, 0, len(policy.Spec.Metrics))
	for _, m := range policy.Spec.Metrics {
		sm := snapshot.Metric{Name: m.Name}
		if m.Postgres != nil {
			sm.PostgresQuery = m.Postgres.Query
		} else if m.RedisCounter != nil {
			sm.RedisKeyPattern = m.RedisCounter.KeyPattern
		}
		out = append(out, sm)
	}
	return out
}

// previousDate is the calendar day before date (YYYY-MM-DD).
func previousDate(date string) string {
	t, err := time.Parse(time.DateOnly, date)
	if err != nil {
		return date
	}
	return t.AddDate(0, 0, -1).Format(time.DateOnly)
}

func earliest(a, b time.Time) time.Time {
	if a.IsZero() || (!b.IsZero() && b.Before(a)) {
		return b
	}
	return a
}
