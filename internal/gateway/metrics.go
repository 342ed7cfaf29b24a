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

package gateway

import (
	"github.com/prometheus/client_golang/prometheus"
)

// Decision labels of gateway_requests_total.
const (
	LabelAllowed         = "allowed"          // gated route, tier high enough
	LabelUngated         = "ungated"          // no feature matched
	LabelUpgradeRequired = "upgrade_required" // 402
	LabelQuotaExceeded   = "quota_exceeded"   // 429
	LabelUnauthenticated = "unauthenticated"  // 401
	LabelUnavailable     = "unavailable"      // 503: no rule table yet (fail closed) or no JWT key
	LabelFailOpen        = "fail_open"        // no rule table yet, let through (fail open)
	LabelBadRequest      = "bad_request"      // 400: an ambiguous request target (see internal/httppath)
)

var decisionLabels = []string{LabelAllowed, LabelUngated, LabelUpgradeRequired, LabelQuotaExceeded,
	LabelUnauthenticated, LabelUnavailable, LabelFailOpen, LabelBadRequest}

// Metrics are the gateway's Prometheus metrics.
type Metrics struct {
	Requests       *prometheus.CounterVec
	Upgrade        *prometheus.CounterVec
	Duration       *prometheus.HistogramVec
	Generation     prometheus.Gauge
	LastReload     prometheus.Gauge
	Swaps          prometheus.Counter
	Dropped        prometheus.Counter
	ReloadFailures prometheus.Counter
	ForecastReads  *prometheus.CounterVec

	// Pre-resolved children, indexed by Outcome label, so the request path does
	// no label hashing.
	requests map[string]prometheus.Counter
	duration map[string]prometheus.Observer
}

// NewMetrics creates the metrics and registers them with reg (nil: not registered).
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		Requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gateway_requests_total",
			Help: "Requests decided by the gateway (proxy and forward-auth), by decision.",
		}, []string{"decision"}),
		Upgrade: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gateway_upgrade_required_total",
			Help: "402 answers, by feature, the caller's tier and the tier the feature needs.",
		}, []string{"feature", "current_tier", "required_tier"}),
		Duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "gateway_request_duration_seconds",
			Help:    "Time from request to response, including the upstream for proxied requests, by decision.",
			Buckets: []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"decision"}),
		Generation: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "gateway_rule_table_generation",
			Help: "metadata.generation of the SubscriptionPolicy the rule table in force was compiled from.",
		}),
		LastReload: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "gateway_rule_table_last_reload_timestamp_seconds",
			Help: "Unix time of the last rule table swap (policy or TenantUsage change).",
		}),
		Swaps: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "gateway_rule_table_swaps_total",
			Help: "Rule table swaps: policy changes and TenantUsage changes that bind a tenant differently (a status write does not swap).",
		}),
		Dropped: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "gateway_usage_counter_dropped_total",
			Help: "API calls counted by the gateway that could not be written to Redis and are lost.",
		}),
		ReloadFailures: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "gateway_rule_table_reload_failures_total",
			Help: "Policy changes that did not compile; the previous rule table stays in force.",
		}),
		ForecastReads: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gateway_forecast_reads_total",
			Help: "Forecasts a tenant's entitlements or usage page asked for, by result: cached (the kept read is current), read (from the API server), failed or limited (answered without the forecast).",
		}, []string{"result"}),
		requests: map[string]prometheus.Counter{},
		duration: map[string]prometheus.Observer{},
	}
	for _, l := range decisionLabels {
		m.requests[l] = m.Requests.WithLabelValues(l)
		m.duration[l] = m.Duration.WithLabelValues(l)
	}
	if reg != nil {
		reg.MustRegister(m.Requests, m.Upgrade, m.Duration, m.Generation, m.LastReload, m.Swaps, m.Dropped, m.ReloadFailures, m.ForecastReads)
	}
	return m
}
