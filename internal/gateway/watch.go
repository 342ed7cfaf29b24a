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
	"maps"
	"sync/atomic"
	"time"

	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	"k8s.io/client-go/rest"
	toolscache "k8s.io/client-go/tools/cache"

	subv1 "github.com/bakery-ia/subscription-operator/api/v1alpha1"
	"github.com/bakery-ia/subscription-operator/internal/kube/trim"
	"github.com/bakery-ia/subscription-operator/internal/policy"
)

// Watcher keeps a Gateway's rule table in step with the SubscriptionPolicy and
// the TenantUsage objects of one namespace. It runs namespace-scoped, read-only
// client-go informers (get/list/watch on those two kinds in that namespace is
// all the RBAC it needs). A policy change, a new or deleted TenantUsage, or one
// whose binding changed (tier, suspend, overrides, policy) rebuilds the table
// from the informer's records and swaps it in: level-triggered, so a burst of
// events costs one rebuild. A status write rebuilds nothing: the informer
// keeps bindings only, and the tenant's entitlements and usage page read the
// forecast when the tenant asks (forecastReader).
//
// The gateway uses client-go directly, not controller-runtime: it needs two
// informers and nothing of a manager, and controller-runtime's client links
// every built-in API group into the binary (k8s.io/client-go/kubernetes/scheme),
// whose code and init data every gateway pod kept resident
// (docs/operations.md, Capacity). internal/kube's dependency test keeps it so.
type Watcher struct {
	Gateway   *Gateway
	Namespace string
	Policy    string
	// AfterSync, when set, runs once after the first table is in force
	// (cmd/gateway returns the initial list's memory to the OS there).
	AfterSync func()
	// AfterBurst, when set, runs once a burst of at least BurstUpdates
	// updates that bind nothing new (status writes: a snapshot run rewrites
	// every tenant's) has been followed by BurstQuiet without one.
	// cmd/gateway returns the burst's garbage to the OS there: each update
	// was a whole decoded object, kept only as a small record. Defaults:
	// 1,000 updates, 10 s.
	AfterBurst   func()
	BurstUpdates int
	BurstQuiet   time.Duration
	// ForecastCache is how many tenants' last forecast reads are kept
	// (DefaultForecastCache); ForecastReads bounds the reads per second
	// (DefaultForecastReads). Set before Run.
	ForecastCache int
	ForecastReads float64
	getTenant     getTenantUsage
	forecasts     *forecastReader                // made by Run
	updates       atomic.Int64                   // updates since the last quiet period
	updated       chan struct{}                  // a token per update (buffer 1)
	policy        toolscache.SharedIndexInformer // the one SubscriptionPolicy, by name
	tenants       toolscache.SharedIndexInformer // TenantUsage, as *TenantRecord
	poke          chan struct{}
	lastErr       string // the update error logged last: a repeat is logged at debug level
}

// Scheme has the types the gateway watches.
func Scheme() *runtime.Scheme {
	s := runtime.NewScheme()
	if err := subv1.AddToScheme(s); err != nil {
		panic(err)
	}
	return s
}

// NewWatcher creates the namespace-scoped informers.
func NewWatcher(cfg *rest.Config, g *Gateway, namespace, policyName string) (*Watcher, error) {
	rcl, err := restClient(cfg)
	if err != nil {
		return nil, err
	}
	// Only the policy the gateway enforces is read (other policies of the
	// namespace never reach it), without managedFields and kubectl's
	// last-applied copy of its spec.
	plw := toolscache.NewListWatchFromClient(rcl, "subscriptionpolicies", namespace,
		fields.OneTermEqualSelector("metadata.name", policyName))
	pol := toolscache.NewSharedIndexInformerWithOptions(plw, &subv1.SubscriptionPolicy{},
		toolscache.SharedIndexInformerOptions{ObjectDescription: "SubscriptionPolicy " + policyName})
	if err := pol.SetTransform(trim.Meta); err != nil {
		return nil, fmt.Errorf("SubscriptionPolicy informer transform: %w", err)
	}
	tenants, err := newTenantInformer(rcl, namespace)
	if err != nil {
		return nil, err
	}
	get := func(ctx context.Context, name string) (*subv1.TenantUsage, error) {
		var tu subv1.TenantUsage
		err := rcl.Get().Namespace(namespace).Resource("tenantusages").Name(name).Do(ctx).Into(&tu)
		return &tu, err
	}
	return &Watcher{Gateway: g, Namespace: namespace, Policy: policyName, policy: pol, tenants: tenants,
		getTenant: get, poke: make(chan struct{}, 1), updated: make(chan struct{}, 1)}, nil
}

// restClient is a client of this project's API group (JSON: CRDs have no
// protobuf).
func restClient(cfg *rest.Config) (*rest.RESTClient, error) {
	return NewRESTClient(cfg, subv1.GroupVersion, "/apis", Scheme())
}

// NewRESTClient is a client of one API group version whose types s holds,
// for the gateway's reads (it has no controller-runtime client). apiPath is
// "/api" for the core group, "/apis" for the others.
func NewRESTClient(cfg *rest.Config, gv schema.GroupVersion, apiPath string, s *runtime.Scheme) (*rest.RESTClient, error) {
	rc := rest.CopyConfig(cfg)
	rc.GroupVersion = &gv
	rc.APIPath = apiPath
	rc.NegotiatedSerializer = serializer.NewCodecFactory(s).WithoutConversion()
	if rc.UserAgent == "" {
		rc.UserAgent = rest.DefaultKubernetesUserAgent()
	}
	rcl, err := rest.RESTClientFor(rc)
	if err != nil {
		return nil, fmt.Errorf("creating the %s client: %w", gv, err)
	}
	return rcl, nil
}

// newTenantInformer is an informer over the namespace's TenantUsage objects
// whose store holds *TenantRecord bindings (CompactTenantBinding): every pod
// holds every tenant, so it holds a couple of hundred bytes of each instead
// of the object.
// client-go streams the initial list (WatchListClient, on by default) where
// the API server supports it, so objects arrive and are compacted one at a
// time instead of all being decoded before the first is transformed. No
// indexes: the store's own key is all the gateway looks up.
func newTenantInformer(rcl *rest.RESTClient, namespace string) (toolscache.SharedIndexInformer, error) {
	lw := toolscache.NewListWatchFromClient(rcl, "tenantusages", namespace, fields.Everything())
	inf := toolscache.NewSharedIndexInformerWithOptions(lw, &subv1.TenantUsage{},
		toolscache.SharedIndexInformerOptions{ObjectDescription: "TenantUsage records"})
	if err := inf.SetTransform(CompactTenantBinding); err != nil {
		return nil, fmt.Errorf("TenantUsage informer transform: %w", err)
	}
	return inf, nil
}

// Run starts the informers, waits for them to sync, marks the gateway synced
// and applies every change until ctx ends.
func (w *Watcher) Run(ctx context.Context) error {
	w.forecasts = newForecastReader(w.getTenant, positiveOr(w.ForecastCache, DefaultForecastCache),
		positiveOr(w.ForecastReads, DefaultForecastReads), w.Gateway.metrics, w.Gateway.log)
	all := toolscache.ResourceEventHandlerFuncs{
		AddFunc:    func(any) { w.signal() },
		UpdateFunc: func(any, any) { w.signal() },
		DeleteFunc: func(any) { w.signal() },
	}
	if _, err := w.policy.AddEventHandler(all); err != nil {
		return fmt.Errorf("event handler for the policy: %w", err)
	}
	if _, err := w.tenants.AddEventHandler(toolscache.ResourceEventHandlerFuncs{
		AddFunc: all.AddFunc, DeleteFunc: all.DeleteFunc,
		UpdateFunc: func(old, cur any) {
			if bindingChanged(old, cur) {
				w.signal()
				return
			}
			w.updates.Add(1)
			select {
			case w.updated <- struct{}{}:
			default:
			}
		},
	}); err != nil {
		return fmt.Errorf("event handler for TenantUsage: %w", err)
	}
	go w.policy.RunWithContext(ctx)
	go w.tenants.RunWithContext(ctx)
	// The informers retry (and log) failed lists and watches themselves;
	// this returns false only when ctx ends first.
	if !toolscache.WaitForCacheSync(ctx.Done(), w.policy.HasSynced, w.tenants.HasSynced) {
		return fmt.Errorf("informer caches did not sync: %w", ctx.Err())
	}
	w.rebuild(ctx)
	w.Gateway.SetSynced()
	log := w.Gateway.log
	log.Info("informer caches synced", "namespace", w.Namespace, "policy", w.Policy, "table", w.Gateway.Table() != nil)
	if w.AfterSync != nil {
		w.AfterSync()
	}
	if w.AfterBurst != nil {
		go w.afterBursts(ctx)
	}
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-w.poke:
			w.rebuild(ctx)
		}
	}
}

// afterBursts calls AfterBurst after each burst of updates (see there). It
// keeps time with the real clock: it paces housekeeping, not decisions.
func (w *Watcher) afterBursts(ctx context.Context) {
	burst, quiet := int64(positiveOr(w.BurstUpdates, 1000)), w.BurstQuiet
	if quiet <= 0 {
		quiet = 10 * time.Second
	}
	for {
		select {
		case <-ctx.Done():
			return
		case <-w.updated:
		}
		t := time.NewTimer(quiet)
	wait:
		for {
			select {
			case <-ctx.Done():
				t.Stop()
				return
			case <-w.updated:
				t.Reset(quiet)
			case <-t.C:
				break wait
			}
		}
		if w.updates.Swap(0) >= burst {
			w.AfterBurst()
		}
	}
}

// positiveOr is v, or def when v is not positive.
func positiveOr[T int | float64](v, def T) T {
	if v > 0 {
		return v
	}
	return def
}

// bindingChanged reports whether an update changes what the table binds:
// anything but the status and the resourceVersion.
func bindingChanged(old, cur any) bool {
	o, ok1 := old.(*TenantRecord)
	n, ok2 := cur.(*TenantRecord)
	if !ok1 || !ok2 {
		return true
	}
	a, b := &o.Binding, &n.Binding
	return a.Name != b.Name || a.Namespace != b.Namespace || a.Policy != b.Policy || a.TenantID != b.TenantID ||
		a.Tier != b.Tier || a.Suspend != b.Suspend || !maps.Equal(a.Overrides, b.Overrides)
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
	obj, found, err := w.policy.GetStore().GetByKey(w.Namespace + "/" + w.Policy)
	if err != nil {
		log.Error("reading the policy from the cache; keeping the last rule table", "error", err)
		return
	}
	pol, ok := obj.(*subv1.SubscriptionPolicy)
	if !found || !ok {
		_ = w.Gateway.Update(ctx, nil, nil)
		return
	}
	// The informer's object is shared with its store: the gateway gets a
	// copy it may keep and modify (one object, once per rebuild).
	pol = pol.DeepCopy()
	// The records themselves, not copies: they are never modified (a
	// change of the object makes a new record).
	store := w.tenants.GetStore()
	objs := store.List()
	bs := make([]*policy.Binding, 0, len(objs))
	for _, o := range objs {
		if rec, ok := o.(*TenantRecord); ok {
			bs = append(bs, &rec.Binding)
		}
	}
	source := func(*policy.Table) recordSource { return storeRecords(store, w.Namespace, w.forecasts) }
	if err := w.Gateway.update(ctx, pol, bs, source); err != nil {
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

// storeRecords reads a bound tenant's current binding from the informer's
// store and its status through fr (nil: the binding alone): the latest
// status, without a rebuild. The object may have changed since the table was
// bound (a rebuild is then on its way); a record that is no longer the
// tenant's binding is not returned.
func storeRecords(store toolscache.Store, namespace string, fr *forecastReader) recordSource {
	return func(ctx context.Context, t *policy.Table, tn *policy.Tenant) *TenantRecord {
		obj, ok, err := store.GetByKey(namespace + "/" + tn.Object)
		if err != nil || !ok {
			return nil
		}
		rec, ok := obj.(*TenantRecord)
		if !ok || !rec.boundTo(t, tn) {
			return nil
		}
		if fr == nil {
			return rec
		}
		return fr.record(ctx, t, tn, rec)
	}
}
