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
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/MicahParks/keyfunc/v3"
	"github.com/golang-jwt/jwt/v5"
	"golang.org/x/time/rate"

	"github.com/bakery-ia/subscription-operator/internal/policy"
)

// Tenant identity from a verified JWT. HS256 tokens are checked with a key
// read from a Secret; RS256/ES256 (and their 384/512 and PSS variants) with
// the public keys of a JWKS URL, fetched and refreshed by
// github.com/MicahParks/keyfunc/v3 (the JWKS companion of golang-jwt: cached,
// refreshed hourly and on an unknown kid, rate limited, no fetch per request).
//
// Tokens must be signed with an allowed algorithm (no "none", no HS256 with a
// public key), unexpired (exp is required), not before nbf, and match the
// policy's issuer and audience when set. A verified token's tenant is cached
// until it expires so the signature is checked once per token, not per request.

// Errors of identity resolution; they decide the 401 body's WWW-Authenticate.
var (
	errNoToken      = errors.New("no bearer token")
	errClaimMissing = errors.New("tenant claim missing or not a valid tenant ID")
)

var (
	hmacMethods   = []string{"HS256"}
	publicMethods = []string{"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512"}
)

// verifier checks bearer tokens and returns the tenant claim.
type verifier struct {
	parser  *jwt.Parser
	keyfunc jwt.Keyfunc
	claim   string
	cancel  context.CancelFunc // stops a JWKS refresher

	mu    sync.RWMutex
	cache map[string]cachedToken
}

type cachedToken struct {
	tenant string
	exp    time.Time
}

const maxTokenCache = 16384

func parserFor(methods []string, id policy.Identity, now func() time.Time) *jwt.Parser {
	opts := []jwt.ParserOption{
		jwt.WithTimeFunc(now),
		jwt.WithValidMethods(methods),
		jwt.WithExpirationRequired(),
		jwt.WithLeeway(30 * time.Second),
	}
	if id.Issuer != "" {
		opts = append(opts, jwt.WithIssuer(id.Issuer))
	}
	if id.Audience != "" {
		opts = append(opts, jwt.WithAudience(id.Audience))
	}
	return jwt.NewParser(opts...)
}

// newHMACVerifier verifies HS256 tokens with key.
func newHMACVerifier(id policy.Identity, key []byte, now func() time.Time) (*verifier, error) {
	if len(key) == 0 {
		return nil, fmt.Errorf("secret %s key %s is empty", id.SecretName, id.SecretKey)
	}
	k := append([]byte(nil), key...)
	return &verifier{
		parser:  parserFor(hmacMethods, id, now),
		keyfunc: func(*jwt.Token) (any, error) { return k, nil },
		claim:   id.Claim,
		cache:   map[string]cachedToken{},
	}, nil
}

// newJWKSVerifier verifies RS/ES/PS tokens with the keys at id.JWKSURL. The
// first fetch happens in the background; until it succeeds tokens fail.
func newJWKSVerifier(ctx context.Context, id policy.Identity, now func() time.Time) (*verifier, error) {
	// The refresher lives until the verifier is replaced, or ctx (the
	// watcher's) ends; it must not end with a single Update call.
	ctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	kf, err := keyfunc.NewDefaultOverrideCtx(ctx, []string{id.JWKSURL}, keyfunc.Override{
		HTTPTimeout:       5 * time.Second,
		RefreshInterval:   time.Hour,
		RefreshUnknownKID: rate.NewLimiter(rate.Every(time.Minute), 1),
		RateLimitWaitMax:  time.Second,
	})
	if err != nil {
		cancel()
		return nil, fmt.Errorf("JWKS %s: %w", id.JWKSURL, err)
	}
	return &verifier{
		parser:  parserFor(publicMethods, id, now),
		keyfunc: kf.Keyfunc,
		claim:   id.Claim,
		cancel:  cancel,
		cache:   map[string]cachedToken{},
	}, nil
}

func (v *verifier) close() {
	if v != nil && v.cancel != nil {
		v.cancel()
	}
}

// bearer extracts the token of an "Authorization: Bearer <token>" header.
func bearer(values []string) string {
	if len(values) == 0 {
		return ""
	}
	h := values[0]
	if len(h) > 7 && strings.EqualFold(h[:7], "bearer ") {
		return strings.TrimSpace(h[7:])
	}
	return ""
}

// verify returns the tenant of a token.
func (v *verifier) verify(token string, now time.Time) (string, error) {
	if token == "" {
		return "", errNoToken
	}
	v.mu.RLock()
	c, ok := v.cache[token]
	v.mu.RUnlock()
	if ok && now.Before(c.exp) {
		return c.tenant, nil
	}
	claims := jwt.MapClaims{}
	if _, err := v.parser.ParseWithClaims(token, claims, v.keyfunc); err != nil {
		return "", err
	}
	raw, _ := claims[v.claim].(string)
	if !validTenantID(raw) {
		return "", errClaimMissing
	}
	exp, err := claims.GetExpirationTime()
	if err != nil || exp == nil {
		return "", errClaimMissing
	}
	v.mu.Lock()
	if len(v.cache) >= maxTokenCache {
		clear(v.cache)
	}
	v.cache[token] = cachedToken{tenant: raw, exp: exp.Time}
	v.mu.Unlock()
	return raw, nil
}

// validTenantID accepts what TenantUsage.spec.tenantID accepts (a DNS label),
// so an identity can never smuggle separators into a Redis key.
func validTenantID(s string) bool {
	if len(s) == 0 || len(s) > 63 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		lower, digit, inner := c >= 'a' && c <= 'z', c >= '0' && c <= '9', i > 0 && i < len(s)-1
		if !lower && !digit && (c != '-' || !inner) {
			return false
		}
	}
	return true
}
