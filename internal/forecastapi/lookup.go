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

package forecastapi

import (
	"context"
	"net/http"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	subv1 "github.com/bakery-ia/subscription-operator/api/v1alpha1"
	"github.com/bakery-ia/subscription-operator/internal/kube"
)

// The lookups below never tell a caller what exists where the caller may not
// look. The rule (docs/api.md, "Existence is not leaked"):
//
//   - With a namespace, the caller's permission in that namespace is decided
//     before the lookup; a caller without it gets the same 403 whether or not
//     the object is there (only a Role with resourceNames for the very object
//     found can still allow it, and that caller may see it anyway).
//   - Without a namespace, only the namespaces where the caller may do what
//     the request needs are searched: an object elsewhere is treated exactly
//     as one that does not exist (same status, same text, no namespace
//     named), and ambiguity is judged among those namespaces only.

// findTenant returns the tenant with spec.tenantID id (in ns, or in the one
// namespace the caller may search) if the caller may do need on it. The
// result shares memory with the cache: read only.
func (s *Server) findTenant(ctx context.Context, c *caller, id, ns string, need access) (*subv1.TenantUsage, error) {
	need.namespace = ns
	var wide decision
	if ns != "" {
		d, err := s.allowed(ctx, c, need)
		if err != nil {
			return nil, err
		}
		wide = d
	}
	matches, err := kube.TenantsByID(ctx, s.cache, id)
	if err != nil {
		return nil, internalError(CodeInternal, "looking up the tenant in the cache", err)
	}
	var found []*subv1.TenantUsage
	for _, tu := range matches {
		if ns != "" && tu.Namespace != ns {
			continue
		}
		ok := wide.allowed
		if !ok {
			acc := need
			acc.namespace, acc.name = tu.Namespace, tu.Name
			d, err := s.allowed(ctx, c, acc)
			if err != nil {
				return nil, err
			}
			ok = d.allowed
		}
		if ok {
			if found = append(found, tu); len(found) > 1 {
				break // ambiguous: no need to ask about the rest
			}
		}
	}
	switch {
	case len(found) == 1:
		return found[0], nil
	case len(found) > 1 && ns != "":
		return nil, newError(http.StatusBadRequest, CodeAmbiguousTenant,
			"tenant_id %q is the spec.tenantID of several TenantUsages in namespace %q", id, ns)
	case len(found) > 1:
		return nil, newError(http.StatusBadRequest, CodeAmbiguousTenant,
			"tenant_id %q exists in more than one namespace you may read; pass namespace to choose one", id)
	case ns != "" && !wide.allowed:
		return nil, forbidden(c, need, wide.reason)
	case ns != "":
		return nil, newError(http.StatusNotFound, CodeTenantNotFound, "no TenantUsage in namespace %q has spec.tenantID %q", ns, id)
	case c == nil:
		return nil, newError(http.StatusNotFound, CodeTenantNotFound, "no TenantUsage has spec.tenantID %q", id)
	default:
		return nil, newError(http.StatusNotFound, CodeTenantNotFound,
			"no TenantUsage with spec.tenantID %q in a namespace where %s may %s; pass namespace to ask about one namespace",
			id, userString(c.user), need.what())
	}
}

// findPolicy returns the policy called name, in ns or (ns "") in the one
// namespace the caller may read it in, if the caller may get it. The result
// shares memory with the cache: read only.
func (s *Server) findPolicy(ctx context.Context, c *caller, ns, name string) (*subv1.SubscriptionPolicy, error) {
	need := access{verb: "get", resource: resourcePolicies, namespace: ns, name: name}
	if ns != "" {
		// Decided on what the caller asked for, before looking.
		if err := s.authorize(ctx, c, need); err != nil {
			return nil, err
		}
		var p subv1.SubscriptionPolicy
		if err := s.cache.Get(ctx, types.NamespacedName{Namespace: ns, Name: name}, &p, client.UnsafeDisableDeepCopy); err != nil {
			if apierrors.IsNotFound(err) {
				return nil, newError(http.StatusNotFound, CodePolicyNotFound, "no SubscriptionPolicy %q in namespace %q", name, ns)
			}
			return nil, internalError(CodeInternal, "reading the policy from the cache", err)
		}
		return &p, nil
	}
	// Policies are few (one per namespace, typically): a scan is cheap.
	var list subv1.SubscriptionPolicyList
	if err := s.cache.List(ctx, &list, client.UnsafeDisableDeepCopy); err != nil {
		return nil, internalError(CodeInternal, "listing policies in the cache", err)
	}
	var found []*subv1.SubscriptionPolicy
	for i := range list.Items {
		p := &list.Items[i]
		if p.Name != name {
			continue
		}
		acc := need
		acc.namespace = p.Namespace
		d, err := s.allowed(ctx, c, acc)
		if err != nil {
			return nil, err
		}
		if d.allowed {
			if found = append(found, p); len(found) > 1 {
				break
			}
		}
	}
	switch {
	case len(found) == 1:
		return found[0], nil
	case len(found) > 1:
		return nil, newError(http.StatusBadRequest, CodeAmbiguousPolicy,
			"SubscriptionPolicy %q exists in more than one namespace you may read; pass namespace to choose one", name)
	case c == nil:
		return nil, newError(http.StatusNotFound, CodePolicyNotFound, "no SubscriptionPolicy %q in any namespace", name)
	default:
		return nil, newError(http.StatusNotFound, CodePolicyNotFound,
			"no SubscriptionPolicy %q in a namespace where %s may %s; pass namespace to ask about one namespace",
			name, userString(c.user), need.what())
	}
}
