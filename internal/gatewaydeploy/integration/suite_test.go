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

package integration_test

import (
	"context"
	"sync"
	"testing"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/config"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	subv1 "github.com/bakery-ia/subscription-operator/api/v1alpha1"
	"github.com/bakery-ia/subscription-operator/controllers"
	"github.com/bakery-ia/subscription-operator/internal/gatewaydeploy"
	"github.com/bakery-ia/subscription-operator/internal/testenv"
	"github.com/bakery-ia/subscription-operator/internal/testenv/suite"
)

const (
	testImage = "example.com/subscription-operator:test"
	// unmanagedAnnotation makes the suite's reconciler leave a policy alone,
	// for specs that drive a GatewayDeployer of their own.
	unmanagedAnnotation = "test.subscriptions.bakery-ia.io/unmanaged"
)

var (
	kube   *testenv.Kube
	k8s    client.Client // admin, uncached: what the assertions read
	writes *writeCounter
	rec    *gatewayReconciler
	ctx    context.Context
	cancel context.CancelFunc
)

func TestGatewayDeploy(t *testing.T) {
	suite.Run(t, "Gateway objects suite (envtest)")
}

var _ = BeforeSuite(func() {
	var err error
	kube, err = testenv.StartEnvtest()
	Expect(err).NotTo(HaveOccurred())
	k8s = kube.Client

	mgr, err := ctrl.NewManager(kube.Config, ctrl.Options{
		Scheme:                 kube.Scheme,
		Metrics:                metricsserver.Options{BindAddress: "0"},
		HealthProbeBindAddress: "0",
		Controller:             config.Controller{SkipNameValidation: ptr.To(true)},
	})
	Expect(err).NotTo(HaveOccurred())

	// The manager's cached client, as in production, counted so specs can
	// assert that an unchanged policy costs no write.
	writes = &writeCounter{Client: mgr.GetClient(), byNS: map[string]int{}}
	rec = &gatewayReconciler{
		Client:  mgr.GetClient(),
		Gateway: &controllers.GatewayDeployer{Client: writes, Options: gatewaydeploy.Options{Image: testImage}},
		last:    map[types.NamespacedName]result{},
		count:   map[types.NamespacedName]int{},
	}
	b := ctrl.NewControllerManagedBy(mgr).Named("gateway-test").For(&subv1.SubscriptionPolicy{})
	for _, o := range controllers.GatewayOwnedTypes() {
		b = b.Owns(o)
	}
	Expect(b.Complete(rec)).To(Succeed())

	ctx, cancel = context.WithCancel(context.Background())
	go func() {
		defer GinkgoRecover()
		Expect(mgr.Start(ctx)).To(Succeed())
	}()
})

var _ = AfterSuite(func() {
	if cancel != nil {
		cancel()
	}
	if kube != nil {
		Expect(kube.Stop()).To(Succeed())
	}
})

// result is what the last GatewayManager.Reconcile of a policy returned.
type result struct {
	ready      int32
	ok         bool
	msg        string
	err        error
	generation int64
}

// gatewayReconciler is the smallest reconciler that drives a GatewayManager
// the way PolicyReconciler does: watch policies and the owned kinds, call it.
type gatewayReconciler struct {
	client.Client
	Gateway controllers.GatewayManager

	mu    sync.Mutex
	last  map[types.NamespacedName]result
	count map[types.NamespacedName]int
}

func (r *gatewayReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	p := &subv1.SubscriptionPolicy{}
	if err := r.Get(ctx, req.NamespacedName, p); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if p.Annotations[unmanagedAnnotation] == "true" {
		return ctrl.Result{}, nil
	}
	ready, ok, msg, err := r.Gateway.Reconcile(ctx, p)
	r.mu.Lock()
	r.last[req.NamespacedName] = result{ready: ready, ok: ok, msg: msg, err: err, generation: p.Generation}
	r.count[req.NamespacedName]++
	r.mu.Unlock()
	return ctrl.Result{}, err
}

func (r *gatewayReconciler) result(key types.NamespacedName) (result, int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.last[key], r.count[key]
}

// writeCounter counts the write requests sent per namespace.
type writeCounter struct {
	client.Client
	mu   sync.Mutex
	byNS map[string]int
}

func (w *writeCounter) note(ns string) {
	w.mu.Lock()
	w.byNS[ns]++
	w.mu.Unlock()
}

func (w *writeCounter) in(ns string) int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.byNS[ns]
}

func (w *writeCounter) Create(ctx context.Context, obj client.Object, opts ...client.CreateOption) error {
	w.note(obj.GetNamespace())
	return w.Client.Create(ctx, obj, opts...)
}

func (w *writeCounter) Update(ctx context.Context, obj client.Object, opts ...client.UpdateOption) error {
	w.note(obj.GetNamespace())
	return w.Client.Update(ctx, obj, opts...)
}

func (w *writeCounter) Patch(ctx context.Context, obj client.Object, patch client.Patch, opts ...client.PatchOption) error {
	w.note(obj.GetNamespace())
	return w.Client.Patch(ctx, obj, patch, opts...)
}

func (w *writeCounter) Delete(ctx context.Context, obj client.Object, opts ...client.DeleteOption) error {
	w.note(obj.GetNamespace())
	return w.Client.Delete(ctx, obj, opts...)
}

func (w *writeCounter) Apply(ctx context.Context, obj runtime.ApplyConfiguration, opts ...client.ApplyOption) error {
	ns := ""
	if o, ok := obj.(interface{ GetNamespace() *string }); ok && o.GetNamespace() != nil {
		ns = *o.GetNamespace()
	}
	w.note(ns)
	return w.Client.Apply(ctx, obj, opts...)
}
