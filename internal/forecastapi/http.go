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
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/bakery-ia/subscription-operator/internal/policy"
)

// Error codes: the "code" of an error body.
const (
	CodeUnauthenticated    = "UNAUTHENTICATED"      // 401
	CodeForbidden          = "FORBIDDEN"            // 403
	CodeInvalidTenantID    = "INVALID_TENANT_ID"    // 400
	CodeInvalidParameter   = "INVALID_PARAMETER"    // 400
	CodeInvalidBody        = "INVALID_BODY"         // 400
	CodeAmbiguousTenant    = "AMBIGUOUS_TENANT"     // 400: pass namespace
	CodeAmbiguousPolicy    = "AMBIGUOUS_POLICY"     // 400: pass namespace
	CodeTenantNotFound     = "TENANT_NOT_FOUND"     // 404
	CodePolicyNotFound     = "POLICY_NOT_FOUND"     // 404
	CodeNotFound           = "NOT_FOUND"            // 404: unknown path
	CodeMethodNotAllowed   = "METHOD_NOT_ALLOWED"   // 405
	CodeTenantSuspended    = "TENANT_SUSPENDED"     // 409
	CodeBodyTooLarge       = "BODY_TOO_LARGE"       // 413
	CodeRateLimited        = "RATE_LIMITED"         // 429
	CodeInvalidPolicy      = "INVALID_POLICY"       // 409: the policy is Stalled (InvalidSpec)
	CodeSnapshotFailed     = "SNAPSHOT_FAILED"      // 500
	CodeInternal           = "INTERNAL"             // 500
	CodeTrackUsageDisabled = "TRACK_USAGE_DISABLED" // 501
	CodeAuthUnavailable    = "AUTH_UNAVAILABLE"     // 503
	CodeHistoryUnavailable = "HISTORY_UNAVAILABLE"  // 503
)

// Endpoint label values of http_request_duration_seconds.
const (
	endpointForecast = "/usage-forecast"
	endpointTrack    = "/track-usage"
	endpointPlans    = "/plans"
	endpointOther    = "other"
)

// apiError is an error answered as {"error": msg, "code": code}.
type apiError struct {
	status int
	code   string
	msg    string
	allow  string // Allow header of a 405
	retry  int64  // Retry-After seconds of a 429 or 503 (0: none)
	cause  error  // logged for 5xx, never sent
}

func (e *apiError) Error() string { return e.msg }

func newError(status int, code, format string, args ...any) *apiError {
	return &apiError{status: status, code: code, msg: fmt.Sprintf(format, args...)}
}

func internalError(code, msg string, cause error) *apiError {
	status := http.StatusInternalServerError
	if code == CodeAuthUnavailable || code == CodeHistoryUnavailable {
		status = http.StatusServiceUnavailable
	}
	return &apiError{status: status, code: code, msg: msg + ": " + cause.Error(), cause: cause}
}

// errorBody is the JSON of every error.
type errorBody struct {
	Error string `json:"error"`
	Code  string `json:"code"`
}

type endpoint struct {
	label   string
	method  string
	timeout time.Duration
	serve   func(w http.ResponseWriter, r *http.Request, c *caller) error
}

func (s *Server) routes() http.Handler {
	eps := map[string]*endpoint{
		PathForecast:   {label: endpointForecast, method: http.MethodGet, timeout: defaultWriteTimeout, serve: s.serveForecast},
		PathTrackUsage: {label: endpointTrack, method: http.MethodPost, timeout: trackWaitTimeout, serve: s.serveTrackUsage},
		PathPlans:      {label: endpointPlans, method: http.MethodGet, timeout: defaultWriteTimeout, serve: s.servePlans},
		PathUsagePage:  {label: endpointUsagePage, method: http.MethodGet, timeout: defaultWriteTimeout, serve: s.serveUsagePage},
	}
	s.addEntitlementEndpoints(eps)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &statusRecorder{ResponseWriter: w}
		// One spelling per endpoint: the path as sent (EscapedPath keeps
		// %2F, %2e and friends), matched exactly. "//", dot segments and
		// encodings are unknown paths (404), never redirected.
		ep := eps[r.URL.EscapedPath()]
		label := endpointOther
		if ep != nil {
			label = ep.label
		}
		defer func() { observe(label, rec.code(), time.Since(start)) }()

		var err error
		switch {
		case ep == nil:
			err = newError(http.StatusNotFound, CodeNotFound, "no endpoint %q; see %s, %s and %s", truncate(r.URL.EscapedPath(), 80), PathForecast, PathTrackUsage, PathPlans)
		case r.Method != ep.method:
			e := newError(http.StatusMethodNotAllowed, CodeMethodNotAllowed, "%s does not allow %q; use %s", r.URL.Path, truncate(r.Method, 20), ep.method)
			e.allow = ep.method
			err = e
		default:
			// The server's WriteTimeout is the longest any endpoint needs;
			// shorten it for the quick ones.
			_ = http.NewResponseController(w).SetWriteDeadline(start.Add(ep.timeout))
			var c *caller
			if c, err = s.authenticate(r); err == nil {
				err = ep.serve(rec, r, c)
			}
		}
		if err != nil {
			s.writeError(rec, r, err)
		}
	})
}

// writeError answers err as JSON; anything but an *apiError is a 500.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	var ae *apiError
	if !errors.As(err, &ae) {
		ae = internalError(CodeInternal, "internal error", err)
	}
	if ae.status >= 500 {
		s.log.Error(ae.cause, "request failed", "method", truncate(r.Method, 20), "path", truncate(r.URL.EscapedPath(), 200), "status", ae.status, "code", ae.code)
	}
	h := w.Header()
	switch ae.status {
	case http.StatusUnauthorized:
		h.Set("WWW-Authenticate", `Bearer realm="subscription-operator forecast API"`)
	case http.StatusMethodNotAllowed:
		h.Set("Allow", ae.allow)
	}
	if ae.retry > 0 {
		h.Set("Retry-After", strconv.FormatInt(ae.retry, 10))
	}
	body, _ := json.Marshal(errorBody{Error: ae.msg, Code: ae.code})
	h.Set("Cache-Control", "no-store")
	writeJSON(w, ae.status, body)
}

// writeJSON writes a JSON body with its length (and a final newline).
func writeJSON(w http.ResponseWriter, status int, body []byte) {
	h := w.Header()
	h["Content-Type"] = hdrJSON // shared values: see hdrPrivateNoCache
	h.Set("Content-Length", strconv.Itoa(len(body)+1))
	h["X-Content-Type-Options"] = hdrNosniff
	w.WriteHeader(status)
	_, _ = w.Write(body)
	_, _ = w.Write(newline)
}

var (
	hdrJSON    = []string{"application/json"}
	hdrNosniff = []string{"nosniff"}
	newline    = []byte{'\n'}
)

// marshal renders v as the body of a 200.
func marshal(v any) ([]byte, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, internalError(CodeInternal, "encoding response", err)
	}
	return b, nil
}

// statusRecorder remembers the status code for the latency histogram.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *statusRecorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	return r.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the connection.
func (r *statusRecorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

func (r *statusRecorder) code() int {
	if r.status == 0 {
		return http.StatusOK
	}
	return r.status
}

// parseQuery parses a raw query strictly: a malformed one (bad percent
// escape, a ';' separator) is a 400 rather than silently losing parameters,
// as url.URL.Query would.
func parseQuery(raw string) (url.Values, error) {
	q, err := url.ParseQuery(raw)
	if err != nil {
		return nil, newError(http.StatusBadRequest, CodeInvalidParameter, "the query string is malformed: %s", truncate(err.Error(), 120))
	}
	return q, nil
}

// parseForecastQuery reads tenant_id and namespace of GET usage-forecast.
func parseForecastQuery(raw string) (tenantID, namespace string, err error) {
	q, err := parseQuery(raw)
	if err != nil {
		return "", "", err
	}
	if tenantID, err = param(q, "tenant_id"); err != nil {
		return "", "", err
	}
	if err := checkTenantID(tenantID); err != nil {
		return "", "", err
	}
	if namespace, err = param(q, "namespace"); err != nil {
		return "", "", err
	}
	if err := checkNamespace(namespace); err != nil {
		return "", "", err
	}
	return tenantID, namespace, nil
}

// parsePlansQuery reads namespace and policy (default policy.DefaultPolicyName) of GET plans.
func parsePlansQuery(raw string) (namespace, name string, err error) {
	q, err := parseQuery(raw)
	if err != nil {
		return "", "", err
	}
	if namespace, err = param(q, "namespace"); err != nil {
		return "", "", err
	}
	if err := checkNamespace(namespace); err != nil {
		return "", "", err
	}
	if name, err = param(q, "policy"); err != nil {
		return "", "", err
	}
	if name == "" {
		name = policy.DefaultPolicyName
	}
	if err := checkPolicyName(name); err != nil {
		return "", "", err
	}
	return namespace, name, nil
}

// param returns the single value of a query parameter ("" when absent).
func param(q url.Values, name string) (string, error) {
	vs := q[name]
	switch len(vs) {
	case 0:
		return "", nil
	case 1:
		return vs[0], nil
	default:
		return "", newError(http.StatusBadRequest, CodeInvalidParameter, "%s is given %d times; give it once", name, len(vs))
	}
}

// checkTenantID validates a tenant ID: a DNS label, as spec.tenantID.
func checkTenantID(id string) error {
	if id == "" {
		return newError(http.StatusBadRequest, CodeInvalidTenantID, "tenant_id is required")
	}
	if errs := validation.IsDNS1123Label(id); len(errs) > 0 {
		return newError(http.StatusBadRequest, CodeInvalidTenantID, "tenant_id %q is not valid: %s", truncate(id, 80), errs[0])
	}
	return nil
}

// checkNamespace validates an optional namespace (a DNS label).
func checkNamespace(ns string) error {
	if ns == "" {
		return nil
	}
	if errs := validation.IsDNS1123Label(ns); len(errs) > 0 {
		return newError(http.StatusBadRequest, CodeInvalidParameter, "namespace %q is not valid: %s", truncate(ns, 80), errs[0])
	}
	return nil
}

// checkPolicyName validates a SubscriptionPolicy name (a DNS subdomain).
func checkPolicyName(name string) error {
	if errs := validation.IsDNS1123Subdomain(name); len(errs) > 0 {
		return newError(http.StatusBadRequest, CodeInvalidParameter, "policy %q is not valid: %s", truncate(name, 80), errs[0])
	}
	return nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}
