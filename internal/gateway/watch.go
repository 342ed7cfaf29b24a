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
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/rest"
	toolscache "k8s.io/client-go/tools/cache"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	subv1 "github.com/bakery-ia/subscription-operator/api/v1alpha1"
	"github.com/bakery-ia/subscription-operator/internal/kube"
)

// Watcher keeps a Gateway's rule table in step with the SubscriptionPolicy and
// the TenantUsage objects of one namespace. It runs namespace-scoped, read-only
// informers (get/list/watch on those two kinds in that namespace is all the RBAC
// it needs) and, on any event, rebuilds the table from the informer cache and
// swaps it in: level-triggered, so a burst of events costs one rebuild.
type Watcher struct {
	Gateway   *Gateway
	Namespace string
	Policy    string
	cache     cache.Cache
	poke      chan struct{}
	lastErr   string // the update error logged last: a repeat is logged at debug level
}

// Scheme has the types the gateway watches.
func Scheme() *runtime.Scheme {
	s := runtime.NewScheme()
	if err := subv1.AddToScheme(s); err != nil {
		panic(err)
	}
	return s
}

// NewWatcher creates the namespace-scoped cache.
func NewWatcher(cfg *rest.Config, g *Gateway, namespace, policyName string) (*Watcher, error) {
	c, err := cache.New(cfg, cache.Options{
		Scheme:            Scheme(),
		DefaultNamespaces: map[string]cache.Config{namespace: {}},
		// Each pod holds every tenant of the namespace: keep only what the
		// gateway reads (SlimTenantUsage); the policy loses managedFields and
		// kubectl's last-applied copy of its spec.
		DefaultTransform: kube.StripMeta,
		ByObject: map[client.Object]cache.ByObject{
			&subv1.TenantUsage{}: {Transform: SlimTenantUsage},
		},
	})
	if err != nil {
		return nil, fmt.Errorf("creating informer cache for namespace %s: %w", namespace, err)
	}
	return &Watcher{Gateway: g, Namespace: namespace, Policy: policyName, cache: c, poke: make(chan struct{}, 1)}, nil
}

// Run starts the informers, waits for them to sync, marks the gateway synced
// and applies every change until ctx ends.
func (w *Watcher) Run(ctx context.Context) error {
	handler := toolscache.ResourceEventHandlerFuncs{
		AddFunc:    func(any) { w.signal() },
		UpdateFunc: func(any, any) { w.signal() },
		DeleteFunc: func(any) { w.signal() },
	}
	for _, obj := range []client.Object{&subv1.SubscriptionPolicy{}, &subv1.TenantUsage{}} {
		inf, err := w.cache.GetInformer(ctx, obj)
		if err != nil {
			return fmt.Errorf("informer for %T: %w", obj, err)
		}
		if _, err := inf.AddEventHandler(handler); err != nil {
			return fmt.Errorf("event handler for %T: %w", obj, err)
		}
	}
	errc := make(chan error, 1)
	go func() { errc <- w.cache.Start(ctx) }()
	if !w.cache.WaitForCacheSync(ctx) {
		return fmt.Errorf("informer caches did not sync")
	}
	w.rebuild(ctx)
	w.Gateway.SetSynced()
	log := w.Gateway.log
	log.Info("informer caches synced", "namespace", w.Namespace, "policy", w.Policy, "table", w.Gateway.Table() != nil)
	for {
		select {
		case <-ctx.Done():
			return nil
		case err := <-errc:
			if err != nil {
				return fmt.Errorf("informer cache stopped: %w", err)
			}
			return nil
		case <-w.poke:
			w.rebuild(ctx)
		}
	}
}

func (w *Watcher) signal() {
	select {
	case w.poke <- struct{}{}:
	default:
	}
}

func (w *Watcher) rebuild(ctx context.Context) {
	start := w.Gateway.clock.Now()
	log := w.Gateway.log
	var pol subv1.SubscriptionPolicy
	err := w.cache.Get(ctx, types.NamespacedName{Namespace: w.Namespace, Name: w.Policy}, &pol)
	switch {
	case apierrors.IsNotFound(err):
		_ = w.Gateway.Update(ctx, nil, nil)
		return
	case err != nil:
		log.Error("reading the policy from the cache; keeping the last rule table", "error", err)
		return
	}
	var list subv1.TenantUsageList
	// No deep copy: a rebuild would otherwise copy every tenant of the
	// namespace on every change. The table only reads the objects, and the
	// informer replaces cached objects rather than changing them.
	if err := w.cache.List(ctx, &list, client.InNamespace(w.Namespace), client.UnsafeDisableDeepCopy); err != nil {
		log.Error("listing TenantUsage from the cache; keeping the last rule table", "error", err)
		return
	}
	if err := w.Gateway.Update(ctx, &pol, list.Items); err != nil {
		if msg := err.Error(); msg != w.lastErr {
			w.lastErr = msg
			log.Error("rule table not updated", "error", err)
		} else {
			log.Debug("rule table still not updated", "error", err)
		}
		return
	}
	w.lastErr = ""
	log.Debug("rule table rebuilt", "took", w.Gateway.clock.Since(start))
}
