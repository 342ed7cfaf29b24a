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
	"bytes"
	"context"
	"encoding/json"
	"hash/fnv"
	"math"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	subv1 "github.com/bakery-ia/subscription-operator/api/v1alpha1"
	"github.com/bakery-ia/subscription-operator/internal/history"
	"github.com/bakery-ia/subscription-operator/internal/kube"
)

// forecastEntry is a rendered body and what it was rendered from.
type forecastEntry struct {
	resourceVersion string // of the TenantUsage
	historyVersion  uint64 // responseCache.version of the tenant
	today           string // the trend window's last day
	body            []byte
	etag            string
}

// responseCache holds rendered forecast bodies per TenantUsage. An entry is
// used only while the TenantUsage resourceVersion, the tenant's history
// version (bumped by Invalidate) and today's date are those it was rendered
// from, and for at most ttl: the TTL bounds staleness when history changes
// without anyone calling Invalidate (a usage-tracker run outside the manager).
type responseCache struct {
	ttl     time.Duration
	entries *ttlCache[types.NamespacedName, forecastEntry]

	mu       sync.RWMutex
	versions map[string]uint64 // tenant ID -> invalidations
	global   atomic.Uint64     // InvalidateAll calls
}

func newResponseCache(ttl time.Duration, maxEntries int) *responseCache {
	return &responseCache{ttl: ttl, entries: newTTLCache[types.NamespacedName, forecastEntry](maxEntries), versions: map[string]uint64{}}
}

// version changes whenever the tenant's history may have changed: both
// counters only grow, so their sum does too.
func (c *responseCache) version(tenantID string) uint64 {
	c.mu.RLock()
	v := c.versions[tenantID]
	c.mu.RUnlock()
	return v + c.global.Load()
}

func (c *responseCache) invalidate(tenantID string) {
	c.mu.Lock()
	c.versions[tenantID]++
	c.mu.Unlock()
}

func (c *responseCache) invalidateAll() { c.global.Add(1) }

// serveForecast answers GET /api/v1/usage-forecast?tenant_id=ID[&namespace=NS].
func (s *Server) serveForecast(w http.ResponseWriter, r *http.Request, c *caller) error {
	id, ns, err := parseForecastQuery(r.URL.RawQuery)
	if err != nil {
		return err
	}
	ctx := r.Context()
	tu, err := s.findTenant(ctx, c, id, ns, access{verb: "get", resource: resourceTenantUsages})
	if err != nil {
		return err
	}
	e, err := s.forecast(ctx, tu)
	if err != nil {
		return err
	}
	h := w.Header()
	h.Set("ETag", e.etag)
	h.Set("Cache-Control", "private, no-cache")
	if inm := r.Header.Get("If-None-Match"); inm != "" && (inm == "*" || strings.Contains(inm, e.etag)) {
		w.WriteHeader(http.StatusNotModified)
		return nil
	}
	writeJSON(w, http.StatusOK, e.body)
	return nil
}

// forecast returns the tenant's rendered body, from the cache when current.
func (s *Server) forecast(ctx context.Context, tu *subv1.TenantUsage) (forecastEntry, error) {
	key := types.NamespacedName{Namespace: tu.Namespace, Name: tu.Name}
	version := s.responses.version(tu.Spec.TenantID) // read before rendering: a later Invalidate wins
	today := s.today(ctx, tu)
	now := s.clock.Now()
	if e, ok := s.responses.entries.get(key, now); ok &&
		e.resourceVersion == tu.ResourceVersion && e.historyVersion == version && e.today == today {
		return e, nil
	}
	body, err := s.renderForecast(ctx, tu, today)
	if err != nil {
		return forecastEntry{}, err
	}
	h := fnv.New64a()
	_, _ = h.Write(body)
	e := forecastEntry{
		resourceVersion: tu.ResourceVersion, historyVersion: version, today: today,
		body: body, etag: `"` + strconv.FormatUint(h.Sum64(), 16) + `"`,
	}
	s.responses.entries.put(key, e, now, s.responses.ttl)
	return e, nil
}

// today is the current date in the time zone of the tenant's policy, the zone
// history dates are stored in (UTC when the policy is missing or invalid: the
// policy controller reports an invalid one).
func (s *Server) today(ctx context.Context, tu *subv1.TenantUsage) string {
	now := s.clock.Now()
	var pol subv1.SubscriptionPolicy
	if err := s.cache.Get(ctx, kube.PolicyKey(tu), &pol, client.UnsafeDisableDeepCopy); err != nil {
		return now.UTC().Format(time.DateOnly)
	}
	spec, err := s.compiled(&pol)
	if err != nil {
		return now.UTC().Format(time.DateOnly)
	}
	return spec.Today(now)
}

// renderForecast builds the seed's JSON from the status and the history store.
func (s *Server) renderForecast(ctx context.Context, tu *subv1.TenantUsage, today string) ([]byte, error) {
	st := &tu.Status
	names := make([]string, len(st.Metrics))
	for i := range st.Metrics {
		names[i] = st.Metrics[i].Metric
	}
	var trends map[string][]history.Point
	if len(names) > 0 {
		var err error
		if trends, err = s.history.Read(ctx, tu.Spec.TenantID, names, today, s.trendDays); err != nil {
			return nil, internalError(CodeHistoryUnavailable, "reading the usage history", err)
		}
	}
	return renderForecastJSON(tu, trends), nil
}

// parseDecimal parses a status decimal string; ok is false when absent or not
// a finite number.
func parseDecimal(s *string) (float64, bool) {
	if s == nil {
		return 0, false
	}
	v, err := strconv.ParseFloat(strings.TrimSpace(*s), 64)
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
		return 0, false
	}
	return v, true
}

// oneDecimal renders a percentage with exactly one decimal ("70" -> 70.0), as
// the seed does; nil when absent or not a number.
func oneDecimal(s *string) *json.Number { return number(appendOneDecimal(nil, s)) }

// pythonFloat renders a number as the seed's Python service did (a float
// always has a fraction: 2 -> 2.0, 0.5 -> 0.5), shortest exact form.
func pythonFloat(s *string) *json.Number { return number(appendPythonFloat(nil, s)) }

func number(b []byte) *json.Number {
	if string(b) == "null" {
		return nil
	}
	n := json.Number(b)
	return &n
}

// appendOneDecimal appends oneDecimal's rendering, or null.
func appendOneDecimal(b []byte, s *string) []byte {
	v, ok := parseDecimal(s)
	if !ok {
		return append(b, "null"...)
	}
	return strconv.AppendFloat(b, v, 'f', 1, 64)
}

// appendPythonFloat appends pythonFloat's rendering, or null.
func appendPythonFloat(b []byte, s *string) []byte {
	v, ok := parseDecimal(s)
	if !ok {
		return append(b, "null"...)
	}
	start := len(b)
	b = strconv.AppendFloat(b, v, 'f', -1, 64)
	if !bytes.ContainsRune(b[start:], '.') {
		b = append(b, ".0"...)
	}
	return b
}
