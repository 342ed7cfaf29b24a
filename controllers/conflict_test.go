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

package controllers

import (
	"context"
	"errors"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	fakeclock "k8s.io/utils/clock/testing"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"

	subv1 "github.com/bakery-ia/subscription-operator/api/v1alpha1"
	"github.com/bakery-ia/subscription-operator/internal/history"
	"github.com/bakery-ia/subscription-operator/internal/kube"
	"github.com/bakery-ia/subscription-operator/internal/policy/policytest"
)

type noHistory struct{}

func (noHistory) Read(context.Context, string, []string, string, int) (map[string][]history.Point, error) {
	return map[string][]history.Point{}, nil
}

// TestForecastStatusConflictIsRequeuedQuietly: an optimistic-lock conflict on
// the status write is a normal race, requeued without an error (no "Reconciler
// error" and stack trace in the log).
func TestForecastStatusConflictIsRequeuedQuietly(t *testing.T) {
	pol := policytest.Policy()
	tu := &subv1.TenantUsage{ObjectMeta: metav1.ObjectMeta{Name: "t1", Namespace: pol.Namespace},
		Spec: subv1.TenantUsageSpec{TenantID: "t1", Tier: "starter"}}
	c := fake.NewClientBuilder().WithScheme(kube.NewScheme()).WithObjects(pol, tu).
		WithStatusSubresource(&subv1.TenantUsage{}).
		WithInterceptorFuncs(interceptor.Funcs{
			SubResourceUpdate: func(context.Context, client.Client, string, client.Object, ...client.SubResourceUpdateOption) error {
				return apierrors.NewConflict(schema.GroupResource{Group: subv1.GroupVersion.Group, Resource: "tenantusages"}, "t1",
					errors.New("the object has been modified; please apply your changes to the latest version"))
			},
		}).Build()
	r := &ForecastReconciler{Client: c, Clock: fakeclock.NewFakePassiveClock(time.Now()), History: noHistory{}}
	res, err := r.Reconcile(context.Background(), ctrl.Request{NamespacedName: client.ObjectKeyFromObject(tu)})
	if err != nil {
		t.Fatalf("a conflict was returned as an error: %v", err)
	}
	if res.RequeueAfter != conflictRetry {
		t.Errorf("RequeueAfter = %s, want %s", res.RequeueAfter, conflictRetry)
	}
}
