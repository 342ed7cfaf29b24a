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

package snapshot_test

import (
	"reflect"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	subv1 "github.com/bakery-ia/subscription-operator/api/v1alpha1"
	"github.com/bakery-ia/subscription-operator/internal/policy"
	"github.com/bakery-ia/subscription-operator/internal/policy/policytest"
	"github.com/bakery-ia/subscription-operator/internal/snapshot"
)

func TestNewRequestReadsTheCompiledPolicy(t *testing.T) {
	p := policytest.Policy()
	p.Spec.Snapshot.RetentionDays = 0 // unset: the compiled default, not a local one
	spec, err := policy.CompileSpec(p)
	if err != nil {
		t.Fatal(err)
	}
	req := snapshot.NewRequest(spec, []string{"a", "b"}, "2026-03-01")
	want := snapshot.Request{
		Date: "2026-03-01", CounterDate: "2026-02-28", RetentionDays: policy.DefaultRetentionDays,
		Tenants: []string{"a", "b"},
	}
	for _, m := range spec.Metrics {
		want.Metrics = append(want.Metrics, snapshot.Metric{Name: m.Name, PostgresQuery: m.PostgresQuery, RedisKeyPattern: m.RedisKeyPattern})
	}
	if !reflect.DeepEqual(req, want) {
		t.Fatalf("request\n%+v\nwant\n%+v", req, want)
	}
	if req.Metrics[1].RedisKeyPattern != "usage_daily:{tenant}:api_calls:{date}" {
		t.Errorf("api_calls key pattern %q", req.Metrics[1].RedisKeyPattern)
	}
}

func tenant(id string, labels map[string]string, suspend bool) subv1.TenantUsage {
	return subv1.TenantUsage{ObjectMeta: metav1.ObjectMeta{Name: id, Labels: labels},
		Spec: subv1.TenantUsageSpec{TenantID: id, Suspend: suspend}}
}

func TestActiveTenants(t *testing.T) {
	managed := map[string]string{subv1.LabelManagedBy: snapshot.DiscoveryManager, subv1.LabelDiscoveryState: subv1.DiscoveryActive}
	missing := map[string]string{subv1.LabelManagedBy: snapshot.DiscoveryManager, subv1.LabelDiscoveryState: subv1.DiscoveryMissing}
	tenants := []subv1.TenantUsage{
		tenant("hand", nil, false), tenant("paused", nil, true),
		tenant("disc", managed, false), tenant("gone", missing, false),
	}
	for _, c := range []struct {
		name       string
		only       string
		discovered map[string]bool
		want       []string
	}{
		{"no discovery: labels decide", "", nil, []string{"disc", "hand"}},
		{"discovery is authoritative for managed tenants", "", map[string]bool{"gone": true, "new": true}, []string{"gone", "hand", "new"}},
		{"one tenant", "hand", nil, []string{"hand"}},
		{"a suspended tenant is never run", "paused", nil, []string{}},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := snapshot.ActiveTenants(tenants, c.only, c.discovered); !reflect.DeepEqual(got, c.want) {
				t.Errorf("got %v, want %v", got, c.want)
			}
		})
	}
}
