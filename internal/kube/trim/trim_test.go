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

package trim

import (
	"reflect"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	toolscache "k8s.io/client-go/tools/cache"

	subv1 "github.com/bakery-ia/subscription-operator/api/v1alpha1"
)

func TestMeta(t *testing.T) {
	mf := []metav1.ManagedFieldsEntry{{Manager: "kubectl"}}
	for _, c := range []struct {
		name      string
		in        metav1.ObjectMeta
		wantAnnot map[string]string
	}{
		{"managedFields and last-applied dropped, other annotations kept",
			metav1.ObjectMeta{ManagedFields: mf, Annotations: map[string]string{LastAppliedAnnotation: "{}", "note": "x"}},
			map[string]string{"note": "x"}},
		{"only last-applied: no annotations left", metav1.ObjectMeta{Annotations: map[string]string{LastAppliedAnnotation: "{}"}}, nil},
		{"nothing to drop", metav1.ObjectMeta{Annotations: map[string]string{"note": "x"}}, map[string]string{"note": "x"}},
		{"empty", metav1.ObjectMeta{}, nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			in := &subv1.SubscriptionPolicy{ObjectMeta: c.in}
			out, err := Meta(in)
			if err != nil {
				t.Fatal(err)
			}
			got := out.(*subv1.SubscriptionPolicy)
			if got != in {
				t.Error("the object was replaced, not trimmed in place")
			}
			if got.ManagedFields != nil || !reflect.DeepEqual(got.Annotations, c.wantAnnot) {
				t.Errorf("managedFields %v, annotations %v; want none, %v", got.ManagedFields, got.Annotations, c.wantAnnot)
			}
		})
	}
	tomb := toolscache.DeletedFinalStateUnknown{Key: "ns/p", Obj: &subv1.SubscriptionPolicy{}}
	if out, err := Meta(tomb); err != nil || out != any(tomb) {
		t.Errorf("a tombstone: %v, %v; want it unchanged", out, err)
	}
	if out, err := Meta(nil); err != nil || out != nil {
		t.Errorf("nil: %v, %v", out, err)
	}
}
