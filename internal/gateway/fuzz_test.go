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

package gateway_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/http/httpguts"

	"github.com/bakery-ia/subscription-operator/internal/httppath"
)

// FuzzRawRequest writes random bytes to the proxy as a client. Whatever the
// bytes, every request the upstream receives carries a normalised path that
// the tenant it names may call, and another tenant calling next gets its own
// answer.
func FuzzRawRequest(f *testing.F) {
	e := newEnv(f, envOpts{tenants: withOverride(starter, 1<<40)})
	low := "Authorization: Bearer " + tokenFor(f, starter) + "\r\n"
	for _, s := range []string{
		"GET /api/v1/orders HTTP/1.1\r\nHost: x\r\n" + low + "\r\n",
		"GET /api/v1/tenants/x/orders/../forecasting/analytics/a HTTP/1.1\r\nHost: x\r\n" + low + "\r\n",
		"POST /api/v1/orders HTTP/1.1\r\nHost: x\r\n" + low + "Content-Length: 6\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /api/v1/tenants/x/forecasting/analytics/a HTTP/1.1\r\nHost: x\r\n" + low + "\r\n",
		"GET http://h/api/v1/tenants/x/forecasting/analytics/a HTTP/1.1\r\nHost: x\r\n" + low + "\r\n",
		"GET /api/v1/orders HTTP/1.1\r\nHost: x\r\n" + low + "Connection: X-Tenant-Id, X-Tenant-Tier\r\nX-Tenant-Tier: enterprise\r\n\r\n",
		"GET /a%2e%2e/b HTTP/1.0\r\n\r\n",
		"OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n",
	} {
		f.Add([]byte(s))
	}
	addr := strings.TrimPrefix(e.proxy.URL, "http://")
	tbl := e.gw.Table()
	tiers := map[string]int{"starter": 0, "professional": 1, "enterprise": 2}
	proTok := tokenFor(f, professional)
	f.Fuzz(func(t *testing.T, raw []byte) {
		before := len(e.receivedAll())
		_ = rawExchange(t, addr, string(raw), 100*time.Millisecond)
		for _, s := range e.receivedAll()[before:] {
			p, _, err := httppath.SplitTarget(s.URI)
			if err != nil {
				t.Fatalf("upstream received target %q", s.URI)
			}
			n, err := httppath.NormalizePath(p)
			if err != nil || n.Escaped != p {
				t.Fatalf("upstream received a path that is not normalised: %q (%v)", s.URI, err)
			}
			feat, _, gated := tbl.Match("GET", n.Decoded)
			if gated && (s.Tenant == "" || tiers[s.Tier] < feat.MinRank) {
				t.Fatalf("upstream received gated %q for tenant %q tier %q", s.URI, s.Tenant, s.Tier)
			}
		}
		r := do(t, "GET", e.proxy.URL+"/api/v1/tenants/obrador-donostia/orders", "Authorization", "Bearer "+proTok)
		if r.status != 200 || string(r.body) != "upstream ok" || e.lastSeen().Tenant != professional {
			t.Fatalf("next tenant after %q: %d %q", raw, r.status, r.body)
		}
	})
}

// FuzzForwardAuth asks the Traefik and nginx adapters about random original
// request targets: the answer is a decision (never a 3xx or 5xx), and it is
// the decision on the normalised path.
func FuzzForwardAuth(f *testing.F) {
	for _, s := range []string{"/api/v1/tenants/x/forecasting/analytics/a", "/public//x", "/a/../b", "/a/%2e%2e/b",
		"/a%2Fb", "https://h/api/v1/tenants/x/reports/1", "*", "", "/a?b#c", "//x/../../api/v1/tenants/x/analytics"} {
		f.Add(s)
	}
	e := newEnv(f, envOpts{tenants: withOverride(starter, 1<<40)})
	tbl := e.gw.Table()
	tok := "Bearer " + tokenFor(f, starter)
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	f.Fuzz(func(t *testing.T, uri string) {
		if !httpguts.ValidHeaderFieldValue(uri) || strings.TrimSpace(uri) != uri {
			return // not a header value a client can send (control bytes, found by fuzzing)
		}
		want := 400
		if n, err := httppath.Normalize(uri); err == nil {
			want = 200
			if f, _, gated := tbl.Match("GET", n.Decoded); gated && f.MinRank > 0 {
				want = 402
			}
		}
		if uri == "" {
			want = 400
		}
		for _, adapter := range []string{"traefik", "nginx"} {
			req, _ := http.NewRequest("GET", e.fa.URL+"/"+adapter, nil)
			req.Header.Set("Authorization", tok)
			if adapter == "traefik" {
				req.Header.Set("X-Forwarded-Method", "GET")
				req.Header.Set("X-Forwarded-Uri", uri)
			} else {
				req.Header.Set("X-Original-Method", "GET")
				req.Header.Set("X-Original-Url", uri)
			}
			resp, err := client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			_ = resp.Body.Close()
			w := want
			if adapter == "nginx" && w != 200 {
				w = 403
			}
			if resp.StatusCode != w {
				t.Fatalf("%s %q: %d, want %d", adapter, uri, resp.StatusCode, w)
			}
		}
	})
}
