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
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/golang-jwt/jwt/v5"

	subv1 "github.com/bakery-ia/subscription-operator/api/v1alpha1"
	"github.com/bakery-ia/subscription-operator/internal/entitlement"
	"github.com/bakery-ia/subscription-operator/internal/gateway"
	"github.com/bakery-ia/subscription-operator/internal/httppath"
)

func selfView(t *testing.T, r reply) entitlement.View {
	t.Helper()
	if r.status != http.StatusOK {
		t.Fatalf("status %d: %s", r.status, r.body)
	}
	var v entitlement.View
	if err := json.Unmarshal(r.body, &v); err != nil {
		t.Fatalf("%v: %s", err, r.body)
	}
	return v
}

func TestSelfEntitlementsJWT(t *testing.T) {
	e := newEnv(t, envOpts{})
	v := selfView(t, e.get(t, gateway.PathEntitlements, starter))
	if v.TenantID != starter || v.Tier != "starter" || len(v.Features) != 2 || v.Features[0].HasAccess {
		t.Fatalf("view %+v", v)
	}
	if v.Features[0].UpgradeOffer == nil || v.Features[0].UpgradeOffer.Title != "Unlock Advanced Analytics" {
		t.Fatalf("offer %+v", v.Features[0].UpgradeOffer)
	}

	// Today's api_calls are the count Decide admits against; asking is not a call.
	for range 3 {
		if r := e.get(t, ungated, starter); r.status != http.StatusOK {
			t.Fatalf("proxied call: %d", r.status)
		}
	}
	for range 2 {
		v = selfView(t, e.get(t, gateway.PathEntitlements, starter))
	}
	m, _ := v.Metric("api_calls")
	if m.Current != 3 || *m.Limit != 1000 || *m.Remaining != 997 {
		t.Fatalf("api_calls %+v", m)
	}
	if e.upstreamHits() != 3 {
		t.Fatalf("the upstream saw %d requests; the gateway's own endpoint is never proxied", e.upstreamHits())
	}

	// The override of the professional tenant, and Spanish.
	r := e.get(t, gateway.PathEntitlements, professional, "Accept-Language", "es-ES")
	v = selfView(t, r)
	if m, _ := v.Metric("api_calls"); v.Tier != "professional" || *m.Limit != 25000 || v.Language != "es" {
		t.Fatalf("view %+v api_calls %+v", v, m)
	}
	if r.header.Get("Content-Language") != "es" || !strings.Contains(r.header.Get("Vary"), "Authorization") ||
		r.header.Get("Cache-Control") != "private, no-cache" {
		t.Fatalf("headers %v", r.header)
	}
	if f := v.Features[1]; f.UpgradeOffer == nil || f.UpgradeOffer.CurrentTier != "professional" {
		t.Fatalf("bulk-export %+v", f)
	}

	// ETag and 304.
	r = e.get(t, gateway.PathEntitlements, enterprise)
	etag := r.header.Get("Etag")
	if r2 := e.get(t, gateway.PathEntitlements, enterprise, "If-None-Match", etag); r2.status != http.StatusNotModified || len(r2.body) != 0 {
		t.Fatalf("If-None-Match: %d %s", r2.status, r2.body)
	}
	if r2 := e.get(t, gateway.PathEntitlements, starter, "If-None-Match", etag); r2.status != http.StatusOK {
		t.Fatalf("another tenant's ETag matched: %d", r2.status)
	}

	// ?feature= narrows; an unknown tenant is the lowest tier, as Decide treats it.
	v = selfView(t, e.get(t, gateway.PathEntitlements+"?feature=analytics", enterprise))
	if len(v.Features) != 1 || !v.Features[0].HasAccess {
		t.Fatalf("features %+v", v.Features)
	}
	v = selfView(t, e.get(t, gateway.PathEntitlements, "nobody-at-all"))
	if v.TenantID != "nobody-at-all" || v.Tier != "starter" {
		t.Fatalf("unknown tenant %+v", v)
	}
}

// TestSelfEntitlementsNeverAnotherTenant: whatever a client adds, the answer
// is about the tenant of its token, or a refusal.
func TestSelfEntitlementsNeverAnotherTenant(t *testing.T) {
	e := newEnv(t, envOpts{})
	tok := "Bearer " + tokenFor(t, starter)
	for _, c := range []struct {
		name, target string
		headers      []string
		status       int
	}{
		{"tenant_id query", gateway.PathEntitlements + "?tenant_id=" + enterprise, nil, 400},
		{"tenant query", gateway.PathEntitlements + "?tenant=" + enterprise, nil, 400},
		{"feature twice", gateway.PathEntitlements + "?feature=analytics&feature=bulk-export", nil, 400},
		{"feature and tenant_id", gateway.PathEntitlements + "?feature=analytics&tenant_id=" + enterprise, nil, 400},
		{"bad feature", gateway.PathEntitlements + "?feature=%00", nil, 400},
		{"semicolon", gateway.PathEntitlements + "?feature=analytics;tenant_id=x", nil, 400},
		{"tenant header", gateway.PathEntitlements, []string{"X-Tenant-ID", enterprise}, 200},
		{"tenant tier header", gateway.PathEntitlements, []string{"X-Tenant-Tier", "enterprise"}, 200},
		{"forwarded headers", gateway.PathEntitlements, []string{"X-Forwarded-User", enterprise, "Forwarded", "for=" + enterprise}, 200},
		{"tenant in the path", gateway.PathEntitlements + "/" + enterprise, nil, 404},
		{"trailing slash", gateway.PathEntitlements + "/", nil, 404},
		{"dot-dot back to itself", "/api/v1/tenants/" + enterprise + "/../../../../.well-known/subscription/entitlements", nil, 200},
		{"dot-dot to another tenant", gateway.PathEntitlements + "/../entitlements/" + enterprise, nil, 404},
		{"encoded slash", "/.well-known/subscription/entitlements%2F" + enterprise, nil, 400},
		{"encoded dot-dot", "/.well-known/subscription/%2e%2e/subscription/entitlements", nil, 400},
		{"upper case", "/.well-known/subscription/Entitlements", nil, 404},
		{"other well-known", "/.well-known/subscription/usage", nil, 404},
		{"the prefix without its slash", "/.well-known/subscription", nil, 404},
		{"the prefix, percent-encoded", "/.well-known/%73ubscription", nil, 404},
		{"dot-dot to the prefix", "/.well-known/subscription/entitlements/..", nil, 404},
		{"percent-encoded name", "/.well-known/subscription/%65ntitlements", nil, 200},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := do(t, http.MethodGet, e.proxy.URL+c.target, append([]string{"Authorization", tok}, c.headers...)...)
			if r.status != c.status {
				t.Fatalf("%s: %d, want %d: %s", c.target, r.status, c.status, r.body)
			}
			if r.status == http.StatusOK {
				if v := selfView(t, r); v.TenantID != starter || v.Tier != "starter" {
					t.Fatalf("answered about %s (%s)", v.TenantID, v.Tier)
				}
			} else if strings.Contains(string(r.body), enterprise) {
				t.Fatalf("refusal names the other tenant: %s", r.body)
			}
		})
	}
	if e.upstreamHits() != 0 {
		t.Fatalf("the upstream saw %d requests", e.upstreamHits())
	}

	// Identity failures are the gateway's usual 401s.
	for _, h := range [][]string{
		nil,
		{"Authorization", "Bearer garbage"},
		{"Authorization", "Bearer " + token(t, jwt.MapClaims{"tenant_id": starter})}, // no exp
		{"X-Tenant-ID", starter},
	} {
		r := do(t, http.MethodGet, e.proxy.URL+gateway.PathEntitlements, h...)
		if r.status != http.StatusUnauthorized || r.header.Get("Www-Authenticate") == "" {
			t.Fatalf("%v: %d %v", h, r.status, r.header)
		}
	}
	if r := do(t, http.MethodPost, e.proxy.URL+gateway.PathEntitlements, "Authorization", tok); r.status != http.StatusMethodNotAllowed {
		t.Fatalf("POST: %d", r.status)
	}
}

func TestSelfEntitlementsPathAndHeaderIdentity(t *testing.T) {
	path := newEnv(t, envOpts{mutate: func(p *subv1.SubscriptionPolicy) {
		p.Spec.Gateway.TenantIdentity = subv1.TenantIdentity{From: subv1.IdentityPath}
	}})
	// With path identity the path names the tenant, as on every route.
	v := selfView(t, do(t, http.MethodGet, path.proxy.URL+gateway.PathEntitlements+"/"+professional, "X-Tenant-ID", enterprise))
	if v.TenantID != professional || v.Tier != "professional" {
		t.Fatalf("path identity: %+v", v)
	}
	for target, want := range map[string]int{
		gateway.PathEntitlements:                                                   401,
		gateway.PathEntitlements + "/" + professional + "/x":                       404,
		gateway.PathEntitlements + "/Not_A_Tenant":                                 404,
		gateway.PathEntitlements + "/" + professional + "?tenant_id=" + enterprise: 400,
	} {
		if r := do(t, http.MethodGet, path.proxy.URL+target, "X-Tenant-ID", enterprise); r.status != want {
			t.Errorf("%s: %d, want %d: %s", target, r.status, want, r.body)
		}
	}

	hdr := newEnv(t, envOpts{
		mutate: func(p *subv1.SubscriptionPolicy) {
			p.Spec.Gateway.TenantIdentity = subv1.TenantIdentity{From: subv1.IdentityTrustedHeader, Header: "X-Tenant-ID"}
		},
		tenants: func() []subv1.TenantUsage {
			ts := fixtureTenants()
			for i := range ts {
				if ts[i].Spec.TenantID == enterprise || ts[i].Spec.TenantID == starter {
					ts[i].Spec.Suspend = true
				}
			}
			return ts
		}(),
	})
	v = selfView(t, do(t, http.MethodGet, hdr.proxy.URL+gateway.PathEntitlements, "X-Tenant-ID", enterprise, "Authorization", "Bearer "+tokenFor(t, starter)))
	if v.TenantID != enterprise || !v.SnapshotsSuspended || !v.Features[0].HasAccess || v.Features[0].Reason != nil {
		t.Fatalf("trusted header: %+v", v)
	}
	// spec.suspend pauses snapshots, not service: for a suspended tenant the
	// self endpoint says what Decide does on the gated route.
	for _, tenant := range []string{enterprise, starter} {
		v := selfView(t, do(t, http.MethodGet, hdr.proxy.URL+gateway.PathEntitlements+"?feature=analytics", "X-Tenant-ID", tenant))
		r := do(t, http.MethodGet, hdr.proxy.URL+analytics, "X-Tenant-ID", tenant)
		if !v.SnapshotsSuspended || len(v.Features) != 1 || v.Features[0].HasAccess != (r.status == http.StatusOK) ||
			(r.status != http.StatusOK && r.status != http.StatusPaymentRequired) {
			t.Fatalf("suspended %s: self says %+v, the gated route answers %d", tenant, v.Features, r.status)
		}
	}
	if r := do(t, http.MethodGet, hdr.proxy.URL+gateway.PathEntitlements+"/"+starter, "X-Tenant-ID", enterprise); r.status != http.StatusNotFound {
		t.Fatalf("path form with header identity: %d", r.status)
	}
	if r := do(t, http.MethodGet, hdr.proxy.URL+gateway.PathEntitlements); r.status != http.StatusUnauthorized {
		t.Fatalf("no header: %d", r.status)
	}
}

func TestSelfEntitlementsBeforeAnyPolicy(t *testing.T) {
	e := newEnv(t, envOpts{noTable: true})
	if r := e.get(t, gateway.PathEntitlements, starter); r.status != http.StatusServiceUnavailable {
		t.Fatalf("no rule table: %d", r.status)
	}
}

// FuzzSelfEntitlements sends random targets and header values with a
// starter's token: an answer is about the starter or a refusal, and nothing
// under /.well-known/subscription/ reaches the upstream.
func FuzzSelfEntitlements(f *testing.F) {
	e := newEnv(f, envOpts{})
	tok := "Bearer " + tokenFor(f, starter)
	for _, s := range []struct{ target, name, value string }{
		{gateway.PathEntitlements, "X-Tenant-ID", enterprise},
		{gateway.PathEntitlements + "?tenant_id=" + enterprise, "", ""},
		{gateway.PathEntitlements + "?feature=analytics", "Accept-Language", "eu"},
		{gateway.PathEntitlements + "/" + enterprise, "", ""},
		{"/.well-known/subscription/x/../entitlements", "Accept-Language", "es;q=0.1,*"},
		{"/.well-known/subscription/%65ntitlements?feature=bulk-export", "If-None-Match", "*"},
		{"/.well-known/subscription", "", ""},
	} {
		f.Add(s.target, s.name, s.value)
	}
	f.Fuzz(func(t *testing.T, target, name, value string) {
		if !strings.HasPrefix(target, "/") || strings.ContainsAny(target, " \r\n\t#") || len(target) > 2048 {
			return
		}
		req, err := http.NewRequest(http.MethodGet, e.proxy.URL+target, nil)
		if err != nil {
			return
		}
		req.Header.Set("Authorization", tok)
		if name != "" && !strings.EqualFold(name, "Authorization") && !strings.EqualFold(name, "Host") {
			if !validHeader(name, value) {
				return
			}
			req.Header.Set(name, value)
		}
		before := e.upstreamHits()
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return
		}
		defer func() { _ = resp.Body.Close() }()
		var v entitlement.View
		if resp.StatusCode == http.StatusOK && resp.Header.Get("Etag") != "" {
			if err := json.NewDecoder(resp.Body).Decode(&v); err != nil {
				t.Fatalf("%s: 200 without a view: %v", target, err)
			}
			if v.TenantID != starter {
				t.Fatalf("%s with %s: %s: answered about %q", target, name, value, v.TenantID)
			}
		}
		// The rule is about the path the gateway decides on: "/.well-known/subscription/.."
		// is "/.well-known", not one of its endpoints, and may be proxied.
		np, nerr := httppath.Normalize(req.URL.EscapedPath())
		if nerr == nil && strings.HasPrefix(np.Decoded+"/", "/.well-known/subscription/") && e.upstreamHits() != before {
			t.Fatalf("%s reached the upstream", target)
		}
	})
}

func tokenByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-'
}

func validHeader(name, value string) bool {
	if name == "" || len(name) > 64 || len(value) > 512 {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !tokenByte(c) {
			return false
		}
	}
	for i := 0; i < len(value); i++ {
		if c := value[i]; c < 0x20 || c == 0x7f {
			return false
		}
	}
	return true
}
