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
	"testing"

	toolscache "k8s.io/client-go/tools/cache"

	subv1 "github.com/bakery-ia/subscription-operator/api/v1alpha1"
	"github.com/bakery-ia/subscription-operator/internal/policy"
	"github.com/bakery-ia/subscription-operator/internal/policy/policytest"
)

// TestStoreRecordsOnlyTheTenantsOwn: the entitlements endpoint and the usage
// page read a tenant's record from the informer's store by the name of the
// object the table bound. Between an edit of that object and the rebuild it
// causes, the store may hold something else under that name: a record that
// is not the tenant's binding any more is never returned.
func TestStoreRecordsOnlyTheTenantsOwn(t *testing.T) {
	pol := policytest.Policy()
	rules, err := policy.CompileRules(pol)
	if err != nil {
		t.Fatal(err)
	}
	tenants := policytest.Tenants()
	store := toolscache.NewStore(toolscache.MetaNamespaceKeyFunc)
	var bs []*policy.Binding
	for i := range tenants {
		tenants[i].Namespace = pol.Namespace
		rec := NewTenantRecord(&tenants[i])
		if err := store.Add(rec); err != nil {
			t.Fatal(err)
		}
		bs = append(bs, &rec.Binding)
	}
	table := rules.BindAll(bs)
	records := storeRecords(store, pol.Namespace, nil)
	tn, ok := table.Tenant(tenants[0].Spec.TenantID)
	if !ok {
		t.Fatalf("tenant %s not bound", tenants[0].Spec.TenantID)
	}
	if rec := records(context.Background(), table, tn); rec == nil || rec.TenantID != tn.ID {
		t.Fatalf("the tenant's own record: %+v", rec)
	}
	for name, edit := range map[string]func(*subv1.TenantUsage){
		"another tenant id under the name": func(tu *subv1.TenantUsage) { tu.Spec.TenantID = tenants[1].Spec.TenantID },
		"moved to another policy":          func(tu *subv1.TenantUsage) { tu.Spec.PolicyRef.Name = "other" },
		"tenant id removed":                func(tu *subv1.TenantUsage) { tu.Spec.TenantID = "" },
	} {
		t.Run(name, func(t *testing.T) {
			tu := tenants[0].DeepCopy()
			edit(tu)
			if err := store.Update(NewTenantRecord(tu)); err != nil {
				t.Fatal(err)
			}
			if rec := records(context.Background(), table, tn); rec != nil {
				t.Errorf("got a record that is not the tenant's binding: %+v", rec.Binding)
			}
		})
	}
	if err := store.Delete(NewTenantRecord(&tenants[0])); err != nil {
		t.Fatal(err)
	}
	if rec := records(context.Background(), table, tn); rec != nil {
		t.Errorf("deleted object: got %+v", rec.Binding)
	}
}
