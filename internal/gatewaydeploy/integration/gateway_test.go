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
	"strconv"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	subv1 "github.com/bakery-ia/subscription-operator/api/v1alpha1"
	"github.com/bakery-ia/subscription-operator/controllers"
	"github.com/bakery-ia/subscription-operator/internal/gatewaydeploy"
)

// newNamespace gives every spec its own namespace.
func newNamespace() string {
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "gw-"}}
	Expect(k8s.Create(ctx, ns)).To(Succeed())
	return ns.Name
}

// newPolicy creates a valid policy named "default" with an enabled gateway
// (one replica, HS256 tokens from Secret jwt-signing), edited by mutate.
func newPolicy(ns string, mutate func(*subv1.SubscriptionPolicy)) *subv1.SubscriptionPolicy {
	p := &subv1.SubscriptionPolicy{
		ObjectMeta: metav1.ObjectMeta{Name: "default", Namespace: ns},
		Spec: subv1.SubscriptionPolicySpec{
			Tiers:   []subv1.Tier{{Name: "starter", Limits: map[string]int64{"api_calls": 1000}}},
			Metrics: []subv1.Metric{{Name: "api_calls", RedisCounter: &subv1.RedisCounterSource{}}},
			Gateway: &subv1.GatewaySpec{
				Enabled:  true,
				Replicas: ptr.To[int32](1),
				Upstream: "http://app.example.svc:8000",
				TenantIdentity: subv1.TenantIdentity{
					From: subv1.IdentityJWTClaim,
					JWT:  &subv1.JWTVerification{SecretRef: &subv1.SecretKeyReference{Name: "jwt-signing", Key: "key"}},
				},
			},
		},
	}
	if mutate != nil {
		mutate(p)
	}
	Expect(k8s.Create(ctx, p)).To(Succeed())
	return p
}

// editPolicy re-reads the policy, edits it and writes it back.
func editPolicy(p *subv1.SubscriptionPolicy, edit func(*subv1.SubscriptionPolicy)) {
	Eventually(func(g Gomega) {
		g.Expect(k8s.Get(ctx, client.ObjectKeyFromObject(p), p)).To(Succeed())
		edit(p)
		g.Expect(k8s.Update(ctx, p)).To(Succeed())
	}).Should(Succeed())
}

func gatewayKey(ns string) types.NamespacedName {
	return types.NamespacedName{Namespace: ns, Name: "default-gateway"}
}

func policyKey(ns string) types.NamespacedName {
	return types.NamespacedName{Namespace: ns, Name: "default"}
}

func allKinds() []client.Object {
	return []client.Object{
		&appsv1.Deployment{}, &corev1.Service{}, &corev1.ServiceAccount{},
		&rbacv1.Role{}, &rbacv1.RoleBinding{}, &policyv1.PodDisruptionBudget{},
	}
}

// expectGateway waits until the last reconcile saw the policy's current
// generation and succeeded, and the gateway objects exist (PDB per wantPDB).
func expectGateway(p *subv1.SubscriptionPolicy, wantPDB bool) {
	GinkgoHelper()
	Eventually(func(g Gomega) {
		res, _ := rec.result(policyKey(p.Namespace))
		g.Expect(res.err).NotTo(HaveOccurred())
		g.Expect(res.generation).To(Equal(p.Generation))
		for _, o := range allKinds() {
			err := k8s.Get(ctx, gatewayKey(p.Namespace), o)
			if _, isPDB := o.(*policyv1.PodDisruptionBudget); isPDB && !wantPDB {
				g.Expect(apierrors.IsNotFound(err)).To(BeTrue(), "PodDisruptionBudget should not exist")
				continue
			}
			g.Expect(err).NotTo(HaveOccurred())
		}
	}).Should(Succeed())
}

func expectNoGateway(ns string) {
	GinkgoHelper()
	Eventually(func(g Gomega) {
		for _, o := range allKinds() {
			err := k8s.Get(ctx, gatewayKey(ns), o)
			g.Expect(apierrors.IsNotFound(err)).To(BeTrue(), "%T should be deleted (err %v)", o, err)
		}
	}).Should(Succeed())
}

func getDeployment(ns string) *appsv1.Deployment {
	GinkgoHelper()
	d := &appsv1.Deployment{}
	Expect(k8s.Get(ctx, gatewayKey(ns), d)).To(Succeed())
	return d
}

var _ = Describe("the gateway of a SubscriptionPolicy", func() {
	It("creates every object, locked down and controlled by the policy", func() {
		ns := newNamespace()
		p := newPolicy(ns, nil)
		expectGateway(p, false)

		d := getDeployment(ns)
		owner := metav1.GetControllerOf(d)
		Expect(owner).NotTo(BeNil())
		Expect(owner.UID).To(Equal(p.UID))
		Expect(d.Labels).To(Equal(map[string]string{
			"app.kubernetes.io/name": "gateway", "app.kubernetes.io/instance": "default",
			"app.kubernetes.io/managed-by": "subscription-operator",
		}))
		Expect(*d.Spec.Replicas).To(BeEquivalentTo(1))
		Expect(d.Spec.Template.Annotations).To(HaveKey(gatewaydeploy.ConfigHashAnnotation))

		pod := d.Spec.Template.Spec
		Expect(pod.ServiceAccountName).To(Equal("default-gateway"))
		Expect(pod.AutomountServiceAccountToken).To(Equal(ptr.To(true)))
		Expect(pod.Containers).To(HaveLen(1))
		c := pod.Containers[0]
		Expect(c.Image).To(Equal(testImage))
		Expect(c.Command).To(Equal([]string{"/gateway"}))
		Expect(c.Args).To(Equal([]string{"--namespace=" + ns, "--policy=default", "--listen=:8080",
			"--forward-auth-listen=:8081", "--metrics-listen=:9090"}))
		Expect(c.Env).To(ConsistOf(corev1.EnvVar{Name: "REDIS_URL", ValueFrom: &corev1.EnvVarSource{
			SecretKeyRef: &corev1.SecretKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: "subscription-operator-redis"}, Key: "url"},
		}}))
		sc := c.SecurityContext
		Expect(sc).NotTo(BeNil())
		Expect(sc.RunAsNonRoot).To(Equal(ptr.To(true)))
		Expect(sc.RunAsUser).To(Equal(ptr.To[int64](65532)))
		Expect(sc.ReadOnlyRootFilesystem).To(Equal(ptr.To(true)))
		Expect(sc.AllowPrivilegeEscalation).To(Equal(ptr.To(false)))
		Expect(sc.Capabilities.Drop).To(Equal([]corev1.Capability{"ALL"}))
		Expect(sc.SeccompProfile.Type).To(Equal(corev1.SeccompProfileTypeRuntimeDefault))
		Expect(c.ReadinessProbe.HTTPGet.Path).To(Equal("/readyz"))
		Expect(c.LivenessProbe.HTTPGet.Path).To(Equal("/healthz"))
		Expect(c.ReadinessProbe.HTTPGet.Port).To(Equal(intstr.FromString("metrics")))
		Expect(c.Ports).To(ConsistOf(
			HaveField("ContainerPort", BeEquivalentTo(8080)),
			HaveField("ContainerPort", BeEquivalentTo(8081)),
			HaveField("ContainerPort", BeEquivalentTo(9090)),
		))

		svc := &corev1.Service{}
		Expect(k8s.Get(ctx, gatewayKey(ns), svc)).To(Succeed())
		Expect(svc.Spec.Type).To(Equal(corev1.ServiceTypeClusterIP))
		Expect(svc.Spec.Selector).To(Equal(d.Spec.Selector.MatchLabels))
		var ports []string
		for _, sp := range svc.Spec.Ports {
			ports = append(ports, sp.Name+":"+strconv.Itoa(int(sp.Port))+"->"+sp.TargetPort.String())
		}
		Expect(ports).To(Equal([]string{"http:80->http", "forward-auth:8081->forward-auth", "metrics:9090->metrics"}))

		rb := &rbacv1.RoleBinding{}
		Expect(k8s.Get(ctx, gatewayKey(ns), rb)).To(Succeed())
		Expect(rb.RoleRef).To(Equal(rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: "default-gateway"}))
		Expect(rb.Subjects).To(Equal([]rbacv1.Subject{{Kind: "ServiceAccount", Name: "default-gateway", Namespace: ns}}))
		for _, o := range allKinds()[1:5] {
			Expect(k8s.Get(ctx, gatewayKey(ns), o)).To(Succeed())
			Expect(metav1.IsControlledBy(o, p)).To(BeTrue(), "%T is not controlled by the policy", o)
		}

		// No pods run in envtest, so the Deployment never becomes ready.
		res, _ := rec.result(policyKey(ns))
		Expect(res.ok).To(BeFalse())
		Expect(res.msg).To(HavePrefix("0/1 replicas ready"))
	})

	It("puts back a deleted Service and a hand-edited Deployment", func() {
		ns := newNamespace()
		p := newPolicy(ns, nil)
		expectGateway(p, false)

		svc := &corev1.Service{}
		Expect(k8s.Get(ctx, gatewayKey(ns), svc)).To(Succeed())
		oldUID := svc.UID
		Expect(k8s.Delete(ctx, svc)).To(Succeed())
		Eventually(func(g Gomega) {
			g.Expect(k8s.Get(ctx, gatewayKey(ns), svc)).To(Succeed())
			g.Expect(svc.UID).NotTo(Equal(oldUID))
		}).Should(Succeed())

		// A kubectl-edit style update: our fields change, and someone else's is added.
		want := getDeployment(ns)
		edited := want.DeepCopy()
		edited.Spec.Replicas = ptr.To[int32](5)
		c := &edited.Spec.Template.Spec.Containers[0]
		c.Image = "example.com/evil:1"
		c.Args = append(c.Args, "--fail-open")
		c.SecurityContext.ReadOnlyRootFilesystem = ptr.To(false)
		edited.Spec.Template.Annotations["kubectl.kubernetes.io/restartedAt"] = "2026-01-01T00:00:00Z"
		Expect(k8s.Update(ctx, edited)).To(Succeed())

		Eventually(func(g Gomega) {
			got := &appsv1.Deployment{}
			g.Expect(k8s.Get(ctx, gatewayKey(ns), got)).To(Succeed())
			g.Expect(got.Spec.Replicas).To(Equal(want.Spec.Replicas))
			gc := got.Spec.Template.Spec.Containers[0]
			g.Expect(gc.Image).To(Equal(testImage))
			g.Expect(gc.Args).To(Equal(want.Spec.Template.Spec.Containers[0].Args))
			g.Expect(gc.SecurityContext.ReadOnlyRootFilesystem).To(Equal(ptr.To(true)))
			// Server-side apply leaves fields it does not own alone.
			g.Expect(got.Spec.Template.Annotations).To(HaveKeyWithValue("kubectl.kubernetes.io/restartedAt", "2026-01-01T00:00:00Z"))
		}).Should(Succeed())
	})

	It("adds a PodDisruptionBudget above one replica and removes it at one", func() {
		ns := newNamespace()
		p := newPolicy(ns, nil)
		expectGateway(p, false)

		editPolicy(p, func(p *subv1.SubscriptionPolicy) { p.Spec.Gateway.Replicas = ptr.To[int32](2) })
		expectGateway(p, true)
		pdb := &policyv1.PodDisruptionBudget{}
		Expect(k8s.Get(ctx, gatewayKey(ns), pdb)).To(Succeed())
		Expect(pdb.Spec.MinAvailable).To(Equal(ptr.To(intstr.FromInt32(1))))
		Expect(pdb.Spec.Selector.MatchLabels).To(Equal(gatewaydeploy.SelectorLabels("default")))
		Expect(*getDeployment(ns).Spec.Replicas).To(BeEquivalentTo(2))

		editPolicy(p, func(p *subv1.SubscriptionPolicy) { p.Spec.Gateway.Replicas = ptr.To[int32](1) })
		expectGateway(p, false)
	})

	It("rolls the pods when the upstream changes, and not when only the tier rules do", func() {
		ns := newNamespace()
		p := newPolicy(ns, nil)
		expectGateway(p, false)
		before := getDeployment(ns)
		hash := before.Spec.Template.Annotations[gatewaydeploy.ConfigHashAnnotation]
		writesBefore := writes.in(ns)

		// The gateway watches tiers itself: nothing to restart, nothing to write.
		editPolicy(p, func(p *subv1.SubscriptionPolicy) {
			p.Spec.Tiers = append(p.Spec.Tiers, subv1.Tier{Name: "professional"})
		})
		expectGateway(p, false)
		Expect(getDeployment(ns).ResourceVersion).To(Equal(before.ResourceVersion))
		Expect(writes.in(ns)).To(Equal(writesBefore))

		editPolicy(p, func(p *subv1.SubscriptionPolicy) { p.Spec.Gateway.Upstream = "http://app-v2.example.svc:8000" })
		expectGateway(p, false)
		after := getDeployment(ns)
		Expect(after.Spec.Template.Annotations[gatewaydeploy.ConfigHashAnnotation]).NotTo(Equal(hash))
		Expect(after.Generation).To(BeNumerically(">", before.Generation))
	})

	It("writes nothing when the policy has not changed", func() {
		ns := newNamespace()
		p := newPolicy(ns, func(p *subv1.SubscriptionPolicy) { p.Spec.Gateway.Replicas = ptr.To[int32](3) })
		expectGateway(p, true)
		versions := map[string]string{}
		for _, o := range allKinds() {
			Expect(k8s.Get(ctx, gatewayKey(ns), o)).To(Succeed())
			versions[kindOf(o)] = o.GetResourceVersion()
		}
		writesBefore := writes.in(ns)
		_, n := rec.result(policyKey(ns))

		// An annotation edit reconciles the policy without changing its spec.
		// Each edit waits for a reconcile: edits made while one is queued
		// coalesce into one reconcile in the workqueue.
		for i := range 3 {
			editPolicy(p, func(p *subv1.SubscriptionPolicy) {
				if p.Annotations == nil {
					p.Annotations = map[string]string{}
				}
				p.Annotations["touch"] = strconv.Itoa(i)
			})
			Eventually(func() int { _, c := rec.result(policyKey(ns)); return c }).Should(BeNumerically(">=", n+i+1))
		}
		Consistently(func() int { return writes.in(ns) }).Should(Equal(writesBefore))
		for _, o := range allKinds() {
			Expect(k8s.Get(ctx, gatewayKey(ns), o)).To(Succeed())
			Expect(o.GetResourceVersion()).To(Equal(versions[kindOf(o)]), "%T was written", o)
		}
	})

	It("reports readiness from the Deployment's status", func() {
		ns := newNamespace()
		p := newPolicy(ns, func(p *subv1.SubscriptionPolicy) { p.Spec.Gateway.Replicas = ptr.To[int32](2) })
		expectGateway(p, true)
		gm := &controllers.GatewayDeployer{Client: k8s, Options: gatewaydeploy.Options{Image: testImage}}

		ready, ok, msg, err := gm.Reconcile(ctx, p)
		Expect(err).NotTo(HaveOccurred())
		Expect([]any{ready, ok, msg}).To(Equal([]any{int32(0), false, "0/2 replicas ready, waiting for the Deployment controller"}))

		// Play the Deployment controller: a rollout half done, then finished.
		setStatus := func(updated, readyReplicas int32) {
			d := getDeployment(ns)
			d.Status = appsv1.DeploymentStatus{ObservedGeneration: d.Generation, Replicas: 2,
				UpdatedReplicas: updated, ReadyReplicas: readyReplicas, AvailableReplicas: readyReplicas}
			Expect(k8s.Status().Update(ctx, d)).To(Succeed())
		}
		setStatus(1, 2)
		ready, ok, msg, err = gm.Reconcile(ctx, p)
		Expect(err).NotTo(HaveOccurred())
		Expect([]any{ready, ok, msg}).To(Equal([]any{int32(2), false, "2/2 replicas ready, rolling out (1/2 updated)"}))

		setStatus(2, 2)
		ready, ok, msg, err = gm.Reconcile(ctx, p)
		Expect(err).NotTo(HaveOccurred())
		Expect([]any{ready, ok, msg}).To(Equal([]any{int32(2), true, "2/2 replicas ready"}))

		// The status change reaches the manager's reconciler through Owns().
		Eventually(func(g Gomega) {
			res, _ := rec.result(policyKey(ns))
			g.Expect(res.ok).To(BeTrue())
			g.Expect(res.msg).To(Equal("2/2 replicas ready"))
		}).Should(Succeed())
	})

	It("deletes every object when the gateway is disabled or removed", func() {
		ns := newNamespace()
		p := newPolicy(ns, func(p *subv1.SubscriptionPolicy) { p.Spec.Gateway.Replicas = ptr.To[int32](2) })
		expectGateway(p, true)

		editPolicy(p, func(p *subv1.SubscriptionPolicy) { p.Spec.Gateway.Enabled = false })
		expectNoGateway(ns)
		Eventually(func(g Gomega) {
			res, _ := rec.result(policyKey(ns))
			g.Expect(res.generation).To(Equal(p.Generation))
			g.Expect([]any{res.ok, res.msg, res.err}).To(Equal([]any{true, "gateway disabled", nil}))
		}).Should(Succeed())

		editPolicy(p, func(p *subv1.SubscriptionPolicy) { p.Spec.Gateway.Enabled = true })
		expectGateway(p, true)
		editPolicy(p, func(p *subv1.SubscriptionPolicy) { p.Spec.Gateway = nil })
		expectNoGateway(ns)
	})

	It("refuses to take over an object it does not control, and leaves it alone", func() {
		ns := newNamespace()
		foreign := &corev1.Service{
			ObjectMeta: metav1.ObjectMeta{Name: "default-gateway", Namespace: ns},
			Spec:       corev1.ServiceSpec{Ports: []corev1.ServicePort{{Name: "web", Port: 8000}}},
		}
		Expect(k8s.Create(ctx, foreign)).To(Succeed())
		p := newPolicy(ns, nil)
		Eventually(func(g Gomega) {
			res, _ := rec.result(policyKey(ns))
			g.Expect(res.err).To(MatchError(ContainSubstring("Service " + ns + "/default-gateway already exists and is not controlled by SubscriptionPolicy default")))
		}).Should(Succeed())

		editPolicy(p, func(p *subv1.SubscriptionPolicy) { p.Spec.Gateway.Enabled = false })
		Eventually(func(g Gomega) {
			res, _ := rec.result(policyKey(ns))
			g.Expect(res.generation).To(Equal(p.Generation))
			g.Expect(res.err).NotTo(HaveOccurred())
		}).Should(Succeed())
		got := &corev1.Service{}
		Expect(k8s.Get(ctx, gatewayKey(ns), got)).To(Succeed())
		Expect(got.UID).To(Equal(foreign.UID))
		Expect(got.OwnerReferences).To(BeEmpty())
		Expect(got.ManagedFields).NotTo(ContainElement(HaveField("Manager", controllers.GatewayFieldOwner)))
	})
})

func kindOf(o client.Object) string {
	switch o.(type) {
	case *appsv1.Deployment:
		return "Deployment"
	case *corev1.Service:
		return "Service"
	case *corev1.ServiceAccount:
		return "ServiceAccount"
	case *rbacv1.Role:
		return "Role"
	case *rbacv1.RoleBinding:
		return "RoleBinding"
	case *policyv1.PodDisruptionBudget:
		return "PodDisruptionBudget"
	}
	return "unknown"
}
