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

package forecastapi

import (
	"errors"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"sigs.k8s.io/controller-runtime/pkg/metrics"
)

// requestDuration is the seed's http_request_duration_seconds; its
// UsageForecastSlow alert reads endpoint="/usage-forecast". The buckets start
// at 0.5 ms because the target p99 is 5 ms.
var requestDuration = registerHistogram(prometheus.NewHistogramVec(prometheus.HistogramOpts{
	Name:    "http_request_duration_seconds",
	Help:    "Latency of forecast API requests, by endpoint (/usage-forecast, /track-usage, /plans, other) and status code.",
	Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
}, []string{"endpoint", "code"}))

// registerHistogram registers h with controller-runtime's registry (served on
// the manager's metrics endpoint), reusing an identical collector already there.
func registerHistogram(h *prometheus.HistogramVec) *prometheus.HistogramVec {
	if err := metrics.Registry.Register(h); err != nil {
		if are, ok := errors.AsType[prometheus.AlreadyRegisteredError](err); ok {
			if existing, ok := are.ExistingCollector.(*prometheus.HistogramVec); ok {
				return existing
			}
		}
		panic(err)
	}
	return h
}

func observe(endpoint string, code int, d time.Duration) {
	requestDuration.WithLabelValues(endpoint, strconv.Itoa(code)).Observe(d.Seconds())
}
