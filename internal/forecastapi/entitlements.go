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
	"k8s.io/apimachinery/pkg/types"
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

// Rendered entitlement bodies kept: about 2.5 KB each for nine metrics, so
// at most 20 MB; the TTL only turns entries over (a key never goes stale).
const (
	maxEntitlementBodies = 8192
	entitlementBodyTTL   = time.Minute
)

// bodyKey is everything a rendered view depends on.
type bodyKey struct {
	tenant        types.UID
	tenantVersion string
	policy        types.UID
	generation    int64
	lang, feature string
	calls         int64 // today's api_calls; -1 when not read
}

// renderedBody is a view's JSON with its ETag and Content-Language header
// values (one-element slices, assigned to responses as they are).
type renderedBody struct {
	body       []byte
	etag, lang []string
}

// counterTimeout bounds the one Redis read of a request.
const counterTimeout = time.Second

// CodeCountersUnavailable is the 503 of a request that needs today's
// api_calls count when Redis does not answer.
const CodeCountersUnavailable = "COUNTERS_UNAVAILABLE"

// entitlementNeed is what a caller needs to read a tenant's entitlements:
// the same as its forecast.
var entitlementNeed = access{verb: verbGet, resource: resourceTenantUsages}

func (s *Server) addEntitlementEndpoints(eps map[string]*endpoint) {
	s.entBodies = newTTLCache[bodyKey, renderedBody](maxEntitlementBodies)
	eps[PathEntitlements] = &endpoint{label: endpointEntitlements, method: http.MethodGet, timeout: defaultWriteTimeout, serve: s.serveEntitlements}
	eps[PathEntitlementCheck] = &endpoint{label: endpointCheck, method: http.MethodPost, timeout: defaultWriteTimeout, serve: s.serveEntitlementCheck}
}

// serveEntitlements answers GET /api/v1/entitlements?tenant_id=ID[&namespace=NS][&feature=F].
func (s *Server) serveEntitlements(w http.ResponseWriter, r *http.Request, c *caller) error {
	q, err := parseEntitlementsQuery(r.URL.RawQuery)
	if err != nil {
		return err
	}
	// The view shows today's api_calls count as the metric's current value,
	// so it is read whenever the policy counts api_calls, limit or not.
	in, key, err := s.entitlementInput(r, c, q.tenantID, q.namespace, countAlways)
	if err != nil {
		return err
	}
	key.feature = q.feature
	b, err := s.entitlementBody(in, key)
	if err != nil {
		return err
	}
	// The header values are the rendered body's and shared constants: see
	// sharedValue.
	hd := w.Header()
	hd["Etag"] = b.etag
	hd["Cache-Control"] = hdrPrivateNoCache
	hd["Vary"] = hdrVaryLanguage
	hd["Content-Language"] = b.lang
	if etagMatches(r.Header.Get("If-None-Match"), b.etag[0]) {
		w.WriteHeader(http.StatusNotModified)
		return nil
	}
	writeJSON(w, http.StatusOK, b.body)
	return nil
}

// Header values set on every entitlement answer. They are assigned to the
// header map directly, shared between responses: net/http only reads them,
// and Header.Add on a one-element slice copies it before appending.
var (
	hdrPrivateNoCache = []string{"private, no-cache"}
	hdrNoStore        = []string{"no-store"}
	hdrVaryLanguage   = []string{"Accept-Language"}
)

// entitlementBody renders a view, or reuses the body rendered from the same
// inputs: the TenantUsage and policy versions, the language, the feature
// asked and today's api_calls count are all in the key, so a reused body is
// byte for byte the one a new rendering would give.
func (s *Server) entitlementBody(in entitlement.Input, key bodyKey) (renderedBody, error) {
	now := s.clock.Now()
	if b, ok := s.entBodies.get(key, now); ok {
		return b, nil
	}
	v := entitlement.Evaluate(in)
	if key.feature != "" {
		v = v.Only(key.feature)
	}
	body, err := marshal(v)
	if err != nil {
		return renderedBody{}, err
	}
	h := fnv.New64a()
	_, _ = h.Write(body)
	b := renderedBody{body: body, etag: []string{`"` + strconv.FormatUint(h.Sum64(), 16) + `"`}, lang: []string{v.Language}}
	s.entBodies.put(key, b, now, entitlementBodyTTL)
	return b, nil
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

// serveEntitlementCheck answers POST /api/v1/entitlements/check. It
// evaluates only what the check reads (entitlement.CheckFeature and
// CheckAmount give the answers of the whole view), and reads today's
// api_calls count only when it can change the answer: a feature check or an
// api_calls check of a tenant whose api_calls are limited.
func (s *Server) serveEntitlementCheck(w http.ResponseWriter, r *http.Request, c *caller) error {
	req, err := parseCheckBody(http.MaxBytesReader(w, r.Body, maxCheckBodyBytes))
	if err != nil {
		return err
	}
	count := countNever
	if req.Feature != "" || req.Metric == policy.APICallsMetric {
		count = countIfLimited
	}
	in, _, err := s.entitlementInput(r, c, req.TenantID, req.Namespace, count)
	if err != nil {
		return err
	}
	var res entitlement.Check
	if req.Feature != "" {
		res = entitlement.CheckFeature(in, req.Feature)
	} else if res, err = entitlement.CheckAmount(in, req.Metric, *req.Amount); err != nil {
		return newError(http.StatusBadRequest, CodeInvalidParameter, "metric %q is not a metric of the tenant's policy", req.Metric)
	}
	body, err := marshal(res)
	if err != nil {
		return err
	}
	hd := w.Header()
	hd["Cache-Control"] = hdrNoStore
	hd["Vary"] = hdrVaryLanguage
	hd.Set("Content-Language", in.Lang)
	writeJSON(w, http.StatusOK, body)
	return nil
}

// countMode says when entitlementInput reads today's api_calls count.
type countMode int

const (
	countNever     countMode = iota // the answer does not depend on it
	countIfLimited                  // when the tenant's api_calls are limited (entitlement.NeedsDailyCount)
	countAlways                     // when the policy counts api_calls (a view shows the count)
)

// entitlementInput gathers what a view is made of: the caller's permission
// first (as findTenant decides it), then the policy and status from the
// informer cache, and at most one Redis read (today's api_calls) as count
// says. The key identifies everything the view depends on but the clock.
func (s *Server) entitlementInput(r *http.Request, c *caller, tenantID, ns string, count countMode) (entitlement.Input, bodyKey, error) {
	ctx := r.Context()
	tu, err := s.findTenant(ctx, c, tenantID, ns, entitlementNeed)
	if err != nil {
		return entitlement.Input{}, bodyKey{}, err
	}
	var pol subv1.SubscriptionPolicy
	key := kube.PolicyKey(tu)
	if err := s.cache.Get(ctx, key, &pol, client.UnsafeDisableDeepCopy); err != nil {
		if apierrors.IsNotFound(err) {
			return entitlement.Input{}, bodyKey{}, newError(http.StatusNotFound, CodePolicyNotFound,
				"tenant %q names SubscriptionPolicy %q, which does not exist in namespace %q", tenantID, key.Name, key.Namespace)
		}
		return entitlement.Input{}, bodyKey{}, internalError(CodeInternal, "reading the policy from the cache", err)
	}
	ce := s.compiledEntry(&pol)
	if ce.err != nil {
		return entitlement.Input{}, bodyKey{}, newError(http.StatusConflict, CodeInvalidPolicy, "SubscriptionPolicy %s/%s is invalid: %v", pol.Namespace, pol.Name, ce.err)
	}
	spec := ce.spec
	now := s.clock.Now()
	in := entitlement.Input{
		Spec: spec, Tenant: entitlement.TenantOf(tu), Status: tu.Status.Metrics,
		Now: now, Lang: ce.langs.Language(r.Header.Get("Accept-Language")),
	}
	bk := bodyKey{tenant: tu.UID, tenantVersion: tu.ResourceVersion, policy: pol.UID, generation: pol.Generation, lang: in.Lang, calls: -1}
	read := false
	switch count {
	case countAlways:
		read = hasMetric(spec, policy.APICallsMetric)
	case countIfLimited:
		read = entitlement.NeedsDailyCount(spec, in.Tenant)
	}
	if read && s.counters != nil {
		n, err := s.dailyAPICalls(ctx, tu.Spec.TenantID, spec.Today(now))
		if err != nil {
			return entitlement.Input{}, bodyKey{}, err
		}
		in.Counters = map[string]int64{policy.APICallsMetric: n}
		bk.calls = n
	}
	return in, bk, nil
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
