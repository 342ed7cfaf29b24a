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
	"errors"
	"net/http"
	"strconv"
	"time"

	subv1 "github.com/bakery-ia/subscription-operator/api/v1alpha1"
)

// Shared, read-only header values (assigning them avoids allocations).
var (
	hdrJSON      = []string{"application/json; charset=utf-8"}
	hdrVary      = []string{"Accept-Language"}
	hdrNoStore   = []string{"no-store"}
	hdrNosniff   = []string{"nosniff"}
	hdrClose     = []string{"close"}
	hdrRetry1    = []string{"1"}
	hdrBearer    = []string{`Bearer realm="gateway"`}
	hdrBearerBad = []string{`Bearer realm="gateway", error="invalid_token"`}
)

// Headers of the nginx adapter's 403 (ingress-nginx drops auth response bodies).
const (
	HeaderErrorCode      = "X-Error-Code"
	HeaderUpgradeFeature = "X-Upgrade-Required-Feature"
	HeaderUpgradeURL     = "X-Upgrade-Url"
	HeaderRequiredTier   = "X-Required-Tier"
	HeaderCurrentTier    = "X-Current-Tier"
	HeaderTenantID       = "X-Tenant-Id"
	HeaderTenantTier     = "X-Tenant-Tier"
	HeaderUsageLimit     = "X-Usage-Limit"
	HeaderUsageResetsAt  = "X-Usage-Resets-At"
)

type writeMode uint8

const (
	modeFull  writeMode = iota // proxy, Traefik, Envoy: status and body reach the client
	modeNginx                  // ingress-nginx: only 401/403 survive, bodies are dropped
)

// writeDenied writes the answer of a decision that is not Allow.
func (g *Gateway) writeDenied(w http.ResponseWriter, r *http.Request, d *Decision, mode writeMode) {
	h := w.Header()
	h["Content-Type"] = hdrJSON
	h["Vary"] = hdrVary
	h["Cache-Control"] = hdrNoStore
	h["X-Content-Type-Options"] = hdrNosniff
	accept := ""
	if v := r.Header["Accept-Language"]; len(v) > 0 {
		accept = v[0]
	}
	switch d.Outcome {
	case UpgradeRequired:
		lang := d.st.r.neg.pick(accept)
		resp := d.st.r.upgrade[d.Feature.Index][d.rank][lang]
		d.st.r.upgradeCounters[d.Feature.Index][d.rank].Inc()
		status := resp.status
		if mode == modeNginx {
			status = http.StatusForbidden
			h[HeaderErrorCode] = []string{CodeUpgradeRequired}
			h[HeaderUpgradeFeature] = []string{d.Feature.Name}
			h[HeaderRequiredTier] = []string{d.Feature.MinimumTier}
			h[HeaderCurrentTier] = []string{d.Tier}
			h[HeaderUpgradeURL] = resp.upgradeURL
		}
		writeBody(w, h, status, resp.language, resp.contentLength, resp.body)
	case QuotaExceeded:
		lang := d.st.r.neg.pick(accept)
		t := d.st.r.quota[d.rank][lang]
		resets := d.resetsAt.Format(time.RFC3339)
		body := t.render(make([]byte, 0, 1024), d.used, d.limit, d.retryAfter, resets)
		h["Retry-After"] = []string{strconv.FormatInt(d.retryAfter, 10)}
		status := http.StatusTooManyRequests
		if mode == modeNginx {
			status = http.StatusForbidden
			h[HeaderErrorCode] = []string{CodeQuotaExceeded}
			h[HeaderUpgradeFeature] = []string{"api_calls"}
			h[HeaderCurrentTier] = []string{d.Tier}
			h[HeaderUsageLimit] = []string{strconv.FormatInt(d.limit, 10)}
			h[HeaderUsageResetsAt] = []string{resets}
			if t.upgradeTier != nil {
				h[HeaderRequiredTier] = t.upgradeTier
				h[HeaderUpgradeURL] = t.upgradeURL
			}
		}
		writeBody(w, h, status, t.language, []string{strconv.Itoa(len(body))}, body)
	case Unauthenticated:
		resp := g.errs.unauthenticated[g.errs.neg.pick(accept)]
		if d.st != nil && d.st.table.Identity.From == subv1.IdentityJWTClaim {
			if d.authErr != nil && !errors.Is(d.authErr, errNoToken) {
				h["Www-Authenticate"] = hdrBearerBad
			} else {
				h["Www-Authenticate"] = hdrBearer
			}
		}
		if mode == modeNginx {
			h[HeaderErrorCode] = []string{CodeIdentityRequired}
		}
		writeBody(w, h, resp.status, resp.language, resp.contentLength, resp.body)
	default: // Unavailable
		resp := g.errs.unavailable[g.errs.neg.pick(accept)]
		h["Retry-After"] = hdrRetry1
		if mode == modeNginx {
			h[HeaderErrorCode] = []string{CodeRulesUnavailable}
		}
		writeBody(w, h, resp.status, resp.language, resp.contentLength, resp.body)
	}
}

func writeBody(w http.ResponseWriter, h http.Header, status int, lang, length []string, body []byte) {
	h["Content-Language"] = lang
	h["Content-Length"] = length
	w.WriteHeader(status)
	_, _ = w.Write(body)
}
