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
	"github.com/prometheus/client_golang/prometheus"
	"sigs.k8s.io/controller-runtime/pkg/metrics"
)

// Metric names are contracts: the PrometheusRule alerts in config/prometheus use them.
var (
	snapshotRuns = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "subscription_snapshot_runs_total",
		Help: "Snapshot runs by policy and result (success, partial, failed, missed).",
	}, []string{labelPolicy, "result"})
	snapshotDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "subscription_snapshot_duration_seconds",
		Help:    "Duration of snapshot runs.",
		Buckets: []float64{0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120},
	}, []string{labelPolicy})
	snapshotLastSuccess = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "subscription_snapshot_last_success_timestamp_seconds",
		Help: "Unix time of the last snapshot run that recorded every metric.",
	}, []string{labelPolicy})
	statusWrites = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "subscription_tenant_status_writes_total",
		Help: "TenantUsage status writes by the forecast controller (one per tenant whose status changed).",
	})
	discoveryRejected = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "subscription_discovery_rejected_rows",
		Help: "Rows of the last tenant discovery pass that could not become TenantUsage objects (invalid tenant ID, undeclared tier).",
	}, []string{labelPolicy})
	prefetchReads = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "subscription_history_prefetch_total",
		Help: "After a snapshot run: forecasts that used history read ahead in a batch (hit), read their own while a read-ahead was active (miss), and read-ahead batches that failed (failed).",
	}, []string{"result"})
	tenantsByStatus = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "subscription_tenants",
		Help: "TenantUsage objects by policy and worst forecast status.",
	}, []string{labelPolicy, "status"})
)

func init() {
	metrics.Registry.MustRegister(snapshotRuns, snapshotDuration, snapshotLastSuccess, statusWrites, discoveryRejected, tenantsByStatus, prefetchReads)
}

// labelPolicy is the metrics label holding "namespace/name" of a policy.
const labelPolicy = "policy"

// Snapshot run results, the "result" label of subscription_snapshot_runs_total.
const (
	resultSuccess = "success"
	resultPartial = "partial"
	resultFailed  = "failed"
	resultMissed  = "missed"
)

// Results of subscription_history_prefetch_total.
const (
	prefetchHit    = "hit"
	prefetchMiss   = "miss"
	prefetchFailed = "failed"
)
