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

// The decision core shared by the proxy and the forward-auth adapters.

import (
	"net/http"
	"time"

	subv1 "github.com/bakery-ia/subscription-operator/api/v1alpha1"
	"github.com/bakery-ia/subscription-operator/internal/policy"
)

// Outcome is what the gateway does with a request.
type Outcome uint8

// Outcomes.
const (
	Allow           Outcome = iota // pass to the upstream
	UpgradeRequired                // 402
	QuotaExceeded                  // 429
	Unauthenticated                // 401
	Unavailable                    // 503
)

// Decision is the result of Decide.
type Decision struct {
	Outcome Outcome
	// Label is the gateway_requests_total decision label.
	Label string
	// Tenant and Tier of the caller when identified ("" otherwise).
	Tenant, Tier string
	// Feature of the route (nil: ungated).
	Feature *policy.Feature

	st         *state
	rank       int
	used       int64
	limit      int64
	retryAfter int64
	resetsAt   time.Time
	authErr    error
}

// Decide is the decision core shared by the proxy and every forward-auth
// adapter: route -> feature -> minimum tier against the tenant's tier, then
// the daily api_calls quota. An admitted request of an identified tenant is
// counted.
func (g *Gateway) Decide(method, path string, h http.Header) Decision {
	st := g.cur.Load()
	if st == nil {
		if g.failOpen.Load() {
			return Decision{Outcome: Allow, Label: LabelFailOpen}
		}
		return Decision{Outcome: Unavailable, Label: LabelUnavailable}
	}
	d := Decision{st: st}
	f, pathTenant, gated := st.table.Match(method, path)
	if gated {
		d.Feature = f
	}

	if st.table.Identity.From == subv1.IdentityJWTClaim && st.verifier == nil && gated {
		// The key could not be read: nobody can be identified.
		if st.table.FailOpen {
			d.Outcome, d.Label = Allow, LabelFailOpen
		} else {
			d.Outcome, d.Label = Unavailable, LabelUnavailable
		}
		return d
	}
	var tenant string
	tenant, d.authErr = g.identify(st, pathTenant, h)
	if tenant == "" {
		if gated {
			d.Outcome, d.Label = Unauthenticated, LabelUnauthenticated
			return d
		}
		d.Outcome, d.Label = Allow, LabelUngated
		return d
	}

	d.Tenant = tenant
	tn, known := st.table.Tenant(tenant)
	if !known {
		tn = &st.r.lowest
	}
	d.Tier, d.rank, d.limit = tn.Tier, tn.Rank, tn.APICallsLimit
	if gated && d.rank < f.MinRank {
		d.Outcome, d.Label = UpgradeRequired, LabelUpgradeRequired
		return d
	}
	now := g.clock.Now()
	day := st.r.day.at(now)
	ok, used := g.counter.Admit(tenant, day.date, d.limit)
	if !ok {
		d.Outcome, d.Label, d.used = QuotaExceeded, LabelQuotaExceeded, used
		d.retryAfter, d.resetsAt = day.retryAfter(now), day.midnight
		return d
	}
	d.Outcome = Allow
	if gated {
		d.Label = LabelAllowed
	} else {
		d.Label = LabelUngated
	}
	return d
}

// identify returns the caller's tenant ID ("" when there is none).
func (g *Gateway) identify(st *state, pathTenant string, h http.Header) (string, error) {
	switch st.table.Identity.From {
	case subv1.IdentityPath:
		if validTenantID(pathTenant) {
			return pathTenant, nil
		}
	case subv1.IdentityTrustedHeader:
		if v := h[st.r.header]; len(v) > 0 && validTenantID(v[0]) {
			return v[0], nil
		}
	default: // jwtClaim
		if st.verifier != nil {
			return st.verifier.verify(bearer(h["Authorization"]), g.clock.Now())
		}
	}
	return "", nil
}
