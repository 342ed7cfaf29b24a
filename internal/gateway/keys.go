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

// JWT keys: the verifier of a jwtClaim policy, built from a Secret (HS256,
// re-read for rotation) or a JWKS URL, and reused across rule-table swaps.

import (
	"context"
	"fmt"
	"time"

	subv1 "github.com/bakery-ia/subscription-operator/api/v1alpha1"
	"github.com/bakery-ia/subscription-operator/internal/policy"
)

// setVerifier gives st a JWT verifier, reusing old's when the identity config is unchanged.
func (g *Gateway) setVerifier(ctx context.Context, st, old *state) {
	id := st.table.Identity
	if id.From != subv1.IdentityJWTClaim {
		return
	}
	keyID := fmt.Sprintf("%s|%s|%s|%s|%s|%s", id.SecretName, id.SecretKey, id.JWKSURL, id.Issuer, id.Audience, id.Claim)
	if old != nil && old.keyID == keyID && old.verifier != nil {
		st.verifier, st.keyID = old.verifier, keyID
		return
	}
	v, err := g.buildVerifier(ctx, id)
	st.verifier, st.keyErr, st.keyID = v, err, keyID
	if err != nil {
		g.log.Error("cannot verify tenant tokens; gated routes answer 503 until the key can be read", "error", err)
	}
}

func (g *Gateway) buildVerifier(ctx context.Context, id policy.Identity) (*verifier, error) {
	if id.JWKSURL != "" {
		return newJWKSVerifier(ctx, id, g.clock.Now)
	}
	if g.opts.ReadSecret == nil {
		return nil, fmt.Errorf("no secret reader configured for secret %s", id.SecretName)
	}
	rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	key, err := g.opts.ReadSecret(rctx, id.SecretName, id.SecretKey)
	if err != nil {
		return nil, fmt.Errorf("reading HS256 key %s/%s: %w", id.SecretName, id.SecretKey, err)
	}
	return newHMACVerifier(id, key, g.clock.Now)
}

// RefreshKeys re-reads the HS256 key every SecretRefresh until ctx ends, and
// swaps a new verifier in when the key changed (or was unreadable before).
func (g *Gateway) RefreshKeys(ctx context.Context) {
	t := g.clock.NewTicker(g.opts.SecretRefresh)
	defer t.Stop()
	var last []byte
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C():
		}
		st := g.cur.Load()
		if st == nil || st.table.Identity.From != subv1.IdentityJWTClaim || st.table.Identity.SecretName == "" || g.opts.ReadSecret == nil {
			continue
		}
		id := st.table.Identity
		rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		key, err := g.opts.ReadSecret(rctx, id.SecretName, id.SecretKey)
		cancel()
		if err != nil {
			g.log.Warn("re-reading the HS256 key failed; keeping the current one", "secret", id.SecretName, "error", err)
			continue
		}
		if st.verifier != nil && last != nil && string(key) == string(last) {
			continue
		}
		last = key
		v, err := newHMACVerifier(id, key, g.clock.Now)
		if err != nil {
			g.log.Warn("HS256 key unusable", "error", err)
			continue
		}
		g.mu.Lock()
		cur := g.cur.Load()
		if cur == st {
			next := *cur
			next.verifier, next.keyErr, next.swapped = v, nil, g.clock.Now()
			g.swap(&next, cur)
		}
		g.mu.Unlock()
	}
}
