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

package controllers_test

import (
	"context"
	"fmt"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	eventsv1 "k8s.io/api/events/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/util/retry"
	"sigs.k8s.io/controller-runtime/pkg/client"

	subv1 "github.com/bakery-ia/subscription-operator/api/v1alpha1"
	"github.com/bakery-ia/subscription-operator/internal/testenv"
	"github.com/bakery-ia/subscription-operator/test/scenario"
)

var ctx = context.Background()

// testPolicy has the sample's shape: five Postgres counts and two Redis counters.
func testPolicy(ns, tz string) *subv1.SubscriptionPolicy {
	pg := func(name, table string) subv1.Metric {
		return subv1.Metric{Name: name, Label: name, Postgres: &subv1.PostgresSource{
			Query: fmt.Sprintf("SELECT tenant_id, count(*) FROM %s GROUP BY tenant_id", table)}}
	}
	return &subv1.SubscriptionPolicy{
		ObjectMeta: metav1.ObjectMeta{Name: "default", Namespace: ns},
		Spec: subv1.SubscriptionPolicySpec{
			Tiers: []subv1.Tier{
				{Name: "starter", Limits: map[string]int64{"products": 50, "users": 5, "api_calls": 1000}},
				{Name: "professional", Limits: map[string]int64{"products": 500, "users": 20, "api_calls": 10000}},
				{Name: "enterprise"},
			},
			Metrics: []subv1.Metric{
				pg("products", "products"), pg("users", "users"), pg("locations", "locations"),
				pg("recipes", "recipes"), pg("suppliers", "suppliers"),
				{Name: "api_calls", RedisCounter: &subv1.RedisCounterSource{}},
				{Name: "forecasts", RedisCounter: &subv1.RedisCounterSource{}},
			},
			Snapshot: subv1.SnapshotSpec{Schedule: "0 2 * * *", TimeZone: tz, RetentionDays: 60, MinHistoryDays: 7},
		},
	}
}

func tenant(ns, id, tier string) *subv1.TenantUsage {
	return &subv1.TenantUsage{
		ObjectMeta: metav1.ObjectMeta{Name: id, Namespace: ns},
		Spec:       subv1.TenantUsageSpec{TenantID: id, Tier: tier},
	}
}

func create(objs ...client.Object) {
	for _, o := range objs {
		ExpectWithOffset(1, kube.Client.Create(ctx, o)).To(Succeed())
	}
}

// edit applies change to the latest version of obj and updates it, retrying on
// conflict: the operator patches the status of the same objects concurrently,
// and every status write moves the resourceVersion a plain Get+Update holds.
func edit[T client.Object](obj T, change func(T)) {
	GinkgoHelper()
	Expect(retry.RetryOnConflict(retry.DefaultRetry, func() error {
		if err := kube.Client.Get(ctx, client.ObjectKeyFromObject(obj), obj); err != nil {
			return err
		}
		change(obj)
		return kube.Client.Update(ctx, obj)
	})).To(Succeed())
}

func getPolicy(ns string) *subv1.SubscriptionPolicy {
	p := &subv1.SubscriptionPolicy{}
	ExpectWithOffset(1, kube.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: "default"}, p)).To(Succeed())
	return p
}

func getTenant(ns, name string) *subv1.TenantUsage {
	tu := &subv1.TenantUsage{}
	ExpectWithOffset(1, kube.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, tu)).To(Succeed())
	return tu
}

func condition(conds []metav1.Condition, typ string) *metav1.Condition {
	for i := range conds {
		if conds[i].Type == typ {
			return &conds[i]
		}
	}
	return nil
}

// insertRows adds n rows for tenant to a catalogue table.
func insertRows(table, tenantID string, n int) {
	_, err := pool.Exec(ctx, fmt.Sprintf("INSERT INTO %s (tenant_id) SELECT $1 FROM generate_series(1, $2)", table), tenantID, n)
	ExpectWithOffset(1, err).NotTo(HaveOccurred())
}

// eventsFor lists the Events regarding an object with a reason.
func eventsFor(ns, name, reason string) int {
	var list eventsv1.EventList
	ExpectWithOffset(1, kube.Client.List(ctx, &list, client.InNamespace(ns))).To(Succeed())
	n := 0
	for _, e := range list.Items {
		if e.Regarding.Name == name && e.Reason == reason {
			n++
		}
	}
	return n
}

const day = 24 * time.Hour

// eventNotes joins the notes of the Events regarding an object with a reason.
func eventNotes(ns, name, reason string) string {
	var list eventsv1.EventList
	ExpectWithOffset(1, kube.Client.List(ctx, &list, client.InNamespace(ns))).To(Succeed())
	notes := ""
	for _, e := range list.Items {
		if e.Regarding.Name == name && e.Reason == reason {
			notes += e.Note + "\n"
		}
	}
	return notes
}

// samplePolicy is config/samples' policy (nine metrics) in namespace ns,
// without its gateway (no gateway manager runs in this suite).
func samplePolicy(ns string) *subv1.SubscriptionPolicy {
	p, err := scenario.SamplePolicy(testenv.RepoRoot())
	ExpectWithOffset(1, err).NotTo(HaveOccurred())
	p.Namespace = ns
	p.Spec.Gateway = nil
	return p
}

func mustZone(name string) *time.Location {
	loc, err := time.LoadLocation(name)
	ExpectWithOffset(1, err).NotTo(HaveOccurred())
	return loc
}

// rawTenant returns the object as the API server returns it: the JSON that etcd stores.
func rawTenant(ns, name string) ([]byte, error) {
	cs, err := kubernetes.NewForConfig(kube.Config)
	if err != nil {
		return nil, err
	}
	return cs.RESTClient().Get().AbsPath("/apis/subscriptions.bakery-ia.io/v1alpha1/namespaces", ns, "tenantusages", name).DoRaw(ctx)
}
