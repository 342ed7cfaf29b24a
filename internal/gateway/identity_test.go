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
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/MicahParks/jwkset"
	"github.com/golang-jwt/jwt/v5"

	subv1 "github.com/bakery-ia/subscription-operator/api/v1alpha1"
	"github.com/bakery-ia/subscription-operator/internal/gateway"
)

func TestJWTRejected(t *testing.T) {
	e := newEnv(t, envOpts{mutate: func(p *subv1.SubscriptionPolicy) {
		p.Spec.Gateway.TenantIdentity.JWT.Issuer = "https://auth.bakery.example"
	}})
	valid := jwt.MapClaims{"tenant_id": professional, "exp": fixedNow.Add(time.Hour).Unix(), "iss": "https://auth.bakery.example"}
	with := func(k string, v any) jwt.MapClaims {
		c := jwt.MapClaims{}
		for a, b := range valid {
			c[a] = b
		}
		if v == nil {
			delete(c, k)
		} else {
			c[k] = v
		}
		return c
	}
	badSig := func() string {
		s, _ := jwt.NewWithClaims(jwt.SigningMethodHS256, valid).SignedString([]byte("some-other-key-of-decent-length-0000"))
		return s
	}()
	none := func() string {
		s, _ := jwt.NewWithClaims(jwt.SigningMethodNone, valid).SignedString(jwt.UnsafeAllowNoneSignatureType)
		return s
	}()
	hs384 := func() string {
		s, _ := jwt.NewWithClaims(jwt.SigningMethodHS384, valid).SignedString(testKey)
		return s
	}()
	good := token(t, valid)
	tampered := good[:strings.LastIndexByte(good, '.')] + ".AAAA" // broken signature
	cases := []struct {
		name, auth  string
		wantInvalid bool
	}{
		{"no header", "", false},
		{"not bearer", "Basic " + good, false},
		{"bad signature", "Bearer " + badSig, true},
		{"tampered signature", "Bearer " + tampered, true},
		{"alg none", "Bearer " + none, true},
		{"alg HS384 not allowed", "Bearer " + hs384, true},
		{"expired", "Bearer " + token(t, with("exp", fixedNow.Add(-time.Hour).Unix())), true},
		{"no exp", "Bearer " + token(t, with("exp", nil)), true},
		{"not yet valid", "Bearer " + token(t, with("nbf", fixedNow.Add(time.Hour).Unix())), true},
		{"wrong issuer", "Bearer " + token(t, with("iss", "https://evil.example")), true},
		{"missing claim", "Bearer " + token(t, with("tenant_id", nil)), true},
		{"claim not a string", "Bearer " + token(t, with("tenant_id", 42)), true},
		{"claim not a tenant ID", "Bearer " + token(t, with("tenant_id", "a:b")), true},
		{"garbage", "Bearer not.a.jwt", true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			headers := []string{"X-Tenant-Id", enterprise} // spoof attempt must not help
			if c.auth != "" {
				headers = append(headers, "Authorization", c.auth)
			}
			r := do(t, "GET", e.proxy.URL+"/api/v1/tenants/obrador-donostia/forecasting/analytics/a", headers...)
			if r.status != http.StatusUnauthorized {
				t.Fatalf("status %d, want 401: %s", r.status, r.body)
			}
			if got := jsonField(t, r.body, "code"); got != gateway.CodeIdentityRequired {
				t.Errorf("code %v", got)
			}
			wa := r.header.Get("WWW-Authenticate")
			if strings.Contains(wa, "invalid_token") != c.wantInvalid {
				t.Errorf("WWW-Authenticate %q", wa)
			}
		})
	}
	// The valid token passes, and an ungated route with a bad token is proxied
	// uncounted (the upstream does its own authentication).
	if r := do(t, "GET", e.proxy.URL+"/api/v1/tenants/obrador-donostia/forecasting/analytics/a", "Authorization", "Bearer "+good); r.status != 200 {
		t.Fatalf("valid token: %d %s", r.status, r.body)
	}
	if r := do(t, "GET", e.proxy.URL+ungated, "Authorization", "Bearer "+badSig, "X-Tenant-Id", enterprise); r.status != 200 {
		t.Fatalf("ungated with a bad token: %d", r.status)
	}
	if s := e.lastSeen(); s.Tenant != "" {
		t.Errorf("upstream saw the spoofed X-Tenant-Id %q", s.Tenant)
	}
}

func TestSpoofedHeader(t *testing.T) {
	// jwtClaim: the header is ignored, the token decides, and the upstream sees the token's tenant.
	e := newEnv(t, envOpts{})
	r := e.get(t, analytics, starter, "X-Tenant-Id", enterprise, "X-Tenant-Tier", "enterprise")
	if r.status != 402 {
		t.Fatalf("spoofed header with a starter token: %d", r.status)
	}
	e.get(t, ungated, starter, "X-Tenant-Id", enterprise, "X-Tenant-Tier", "enterprise")
	if s := e.lastSeen(); s.Tenant != starter || s.Tier != "starter" {
		t.Fatalf("upstream saw %q/%q, want the token's tenant", s.Tenant, s.Tier)
	}
	// path: the header is ignored too.
	p := newEnv(t, envOpts{mutate: func(p *subv1.SubscriptionPolicy) {
		p.Spec.Gateway.TenantIdentity = subv1.TenantIdentity{From: subv1.IdentityPath}
	}})
	if r := do(t, "GET", p.proxy.URL+analytics, "X-Tenant-Id", enterprise); r.status != 402 {
		t.Fatalf("path identity with a spoofed header: %d", r.status)
	}
	if r := do(t, "GET", p.proxy.URL+"/api/v1/tenants/horno-central/forecasting/analytics/a"); r.status != 200 {
		t.Fatalf("path identity, enterprise tenant in the path: %d", r.status)
	}
	// trustedHeader: the header is the identity.
	h := newEnv(t, envOpts{mutate: func(p *subv1.SubscriptionPolicy) {
		p.Spec.Gateway.TenantIdentity = subv1.TenantIdentity{From: subv1.IdentityTrustedHeader, Header: "X-Auth-Tenant"}
	}})
	if r := do(t, "GET", h.proxy.URL+analytics, "X-Auth-Tenant", enterprise); r.status != 200 {
		t.Fatalf("trusted header enterprise: %d", r.status)
	}
	if r := do(t, "GET", h.proxy.URL+analytics, "X-Auth-Tenant", starter); r.status != 402 {
		t.Fatalf("trusted header starter: %d", r.status)
	}
	if r := do(t, "GET", h.proxy.URL+analytics, "X-Tenant-Id", enterprise); r.status != 401 {
		t.Fatalf("trusted header mode, only the default header set: %d", r.status)
	}
	if r := do(t, "GET", h.proxy.URL+analytics, "X-Auth-Tenant", "Bad:Tenant"); r.status != 401 {
		t.Fatalf("trusted header with an invalid tenant ID: %d", r.status)
	}
}

func TestJWKS(t *testing.T) {
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	ecKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	var keys []json.RawMessage
	for kid, pub := range map[string]any{"rsa-1": &rsaKey.PublicKey, "ec-1": &ecKey.PublicKey} {
		jwk, err := jwkset.NewJWKFromKey(pub, jwkset.JWKOptions{Metadata: jwkset.JWKMetadataOptions{KID: kid}})
		if err != nil {
			t.Fatal(err)
		}
		raw, err := json.Marshal(jwk.Marshal())
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, raw)
	}
	set, _ := json.Marshal(map[string]any{"keys": keys})
	jwks := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(set)
	}))
	defer jwks.Close()

	e := newEnv(t, envOpts{
		mutate: func(p *subv1.SubscriptionPolicy) {
			p.Spec.Gateway.TenantIdentity.Claim = "org"
			p.Spec.Gateway.TenantIdentity.JWT = &subv1.JWTVerification{JWKSURL: jwks.URL, Audience: "bakery-api"}
		},
		options: func(o *gateway.Options) { o.ReadSecret = nil },
	})
	sign := func(m jwt.SigningMethod, kid string, key any, claims jwt.MapClaims) string {
		tok := jwt.NewWithClaims(m, claims)
		tok.Header["kid"] = kid
		s, err := tok.SignedString(key)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	claims := func(tenant string) jwt.MapClaims {
		return jwt.MapClaims{"org": tenant, "aud": "bakery-api", "exp": fixedNow.Add(time.Hour).Unix()}
	}
	path := "/api/v1/tenants/x/forecasting/analytics/a"
	cases := []struct {
		name, tok string
		want      int
	}{
		{"RS256 enterprise", sign(jwt.SigningMethodRS256, "rsa-1", rsaKey, claims(enterprise)), 200},
		{"ES256 enterprise", sign(jwt.SigningMethodES256, "ec-1", ecKey, claims(enterprise)), 200},
		{"RS256 starter", sign(jwt.SigningMethodRS256, "rsa-1", rsaKey, claims(starter)), 402},
		{"wrong audience", sign(jwt.SigningMethodRS256, "rsa-1", rsaKey, jwt.MapClaims{"org": enterprise, "aud": "x", "exp": fixedNow.Add(time.Hour).Unix()}), 401},
		{"HS256 with the public key as secret", func() string {
			tok := jwt.NewWithClaims(jwt.SigningMethodHS256, claims(enterprise))
			tok.Header["kid"] = "rsa-1"
			s, _ := tok.SignedString([]byte("whatever"))
			return s
		}(), 401},
		{"unknown kid", sign(jwt.SigningMethodRS256, "rsa-2", rsaKey, claims(enterprise)), 401},
		{"tenant_id claim instead of org", sign(jwt.SigningMethodRS256, "rsa-1", rsaKey, jwt.MapClaims{"tenant_id": enterprise, "aud": "bakery-api", "exp": fixedNow.Add(time.Hour).Unix()}), 401},
	}
	// The first JWKS fetch is asynchronous; wait until a good token passes.
	deadline := time.Now().Add(5 * time.Second)
	for do(t, "GET", e.proxy.URL+path, "Authorization", "Bearer "+cases[0].tok).status != 200 {
		if time.Now().After(deadline) {
			t.Fatal("JWKS never loaded")
		}
		time.Sleep(20 * time.Millisecond)
	}
	for _, c := range cases {
		if r := do(t, "GET", e.proxy.URL+path, "Authorization", "Bearer "+c.tok); r.status != c.want {
			t.Errorf("%s: status %d, want %d: %s", c.name, r.status, c.want, r.body)
		}
	}
	_ = context.Background
}

func TestKeyUnavailable(t *testing.T) {
	e := newEnv(t, envOpts{options: func(o *gateway.Options) {
		o.ReadSecret = func(context.Context, string, string) ([]byte, error) { return nil, context.DeadlineExceeded }
	}})
	if r := e.get(t, analytics, starter); r.status != 503 {
		t.Fatalf("gated route without a key: %d", r.status)
	}
	if r := e.get(t, ungated, starter); r.status != 200 {
		t.Fatalf("ungated route without a key: %d", r.status)
	}
	open := newEnv(t, envOpts{
		mutate: func(p *subv1.SubscriptionPolicy) { p.Spec.Gateway.FailOpen = true },
		options: func(o *gateway.Options) {
			o.ReadSecret = func(context.Context, string, string) ([]byte, error) { return nil, context.DeadlineExceeded }
		}})
	if r := open.get(t, analytics, starter); r.status != 200 {
		t.Fatalf("fail-open policy without a key: %d", r.status)
	}
}
