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
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/events"
	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	subv1 "github.com/bakery-ia/subscription-operator/api/v1alpha1"
	"github.com/bakery-ia/subscription-operator/internal/schedule"
)

// GatewayManager creates, updates or removes the bundled gateway of a policy and
// reports whether it is ready. Kept behind an interface so the policy reconciler
// stays short and the gateway concern is tested on its own.
type GatewayManager interface {
	Reconcile(ctx context.Context, policy *subv1.SubscriptionPolicy) (readyReplicas int32, ready bool, msg string, err error)
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
}

// +kubebuilder:rbac:groups=subscriptions.bakery-ia.io,resources=subscriptionpolicies,verbs=get;list;watch
// +kubebuilder:rbac:groups=subscriptions.bakery-ia.io,resources=subscriptionpolicies/status,verbs=get;update;patch
// +kubebuilder:rbac:groups=subscriptions.bakery-ia.io,resources=tenantusages,verbs=get;list;watch;create;update;patch
// +kubebuilder:rbac:groups=subscriptions.bakery-ia.io,resources=tenantusages/status,verbs=get;update;patch
// +kubebuilder:rbac:groups=events.k8s.io,resources=events,verbs=create;patch
// +kubebuilder:rbac:groups="",resources=events,verbs=create;patch

// Reconcile is level-triggered and idempotent: every step may run again at any time.
func (r *PolicyReconciler) Reconcile(ctx context.Context, req ctrl.Request) (result ctrl.Result, retErr error) {
	policy := &subv1.SubscriptionPolicy{}
	if err := r.Get(ctx, req.NamespacedName, policy); err != nil {
		if client.IgnoreNotFound(err) == nil {
			r.Wakeups.Forget(req.NamespacedName)
		}
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	before := policy.DeepCopy()
	defer func() {
		summarizePolicy(policy)
		if equality.Semantic.DeepEqual(before.Status, policy.Status) {
			return
		}
		if err := r.Status().Patch(ctx, policy, client.MergeFrom(before)); err != nil && client.IgnoreNotFound(err) != nil {
			retErr = errors.Join(retErr, fmt.Errorf("patching status: %w", err))
		}
	}()

	// What CEL cannot check: the time zone exists and the cron parses.
	sched, err := PolicySchedule(policy)
	if err != nil {
		// A spec the controller cannot use is stalled until the user edits it:
		// requeueing would not help.
		setCondition(&policy.Status.Conditions, policy.Generation, subv1.ConditionStalled, metav1.ConditionTrue, "InvalidSpec", err.Error())
		return ctrl.Result{}, nil
	}
	setCondition(&policy.Status.Conditions, policy.Generation, subv1.ConditionStalled, metav1.ConditionFalse, "Valid", "spec is valid")

	tenants, err := TenantsOfPolicy(ctx, r.Client, policy)
	if err != nil {
		return ctrl.Result{}, err
	}
	policy.Status.Tenants = int32(len(tenants))
	policy.Status.TierNames = tierNames(policy)

	if err := r.reconcileGateway(ctx, policy); err != nil {
		return ctrl.Result{}, err
	}
	next, err := r.Snapshots.Reconcile(ctx, policy, sched, r.Discovery)
	if err != nil {
		return ctrl.Result{}, err
	}
	r.Wakeups.At(policy, next)
	return ctrl.Result{RequeueAfter: max(next.Sub(r.Clock.Now()), time.Second)}, nil
}

// PolicySchedule parses the policy's snapshot schedule in its time zone, with
// the API defaults for objects that bypassed defaulting.
func PolicySchedule(policy *subv1.SubscriptionPolicy) (*schedule.Schedule, error) {
	s := policy.Spec.Snapshot
	sched, err := schedule.Parse(orDefault(s.Schedule, "0 2 * * *"), orDefault(s.TimeZone, "UTC"))
	if err != nil {
		return nil, fmt.Errorf("spec.snapshot: %w", err)
	}
	return sched, nil
}

func (r *PolicyReconciler) reconcileGateway(ctx context.Context, policy *subv1.SubscriptionPolicy) error {
	if r.Gateway == nil {
		return nil
	}
	ready, ok, msg, err := r.Gateway.Reconcile(ctx, policy)
	if err != nil {
		setCondition(&policy.Status.Conditions, policy.Generation, subv1.ConditionGatewayReady, metav1.ConditionFalse, "ReconcileFailed", err.Error())
		return fmt.Errorf("reconciling gateway: %w", err)
	}
	if policy.Spec.Gateway == nil || !policy.Spec.Gateway.Enabled {
		policy.Status.Gateway = nil
		setCondition(&policy.Status.Conditions, policy.Generation, subv1.ConditionGatewayReady, metav1.ConditionTrue, "Disabled", "the bundled gateway is disabled")
		return nil
	}
	policy.Status.Gateway = &subv1.GatewayStatus{ReadyReplicas: ready}
	status, reason := metav1.ConditionTrue, "Available"
	if !ok {
		status, reason = metav1.ConditionFalse, "Progressing"
	}
	setCondition(&policy.Status.Conditions, policy.Generation, subv1.ConditionGatewayReady, status, reason, msg)
	return nil
}

// summarizePolicy derives Ready and Reconciling from the other conditions, the
// kstatus convention that Flux, Argo CD and kubectl wait understand.
func summarizePolicy(policy *subv1.SubscriptionPolicy) {
	conds := &policy.Status.Conditions
	gen := policy.Generation
	policy.Status.ObservedGeneration = gen
	var problems []string
	reason := "Reconciled"
	if c := findCondition(*conds, subv1.ConditionStalled); c != nil && c.Status == metav1.ConditionTrue {
		problems, reason = append(problems, c.Message), c.Reason
	}
	for _, typ := range []string{subv1.ConditionSnapshotSucceeded, subv1.ConditionGatewayReady} {
		if c := findCondition(*conds, typ); c != nil && c.Status == metav1.ConditionFalse {
			problems = append(problems, typ+": "+c.Message)
			if reason == "Reconciled" {
				reason = c.Reason
			}
		}
	}
	if len(problems) > 0 {
		setCondition(conds, gen, subv1.ConditionReady, metav1.ConditionFalse, reason, strings.Join(problems, "; "))
	} else {
		msg := fmt.Sprintf("%d tenants", policy.Status.Tenants)
		if policy.Status.NextSnapshotTime != nil {
			msg += ", next snapshot " + policy.Status.NextSnapshotTime.UTC().Format(time.RFC3339)
		}
		setCondition(conds, gen, subv1.ConditionReady, metav1.ConditionTrue, reason, msg)
	}
	setCondition(conds, gen, subv1.ConditionReconciling, metav1.ConditionFalse, "Idle", "reconciled")
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

func tierNames(policy *subv1.SubscriptionPolicy) string {
	names := make([]string, 0, len(policy.Spec.Tiers))
	for _, t := range policy.Spec.Tiers {
		names = append(names, t.Name)
	}
	return strings.Join(names, ",")
}

func orDefault(v, def string) string {
	if v == "" {
		return def
	}
	return v
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
	return b.Complete(r)
}

func policyOfTenant(_ context.Context, o client.Object) []reconcile.Request {
	tu, ok := o.(*subv1.TenantUsage)
	if !ok {
		return nil
	}
	return []reconcile.Request{{NamespacedName: types.NamespacedName{Namespace: tu.Namespace, Name: PolicyName(tu)}}}
}

// tenantCountChanged lets through creates, deletes and policyRef changes only.
func tenantCountChanged() predicate.Predicate {
	return predicate.Funcs{
		UpdateFunc: func(e event.UpdateEvent) bool {
			o, ok1 := e.ObjectOld.(*subv1.TenantUsage)
			n, ok2 := e.ObjectNew.(*subv1.TenantUsage)
			return ok1 && ok2 && PolicyName(o) != PolicyName(n)
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
