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
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"

	subv1 "github.com/bakery-ia/subscription-operator/api/v1alpha1"
	"github.com/bakery-ia/subscription-operator/internal/kube"
	"github.com/bakery-ia/subscription-operator/internal/snapshot"
)

// trackRequest selects what to snapshot: one tenant (tenant_id, with
// namespace when the ID exists in several), or every tenant of a policy
// (policy and namespace).
type trackRequest struct {
	TenantID  string `json:"tenant_id"`
	Policy    string `json:"policy"`
	Namespace string `json:"namespace"`
}

// trackResponse summarises the run.
type trackResponse struct {
	Date          string   `json:"date"`
	Tenants       int      `json:"tenants"`
	Succeeded     int      `json:"succeeded"`
	Failed        int      `json:"failed"`
	FailedMetrics []string `json:"failed_metrics"`
	DurationMS    int64    `json:"duration_ms"`
}

// serveTrackUsage answers POST /api/v1/usage-forecast/track-usage.
func (s *Server) serveTrackUsage(w http.ResponseWriter, r *http.Request, c *caller) error {
	// Limited before anything else is read or asked: a flood costs neither
	// body parsing nor SubjectAccessReviews.
	if ok, wait := s.trackLimits.allow(callerKey(r, c), s.clock.Now()); !ok {
		e := newError(http.StatusTooManyRequests, CodeRateLimited,
			"too many track-usage requests from this caller; retry in %d s", retryAfter(wait))
		e.retry = retryAfter(wait)
		return e
	}
	req, err := decodeTrackRequest(w, r)
	if err != nil {
		return err
	}
	if s.snaps == nil {
		return newError(http.StatusNotImplemented, CodeTrackUsageDisabled, "this server was started without a snapshot runner")
	}
	ctx := r.Context()
	need := access{verb: "update", resource: resourceTenantUsages, subresource: "status"}

	var policyKey types.NamespacedName
	tenantID := req.TenantID
	if tenantID != "" {
		tu, err := s.findTenant(ctx, c, tenantID, req.Namespace, need)
		if err != nil {
			return err
		}
		if tu.Spec.Suspend {
			return newError(http.StatusConflict, CodeTenantSuspended,
				"tenant %q (TenantUsage %s/%s) has spec.suspend set; snapshots are off for it", tenantID, tu.Namespace, tu.Name)
		}
		policyKey = kube.PolicyKey(tu)
	} else {
		need.namespace = req.Namespace
		if err := s.authorize(ctx, c, need); err != nil {
			return err
		}
		policyKey = types.NamespacedName{Namespace: req.Namespace, Name: req.Policy}
	}
	// Answered here rather than after queuing behind a run.
	if _, err := s.policy(ctx, policyKey); err != nil {
		return err
	}

	// The run is detached from the request: a client that gives up does not
	// cut it in half (runs are idempotent per date, but a finished one is
	// better), and other callers may have joined it.
	run := s.runs.join(runScope{policy: policyKey, tenantID: tenantID})
	<-run.done
	res, runErr := run.res, run.err
	if runErr != nil {
		var ae *apiError
		if errors.As(runErr, &ae) {
			return ae
		}
		return &apiError{status: http.StatusInternalServerError, code: CodeSnapshotFailed,
			msg: "snapshot failed: " + runErr.Error(), cause: runErr}
	}
	body, err := marshal(trackResponse{
		Date: res.Date, Tenants: res.Tenants, Succeeded: res.Succeeded, Failed: res.Failed,
		FailedMetrics: res.FailedMetricNames(), DurationMS: res.Duration.Milliseconds(),
	})
	if err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, body)
	return nil
}

// runTrack is one track-usage run of a scope (see runJoiner): it reads the
// policy as it is when the run starts.
func (s *Server) runTrack(sc runScope) (snapshot.Result, error) {
	ctx, cancel := context.WithTimeout(context.Background(), trackWriteTimeout)
	defer cancel()
	policy, err := s.policy(ctx, sc.policy)
	if err != nil {
		return snapshot.Result{}, err
	}
	res, runErr := s.snaps.RunNow(ctx, policy, sc.tenantID)
	// History may have changed even when the run failed part-way.
	if sc.tenantID != "" {
		s.Invalidate(sc.tenantID)
	} else {
		s.InvalidateAll()
	}
	return res, runErr
}

// policy returns a deep copy of a policy from the cache (RunNow writes its
// status); 404 when it is missing.
func (s *Server) policy(ctx context.Context, key types.NamespacedName) (*subv1.SubscriptionPolicy, error) {
	policy := &subv1.SubscriptionPolicy{}
	if err := s.cache.Get(ctx, key, policy); err != nil {
		if apierrors.IsNotFound(err) {
			return nil, newError(http.StatusNotFound, CodePolicyNotFound, "no SubscriptionPolicy %q in namespace %q", key.Name, key.Namespace)
		}
		return nil, internalError(CodeInternal, "reading the policy from the cache", err)
	}
	return policy, nil
}

// callerKey identifies a caller for rate limiting: the authenticated user,
// or the client's address when auth is off.
func callerKey(r *http.Request, c *caller) string {
	if c != nil {
		return "user:" + c.user.Username
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	return "addr:" + host
}

// decodeTrackRequest reads the body, at most maxRequestBodyBytes of it (a
// larger one is a 413), and validates it (parseTrackBody).
func decodeTrackRequest(w http.ResponseWriter, r *http.Request) (trackRequest, error) {
	return parseTrackBody(http.MaxBytesReader(w, r.Body, maxRequestBodyBytes))
}

// parseTrackBody reads exactly one JSON object with either tenant_id or
// policy (policy needs namespace), every field valid.
func parseTrackBody(body io.Reader) (trackRequest, error) {
	var req trackRequest
	bad := func(format string, args ...any) (trackRequest, error) {
		return trackRequest{}, newError(http.StatusBadRequest, CodeInvalidBody, format, args...)
	}
	dec := json.NewDecoder(body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		if tooLarge := new(http.MaxBytesError); errors.As(err, &tooLarge) {
			return trackRequest{}, newError(http.StatusRequestEntityTooLarge, CodeBodyTooLarge, "body is over %d bytes", maxRequestBodyBytes)
		}
		if errors.Is(err, io.EOF) {
			return bad(`body is empty: send {"tenant_id": "..."} or {"policy": "...", "namespace": "..."}`)
		}
		return bad("body is not a valid request: %s", truncate(err.Error(), 200))
	}
	if err := dec.Decode(&struct{}{}); !errors.Is(err, io.EOF) {
		if tooLarge := new(http.MaxBytesError); errors.As(err, &tooLarge) {
			return trackRequest{}, newError(http.StatusRequestEntityTooLarge, CodeBodyTooLarge, "body is over %d bytes", maxRequestBodyBytes)
		}
		return bad("body must hold exactly one JSON object")
	}
	switch {
	case req.TenantID != "" && req.Policy != "":
		return bad("give either tenant_id or policy, not both")
	case req.TenantID != "":
		if err := checkTenantID(req.TenantID); err != nil {
			return trackRequest{}, err
		}
	case req.Policy != "":
		if req.Namespace == "" {
			return bad("namespace is required with policy")
		}
		if err := checkPolicyName(req.Policy); err != nil {
			return trackRequest{}, err
		}
	default:
		return bad(`tenant_id or policy is required: send {"tenant_id": "..."} or {"policy": "...", "namespace": "..."}`)
	}
	if err := checkNamespace(req.Namespace); err != nil {
		return trackRequest{}, err
	}
	return req, nil
}
