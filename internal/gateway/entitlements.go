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
	"encoding/json"
	"hash/fnv"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	subv1 "github.com/bakery-ia/subscription-operator/api/v1alpha1"
	"github.com/bakery-ia/subscription-operator/internal/entitlement"
	"github.com/bakery-ia/subscription-operator/internal/policy"
)

// The calling tenant's own entitlements. Everything under wellKnownPrefix is
// the gateway's: never proxied, never counted as an API call.
const (
	wellKnownPrefix = "/.well-known/subscription/"
	// PathEntitlements answers the calling tenant (JWT claim or trusted
	// header identity). With path identity the tenant is the segment after
	// it: PathEntitlements + "/" + tenant.
	PathEntitlements = wellKnownPrefix + "entitlements"
)

// Fixed bodies of the endpoint's refusals.
var (
	selfNotFoundBody = []byte(`{"error":"not_found","code":"NOT_FOUND","status_code":404,"message":"No such gateway endpoint; see ` + PathEntitlements + `."}` + "\n")
	selfMethodBody   = []byte(`{"error":"method_not_allowed","code":"METHOD_NOT_ALLOWED","status_code":405,"message":"Use GET."}` + "\n")
	selfQueryBody    = []byte(`{"error":"bad_request","code":"INVALID_PARAMETER","status_code":400,"message":"The only parameter is feature (a feature name). The gateway answers about the calling tenant only: there is no tenant parameter."}` + "\n")
)

var hdrVarySelf = []string{"Accept-Language, Authorization"}

// isWellKnown reports whether a normalised path is the gateway's own: the
// prefix itself without its slash included, so that "/.well-known/subscription"
// is answered (404) rather than proxied to a backend that may serve it.
func isWellKnown(decoded string) bool {
	return strings.HasPrefix(decoded, wellKnownPrefix) || decoded == wellKnownPrefix[:len(wellKnownPrefix)-1]
}

// serveWellKnown answers a path under wellKnownPrefix (decoded: the
// normalised path the proxy decided on).
func (g *Gateway) serveWellKnown(w http.ResponseWriter, r *http.Request, decoded string) {
	st := g.cur.Load()
	if st == nil {
		g.writeDenied(w, r, &Decision{Outcome: Unavailable}, modeFull)
		return
	}
	rest, ok := strings.CutPrefix(decoded, PathEntitlements)
	pathTenant := ""
	switch {
	case !ok:
		writeError(w, http.StatusNotFound, selfNotFoundBody)
		return
	case rest == "": // path identity without a tenant: 401 below
	case st.table.Identity.From == subv1.IdentityPath && strings.HasPrefix(rest, "/") && validTenantID(rest[1:]):
		pathTenant = rest[1:]
	default:
		// Another tenant's name in the path is refused unless the path is
		// the identity; a path identity without a tenant is no identity.
		writeError(w, http.StatusNotFound, selfNotFoundBody)
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header()["Allow"] = []string{"GET, HEAD"}
		writeError(w, http.StatusMethodNotAllowed, selfMethodBody)
		return
	}
	feature, ok := selfQuery(r.URL.RawQuery)
	if !ok {
		writeError(w, http.StatusBadRequest, selfQueryBody)
		return
	}
	if st.table.Identity.From == subv1.IdentityJWTClaim && st.verifier == nil {
		g.writeDenied(w, r, &Decision{Outcome: Unavailable, st: st}, modeFull)
		return
	}
	tenant, err := g.identify(st, pathTenant, r.Header)
	if tenant == "" {
		g.writeDenied(w, r, &Decision{Outcome: Unauthenticated, st: st, authErr: err}, modeFull)
		return
	}
	v := g.selfView(r.Context(), st, tenant, r.Header.Get("Accept-Language"))
	if feature != "" {
		v = v.Only(feature)
	}
	body, err := json.Marshal(v)
	if err != nil { // only strings, numbers and bools
		writeError(w, http.StatusInternalServerError, badGatewayBody)
		return
	}
	body = append(body, '\n')
	hs := fnv.New64a()
	_, _ = hs.Write(body)
	etag := `"` + strconv.FormatUint(hs.Sum64(), 16) + `"`
	h := w.Header()
	h["Content-Type"] = hdrJSON
	h["X-Content-Type-Options"] = hdrNosniff
	h["Cache-Control"] = []string{"private, no-cache"}
	h["Vary"] = hdrVarySelf
	h["Etag"] = []string{etag}
	h["Content-Language"] = []string{v.Language}
	if inm := r.Header.Get("If-None-Match"); inm != "" && etagMatch(inm, etag) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	h["Content-Length"] = []string{strconv.Itoa(len(body))}
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(body)
}

// selfView is the tenant's view from the rule table in force: the tier and
// limits the gateway enforces, and today's api_calls as this replica counts
// them (what Decide admits against).
func (g *Gateway) selfView(ctx context.Context, st *state, tenant, accept string) entitlement.View {
	tn, known := st.table.Tenant(tenant)
	in := entitlement.Input{
		Spec: st.table.Spec, Tenant: entitlement.Tenant{ID: tenant, Tier: st.r.lowest.Tier},
		Now: g.clock.Now(), Lang: st.r.neg.Language(accept),
	}
	if known {
		in.Tenant = entitlement.Tenant{ID: tenant, Tier: tn.DeclaredTier, SnapshotsSuspended: tn.Suspended, Overrides: tn.Overrides}
		if rec := st.record(ctx, tn); rec != nil {
			in.Status = rec.Forecast()
		}
	}
	for _, m := range st.table.Metrics {
		if m.Name == policy.APICallsMetric {
			in.Counters = map[string]int64{policy.APICallsMetric: g.counter.Count(tenant, st.r.day.at(in.Now).date)}
			break
		}
	}
	return entitlement.Evaluate(in)
}

// selfQuery accepts no parameter or one feature=<name>.
func selfQuery(raw string) (feature string, ok bool) {
	if raw == "" {
		return "", true
	}
	q, err := url.ParseQuery(raw)
	if err != nil || len(q) != 1 || len(q["feature"]) != 1 {
		return "", false
	}
	f := q["feature"][0]
	if f == "" || len(f) > 63 || f[0] < 'a' || f[0] > 'z' {
		return "", false
	}
	for i := 0; i < len(f); i++ {
		if !nameByte(f[i]) {
			return "", false
		}
	}
	return f, true
}

func nameByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_'
}

// etagMatch is If-None-Match's weak comparison over a list.
func etagMatch(header, etag string) bool {
	for _, t := range strings.Split(header, ",") {
		t = strings.TrimPrefix(strings.TrimSpace(t), "W/")
		if t == "*" || t == etag {
			return true
		}
	}
	return false
}
