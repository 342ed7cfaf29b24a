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

// Package controllers holds the reconcilers. They are thin: they read objects,
// call the pure packages under internal/, and patch status.
package controllers

import (
	"context"
	"fmt"

	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	subv1 "github.com/bakery-ia/subscription-operator/api/v1alpha1"
)

// Cache field indexes: tenant lookups and "tenants of a policy" never scan lists.
const (
	// IndexTenantPolicy indexes TenantUsage by spec.policyRef.name.
	IndexTenantPolicy = "spec.policyRef.name"
	// IndexTenantID indexes TenantUsage by spec.tenantID.
	IndexTenantID = "spec.tenantID"
)

// SetupIndexes registers the field indexes every controller and the forecast API rely on.
func SetupIndexes(ctx context.Context, mgr ctrl.Manager) error {
	idx := mgr.GetFieldIndexer()
	if err := idx.IndexField(ctx, &subv1.TenantUsage{}, IndexTenantPolicy, func(o client.Object) []string {
		return []string{PolicyName(o.(*subv1.TenantUsage))}
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

// CacheOptions are the manager's cache settings. TenantUsage objects are kept
// without managedFields: there can be 100,000 of them, nothing in the manager
// reads their field ownership (status is written with merge patches), and a
// smaller informer heap means shorter GC pauses on the forecast API's hot path.
// Gateway objects keep theirs: the gateway manager compares applied fields.
func CacheOptions() cache.Options {
	return cache.Options{ByObject: map[client.Object]cache.ByObject{
		&subv1.TenantUsage{}: {Transform: cache.TransformStripManagedFields()},
	}}
}

// PolicyName is the policy a tenant refers to ("default" when unset).
func PolicyName(tu *subv1.TenantUsage) string {
	if tu.Spec.PolicyRef.Name == "" {
		return "default"
	}
	return tu.Spec.PolicyRef.Name
}

// TenantsOfPolicy lists the TenantUsage objects that use a policy, from the cache index.
func TenantsOfPolicy(ctx context.Context, c client.Reader, policy *subv1.SubscriptionPolicy) ([]subv1.TenantUsage, error) {
	var list subv1.TenantUsageList
	if err := c.List(ctx, &list, client.InNamespace(policy.Namespace),
		client.MatchingFields{IndexTenantPolicy: policy.Name}); err != nil {
		return nil, fmt.Errorf("listing tenants of policy %s/%s: %w", policy.Namespace, policy.Name, err)
	}
	return list.Items, nil
}
