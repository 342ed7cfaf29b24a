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
	"context"
	"hash/fnv"
	"net/http"
	"strconv"
	"strings"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"

	subv1 "github.com/bakery-ia/subscription-operator/api/v1alpha1"
	"github.com/bakery-ia/subscription-operator/internal/entitlement"
	"github.com/bakery-ia/subscription-operator/internal/kube"
	"github.com/bakery-ia/subscription-operator/internal/policy"
)

// Paths of the entitlement endpoints.
const (
	PathEntitlements     = "/api/v1/entitlements"
	PathEntitlementCheck = "/api/v1/entitlements/check"
)

// Endpoint labels of http_request_duration_seconds.
const (
	endpointEntitlements = "/entitlements"
	endpointCheck        = "/entitlements/check"
)

// counterTimeout bounds the one Redis read of a request.
const counterTimeout = time.Second

// CodeCountersUnavailable is the 503 of a request that needs today's
// api_calls count when Redis does not answer.
const CodeCountersUnavailable = "COUNTERS_UNAVAILABLE"

// entitlementNeed is what a caller needs to read a tenant's entitlements:
// the same as its forecast.
var entitlementNeed = access{verb: verbGet, resource: resourceTenantUsages}

const verbGet = "get"

func (s *Server) addEntitlementEndpoints(eps map[string]*endpoint) {
	eps[PathEntitlements] = &endpoint{label: endpointEntitlements, method: http.MethodGet, timeout: defaultWriteTimeout, serve: s.serveEntitlements}
	eps[PathEntitlementCheck] = &endpoint{label: endpointCheck, method: http.MethodPost, timeout: defaultWriteTimeout, serve: s.serveEntitlementCheck}
}

// serveEntitlements answers GET /api/v1/entitlements?tenant_id=ID[&namespace=NS][&feature=F].
func (s *Server) serveEntitlements(w http.ResponseWriter, r *http.Request, c *caller) error {
	q, err := parseEntitlementsQuery(r.URL.RawQuery)
	if err != nil {
		return err
	}
	v, err := s.entitlements(r, c, q.tenantID, q.namespace, true)
	if err != nil {
		return err
	}
	if q.feature != "" {
		v = v.Only(q.feature)
	}
	body, err := marshal(v)
	if err != nil {
		return err
	}
	h := fnv.New64a()
	_, _ = h.Write(body)
	etag := `"` + strconv.FormatUint(h.Sum64(), 16) + `"`
	hd := w.Header()
	hd.Set("ETag", etag)
	hd.Set("Cache-Control", "private, no-cache")
	hd.Set("Vary", "Accept-Language")
	hd.Set("Content-Language", v.Language)
	if etagMatches(r.Header.Get("If-None-Match"), etag) {
		w.WriteHeader(http.StatusNotModified)
		return nil
	}
	writeJSON(w, http.StatusOK, body)
	return nil
}

// etagMatches implements If-None-Match's weak comparison over a list.
func etagMatches(header, etag string) bool {
	if header == "" {
		return false
	}
	for _, t := range strings.Split(header, ",") {
		t = strings.TrimPrefix(strings.TrimSpace(t), "W/")
		if t == "*" || t == etag {
			return true
		}
	}
	return false
}

// serveEntitlementCheck answers POST /api/v1/entitlements/check.
func (s *Server) serveEntitlementCheck(w http.ResponseWriter, r *http.Request, c *caller) error {
	req, err := parseCheckBody(http.MaxBytesReader(w, r.Body, maxCheckBodyBytes))
	if err != nil {
		return err
	}
	// Only the api_calls count lives in Redis: other metrics are answered
	// from the cache alone.
	needCount := req.Feature != "" || req.Metric == policy.APICallsMetric
	v, err := s.entitlements(r, c, req.TenantID, req.Namespace, needCount)
	if err != nil {
		return err
	}
	var res entitlement.Check
	if req.Feature != "" {
		res = v.CheckFeature(req.Feature)
	} else if res, err = v.CheckAmount(req.Metric, *req.Amount); err != nil {
		return newError(http.StatusBadRequest, CodeInvalidParameter, "metric %q is not a metric of the tenant's policy", req.Metric)
	}
	body, err := marshal(res)
	if err != nil {
		return err
	}
	hd := w.Header()
	hd.Set("Cache-Control", "no-store")
	hd.Set("Vary", "Accept-Language")
	hd.Set("Content-Language", v.Language)
	writeJSON(w, http.StatusOK, body)
	return nil
}

// entitlements evaluates a tenant's view: the caller's permission first (as
// findTenant decides it), then the policy and status from the informer
// cache, and at most one Redis read (today's api_calls) when count is set.
func (s *Server) entitlements(r *http.Request, c *caller, tenantID, ns string, count bool) (entitlement.View, error) {
	ctx := r.Context()
	tu, err := s.findTenant(ctx, c, tenantID, ns, entitlementNeed)
	if err != nil {
		return entitlement.View{}, err
	}
	var pol subv1.SubscriptionPolicy
	key := kube.PolicyKey(tu)
	if err := s.cache.Get(ctx, key, &pol, client.UnsafeDisableDeepCopy); err != nil {
		if apierrors.IsNotFound(err) {
			return entitlement.View{}, newError(http.StatusNotFound, CodePolicyNotFound,
				"tenant %q names SubscriptionPolicy %q, which does not exist in namespace %q", tenantID, key.Name, key.Namespace)
		}
		return entitlement.View{}, internalError(CodeInternal, "reading the policy from the cache", err)
	}
	spec, err := s.compiled(&pol)
	if err != nil {
		return entitlement.View{}, newError(http.StatusConflict, CodeInvalidPolicy, "SubscriptionPolicy %s/%s is invalid: %v", pol.Namespace, pol.Name, err)
	}
	now := s.clock.Now()
	var counters map[string]int64
	if count && s.counters != nil && hasMetric(spec, policy.APICallsMetric) {
		n, err := s.dailyAPICalls(ctx, tu.Spec.TenantID, spec.Today(now))
		if err != nil {
			return entitlement.View{}, err
		}
		counters = map[string]int64{policy.APICallsMetric: n}
	}
	return entitlement.Evaluate(entitlement.Input{
		Spec: spec, Tenant: entitlement.TenantOf(tu), Status: tu.Status.Metrics,
		Counters: counters, Now: now, Lang: s.negotiator(spec).Language(r.Header.Get("Accept-Language")),
	}), nil
}

func (s *Server) dailyAPICalls(ctx context.Context, tenantID, date string) (int64, error) {
	ctx, cancel := context.WithTimeout(ctx, counterTimeout)
	defer cancel()
	n, err := s.counters.DailyAPICalls(ctx, tenantID, date)
	if err != nil {
		e := internalError(CodeCountersUnavailable, "reading today's api_calls count", err)
		e.status, e.retry = http.StatusServiceUnavailable, 1
		return 0, e
	}
	return n, nil
}

func hasMetric(spec *policy.Spec, name string) bool {
	for _, m := range spec.Metrics {
		if m.Name == name {
			return true
		}
	}
	return false
}

// maxNegotiators bounds the matchers kept: one per distinct language list.
const maxNegotiators = 256

// negotiator returns the language matcher for a compiled policy's languages,
// built once per distinct list (policies rarely differ in them).
func (s *Server) negotiator(spec *policy.Spec) *entitlement.Negotiator {
	key := strings.Join(spec.Languages, ",")
	if v, ok := s.negotiators.Load(key); ok {
		return v.(*entitlement.Negotiator)
	}
	n := entitlement.NewNegotiator(spec.Languages)
	if s.negotiatorCount.Load() < maxNegotiators {
		if v, loaded := s.negotiators.LoadOrStore(key, n); loaded {
			return v.(*entitlement.Negotiator)
		}
		s.negotiatorCount.Add(1)
	}
	return n
}
