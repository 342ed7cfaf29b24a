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
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/events"
	clocktesting "k8s.io/utils/clock/testing"

	subv1 "github.com/bakery-ia/subscription-operator/api/v1alpha1"
	"github.com/bakery-ia/subscription-operator/internal/snapshot"
)

// TestRecordRedisRetries: a run that rode through a Redis failover is a
// success, and still tells the user: a Warning Event, the retries metric,
// and the condition message. A run without retries raises no such Warning.
func TestRecordRedisRetries(t *testing.T) {
	rec := events.NewFakeRecorder(10)
	s := &SnapshotScheduler{Clock: clocktesting.NewFakePassiveClock(time.Date(2026, 3, 11, 2, 0, 0, 0, time.UTC)), Recorder: rec}
	pol := &subv1.SubscriptionPolicy{ObjectMeta: metav1.ObjectMeta{Namespace: "retries-ns", Name: "p"}}
	res := snapshot.Result{Date: "2026-03-11", Tenants: 2000, Metrics: 9, Succeeded: 2000, Duration: 6 * time.Second,
		Retries: 17, LastFault: errors.New("dial tcp 127.0.0.1:7001: connect: connection refused"), FailedMetrics: map[string]error{}}
	o := s.record(context.Background(), pol, res, nil)
	if o.reason != "SnapshotRecorded" || !strings.Contains(o.message, "after 17 Redis retries (last fault: dial tcp 127.0.0.1:7001") {
		t.Errorf("outcome %s: %q", o.reason, o.message)
	}
	if got := testutil.ToFloat64(snapshotRedisRetries.WithLabelValues("retries-ns/p")); got != 17 {
		t.Errorf("subscription_snapshot_redis_retries_total = %v, want 17", got)
	}
	var warned bool
	for len(rec.Events) > 0 {
		if e := <-rec.Events; strings.HasPrefix(e, "Warning SnapshotRedisRetried ") && strings.Contains(e, "retried 17 Redis round trips") {
			warned = true
		}
	}
	if !warned {
		t.Error("no SnapshotRedisRetried Warning Event")
	}

	res.Retries, res.LastFault = 0, nil
	s.record(context.Background(), pol, res, nil)
	for len(rec.Events) > 0 {
		if e := <-rec.Events; strings.Contains(e, "SnapshotRedisRetried") {
			t.Errorf("a run without retries raised %q", e)
		}
	}
}
