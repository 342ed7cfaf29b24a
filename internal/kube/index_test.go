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
	"fmt"
	"runtime"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	toolscache "k8s.io/client-go/tools/cache"

	subv1 "github.com/bakery-ia/subscription-operator/api/v1alpha1"
)

func TestTenantIDIndex(t *testing.T) {
	got, err := tenantIDIndex(&subv1.TenantUsage{Spec: subv1.TenantUsageSpec{TenantID: "t-1"}})
	if err != nil || len(got) != 1 || got[0] != "t-1" {
		t.Fatalf("got %q, %v; want [t-1]", got, err)
	}
	if _, err := tenantIDIndex(&corev1.Secret{}); err == nil {
		t.Fatal("a Secret was indexed")
	}
}

// In a client-go indexer (what the informer keeps): one lookup per ID, and
// an unchanged ID keeps its set on update (client-go's single-value path).
func TestTenantIDIndexInIndexer(t *testing.T) {
	ix := toolscache.NewIndexer(toolscache.MetaNamespaceKeyFunc, toolscache.Indexers{IndexTenantID: tenantIDIndex})
	add := func(ns, name, id string) {
		if err := ix.Add(&subv1.TenantUsage{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}, Spec: subv1.TenantUsageSpec{TenantID: id}}); err != nil {
			t.Fatal(err)
		}
	}
	add("a", "x", "twin")
	add("b", "y", "twin")
	add("a", "z", "solo")
	if objs, _ := ix.ByIndex(IndexTenantID, "twin"); len(objs) != 2 {
		t.Fatalf("twin: %d objects, want 2", len(objs))
	}
	add("a", "z", "renamed") // an update that changes the ID
	if objs, _ := ix.ByIndex(IndexTenantID, "solo"); len(objs) != 0 {
		t.Fatalf("the old ID still finds %d objects", len(objs))
	}
	if objs, _ := ix.ByIndex(IndexTenantID, "renamed"); len(objs) != 1 {
		t.Fatalf("the new ID finds %d objects, want 1", len(objs))
	}
}

// BenchmarkIndexTenantID is the live heap the tenant-ID index takes per
// tenant in the informer's indexer: as a controller-runtime field index
// (two values per object: "<namespace>/<id>" and "__all_namespaces/<id>",
// the key format of its IndexField) against IndexTenantID's one value. The
// objects and the namespace index are in both; only the difference is the
// index.
func BenchmarkIndexTenantID(b *testing.B) {
	const n = 20000
	objs := make([]*subv1.TenantUsage, n)
	for i := range objs {
		id := fmt.Sprintf("00000000-0000-4000-8000-%012x", i)
		objs[i] = &subv1.TenantUsage{ObjectMeta: metav1.ObjectMeta{Namespace: "bakeries", Name: id}, Spec: subv1.TenantUsageSpec{TenantID: id}}
	}
	fieldIndex := func(obj any) ([]string, error) {
		tu := obj.(*subv1.TenantUsage)
		return []string{tu.Namespace + "/" + tu.Spec.TenantID, "__all_namespaces/" + tu.Spec.TenantID}, nil
	}
	size := func(idx toolscache.Indexers) float64 {
		base := liveHeap()
		ix := toolscache.NewIndexer(toolscache.MetaNamespaceKeyFunc, idx)
		for _, o := range objs {
			if err := ix.Add(o); err != nil {
				b.Fatal(err)
			}
		}
		bytes := float64(liveHeap()-base) / n
		runtime.KeepAlive(ix)
		return bytes
	}
	for b.Loop() {
		none := size(toolscache.Indexers{toolscache.NamespaceIndex: toolscache.MetaNamespaceIndexFunc})
		field := size(toolscache.Indexers{toolscache.NamespaceIndex: toolscache.MetaNamespaceIndexFunc, "field:spec.tenantID": fieldIndex})
		ours := size(toolscache.Indexers{toolscache.NamespaceIndex: toolscache.MetaNamespaceIndexFunc, IndexTenantID: tenantIDIndex})
		b.ReportMetric(field-none, "field-index-B/tenant")
		b.ReportMetric(ours-none, "tenantID-index-B/tenant")
	}
}
