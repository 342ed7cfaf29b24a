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
	"net/http"
	"strings"

	"github.com/bakery-ia/subscription-operator/internal/httppath"
)

// Forward-auth: the same decision for proxies that ask before forwarding.
//
//   - GET /traefik        Traefik ForwardAuth: X-Forwarded-Method and
//     X-Forwarded-Uri name the original request. Traefik hands a non-2xx
//     status, headers and body to the client, so the full 402/429/401 bodies
//     are answered.
//   - ANY /envoy/<path>   Envoy ext_authz (HTTP service, path_prefix: /envoy):
//     the original method and path arrive as the request's own. A non-200
//     status and body reach the client.
//   - GET /nginx          ingress-nginx auth-url: X-Original-Method and
//     X-Original-URL. ingress-nginx turns every status but 401 and 403 into a
//     500 and drops the body, so 402 and 429 become 403 with the offer in
//     X-Error-Code, X-Upgrade-Required-Feature, X-Required-Tier,
//     X-Current-Tier, X-Upgrade-Url (and Retry-After, X-Usage-Limit,
//     X-Usage-Resets-At for 429).
//
// An allowed request gets 200 with X-Tenant-Id and X-Tenant-Tier (when the
// tenant is known) for the proxy to copy onto the upstream request.

// Every adapter normalises the original request's path with the proxy's rule
// (internal/httppath) and decides on it; an ambiguous path is refused (400, or
// 403 for nginx, which shows other statuses as 500). The endpoints are
// dispatched on the raw request target, without http.ServeMux, whose path
// canonicalisation answers 3xx redirects for "//", "/./" or "..": a
// forward-auth answer is always a decision, never a redirect.

// ForwardAuthHandler serves the forward-auth endpoints (the --forward-auth-listen port).
func (g *Gateway) ForwardAuthHandler() http.Handler {
	return http.HandlerFunc(g.serveForwardAuth)
}

func (g *Gateway) serveForwardAuth(w http.ResponseWriter, r *http.Request) {
	raw, _, err := httppath.SplitTarget(r.RequestURI)
	if err != nil {
		writeError(w, http.StatusNotFound, notFoundBody)
		return
	}
	switch {
	case raw == "/traefik":
		g.forwardAuth(w, r, r.Header.Get("X-Forwarded-Method"), r.Header.Get("X-Forwarded-Uri"), modeFull)
	case raw == "/nginx":
		g.forwardAuth(w, r, r.Header.Get("X-Original-Method"), r.Header.Get("X-Original-Url"), modeNginx)
	case raw == "/envoy" || strings.HasPrefix(raw, "/envoy/"):
		// Envoy sends path_prefix + the original path (and query).
		target := strings.TrimPrefix(r.RequestURI, "/envoy")
		if target == "" || target[0] == '?' {
			target = "/" + target
		}
		g.forwardAuth(w, r, r.Method, target, modeFull)
	default:
		writeError(w, http.StatusNotFound, notFoundBody)
	}
}

var (
	badForwardAuth = []byte(`{"error":"bad_request","code":"FORWARD_AUTH_HEADERS_MISSING","status_code":400,"message":"The proxy did not say which request to authorise."}` + "\n")
	notFoundBody   = []byte(`{"error":"not_found","code":"NOT_FOUND","status_code":404,"message":"The forward-auth endpoints are /traefik, /envoy/... and /nginx."}` + "\n")
)

// forwardAuth decides the original request (method, request target).
func (g *Gateway) forwardAuth(w http.ResponseWriter, r *http.Request, method, target string, mode writeMode) {
	start := g.clock.Now()
	badStatus := http.StatusBadRequest
	if mode == modeNginx {
		badStatus = http.StatusForbidden
	}
	if method == "" || target == "" {
		// Fail closed: without the original request there is nothing to decide.
		writeError(w, badStatus, badForwardAuth)
		return
	}
	np, err := httppath.Normalize(target)
	if err != nil {
		writeError(w, badStatus, badPathBody)
		g.observe(LabelBadRequest, start)
		return
	}
	d := g.Decide(method, np.Decoded, r.Header)
	if d.Outcome != Allow {
		g.writeDenied(w, r, &d, mode)
		g.observe(d.Label, start)
		return
	}
	if d.Tenant != "" {
		h := w.Header()
		h[HeaderTenantID] = []string{d.Tenant}
		h[HeaderTenantTier] = []string{d.Tier}
	}
	w.WriteHeader(http.StatusOK)
	g.observe(d.Label, start)
}
