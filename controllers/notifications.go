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
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/redis/go-redis/v9"
	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/metrics"
	"sigs.k8s.io/controller-runtime/pkg/source"

	subv1 "github.com/bakery-ia/subscription-operator/api/v1alpha1"
	"github.com/bakery-ia/subscription-operator/internal/notify"
)

// Notification Secrets are read with get only, uncached, through the API
// reader: list or watch would let the manager read (and keep in memory)
// every Secret of the cluster, and a policy names the two it needs. The
// price is that a rotated Secret is picked up at the policy's next
// reconcile (an edit, an annotation, a sink health change, the daily
// snapshot tick or the informer resync), not the moment it changes.
// +kubebuilder:rbac:groups="",resources=secrets,verbs=get

// notifyMetrics are subscription_notifications_total{sink,event,result} and
// subscription_notification_sink_consecutive_failures{sink}, registered once
// for the process like the other metrics of this package.
var notifyMetrics = func() *notify.Metrics {
	m, err := notify.NewMetrics(nil)
	if err != nil {
		panic(err)
	}
	metrics.Registry.MustRegister(m.Notifications, m.ConsecutiveFailures)
	return m
}()

// DefaultFailingAfter is how many failed attempts in a row make a sink
// failing (NotificationsHealthy=False, a Warning Event). The PrometheusRule
// SubscriptionNotificationSinkFailing uses the same number.
const DefaultFailingAfter = 5

// NotificationsConfig turns webhook notifications on. Delivery uses the
// notify defaults: Svix's retry schedule, a 15 s timeout, a 1 s poll.
type NotificationsConfig struct {
	// Clock times deliveries and retries (nil: the real clock). Tests pass a
	// fake clock to walk through the retry schedule.
	Clock clock.Clock
	// FailingAfter is how many failed attempts in a row make a sink failing
	// (0: DefaultFailingAfter).
	FailingAfter int64
}

// Notifications connects internal/notify to the controllers: the tenant
// controller feeds it forecasts, the policy controller resolves sinks and
// reports their health, and its worker delivers on the leader.
type Notifications struct {
	Outbox   *notify.Outbox
	Notifier *notify.Notifier
	Worker   *notify.Worker

	reader       client.Reader
	failingAfter int64
	sinks        sinkRegistry

	healthMu sync.Mutex
	health   map[string]sinkHealth

	// announced is the last sink state announced as an Event, by sink id.
	announcedMu sync.Mutex
	announced   map[string]announcement
	changed     chan event.TypedGenericEvent[*subv1.SubscriptionPolicy]
}

// newNotifications builds the outbox, notifier and worker, and adds the
// worker to mgr as a leader-only runnable.
func newNotifications(mgr ctrl.Manager, rdb redis.UniversalClient, cfg NotificationsConfig) (*Notifications, error) {
	clk := cfg.Clock
	if clk == nil {
		clk = clock.RealClock{}
	}
	n := &Notifications{
		Outbox:       notify.NewOutbox(rdb, clk),
		reader:       mgr.GetAPIReader(),
		failingAfter: cfg.FailingAfter,
		health:       map[string]sinkHealth{},
		announced:    map[string]announcement{},
		changed:      make(chan event.TypedGenericEvent[*subv1.SubscriptionPolicy], 64),
	}
	if n.failingAfter <= 0 {
		n.failingAfter = DefaultFailingAfter
	}
	n.Notifier = notify.NewNotifier(rdb, n.Outbox)
	n.Notifier.Metrics = notifyMetrics
	w := notify.NewWorker(n.Outbox, n.sinks.all)
	w.Metrics = notifyMetrics
	w.OnStatus = n.sinkStatusSeen
	// The worker is a LeaderElectionRunnable (NeedLeaderElection true), so
	// the manager starts it only once elected; IsLeader is checked again
	// before every claim.
	elected := mgr.Elected()
	w.IsLeader = func() bool {
		select {
		case <-elected:
			return true
		default:
			return false
		}
	}
	n.Worker = w
	if err := mgr.Add(w); err != nil {
		return nil, fmt.Errorf("adding the notification worker: %w", err)
	}
	return n, nil
}

// announcement is what Events already said about a sink.
type announcement struct {
	failing bool
	expired int64
	invalid string
}

// sinkHealth is what makes a sink's status worth refreshing in the policy.
type sinkHealth struct {
	failing, failed, delivered bool
	expired                    int64
}

// sinkStatusSeen is the worker's OnStatus hook: when a sink's health
// changes it asks the policy controller to refresh the policy's status.
// Per-delivery changes (every success moves lastSuccess) do not, or a busy
// sink would rewrite its policy after every batch.
func (n *Notifications) sinkStatusSeen(st notify.SinkStatus) {
	h := sinkHealth{
		failing: st.ConsecutiveFailures >= n.failingAfter, failed: st.ConsecutiveFailures > 0,
		delivered: st.LastSuccess != nil, expired: st.Expired,
	}
	n.healthMu.Lock()
	defer n.healthMu.Unlock()
	if old, seen := n.health[st.Sink]; seen && old == h {
		return
	}
	parts := strings.SplitN(st.Sink, "/", 3)
	if len(parts) != 3 {
		return
	}
	pol := &subv1.SubscriptionPolicy{}
	pol.Namespace, pol.Name = parts[0], parts[1]
	// Never block the worker. The new health is remembered only when the
	// refresh was queued, so a refresh dropped on a full channel is asked
	// for again after the next pass.
	select {
	case n.changed <- event.TypedGenericEvent[*subv1.SubscriptionPolicy]{Object: pol}:
		n.health[st.Sink] = h
	default:
	}
}

// source is the policy controller's watch on sink health changes.
func (n *Notifications) source() source.Source {
	return source.Channel(n.changed, &handler.TypedEnqueueRequestForObject[*subv1.SubscriptionPolicy]{})
}

// sinkRegistry holds the resolved sinks of every policy, for the worker.
type sinkRegistry struct {
	mu sync.RWMutex
	// configured: every sink id a policy declares; resolved: those whose
	// Secrets could be read (only these are delivered to).
	configured map[client.ObjectKey][]string
	resolved   map[client.ObjectKey][]notify.Sink
}

// set records a policy's sinks and returns the ids it no longer declares.
// changed reports whether the resolved sinks differ from before.
func (s *sinkRegistry) set(key client.ObjectKey, configured []string, resolved []notify.Sink) (removed []string, changed bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.configured == nil {
		s.configured, s.resolved = map[client.ObjectKey][]string{}, map[client.ObjectKey][]notify.Sink{}
	}
	for _, id := range s.configured[key] {
		if !slices.Contains(configured, id) {
			removed = append(removed, id)
		}
	}
	changed = !sameSinks(s.resolved[key], resolved)
	if len(configured) == 0 {
		delete(s.configured, key)
		delete(s.resolved, key)
	} else {
		s.configured[key], s.resolved[key] = configured, resolved
	}
	return removed, changed
}

// sameSinks compares by id and URL; a Secret change re-resolves the same
// sink and needs no wake-up (the next pass uses it).
func sameSinks(a, b []notify.Sink) bool {
	return slices.EqualFunc(a, b, func(x, y notify.Sink) bool { return x.ID == y.ID && x.URL == y.URL })
}

func (s *sinkRegistry) all() []notify.Sink {
	s.mu.RLock()
	defer s.mu.RUnlock()
	var out []notify.Sink
	for _, ss := range s.resolved {
		out = append(out, ss...)
	}
	// A stable order, so every pass visits the sinks the same way.
	slices.SortFunc(out, func(a, b notify.Sink) int { return strings.Compare(a.ID, b.ID) })
	return out
}
