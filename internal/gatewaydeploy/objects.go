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

package gatewaydeploy

import (
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	appsv1ac "k8s.io/client-go/applyconfigurations/apps/v1"
	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"
	metav1ac "k8s.io/client-go/applyconfigurations/meta/v1"
	policyv1ac "k8s.io/client-go/applyconfigurations/policy/v1"
	rbacv1ac "k8s.io/client-go/applyconfigurations/rbac/v1"

	subv1 "github.com/bakery-ia/subscription-operator/api/v1alpha1"
)

// Objects are the desired gateway objects of one policy, as server-side apply
// configurations: each holds exactly the fields the operator owns.
type Objects struct {
	ServiceAccount *corev1ac.ServiceAccountApplyConfiguration
	Role           *rbacv1ac.RoleApplyConfiguration
	RoleBinding    *rbacv1ac.RoleBindingApplyConfiguration
	Deployment     *appsv1ac.DeploymentApplyConfiguration
	Service        *corev1ac.ServiceApplyConfiguration
	// PodDisruptionBudget is nil when the policy runs at most one replica.
	PodDisruptionBudget *policyv1ac.PodDisruptionBudgetApplyConfiguration
	// ConfigHash is the pod template's ConfigHashAnnotation.
	ConfigHash string
}

// Render builds the gateway objects of an enabled policy.
func Render(policy *subv1.SubscriptionPolicy, opts Options) (*Objects, error) {
	if !Enabled(policy) {
		return nil, nil
	}
	if err := validateNames(policy); err != nil {
		return nil, err
	}
	opts = opts.withDefaults()
	img, err := image(policy, opts)
	if err != nil {
		return nil, err
	}
	dep, hash := deployment(policy, opts, img)
	objs := &Objects{
		ServiceAccount: serviceAccount(policy),
		Role:           role(policy),
		RoleBinding:    roleBinding(policy),
		Deployment:     dep,
		Service:        service(policy),
		ConfigHash:     hash,
	}
	if WantsPDB(policy) {
		objs.PodDisruptionBudget = podDisruptionBudget(policy)
	}
	return objs, nil
}

func deployment(policy *subv1.SubscriptionPolicy, o Options, img string) (*appsv1ac.DeploymentApplyConfiguration, string) {
	gw := policy.Spec.Gateway
	name := Name(policy.Name)
	args := gatewayArgs(policy.Namespace, policy.Name)
	env := []corev1.EnvVar{{
		Name: "REDIS_URL",
		ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{
			LocalObjectReference: corev1.LocalObjectReference{Name: o.RedisSecretName},
			Key:                  o.RedisSecretKey,
		}},
	}}
	hash := configHash(hashInputs{Image: img, Args: args, Env: env, Upstream: gw.Upstream, Resources: gw.Resources})

	container := corev1ac.Container().
		WithName(ContainerName).
		WithImage(img).
		WithCommand(Command).
		WithArgs(args...).
		WithPorts(
			containerPort(PortNameHTTP, PortHTTP),
			containerPort(PortNameForwardAuth, PortForwardAuth),
			containerPort(PortNameMetrics, PortMetrics),
		).
		WithEnv(envApply(env)...).
		WithReadinessProbe(httpProbe("/readyz", 5)).
		WithLivenessProbe(httpProbe("/healthz", 10)).
		WithLifecycle(corev1ac.Lifecycle().WithPreStop(corev1ac.LifecycleHandler().
			WithSleep(corev1ac.SleepAction().WithSeconds(PreStopSleepSeconds)))).
		WithSecurityContext(corev1ac.SecurityContext().
			WithRunAsNonRoot(true).
			WithRunAsUser(NonRootUID).
			WithRunAsGroup(NonRootUID).
			WithReadOnlyRootFilesystem(true).
			WithAllowPrivilegeEscalation(false).
			WithCapabilities(corev1ac.Capabilities().WithDrop("ALL")).
			WithSeccompProfile(corev1ac.SeccompProfile().WithType(corev1.SeccompProfileTypeRuntimeDefault)))
	if r := resourcesApply(gw.Resources); r != nil {
		container.WithResources(r)
	}

	pod := corev1ac.PodSpec().
		WithServiceAccountName(name).
		// The token is mounted only because the gateway must watch its
		// SubscriptionPolicy and TenantUsage objects (and read the JWT Secret)
		// through the API; its Role allows nothing else.
		WithAutomountServiceAccountToken(true).
		// No docker-link style env vars for every Service in the namespace.
		WithEnableServiceLinks(false).
		WithTerminationGracePeriodSeconds(TerminationGracePeriodSeconds).
		WithSecurityContext(corev1ac.PodSecurityContext().
			WithRunAsNonRoot(true).
			WithSeccompProfile(corev1ac.SeccompProfile().WithType(corev1.SeccompProfileTypeRuntimeDefault))).
		WithContainers(container)

	dep := appsv1ac.Deployment(name, policy.Namespace).
		WithLabels(Labels(policy.Name)).
		WithOwnerReferences(ownerReference(policy)).
		WithSpec(appsv1ac.DeploymentSpec().
			WithReplicas(Replicas(policy)).
			WithSelector(metav1ac.LabelSelector().WithMatchLabels(SelectorLabels(policy.Name))).
			// A gateway is on the request path: bring a new pod up before an old one goes.
			WithStrategy(appsv1ac.DeploymentStrategy().
				WithType(appsv1.RollingUpdateDeploymentStrategyType).
				WithRollingUpdate(appsv1ac.RollingUpdateDeployment().
					WithMaxUnavailable(intstr.FromInt32(0)).
					WithMaxSurge(intstr.FromInt32(1)))).
			WithTemplate(corev1ac.PodTemplateSpec().
				WithLabels(Labels(policy.Name)).
				WithAnnotations(map[string]string{ConfigHashAnnotation: hash}).
				WithSpec(pod)))
	return dep, hash
}

func containerPort(name string, port int32) *corev1ac.ContainerPortApplyConfiguration {
	// Protocol is set although TCP is the default: it is part of the list's
	// merge key, and an explicit value keeps apply and compare symmetric.
	return corev1ac.ContainerPort().WithName(name).WithContainerPort(port).WithProtocol(corev1.ProtocolTCP)
}

func httpProbe(path string, period int32) *corev1ac.ProbeApplyConfiguration {
	return corev1ac.Probe().
		WithHTTPGet(corev1ac.HTTPGetAction().WithPath(path).WithPort(intstr.FromString(PortNameMetrics))).
		WithPeriodSeconds(period).
		WithFailureThreshold(3)
}

func envApply(env []corev1.EnvVar) []*corev1ac.EnvVarApplyConfiguration {
	out := make([]*corev1ac.EnvVarApplyConfiguration, 0, len(env))
	for _, e := range env {
		ev := corev1ac.EnvVar().WithName(e.Name)
		switch {
		case e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil:
			ref := e.ValueFrom.SecretKeyRef
			ev.WithValueFrom(corev1ac.EnvVarSource().WithSecretKeyRef(
				corev1ac.SecretKeySelector().WithName(ref.Name).WithKey(ref.Key)))
		default:
			ev.WithValue(e.Value)
		}
		out = append(out, ev)
	}
	return out
}

// resourcesApply converts spec.gateway.resources, leaving out empty parts:
// an empty map would be applied but never come back from the server.
func resourcesApply(r *corev1.ResourceRequirements) *corev1ac.ResourceRequirementsApplyConfiguration {
	if r == nil || (len(r.Limits) == 0 && len(r.Requests) == 0 && len(r.Claims) == 0) {
		return nil
	}
	out := corev1ac.ResourceRequirements()
	if len(r.Limits) > 0 {
		out.WithLimits(r.Limits.DeepCopy())
	}
	if len(r.Requests) > 0 {
		out.WithRequests(r.Requests.DeepCopy())
	}
	for _, c := range r.Claims {
		rc := corev1ac.ResourceClaim().WithName(c.Name)
		if c.Request != "" {
			rc.WithRequest(c.Request)
		}
		out.WithClaims(rc)
	}
	return out
}

func service(policy *subv1.SubscriptionPolicy) *corev1ac.ServiceApplyConfiguration {
	port := func(name string, port int32) *corev1ac.ServicePortApplyConfiguration {
		return corev1ac.ServicePort().WithName(name).WithPort(port).
			WithTargetPort(intstr.FromString(name)).WithProtocol(corev1.ProtocolTCP)
	}
	return corev1ac.Service(Name(policy.Name), policy.Namespace).
		WithLabels(Labels(policy.Name)).
		WithOwnerReferences(ownerReference(policy)).
		WithSpec(corev1ac.ServiceSpec().
			WithType(corev1.ServiceTypeClusterIP).
			WithSelector(SelectorLabels(policy.Name)).
			WithPorts(
				port(PortNameHTTP, ServicePortHTTP),
				port(PortNameForwardAuth, PortForwardAuth),
				port(PortNameMetrics, PortMetrics),
			))
}

func serviceAccount(policy *subv1.SubscriptionPolicy) *corev1ac.ServiceAccountApplyConfiguration {
	return corev1ac.ServiceAccount(Name(policy.Name), policy.Namespace).
		WithLabels(Labels(policy.Name)).
		WithOwnerReferences(ownerReference(policy))
}

// role grants the gateway read access to the two kinds it watches in its
// namespace and, when it verifies HS256 tokens, get on that one Secret by name.
// Nothing else: no list or watch on Secrets, no writes.
func role(policy *subv1.SubscriptionPolicy) *rbacv1ac.RoleApplyConfiguration {
	r := rbacv1ac.Role(Name(policy.Name), policy.Namespace).
		WithLabels(Labels(policy.Name)).
		WithOwnerReferences(ownerReference(policy)).
		WithRules(rbacv1ac.PolicyRule().
			WithAPIGroups(subv1.GroupVersion.Group).
			WithResources("subscriptionpolicies", "tenantusages").
			WithVerbs("get", "list", "watch"))
	if secret := JWTSecret(policy); secret != "" {
		r.WithRules(rbacv1ac.PolicyRule().
			WithAPIGroups(corev1.GroupName).
			WithResources("secrets").
			WithResourceNames(secret).
			WithVerbs("get"))
	}
	return r
}

func roleBinding(policy *subv1.SubscriptionPolicy) *rbacv1ac.RoleBindingApplyConfiguration {
	name := Name(policy.Name)
	return rbacv1ac.RoleBinding(name, policy.Namespace).
		WithLabels(Labels(policy.Name)).
		WithOwnerReferences(ownerReference(policy)).
		WithRoleRef(rbacv1ac.RoleRef().WithAPIGroup(rbacv1.GroupName).WithKind("Role").WithName(name)).
		WithSubjects(rbacv1ac.Subject().WithKind(rbacv1.ServiceAccountKind).WithName(name).WithNamespace(policy.Namespace))
}

func podDisruptionBudget(policy *subv1.SubscriptionPolicy) *policyv1ac.PodDisruptionBudgetApplyConfiguration {
	return policyv1ac.PodDisruptionBudget(Name(policy.Name), policy.Namespace).
		WithLabels(Labels(policy.Name)).
		WithOwnerReferences(ownerReference(policy)).
		WithSpec(policyv1ac.PodDisruptionBudgetSpec().
			WithMinAvailable(intstr.FromInt32(1)).
			WithSelector(metav1ac.LabelSelector().WithMatchLabels(SelectorLabels(policy.Name))).
			// A pod that is not ready protects nothing; let drains evict it.
			WithUnhealthyPodEvictionPolicy(policyv1.AlwaysAllow))
}
