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

	toolscache "k8s.io/client-go/tools/cache"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	subv1 "github.com/bakery-ia/subscription-operator/api/v1alpha1"
	"github.com/bakery-ia/subscription-operator/internal/kube/trim"
	"github.com/bakery-ia/subscription-operator/internal/policy"
)

// Cache indexes: tenant lookups and "tenants of a policy" never scan lists.
// Registered once by SetupIndexes; the controllers and the forecast API read
// them under these names.
const (
	// IndexTenantPolicy indexes TenantUsage by the policy it belongs to
	// (policy.NameOf: spec.policyRef.name, "default" when unset). A
	// controller-runtime field index: read it with client.MatchingFields.
	IndexTenantPolicy = "spec.policyRef.name"
	// IndexTenantID indexes TenantUsage by spec.tenantID. A client-go index
	// on the TenantUsage informer, not a field index: read it with
	// TenantsByID.
	//
	// Why not a field index: controller-runtime stores every field value
	// twice (once under the object's namespace, once for "all namespaces"),
	// each in a set of its own, and because two values never take
	// client-go's unchanged-value shortcut, every status write drops and
	// reallocates both sets. Tenant IDs are distinct, so that is two sets per
	// tenant: 711 bytes against 300 for one value (BenchmarkIndexTenantID,
	// 36-character IDs), 41 MB at 100,000 tenants, and garbage on every
	// write. Namespaced lookups filter the (one or few) matches instead.
	IndexTenantID = "tenantID"
)

// SetupIndexes registers the indexes every controller and the forecast API
// rely on. Call it with the manager's cache (mgr.GetCache()) before it
// starts.
func SetupIndexes(ctx context.Context, c cache.Cache) error {
	if err := c.IndexField(ctx, &subv1.TenantUsage{}, IndexTenantPolicy, func(o client.Object) []string {
		return []string{policy.NameOf(o.(*subv1.TenantUsage))}
	}); err != nil {
		return fmt.Errorf("indexing TenantUsage by policy: %w", err)
	}
	inf, err := c.GetInformer(ctx, &subv1.TenantUsage{}, cache.BlockUntilSynced(false))
	if err != nil {
		return fmt.Errorf("indexing TenantUsage by tenant ID: %w", err)
	}
	if err := inf.AddIndexers(toolscache.Indexers{IndexTenantID: tenantIDIndex}); err != nil {
		return fmt.Errorf("indexing TenantUsage by tenant ID: %w", err)
	}
	return nil
}

// tenantIDIndex is the IndexTenantID index function: one value per object.
func tenantIDIndex(obj any) ([]string, error) {
	tu, ok := obj.(*subv1.TenantUsage)
	if !ok {
		return nil, fmt.Errorf("indexing by tenant ID: %T is not a TenantUsage", obj)
	}
	return []string{tu.Spec.TenantID}, nil
}

// TenantsByID returns the cached TenantUsage objects whose spec.tenantID is
// id, in every namespace (usually one object; callers that ask about one
// namespace filter). The objects are the cache's own: read only, as with
// client.UnsafeDisableDeepCopy. Like a cache List, it waits for the cache to
// sync.
func TenantsByID(ctx context.Context, c cache.Cache, id string) ([]*subv1.TenantUsage, error) {
	inf, err := c.GetInformer(ctx, &subv1.TenantUsage{})
	if err != nil {
		return nil, fmt.Errorf("looking up tenant %q: %w", id, err)
	}
	indexed, ok := inf.(interface{ GetIndexer() toolscache.Indexer })
	if !ok {
		return nil, fmt.Errorf("looking up tenant %q: the TenantUsage informer (%T) has no indexer", id, inf)
	}
	objs, err := indexed.GetIndexer().ByIndex(IndexTenantID, id)
	if err != nil {
		return nil, fmt.Errorf("looking up tenant %q: %w (was SetupIndexes called?)", id, err)
	}
	out := make([]*subv1.TenantUsage, 0, len(objs))
	for _, o := range objs {
		tu, ok := o.(*subv1.TenantUsage)
		if !ok {
			return nil, fmt.Errorf("looking up tenant %q: the cache holds a %T", id, o)
		}
		out = append(out, tu)
	}
	return out, nil
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
