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
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"
	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/bakery-ia/subscription-operator/internal/history"
	"github.com/bakery-ia/subscription-operator/internal/snapshot"
	"github.com/bakery-ia/subscription-operator/internal/usage"
)

// Config is what the controllers need from the outside world.
type Config struct {
	// Clock is injected so tests can move time; production uses clock.RealClock.
	Clock clock.WithDelayedExecution
	// Redis holds the history and the daily counters.
	Redis redis.UniversalClient
	// Postgres runs metric and discovery queries; nil disables them (they report errors).
	Postgres *pgxpool.Pool
	// StatementTimeout bounds each metric query (default 30 s).
	StatementTimeout time.Duration
	// Gateway manages the bundled gateway; nil leaves gateways alone.
	Gateway GatewayManager
	// GatewayOwned are the object types the gateway manager creates, watched so drift is corrected.
	GatewayOwned []client.Object
	// Notifications turns webhook notifications on (outbox in Redis, a
	// delivery worker on the leader); nil leaves them off.
	Notifications *NotificationsConfig
	// AfterRunForecasts, when set, is called when the forecasts of a
	// snapshot run's tenants have all but been written (Prefetch.Finished).
	AfterRunForecasts func()
}

// Components are the wired reconcilers, exposed for the forecast API and tests.
type Components struct {
	Policies  *PolicyReconciler
	Forecasts *ForecastReconciler
	Snapshots *SnapshotScheduler
	History   *history.Store
	// Notifications is nil when Config.Notifications is.
	Notifications *Notifications
}

// The forecast API (a manager Runnable wired in cmd/manager) authenticates
// callers with TokenReview and authorises them with SubjectAccessReview.
// +kubebuilder:rbac:groups=authentication.k8s.io,resources=tokenreviews,verbs=create
// +kubebuilder:rbac:groups=authorization.k8s.io,resources=subjectaccessreviews,verbs=create

// Setup registers the controllers with the manager. Call kube.SetupIndexes first.
func Setup(mgr ctrl.Manager, cfg Config) (*Components, error) {
	if cfg.StatementTimeout == 0 {
		cfg.StatementTimeout = 30 * time.Second
	}
	rec := mgr.GetEventRecorder("subscription-operator")
	store := history.New(cfg.Redis)
	runner := &snapshot.Runner{
		Redis:   usage.NewRedisCounters(cfg.Redis),
		History: store,
		Clock:   cfg.Clock,
	}
	var discovery *Discovery
	if cfg.Postgres != nil {
		pg := usage.NewPostgres(cfg.Postgres, cfg.StatementTimeout)
		runner.Postgres = pg
		discovery = &Discovery{Client: mgr.GetClient(), Source: pg, Recorder: rec}
	}
	var notifications *Notifications
	if cfg.Notifications != nil {
		var err error
		if notifications, err = newNotifications(mgr, cfg.Redis, *cfg.Notifications); err != nil {
			return nil, err
		}
	}
	forecastWakeups := NewWakeups(cfg.Clock)
	prefetch := &Prefetch{Reader: store, Recorder: rec, Finished: cfg.AfterRunForecasts}
	forecasts := &ForecastReconciler{
		Client: mgr.GetClient(), Clock: cfg.Clock, Recorder: rec, History: store, Wakeups: forecastWakeups,
		Notifications: notifications, Prefetch: prefetch,
	}
	policyWakeups := NewWakeups(cfg.Clock)
	snapshots := &SnapshotScheduler{
		Client: mgr.GetClient(), Clock: cfg.Clock, Recorder: rec, Runner: runner,
		Forecasts: forecastWakeups, Policies: policyWakeups, Prefetch: prefetch,
	}
	policies := &PolicyReconciler{
		Client: mgr.GetClient(), Clock: cfg.Clock, Recorder: rec, Snapshots: snapshots,
		Discovery: discovery, Gateway: cfg.Gateway, Wakeups: policyWakeups,
		Notifications: notifications,
	}
	if err := forecasts.SetupWithManager(mgr); err != nil {
		return nil, fmt.Errorf("setting up tenantusage controller: %w", err)
	}
	if err := policies.SetupWithManager(mgr, cfg.GatewayOwned...); err != nil {
		return nil, fmt.Errorf("setting up subscriptionpolicy controller: %w", err)
	}
	return &Components{Policies: policies, Forecasts: forecasts, Snapshots: snapshots, History: store, Notifications: notifications}, nil
}
