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
	"testing"

	subv1 "github.com/bakery-ia/subscription-operator/api/v1alpha1"
)

// TestIdentityHeadersAreTheGateways is row 4 of issue 10: no Connection
// token removes the identity headers the gateway sets, and no client-sent
// X-Tenant-* header reaches the upstream.
func TestIdentityHeadersAreTheGateways(t *testing.T) {
	e := newEnv(t, envOpts{})
	for _, c := range []struct{ name, connection string }{
		{"Connection names the identity headers", "X-Tenant-Id, X-Tenant-Tier"},
		{"Connection names Authorization", "Authorization"},
		{"Connection names both, mixed case", "x-tenant-id, AUTHORIZATION, x-tenant-tier, keep-alive"},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := e.get(t, "/api/v1/tenants/horno-central/orders", enterprise, "Connection", c.connection,
				"X-Tenant-Id", "someone-else", "X-Tenant-Tier", "enterprise", "X-Tenant-Plan", "gold")
			if r.status != 200 {
				t.Fatalf("%d %s", r.status, r.body)
			}
			s := e.lastSeen()
			if s.Tenant != enterprise || s.Tier != "enterprise" {
				t.Errorf("upstream got X-Tenant-Id %q, X-Tenant-Tier %q", s.Tenant, s.Tier)
			}
			if got := s.Header.Values("X-Tenant-Id"); len(got) != 1 {
				t.Errorf("X-Tenant-Id values %q", got)
			}
			if s.Header.Get("X-Tenant-Plan") != "" {
				t.Errorf("client-sent X-Tenant-Plan reached the upstream")
			}
		})
	}
	// Anonymous on an ungated route: no identity at all, whatever the client sent.
	r := e.get(t, "/api/v1/orders", "", "X-Tenant-Id", "horno-central", "X-Tenant-Tier", "enterprise", "Connection", "X-Tenant-Id")
	if s := e.lastSeen(); r.status != 200 || s.Tenant != "" || s.Tier != "" {
		t.Errorf("anonymous: %d, upstream got %q/%q", r.status, s.Tenant, s.Tier)
	}
}

// TestTrustedHeaderKept: in trustedHeader mode the configured header is the
// identity; the tier header is still the gateway's.
func TestTrustedHeaderKept(t *testing.T) {
	e := newEnv(t, envOpts{mutate: func(p *subv1.SubscriptionPolicy) {
		p.Spec.Gateway.TenantIdentity = subv1.TenantIdentity{From: subv1.IdentityTrustedHeader, Header: "X-Tenant-Auth"}
	}})
	r := e.get(t, "/api/v1/tenants/obrador-donostia/orders", "", "X-Tenant-Auth", professional,
		"X-Tenant-Tier", "enterprise", "Connection", "X-Tenant-Tier, X-Tenant-Id")
	s := e.lastSeen()
	if r.status != 200 || s.Tenant != professional || s.Tier != "professional" || s.Header.Get("X-Tenant-Auth") != professional {
		t.Fatalf("%d: upstream got %q/%q/%q", r.status, s.Tenant, s.Tier, s.Header.Get("X-Tenant-Auth"))
	}
}
