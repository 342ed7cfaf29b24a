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
	"net/url"
	"strings"
	"time"
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

// ForwardAuthHandler serves the forward-auth endpoints (the --forward-auth-listen port).
func (g *Gateway) ForwardAuthHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/traefik", func(w http.ResponseWriter, r *http.Request) {
		g.forwardAuth(w, r, r.Header.Get("X-Forwarded-Method"), pathOf(r.Header.Get("X-Forwarded-Uri")), modeFull)
	})
	envoy := func(w http.ResponseWriter, r *http.Request) {
		p := strings.TrimPrefix(r.URL.Path, "/envoy")
		if p == "" {
			p = "/"
		}
		g.forwardAuth(w, r, r.Method, p, modeFull)
	}
	mux.HandleFunc("/envoy", envoy)
	mux.HandleFunc("/envoy/", envoy)
	mux.HandleFunc("/nginx", func(w http.ResponseWriter, r *http.Request) {
		g.forwardAuth(w, r, r.Header.Get("X-Original-Method"), pathOf(r.Header.Get("X-Original-Url")), modeNginx)
	})
	return mux
}

var badForwardAuth = []byte(`{"error":"bad_request","code":"FORWARD_AUTH_HEADERS_MISSING","status_code":400,"message":"The proxy did not say which request to authorise."}` + "\n")

func (g *Gateway) forwardAuth(w http.ResponseWriter, r *http.Request, method, path string, mode writeMode) {
	start := time.Now()
	if method == "" || path == "" {
		// Fail closed: without the original request there is nothing to decide.
		h := w.Header()
		h["Content-Type"] = hdrJSON
		status := http.StatusBadRequest
		if mode == modeNginx {
			status = http.StatusForbidden
		}
		w.WriteHeader(status)
		_, _ = w.Write(badForwardAuth)
		return
	}
	d := g.Decide(method, path, r.Header)
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

// pathOf returns the decoded path of a request URI or absolute URL
// ("/a%20b?x=1" -> "/a b"); "" when it cannot be parsed.
func pathOf(uri string) string {
	if uri == "" {
		return ""
	}
	if uri[0] == '/' && !strings.ContainsAny(uri, "?#%") {
		return uri
	}
	u, err := url.Parse(uri)
	if err != nil {
		return ""
	}
	if u.Path == "" {
		return "/"
	}
	return u.Path
}
