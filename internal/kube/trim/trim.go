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

// Package trim holds the informer transform every program of this project
// applies to the objects it caches. It depends on apimachinery and client-go's
// cache package only, so the gateway (which has no controller-runtime) can
// use it as well as the manager.
package trim

import (
	"k8s.io/apimachinery/pkg/api/meta"
	toolscache "k8s.io/client-go/tools/cache"
)

// LastAppliedAnnotation is where `kubectl apply` keeps a full copy of the
// object it last applied: for a GitOps-managed policy as large as its spec.
const LastAppliedAnnotation = "kubectl.kubernetes.io/last-applied-configuration"

// Meta is a cache transform that drops what no program of this project
// reads but the API server sends with every object: managedFields (field
// ownership; a status subresource write keeps the live object's, so a status
// written from a cached object loses nothing) and kubectl's last-applied
// annotation. With 100,000 TenantUsage objects the two are most of an
// informer's heap. Anything that is not an object (a tombstone) passes
// unchanged.
func Meta(in any) (any, error) {
	obj, err := meta.Accessor(in)
	if err != nil {
		return in, nil //nolint:nilerr // not an object: nothing to strip
	}
	// Set only when present: writing nil into an empty field of a shared
	// object races with readers (kubernetes/kubernetes#124337).
	if obj.GetManagedFields() != nil {
		obj.SetManagedFields(nil)
	}
	if a := obj.GetAnnotations(); a != nil {
		if _, ok := a[LastAppliedAnnotation]; ok {
			delete(a, LastAppliedAnnotation)
			if len(a) == 0 {
				obj.SetAnnotations(nil)
			}
		}
	}
	return in, nil
}

var _ toolscache.TransformFunc = Meta
