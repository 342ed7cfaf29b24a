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
	"io"
	"net/http"
	"regexp"

	"github.com/bakery-ia/subscription-operator/internal/entitlement"
)

// maxCheckBodyBytes bounds a check's body: four short fields fit in far less.
const maxCheckBodyBytes = 4 << 10

// nameRE is what a feature or metric name may be: the CRD's patterns, loosely
// (a name the policy lacks is answered, not refused, for features).
var nameRE = regexp.MustCompile(`^[a-z][a-z0-9_-]{0,62}$`)

// entitlementsQuery is GET /api/v1/entitlements?tenant_id=ID[&namespace=NS][&feature=F].
type entitlementsQuery struct {
	tenantID, namespace, feature string
}

func parseEntitlementsQuery(raw string) (entitlementsQuery, error) {
	var e entitlementsQuery
	q, err := parseQuery(raw)
	if err != nil {
		return e, err
	}
	for name := range q {
		switch name {
		case "tenant_id", "namespace", "feature":
		default:
			return e, newError(http.StatusBadRequest, CodeInvalidParameter, "unknown parameter %q; use tenant_id, namespace and feature", truncate(name, 40))
		}
	}
	if e.tenantID, err = param(q, "tenant_id"); err != nil {
		return e, err
	}
	if err := checkTenantID(e.tenantID); err != nil {
		return e, err
	}
	if e.namespace, err = param(q, "namespace"); err != nil {
		return e, err
	}
	if err := checkNamespace(e.namespace); err != nil {
		return e, err
	}
	if e.feature, err = param(q, "feature"); err != nil {
		return e, err
	}
	if _, given := q["feature"]; given {
		if err := checkName("feature", e.feature); err != nil {
			return e, err
		}
	}
	return e, nil
}

// checkRequest is the body of POST /api/v1/entitlements/check: a feature, or
// a metric with an amount (default 1).
type checkRequest struct {
	TenantID  string `json:"tenant_id"`
	Namespace string `json:"namespace"`
	Feature   string `json:"feature"`
	Metric    string `json:"metric"`
	Amount    *int64 `json:"amount"`
}

// parseCheckBody reads exactly one JSON object with tenant_id and either
// feature or metric (amount only with metric), every field valid.
func parseCheckBody(body io.Reader) (checkRequest, error) {
	var req checkRequest
	bad := func(format string, args ...any) (checkRequest, error) {
		return checkRequest{}, newError(http.StatusBadRequest, CodeInvalidBody, format, args...)
	}
	tooLarge := func(err error) bool { mb := new(http.MaxBytesError); return errors.As(err, &mb) }
	dec := json.NewDecoder(body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		switch {
		case tooLarge(err):
			return checkRequest{}, newError(http.StatusRequestEntityTooLarge, CodeBodyTooLarge, "body is over %d bytes", maxCheckBodyBytes)
		case errors.Is(err, io.EOF):
			return bad(`body is empty: send {"tenant_id": "...", "feature": "..."} or {"tenant_id": "...", "metric": "...", "amount": N}`)
		}
		return bad("body is not a valid check: %s", truncate(err.Error(), 200))
	}
	if err := dec.Decode(&struct{}{}); !errors.Is(err, io.EOF) {
		if tooLarge(err) {
			return checkRequest{}, newError(http.StatusRequestEntityTooLarge, CodeBodyTooLarge, "body is over %d bytes", maxCheckBodyBytes)
		}
		return bad("body must hold exactly one JSON object")
	}
	if err := checkTenantID(req.TenantID); err != nil {
		return checkRequest{}, err
	}
	if err := checkNamespace(req.Namespace); err != nil {
		return checkRequest{}, err
	}
	switch {
	case req.Feature != "" && req.Metric != "":
		return bad("give either feature or metric, not both")
	case req.Feature != "":
		if req.Amount != nil {
			return bad("amount goes with metric, not with feature")
		}
		if err := checkName("feature", req.Feature); err != nil {
			return checkRequest{}, err
		}
	case req.Metric != "":
		if err := checkName("metric", req.Metric); err != nil {
			return checkRequest{}, err
		}
		if req.Amount == nil {
			one := int64(1)
			req.Amount = &one
		}
		if a := *req.Amount; a < 0 || a > entitlement.MaxAmount {
			return bad("amount %d is outside 0..%d", a, entitlement.MaxAmount)
		}
	default:
		return bad("feature or metric is required")
	}
	return req, nil
}

func checkName(what, v string) error {
	if !nameRE.MatchString(v) {
		return newError(http.StatusBadRequest, CodeInvalidParameter, "%s %q is not a valid name (lower-case letters, digits, - and _, at most 63)", what, truncate(v, 80))
	}
	return nil
}
