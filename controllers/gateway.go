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
	"encoding/json"
	"fmt"
	"reflect"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	appsv1ac "k8s.io/client-go/applyconfigurations/apps/v1"
	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"
	policyv1ac "k8s.io/client-go/applyconfigurations/policy/v1"
	rbacv1ac "k8s.io/client-go/applyconfigurations/rbac/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	subv1 "github.com/bakery-ia/subscription-operator/api/v1alpha1"
	"github.com/bakery-ia/subscription-operator/internal/gatewaydeploy"
)

// GatewayFieldOwner is the server-side apply field manager of the gateway objects.
const GatewayFieldOwner = "subscription-operator"

// The gateway objects. Kubernetes forbids granting permissions one does not
// hold (the RBAC escalation check on Roles and RoleBindings), so the manager
// holds everything the gateway's Role grants: get/list/watch on policies and
// tenant usages (above, for the reconcilers) and get on secrets, because the
// Role grants get on the one JWT Secret. Holding `get` is preferred to the
// `escalate`/`bind` verbs, which would let the manager grant anything at all.
// The manager itself never reads a Secret. blockOwnerDeletion on the owner
// references needs update on the policies' finalizers subresource where the
// OwnerReferencesPermissionEnforcement admission plugin runs (e.g. OpenShift).
//
// +kubebuilder:rbac:groups=apps,resources=deployments,verbs=get;list;watch;create;update;patch;delete
// +kubebuilder:rbac:groups="",resources=services;serviceaccounts,verbs=get;list;watch;create;update;patch;delete
// +kubebuilder:rbac:groups=rbac.authorization.k8s.io,resources=roles;rolebindings,verbs=get;list;watch;create;update;patch;delete
// +kubebuilder:rbac:groups=policy,resources=poddisruptionbudgets,verbs=get;list;watch;create;update;patch;delete
// +kubebuilder:rbac:groups="",resources=secrets,verbs=get
// +kubebuilder:rbac:groups=subscriptions.bakery-ia.io,resources=subscriptionpolicies/finalizers,verbs=update

// GatewayDeployer is the GatewayManager: it keeps a policy's gateway objects
// equal to gatewaydeploy.Render with server-side apply.
//
// Why server-side apply rather than CreateOrUpdate: apply sends only the fields
// we own and the API server merges them, so defaulted fields (probe timeouts,
// dnsPolicy, clusterIP ...) and other writers' fields (kubectl rollout restart's
// annotation, a service mesh's injected labels) neither fight us nor make every
// comparison differ. Our managed fields record exactly what we own, so before
// writing we extract them from the live object (client-go's Extract*) and
// compare with the rendering: equal means nothing is sent. A hand edit of an
// owned field moves its ownership to the editor, the extraction then differs
// and a forced apply puts it back. The informer cache must keep managedFields
// (the default); without them every reconcile would re-apply, correct but noisy.
type GatewayDeployer struct {
	Client  client.Client
	Options gatewaydeploy.Options
}

var _ GatewayManager = (*GatewayDeployer)(nil)

// GatewayOwnedTypes are the kinds the GatewayDeployer creates, for Config.GatewayOwned.
func GatewayOwnedTypes() []client.Object {
	return []client.Object{
		&appsv1.Deployment{}, &corev1.Service{}, &corev1.ServiceAccount{},
		&rbacv1.Role{}, &rbacv1.RoleBinding{}, &policyv1.PodDisruptionBudget{},
	}
}

// Reconcile applies or removes the gateway and reports its Deployment's readiness.
func (d *GatewayDeployer) Reconcile(ctx context.Context, policy *subv1.SubscriptionPolicy) (int32, bool, string, error) {
	if policy.DeletionTimestamp != nil {
		// The garbage collector removes the gateway with its owner.
		return 0, false, "policy is being deleted", nil
	}
	objs, err := gatewaydeploy.Render(policy, d.Options)
	if err != nil {
		return 0, false, "", err
	}
	if objs == nil {
		// Dependents first, so nothing is left bound to a Role that is gone.
		for _, o := range []client.Object{&appsv1.Deployment{}, &policyv1.PodDisruptionBudget{}, &corev1.Service{},
			&rbacv1.RoleBinding{}, &rbacv1.Role{}, &corev1.ServiceAccount{}} {
			if err := d.deleteOwned(ctx, policy, o); err != nil {
				return 0, false, "", err
			}
		}
		return 0, true, "gateway disabled", nil
	}
	if err := ensure(ctx, d, policy, &corev1.ServiceAccount{}, objs.ServiceAccount, corev1ac.ExtractServiceAccount); err != nil {
		return 0, false, "", err
	}
	if err := ensure(ctx, d, policy, &rbacv1.Role{}, objs.Role, rbacv1ac.ExtractRole); err != nil {
		return 0, false, "", err
	}
	if err := ensure(ctx, d, policy, &rbacv1.RoleBinding{}, objs.RoleBinding, rbacv1ac.ExtractRoleBinding); err != nil {
		return 0, false, "", err
	}
	dep := &appsv1.Deployment{}
	if err := ensure(ctx, d, policy, dep, objs.Deployment, appsv1ac.ExtractDeployment); err != nil {
		return 0, false, "", err
	}
	if err := ensure(ctx, d, policy, &corev1.Service{}, objs.Service, corev1ac.ExtractService); err != nil {
		return 0, false, "", err
	}
	if objs.PodDisruptionBudget != nil {
		err = ensure(ctx, d, policy, &policyv1.PodDisruptionBudget{}, objs.PodDisruptionBudget, policyv1ac.ExtractPodDisruptionBudget)
	} else {
		err = d.deleteOwned(ctx, policy, &policyv1.PodDisruptionBudget{})
	}
	if err != nil {
		return 0, false, "", err
	}
	ready, ok, msg := deploymentReadiness(dep, gatewaydeploy.Replicas(policy))
	return ready, ok, msg, nil
}

// ensure makes the live object carry the desired owned fields. It reads the
// live object into live (from the cache), applies only when the fields we own
// differ, and leaves the resulting object in live.
func ensure[T client.Object, AC runtime.ApplyConfiguration](ctx context.Context, d *GatewayDeployer,
	policy *subv1.SubscriptionPolicy, live T, desired AC, extract func(T, string) (AC, error),
) error {
	key := client.ObjectKey{Namespace: policy.Namespace, Name: gatewaydeploy.Name(policy.Name)}
	kind := kindOf(live)
	switch err := d.Client.Get(ctx, key, live); {
	case apierrors.IsNotFound(err):
	case err != nil:
		return fmt.Errorf("getting gateway %s %s: %w", kind, key, err)
	case !metav1.IsControlledBy(live, policy):
		return fmt.Errorf("gateway %s %s already exists and is not controlled by SubscriptionPolicy %s: "+
			"delete or rename it so the operator can manage it", kind, key, policy.Name)
	default:
		owned, err := extract(live, GatewayFieldOwner)
		if err != nil {
			return fmt.Errorf("extracting the fields %s owns in %s %s: %w", GatewayFieldOwner, kind, key, err)
		}
		if equality.Semantic.DeepEqual(owned, desired) {
			return nil
		}
	}
	if err := d.Client.Apply(ctx, desired, client.FieldOwner(GatewayFieldOwner), client.ForceOwnership); err != nil {
		return fmt.Errorf("applying gateway %s %s: %w", kind, key, err)
	}
	// The apply response (status included) was decoded into desired; it
	// replaces whatever the Get left in live.
	reflect.ValueOf(live).Elem().SetZero()
	b, err := json.Marshal(desired)
	if err != nil {
		return fmt.Errorf("encoding applied %s %s: %w", kind, key, err)
	}
	if err := json.Unmarshal(b, live); err != nil {
		return fmt.Errorf("decoding applied %s %s: %w", kind, key, err)
	}
	return nil
}

// deleteOwned deletes the gateway object of kind obj when this policy controls it.
func (d *GatewayDeployer) deleteOwned(ctx context.Context, policy *subv1.SubscriptionPolicy, obj client.Object) error {
	key := client.ObjectKey{Namespace: policy.Namespace, Name: gatewaydeploy.Name(policy.Name)}
	if err := d.Client.Get(ctx, key, obj); err != nil {
		return client.IgnoreNotFound(err)
	}
	if !metav1.IsControlledBy(obj, policy) || obj.GetDeletionTimestamp() != nil {
		return nil
	}
	uid := obj.GetUID()
	err := d.Client.Delete(ctx, obj, client.Preconditions{UID: &uid}, client.PropagationPolicy(metav1.DeletePropagationBackground))
	if client.IgnoreNotFound(err) != nil {
		return fmt.Errorf("deleting gateway %s %s: %w", kindOf(obj), key, err)
	}
	return nil
}

// kindOf names a typed object's kind for messages ("Deployment").
func kindOf(obj client.Object) string { return reflect.TypeOf(obj).Elem().Name() }

// deploymentReadiness counts the gateway ready once the Deployment controller
// has seen the current spec and every desired replica is updated and ready.
// Updated replicas are checked too, so old pods still serving during a rollout
// do not make a new spec look ready.
func deploymentReadiness(dep *appsv1.Deployment, want int32) (int32, bool, string) {
	st := dep.Status
	msg := fmt.Sprintf("%d/%d replicas ready", st.ReadyReplicas, want)
	switch {
	case st.ObservedGeneration < dep.Generation:
		return st.ReadyReplicas, false, msg + ", waiting for the Deployment controller"
	case st.UpdatedReplicas < want:
		return st.ReadyReplicas, false, fmt.Sprintf("%s, rolling out (%d/%d updated)", msg, st.UpdatedReplicas, want)
	}
	return st.ReadyReplicas, st.ReadyReplicas >= want, msg
}
