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

package kube

import (
	"context"
	"fmt"

	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	subv1 "github.com/bakery-ia/subscription-operator/api/v1alpha1"
	"github.com/bakery-ia/subscription-operator/internal/kube/trim"
	"github.com/bakery-ia/subscription-operator/internal/policy"
)

// Cache field indexes: tenant lookups and "tenants of a policy" never scan
// lists. Registered once by SetupIndexes; the controllers and the forecast
// API read them under these names.
const (
	// IndexTenantPolicy indexes TenantUsage by the policy it belongs to
	// (policy.NameOf: spec.policyRef.name, "default" when unset).
	IndexTenantPolicy = "spec.policyRef.name"
	// IndexTenantID indexes TenantUsage by spec.tenantID.
	IndexTenantID = "spec.tenantID"
)

// SetupIndexes registers the field indexes every controller and the forecast
// API rely on. Call it before the cache starts.
func SetupIndexes(ctx context.Context, idx client.FieldIndexer) error {
	if err := idx.IndexField(ctx, &subv1.TenantUsage{}, IndexTenantPolicy, func(o client.Object) []string {
		return []string{policy.NameOf(o.(*subv1.TenantUsage))}
	}); err != nil {
		return fmt.Errorf("indexing TenantUsage by policy: %w", err)
	}
	if err := idx.IndexField(ctx, &subv1.TenantUsage{}, IndexTenantID, func(o client.Object) []string {
		return []string{o.(*subv1.TenantUsage).Spec.TenantID}
	}); err != nil {
		return fmt.Errorf("indexing TenantUsage by tenant ID: %w", err)
	}
	return nil
}

// CacheOptions are the manager's cache settings. Every cached object is kept
// without managedFields and kubectl's last-applied annotation (trim.Meta):
// there can be 100,000 TenantUsage objects, nothing in the manager reads
// either, and a smaller informer heap means less memory and shorter GC pauses
// on the forecast API's hot path. TenantUsage objects also share their
// repeated strings (TenantUsageTransform).
func CacheOptions() cache.Options {
	return cache.Options{
		DefaultTransform: trim.Meta,
		ByObject:         map[client.Object]cache.ByObject{&subv1.TenantUsage{}: {Transform: TenantUsageTransform}},
	}
}

// PolicyKey is the namespace/name of the policy a tenant belongs to.
func PolicyKey(tu *subv1.TenantUsage) client.ObjectKey {
	return client.ObjectKey{Namespace: tu.Namespace, Name: policy.NameOf(tu)}
}

// TenantsOfPolicy lists the TenantUsage objects that belong to a policy. With
// a cache reader it uses the IndexTenantPolicy index; with indexed false (a
// plain API client, as usage-tracker has) it lists the namespace and filters.
func TenantsOfPolicy(ctx context.Context, c client.Reader, namespace, name string, indexed bool) ([]subv1.TenantUsage, error) {
	var list subv1.TenantUsageList
	opts := []client.ListOption{client.InNamespace(namespace)}
	if indexed {
		opts = append(opts, client.MatchingFields{IndexTenantPolicy: name})
	}
	if err := c.List(ctx, &list, opts...); err != nil {
		return nil, fmt.Errorf("listing tenants of policy %s/%s: %w", namespace, name, err)
	}
	if indexed {
		return list.Items, nil
	}
	mine := list.Items[:0]
	for _, tu := range list.Items {
		if policy.NameOf(&tu) == name {
			mine = append(mine, tu)
		}
	}
	return mine, nil
}
