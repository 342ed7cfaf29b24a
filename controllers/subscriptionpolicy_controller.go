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
	"fmt"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/events"
	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	subv1 "github.com/bakery-ia/subscription-operator/api/v1alpha1"
	"github.com/bakery-ia/subscription-operator/internal/kube"
	"github.com/bakery-ia/subscription-operator/internal/policy"
)

// GatewayManager creates, updates or removes the bundled gateway of a policy and
// reports whether it is ready. Kept behind an interface so the policy reconciler
// stays short and the gateway concern is tested on its own.
type GatewayManager interface {
	Reconcile(ctx context.Context, pol *subv1.SubscriptionPolicy) (readyReplicas int32, ready bool, msg string, err error)
}

// PolicyReconciler validates a SubscriptionPolicy, keeps its gateway, runs its
// scheduled snapshots and summarises everything in status.
type PolicyReconciler struct {
	client.Client
	Clock     clock.WithDelayedExecution
	Recorder  events.EventRecorder
	Snapshots *SnapshotScheduler
	Discovery *Discovery     // nil: tenant discovery needs DATABASE_URL
	Gateway   GatewayManager // nil: gateways are not managed
	Wakeups   *Wakeups
	// Notifications resolves webhook sinks and reports their health
	// (notifications_sinks.go); nil: notifications are off.
	Notifications *Notifications
}

// +kubebuilder:rbac:groups=subscriptions.bakery-ia.io,resources=subscriptionpolicies,verbs=get;list;watch
// +kubebuilder:rbac:groups=subscriptions.bakery-ia.io,resources=subscriptionpolicies/status,verbs=get;update;patch
// +kubebuilder:rbac:groups=subscriptions.bakery-ia.io,resources=tenantusages,verbs=get;list;watch;create;update;patch
// +kubebuilder:rbac:groups=subscriptions.bakery-ia.io,resources=tenantusages/status,verbs=get;update;patch
// +kubebuilder:rbac:groups=events.k8s.io,resources=events,verbs=create;patch
// +kubebuilder:rbac:groups="",resources=events,verbs=create;patch

// conflictRetry is how soon an object whose status patch lost an optimistic
// lock race is reconciled again (the watch usually brings it sooner).
const conflictRetry = time.Second

// Reconcile is level-triggered and idempotent: every step may run again at any
// time. As in Flux, one deferred function summarises the conditions and
// patches status once; the reconciler is the only writer of the policy's status.
func (r *PolicyReconciler) Reconcile(ctx context.Context, req ctrl.Request) (result ctrl.Result, retErr error) {
	pol := &subv1.SubscriptionPolicy{}
	if err := r.Get(ctx, req.NamespacedName, pol); err != nil {
		if apierrors.IsNotFound(err) {
			r.Wakeups.Forget(req.NamespacedName)
			r.forgetNotifications(ctx, req.NamespacedName)
		}
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	before := pol.DeepCopy()
	var step Step
	defer func() {
		r.Snapshots.Apply(pol)
		summarizePolicy(pol, step.Due || retErr != nil)
		if err := r.patchStatus(ctx, before, pol); err != nil {
			if apierrors.IsConflict(err) {
				// A newer version is on its way through the watch; not an error.
				log.FromContext(ctx).V(1).Info("status patch conflicted; requeued")
				result, retErr = ctrl.Result{RequeueAfter: conflictRetry}, nil
				return
			}
			retErr = errors.Join(retErr, err)
		}
	}()

	// What CEL cannot check: the time zone exists, the cron fires, limits
	// name metrics. A spec the controller cannot use is stalled until the user
	// edits it: requeueing would not help.
	spec, err := policy.CompileSpec(pol)
	if err != nil {
		setCondition(&pol.Status.Conditions, pol.Generation, subv1.ConditionStalled, metav1.ConditionTrue, ReasonInvalidSpec, err.Error())
		r.Wakeups.Forget(req.NamespacedName)
		return ctrl.Result{}, nil
	}
	setCondition(&pol.Status.Conditions, pol.Generation, subv1.ConditionStalled, metav1.ConditionFalse, "Valid", "spec is valid")
	if msg, ok := progressing(pol); ok {
		r.markReconciling(ctx, before, pol, msg)
	}

	tenants, err := kube.TenantsOfPolicy(ctx, r.Client, pol.Namespace, pol.Name, true)
	if err != nil {
		return ctrl.Result{}, err
	}
	pol.Status.Tenants = int32(len(tenants))
	pol.Status.TierNames = spec.TierNames()

	if err := r.reconcileGateway(ctx, pol); err != nil {
		return ctrl.Result{}, err
	}
	r.reconcileNotifications(ctx, pol, spec)
	step, err = r.Snapshots.Reconcile(ctx, pol, spec, r.Discovery, func() { r.markReconciling(ctx, before, pol, "a scheduled snapshot is running") })
	if err != nil {
		return ctrl.Result{}, err
	}
	switch {
	case step.Discovery != nil:
		st, reason, msg := step.Discovery.Condition()
		setCondition(&pol.Status.Conditions, pol.Generation, subv1.ConditionDiscovered, st, reason, msg)
	case spec.DiscoveryQuery == "":
		meta.RemoveStatusCondition(&pol.Status.Conditions, subv1.ConditionDiscovered)
	}
	// One timer per policy, on the injected clock. No RequeueAfter on top of
	// it for a tick: two wakeups for one tick were how one tick ran twice. A
	// retry of a due run also gets one (its identity is the due time and
	// retryAt holds it back until its backoff ends), so a retry is never
	// stranded when a timer was set against an older reading of the clock.
	r.Wakeups.At(pol, step.Next)
	if step.Due {
		return ctrl.Result{RequeueAfter: max(step.Next.Sub(r.Clock.Now()), time.Second)}, nil
	}
	return ctrl.Result{}, nil
}

// progressing says whether a reconcile starting now works on a generation
// not yet observed (kstatus, as Flux): then the policy is Reconciling from
// the start, not only after the fact.
func progressing(pol *subv1.SubscriptionPolicy) (string, bool) {
	if pol.Generation == pol.Status.ObservedGeneration {
		return "", false
	}
	return fmt.Sprintf("reconciling generation %d", pol.Generation), true
}

// markReconciling patches Reconciling=True (Progressing) at once, before work
// that can take a while (a new generation, a snapshot run that can take
// minutes); the deferred summarize ends it with the one final status patch.
func (r *PolicyReconciler) markReconciling(ctx context.Context, before, pol *subv1.SubscriptionPolicy, msg string) {
	setCondition(&pol.Status.Conditions, pol.Generation, subv1.ConditionReconciling, metav1.ConditionTrue, ReasonProgressing, msg)
	if err := r.patchStatus(ctx, before, pol); err != nil {
		log.FromContext(ctx).V(1).Info("could not mark the policy Reconciling", "error", err.Error())
		return
	}
	before.Status = *pol.Status.DeepCopy()
	before.ResourceVersion = pol.ResourceVersion
}

// patchStatus writes status when it changed. The optimistic lock makes a
// write based on a stale read fail rather than overwrite a newer status.
func (r *PolicyReconciler) patchStatus(ctx context.Context, before, pol *subv1.SubscriptionPolicy) error {
	if equality.Semantic.DeepEqual(before.Status, pol.Status) {
		return nil
	}
	if err := r.Status().Patch(ctx, pol, client.MergeFromWithOptions(before, client.MergeFromWithOptimisticLock{})); err != nil {
		return client.IgnoreNotFound(fmt.Errorf("patching status: %w", err))
	}
	return nil
}

func (r *PolicyReconciler) reconcileGateway(ctx context.Context, pol *subv1.SubscriptionPolicy) error {
	if r.Gateway == nil {
		return nil
	}
	ready, ok, msg, err := r.Gateway.Reconcile(ctx, pol)
	if err != nil {
		setCondition(&pol.Status.Conditions, pol.Generation, subv1.ConditionGatewayReady, metav1.ConditionFalse, "ReconcileFailed", err.Error())
		return fmt.Errorf("reconciling gateway: %w", err)
	}
	if pol.Spec.Gateway == nil || !pol.Spec.Gateway.Enabled {
		pol.Status.Gateway = nil
		setCondition(&pol.Status.Conditions, pol.Generation, subv1.ConditionGatewayReady, metav1.ConditionTrue, "Disabled", "the bundled gateway is disabled")
		return nil
	}
	pol.Status.Gateway = &subv1.GatewayStatus{ReadyReplicas: ready}
	status, reason := metav1.ConditionTrue, "Available"
	if !ok {
		status, reason = metav1.ConditionFalse, "Progressing"
	}
	setCondition(&pol.Status.Conditions, pol.Generation, subv1.ConditionGatewayReady, status, reason, msg)
	return nil
}

// Policy condition reasons that tests and docs rely on.
const (
	ReasonInvalidSpec    = "InvalidSpec"
	ReasonProgressing    = "Progressing"
	ReasonRetryScheduled = "RetryScheduled"
	ReasonReconciled     = "Reconciled"
)

// summarizePolicy derives Ready and Reconciling from the other conditions, the
// kstatus convention that Flux, Argo CD and kubectl wait understand. Stalled
// wins; Reconciling is True while a due run waits for its retry or a failed
// step will be retried (pending); Ready is False when anything is wrong.
func summarizePolicy(pol *subv1.SubscriptionPolicy, pending bool) {
	conds := &pol.Status.Conditions
	gen := pol.Generation
	pol.Status.ObservedGeneration = gen
	var problems []string
	reason := ReasonReconciled
	stalled := false
	if c := findCondition(*conds, subv1.ConditionStalled); c != nil && c.Status == metav1.ConditionTrue {
		problems, reason, stalled = append(problems, c.Message), c.Reason, true
	}
	for _, typ := range []string{subv1.ConditionSnapshotSucceeded, subv1.ConditionGatewayReady, subv1.ConditionDiscovered,
		subv1.ConditionNotificationsHealthy} {
		if c := findCondition(*conds, typ); c != nil && c.Status == metav1.ConditionFalse {
			problems = append(problems, typ+": "+c.Message)
			if reason == ReasonReconciled {
				reason = c.Reason
			}
		}
	}
	if len(problems) > 0 {
		setCondition(conds, gen, subv1.ConditionReady, metav1.ConditionFalse, reason, strings.Join(problems, "; "))
	} else {
		msg := fmt.Sprintf("%d tenants", pol.Status.Tenants)
		if pol.Status.NextSnapshotTime != nil {
			msg += ", next snapshot " + pol.Status.NextSnapshotTime.UTC().Format(time.RFC3339)
		}
		setCondition(conds, gen, subv1.ConditionReady, metav1.ConditionTrue, reason, msg)
	}
	switch {
	case stalled:
		setCondition(conds, gen, subv1.ConditionReconciling, metav1.ConditionFalse, ReasonInvalidSpec, "stalled until the spec is edited")
	case pending:
		setCondition(conds, gen, subv1.ConditionReconciling, metav1.ConditionTrue, ReasonRetryScheduled, "a due snapshot or a failed step is retried")
	default:
		setCondition(conds, gen, subv1.ConditionReconciling, metav1.ConditionFalse, ReasonReconciled, "reconciled")
	}
	// Ready first, as kubectl describe readers expect.
	sortConditions(*conds)
}

func findCondition(conds []metav1.Condition, typ string) *metav1.Condition {
	for i := range conds {
		if conds[i].Type == typ {
			return &conds[i]
		}
	}
	return nil
}

func sortConditions(conds []metav1.Condition) {
	for i := range conds {
		if conds[i].Type == subv1.ConditionReady && i != 0 {
			c := conds[i]
			copy(conds[1:i+1], conds[:i])
			conds[0] = c
			return
		}
	}
}

// SetupWithManager watches policies (spec changes only: our own status writes
// must not loop), tenants (the tenant count) and the owned gateway objects.
func (r *PolicyReconciler) SetupWithManager(mgr ctrl.Manager, owned ...client.Object) error {
	b := ctrl.NewControllerManagedBy(mgr).
		Named("subscriptionpolicy").
		For(&subv1.SubscriptionPolicy{}, builder.WithPredicates(predicate.Or(
			predicate.GenerationChangedPredicate{}, predicate.AnnotationChangedPredicate{}))).
		Watches(&subv1.TenantUsage{}, handler.EnqueueRequestsFromMapFunc(policyOfTenant),
			builder.WithPredicates(tenantCountChanged())).
		WatchesRawSource(r.Wakeups.Source())
	for _, o := range owned {
		b = b.Owns(o)
	}
	if r.Notifications != nil {
		b = b.WatchesRawSource(r.Notifications.source())
	}
	return b.Complete(r)
}

func policyOfTenant(_ context.Context, o client.Object) []reconcile.Request {
	tu, ok := o.(*subv1.TenantUsage)
	if !ok {
		return nil
	}
	return []reconcile.Request{{NamespacedName: kube.PolicyKey(tu)}}
}

// tenantCountChanged lets through creates, deletes and policyRef changes only.
func tenantCountChanged() predicate.Predicate {
	return predicate.Funcs{
		UpdateFunc: func(e event.UpdateEvent) bool {
			o, ok1 := e.ObjectOld.(*subv1.TenantUsage)
			n, ok2 := e.ObjectNew.(*subv1.TenantUsage)
			return ok1 && ok2 && policy.NameOf(o) != policy.NameOf(n)
		},
		GenericFunc: func(event.GenericEvent) bool { return false },
	}
}

// warn records a Warning Event on obj.
func warn(rec events.EventRecorder, obj client.Object, reason, action, msg string) {
	if rec != nil {
		rec.Eventf(obj, nil, corev1.EventTypeWarning, reason, action, "%s", msg)
	}
}

// normal records a Normal Event on obj.
func normal(rec events.EventRecorder, obj client.Object, reason, action, msg string) {
	if rec != nil {
		rec.Eventf(obj, nil, corev1.EventTypeNormal, reason, action, "%s", msg)
	}
}
