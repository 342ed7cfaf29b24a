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
	"bufio"
	"fmt"
	"net"
	"net/http"
	"path"
	"strings"
	"testing"
	"time"

	"github.com/bakery-ia/subscription-operator/internal/httppath"
)

// TestDecidedPathIsForwardedPath is row 3 of issue 10: the gateway decides on
// the normalised path and the upstream receives exactly that path.
func TestDecidedPathIsForwardedPath(t *testing.T) {
	e := newEnv(t, envOpts{})
	const base = "/api/v1/tenants/obrador-donostia"
	cases := []struct {
		target  string
		want    int
		forward string // request target the upstream must receive (when 200)
	}{
		{base + "/reports/x/../../orders", 200, base + "/orders"},
		{base + "/orders/../reports/2026", 402, ""},
		{base + "//reports/./2026", 402, ""},
		{base + "/orders/%2e%2e/reports/2026", 400, ""},
		{base + "/reports%2F2026", 400, ""},
		{base + "/reports\\2026", 400, ""},
		{base + "/orders%00", 400, ""},
		{base + "/%6Frders?page=1", 200, base + "/orders?page=1"},
		{base + "/a%20b/c%7bd", 200, base + "/a%20b/c%7Bd"},
		{base + "/it's(1)!*", 200, base + "/it's(1)!*"}, // net/url would escape these
		{base + "/forecasting/analytics/x", 200, base + "/forecasting/analytics/x"},
	}
	for _, c := range cases {
		before := e.upstreamHits()
		r := e.get(t, c.target, professional)
		if r.status != c.want {
			t.Errorf("%s: %d, want %d (%s)", c.target, r.status, c.want, r.body)
			continue
		}
		if c.want != 200 {
			if e.upstreamHits() != before {
				t.Errorf("%s reached the upstream", c.target)
			}
			if c.want == 400 && (jsonField(t, r.body, "code") != "AMBIGUOUS_REQUEST_TARGET" || r.header.Get("X-Content-Type-Options") != "nosniff") {
				t.Errorf("%s: 400 body %s, headers %v", c.target, r.body, r.header)
			}
			continue
		}
		if got := e.lastSeen().URI; got != c.forward {
			t.Errorf("%s: upstream received %q, want %q", c.target, got, c.forward)
		}
	}
}

// TestForwardAuthSamePathRule is rows 3 and 8: every adapter applies the
// proxy's path rule and answers a decision, never a 3xx.
func TestForwardAuthSamePathRule(t *testing.T) {
	e := newEnv(t, envOpts{})
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	ask := func(adapter, target, tenant string) int {
		var req *http.Request
		switch adapter {
		case "envoy":
			req, _ = http.NewRequest("GET", e.fa.URL+"/envoy"+target, nil)
		case "traefik":
			req, _ = http.NewRequest("GET", e.fa.URL+"/traefik", nil)
			req.Header.Set("X-Forwarded-Method", "GET")
			req.Header.Set("X-Forwarded-Uri", target)
		case "nginx":
			req, _ = http.NewRequest("GET", e.fa.URL+"/nginx", nil)
			req.Header.Set("X-Original-Method", "GET")
			req.Header.Set("X-Original-Url", "https://bakery.example"+target)
		}
		if tenant != "" {
			req.Header.Set("Authorization", "Bearer "+tokenFor(t, tenant))
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_ = resp.Body.Close()
		return resp.StatusCode
	}
	const gatedForStarter = "/api/v1/tenants/x/forecasting/analytics/a"
	for _, adapter := range []string{"envoy", "traefik", "nginx"} {
		denied, bad := 402, 400
		if adapter == "nginx" {
			denied, bad = 403, 403
		}
		for target, want := range map[string]int{
			"/public//x":   200,
			"/public/./x":  200,
			"/public/../x": 200,
			"//":           200,
			"/api/v1/tenants/x/orders/../forecasting/analytics/a":     denied,
			"/api/v1/tenants/x//forecasting/./analytics/a":            denied,
			"/api/v1/tenants/x/reports/y/../../orders":                200,
			"/api/v1/tenants/x/orders/%2e%2e/forecasting/analytics/a": bad,
			"/api/v1/tenants/x/forecasting%2fanalytics/a":             bad,
			gatedForStarter: denied,
		} {
			if got := ask(adapter, target, starter); got != want {
				t.Errorf("%s %s: %d, want %d", adapter, target, got, want)
			}
		}
	}
	// The forward-auth port has no redirects of its own either.
	for _, p := range []string{"/envoy/../traefik", "//traefik", "/envoy/./x", "/other"} {
		resp, err := client.Get(e.fa.URL + p)
		if err != nil {
			t.Fatal(err)
		}
		_ = resp.Body.Close()
		if resp.StatusCode >= 300 && resp.StatusCode < 400 {
			t.Errorf("%s: %d", p, resp.StatusCode)
		}
	}
}

// FuzzDecisionMatchesForwardedPath sends random request targets through the
// proxy as a starter and as an enterprise tenant. The enterprise request
// shows the path the upstream receives; the starter's status shows the
// decision. They must agree: 402 exactly when the feature of the received
// path (as a standard or a normalising upstream reads it) needs more than
// starter, and the received path is the normalised target.
func FuzzDecisionMatchesForwardedPath(f *testing.F) {
	for _, s := range []string{
		"/api/v1/tenants/x/forecasting/analytics/a",
		"/api/v1/tenants/x/reports/y/../../orders",
		"/api/v1/tenants/x/orders/../reports/2026",
		"/api/v1/tenants/x/orders/%2e%2e/reports/2026",
		"/api/v1/tenants/x/%66orecasting/analytics",
		"/api/v1/tenants/x//forecasting/./analytics/",
		"/api/v1/tenants/x/forecasting%2Fanalytics/a",
		"http://h/api/v1/tenants/x/reports/1",
		"/api/v1/tenants/x/reports%3B/1",
		"/api/v1/tenants/x/analytics;x=1",
		"*",
	} {
		f.Add(s)
	}
	e := newEnv(f, envOpts{tenants: withOverride(starter, 1<<40)})
	addr := strings.TrimPrefix(e.proxy.URL, "http://")
	tbl := e.gw.Table()
	starterTok, entTok := tokenFor(f, starter), tokenFor(f, enterprise)
	send := func(t *testing.T, target, tok string) int {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer func() { _ = c.Close() }()
		_ = c.SetDeadline(time.Now().Add(5 * time.Second))
		_, _ = fmt.Fprintf(c, "GET %s HTTP/1.1\r\nHost: bakery.example\r\nAuthorization: Bearer %s\r\nConnection: close\r\n\r\n", target, tok)
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			t.Fatalf("%q: %v", target, err)
		}
		_ = resp.Body.Close()
		return resp.StatusCode
	}
	gatedForStarter := func(p string) bool {
		f, _, gated := tbl.Match("GET", p)
		return gated && f.MinRank > 0
	}
	f.Fuzz(func(t *testing.T, target string) {
		if strings.ContainsAny(target, " \r\n") || target == "" {
			return // not one request line
		}
		before := e.upstreamHits()
		ent := send(t, target, entTok)
		st := send(t, target, starterTok)
		if ent == 400 || st == 400 {
			if ent != st {
				t.Fatalf("%q: enterprise %d, starter %d: one path rule for both", target, ent, st)
			}
			return
		}
		if ent != 200 || e.upstreamHits() == before {
			t.Fatalf("%q: enterprise %d", target, ent)
		}
		got := e.lastSeen().URI
		want, err := httppath.Normalize(target)
		if err != nil {
			t.Fatalf("%q: forwarded although the rule refuses it: %v", target, err)
		}
		rawPath, _, _ := httppath.SplitTarget(got)
		if rawPath != want.Escaped {
			t.Fatalf("%q: upstream received %q, the gateway decided on %q", target, got, want.Escaped)
		}
		standard := gatedForStarter(want.Decoded)
		normalising := gatedForStarter(path.Clean(want.Decoded))
		if standard != normalising {
			t.Fatalf("%q: upstreams would disagree on %q", target, want.Decoded)
		}
		if standard != (st == 402) {
			t.Fatalf("%q: starter got %d, but the forwarded path %q is gated=%v", target, st, got, standard)
		}
	})
}
