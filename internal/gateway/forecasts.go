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
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/sync/singleflight"
	"golang.org/x/time/rate"
	"k8s.io/utils/lru"

	subv1 "github.com/bakery-ia/subscription-operator/api/v1alpha1"
	"github.com/bakery-ia/subscription-operator/internal/policy"
)

// Results of gateway_forecast_reads_total.
const (
	forecastCached  = "cached"  // the last read is the object's current version
	forecastRead    = "read"    // read from the API server
	forecastFailed  = "failed"  // the read failed: answered without the forecast
	forecastLimited = "limited" // over the read rate: answered without the forecast
)

// Defaults of the forecast reader (Watcher.ForecastCache, ForecastReads).
const (
	DefaultForecastCache = 4096
	DefaultForecastReads = 50 // per second, per gateway pod
	// forecastReadTimeout bounds one read: the answer is served without the
	// forecast after it.
	forecastReadTimeout = 2 * time.Second
)

// getTenantUsage reads one TenantUsage of the gateway's namespace by name.
type getTenantUsage func(ctx context.Context, name string) (*subv1.TenantUsage, error)

// forecastReader gives a tenant's entitlements and usage page the forecast
// of its TenantUsage. The informer keeps only bindings (CompactTenantBinding):
// every gateway pod holds every tenant of its namespace, while the forecast is
// shown only to the tenant itself and only when it asks, so it is read from
// the API server then, and the last read of the most recently asked tenants
// is kept. A kept read is used while it is the version the informer last
// saw (same resourceVersion), so a status write is shown at the next request
// without any expiry time, and a tenant reloading its page costs no read.
//
// Reads are bounded per pod (a token bucket, and one read per object version
// however many requests wait for it): a flood of requests for many tenants
// cannot turn into a flood on the API server. A request over the bound, or
// whose read fails, is answered without the forecast: the tier, limits and
// offers do not depend on it.
type forecastReader struct {
	get     getTenantUsage
	kept    *lru.Cache // object name -> *TenantRecord with its status
	limiter *rate.Limiter
	flight  singleflight.Group
	reads   map[string]prometheus.Counter
	log     *slog.Logger
}

func newForecastReader(get getTenantUsage, size int, perSecond float64, m *Metrics, log *slog.Logger) *forecastReader {
	burst := max(1, int(2*perSecond))
	fr := &forecastReader{
		get: get, kept: lru.New(size), limiter: rate.NewLimiter(rate.Limit(perSecond), burst),
		reads: map[string]prometheus.Counter{}, log: log,
	}
	for _, l := range []string{forecastCached, forecastRead, forecastFailed, forecastLimited} {
		fr.reads[l] = m.ForecastReads.WithLabelValues(l)
	}
	return fr
}

// record is bound (the tenant's binding in t, as the informer has it) with
// the status of the same object, or bound itself when the status cannot be
// had. It never returns another tenant's record: what was read is used only
// when it still is tn's binding in t.
func (fr *forecastReader) record(ctx context.Context, t *policy.Table, tn *policy.Tenant, bound *TenantRecord) *TenantRecord {
	if v, ok := fr.kept.Get(bound.Name); ok {
		if rec := v.(*TenantRecord); rec.ResourceVersion == bound.ResourceVersion {
			fr.reads[forecastCached].Inc()
			return rec
		}
	}
	// One read per object version, whoever asks; the read runs on its own
	// deadline so that one caller going away does not fail the others.
	ch := fr.flight.DoChan(bound.Name+"\x00"+bound.ResourceVersion, func() (any, error) {
		if !fr.limiter.Allow() {
			return nil, errLimited
		}
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), forecastReadTimeout)
		defer cancel()
		tu, err := fr.get(rctx, bound.Name)
		if err != nil {
			return nil, fmt.Errorf("reading TenantUsage %s: %w", bound.Name, err)
		}
		rec := NewTenantRecord(tu)
		fr.kept.Add(bound.Name, rec)
		return rec, nil
	})
	var res singleflight.Result
	select {
	case res = <-ch:
	case <-ctx.Done():
		return bound
	}
	switch {
	case errors.Is(res.Err, errLimited):
		fr.reads[forecastLimited].Inc()
		return bound
	case res.Err != nil:
		fr.reads[forecastFailed].Inc()
		fr.log.Warn("answering without the forecast", "tenant", tn.ID, "error", res.Err)
		return bound
	}
	fr.reads[forecastRead].Inc()
	rec := res.Val.(*TenantRecord)
	// The object may have changed since the table bound it (a rebuild is
	// then on its way): its status is shown only while it is still tn's.
	if !rec.boundTo(t, tn) {
		return bound
	}
	return rec
}

var errLimited = errors.New("over the forecast read rate")
