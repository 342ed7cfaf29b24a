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

// Package gatewaydeploy renders the Kubernetes objects of a policy's bundled
// gateway: Deployment, Service, ServiceAccount, Role, RoleBinding and, above one
// replica, a PodDisruptionBudget. It is pure: a SubscriptionPolicy and Options
// in, server-side apply configurations out, no client. The same input always
// renders the same objects (golden-tested), which is what lets the controller
// compare them with what it owns in the cluster and write nothing when equal.
package gatewaydeploy

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/validation"
	metav1ac "k8s.io/client-go/applyconfigurations/meta/v1"

	subv1 "github.com/bakery-ia/subscription-operator/api/v1alpha1"
)

const (
	// ConfigHashAnnotation on the pod template is a hash of everything the pods
	// read at start-up (image, args, env, upstream, resources). A change to it
	// rolls the pods; tier rules are not in it because the gateway watches them.
	ConfigHashAnnotation = "subscriptions.bakery-ia.io/config-hash"

	// ContainerName is the gateway container's name.
	ContainerName = "gateway"
	// Command is the gateway program inside the operator image.
	Command = "/gateway"

	// Container ports, and the Service's port for plain HTTP.
	PortHTTP        int32 = 8080
	PortForwardAuth int32 = 8081
	PortMetrics     int32 = 9090
	ServicePortHTTP int32 = 80

	// Names of the ports on the container and the Service.
	PortNameHTTP        = "http"
	PortNameForwardAuth = "forward-auth"
	PortNameMetrics     = "metrics"

	// DefaultRedisSecretName and DefaultRedisSecretKey locate REDIS_URL.
	DefaultRedisSecretName = "subscription-operator-redis"
	DefaultRedisSecretKey  = "url"

	// PreStopSleepSeconds keeps a terminating gateway pod serving while its
	// removal from the Service's endpoints reaches every node's kube-proxy (or
	// the ingress): the kubelet sends SIGTERM only after this sleep, so no new
	// connection lands on a closed listener during a rollout.
	PreStopSleepSeconds int64 = 5
	// TerminationGracePeriodSeconds covers the preStop sleep, the gateway's
	// own --shutdown-timeout (15 s of connection draining) and a margin.
	TerminationGracePeriodSeconds int64 = 25

	// NonRootUID is the distroless "nonroot" user the image runs as.
	NonRootUID int64 = 65532

	// ManagedBy is the app.kubernetes.io/managed-by label value.
	ManagedBy = "subscription-operator"

	nameSuffix = "-gateway"
)

// Options are the operator-wide inputs of the rendering.
type Options struct {
	// Image is the gateway image, normally the operator's own image;
	// spec.gateway.image overrides it per policy.
	Image string
	// RedisSecretName names the Secret (in the policy's namespace) whose
	// RedisSecretKey holds REDIS_URL. Defaults: subscription-operator-redis, url.
	RedisSecretName string
	RedisSecretKey  string
}

func (o Options) withDefaults() Options {
	if o.RedisSecretName == "" {
		o.RedisSecretName = DefaultRedisSecretName
	}
	if o.RedisSecretKey == "" {
		o.RedisSecretKey = DefaultRedisSecretKey
	}
	return o
}

// Name is the name of every gateway object of the policy.
func Name(policyName string) string { return policyName + nameSuffix }

// Labels are put on every gateway object and on the pods.
func Labels(policyName string) map[string]string {
	return map[string]string{
		"app.kubernetes.io/name":       "gateway",
		"app.kubernetes.io/instance":   policyName,
		"app.kubernetes.io/managed-by": ManagedBy,
	}
}

// SelectorLabels select the gateway pods of one policy (a subset of Labels:
// a Deployment's selector is immutable, so it holds only what never changes).
func SelectorLabels(policyName string) map[string]string {
	return map[string]string{
		"app.kubernetes.io/name":     "gateway",
		"app.kubernetes.io/instance": policyName,
	}
}

// gatewayArgs are the gateway's command-line flags. The gateway's flag set is
// still settling: this is the one place to change them.
func gatewayArgs(namespace, policyName string) []string {
	return []string{
		"--namespace=" + namespace,
		"--policy=" + policyName,
		fmt.Sprintf("--listen=:%d", PortHTTP),
		fmt.Sprintf("--forward-auth-listen=:%d", PortForwardAuth),
		fmt.Sprintf("--metrics-listen=:%d", PortMetrics),
	}
}

// Enabled reports whether the policy asks for a gateway.
func Enabled(policy *subv1.SubscriptionPolicy) bool {
	return policy.Spec.Gateway != nil && policy.Spec.Gateway.Enabled
}

// Replicas is spec.gateway.replicas, 1 when unset (the CRD default).
func Replicas(policy *subv1.SubscriptionPolicy) int32 {
	if gw := policy.Spec.Gateway; gw != nil && gw.Replicas != nil {
		return *gw.Replicas
	}
	return 1
}

// WantsPDB reports whether a PodDisruptionBudget belongs to the gateway:
// minAvailable 1 with a single replica would block every node drain.
func WantsPDB(policy *subv1.SubscriptionPolicy) bool { return Replicas(policy) > 1 }

// JWTSecret is the Secret the gateway reads its HS256 key from, or "" when it
// reads none (JWKS, or a tenant identity that is not a JWT claim).
func JWTSecret(policy *subv1.SubscriptionPolicy) string {
	gw := policy.Spec.Gateway
	if gw == nil {
		return ""
	}
	id := gw.TenantIdentity
	if id.From != "" && id.From != subv1.IdentityJWTClaim {
		return ""
	}
	if id.JWT == nil || id.JWT.SecretRef == nil {
		return ""
	}
	return id.JWT.SecretRef.Name
}

// validateNames fails early, naming the field, when the policy's name cannot
// name a Service (a DNS-1035 label: at most 63 characters, no dots) or be a
// label value once the suffix is added.
func validateNames(policy *subv1.SubscriptionPolicy) error {
	name := Name(policy.Name)
	if errs := validation.IsDNS1035Label(name); len(errs) > 0 {
		return fmt.Errorf("metadata.name %q: the gateway objects would be named %q, which is not a valid Service name: %s; "+
			"use a policy name of at most %d lower-case letters, digits and '-', starting with a letter",
			policy.Name, name, strings.Join(errs, "; "), validation.DNS1035LabelMaxLength-len(nameSuffix))
	}
	return nil
}

func image(policy *subv1.SubscriptionPolicy, o Options) (string, error) {
	if img := policy.Spec.Gateway.Image; img != "" {
		return img, nil
	}
	if o.Image == "" {
		return "", fmt.Errorf("spec.gateway.image is empty and the operator has no default gateway image (--gateway-image / OPERATOR_IMAGE)")
	}
	return o.Image, nil
}

// ownerReference makes the policy the controller of an object, so deleting the
// policy garbage-collects the gateway and the manager's Owns() watch sees drift.
func ownerReference(policy *subv1.SubscriptionPolicy) *metav1ac.OwnerReferenceApplyConfiguration {
	return metav1ac.OwnerReference().
		WithAPIVersion(subv1.GroupVersion.String()).
		WithKind("SubscriptionPolicy").
		WithName(policy.Name).
		WithUID(policy.UID).
		WithController(true).
		WithBlockOwnerDeletion(true)
}

// hashInputs is what the pods read at start-up. Only these restart the pods.
type hashInputs struct {
	Image     string                       `json:"image"`
	Args      []string                     `json:"args"`
	Env       []corev1.EnvVar              `json:"env"`
	Upstream  string                       `json:"upstream"`
	Resources *corev1.ResourceRequirements `json:"resources,omitempty"`
}

// configHash is a stable digest of in: encoding/json sorts map keys and
// resource.Quantity marshals canonically, so equal inputs hash equally.
func configHash(in hashInputs) string {
	b, err := json.Marshal(in)
	if err != nil {
		// Only unsupported types (channels, funcs) fail; hashInputs has none.
		panic(fmt.Sprintf("gatewaydeploy: hashing inputs: %v", err))
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])[:16]
}
