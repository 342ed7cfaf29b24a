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
	"bufio"
	"os"
	"path/filepath"
	"slices"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	authorizationv1 "k8s.io/api/authorization/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	subv1 "github.com/bakery-ia/subscription-operator/api/v1alpha1"
	"github.com/bakery-ia/subscription-operator/controllers"
	"github.com/bakery-ia/subscription-operator/internal/gatewaydeploy"
	"github.com/bakery-ia/subscription-operator/internal/testenv"
)

// access asks the API server's RBAC authoriser whether a service account may
// do something, the way `kubectl auth can-i --as` does.
type access struct {
	verb, group, resource, namespace, name string
	allowed                                bool
}

func serviceAccountCan(ns, sa string, a access) bool {
	GinkgoHelper()
	sar := &authorizationv1.SubjectAccessReview{Spec: authorizationv1.SubjectAccessReviewSpec{
		User:   "system:serviceaccount:" + ns + ":" + sa,
		Groups: []string{"system:serviceaccounts", "system:serviceaccounts:" + ns, "system:authenticated"},
		ResourceAttributes: &authorizationv1.ResourceAttributes{
			Namespace: a.namespace, Verb: a.verb, Group: a.group, Resource: a.resource, Name: a.name,
		},
	}}
	Expect(k8s.Create(ctx, sar)).To(Succeed())
	return sar.Status.Allowed
}

// markerRules reads the manager's permissions from the +kubebuilder:rbac
// markers in controllers/, as `make manifests` does, so the spec below proves
// that the generated ClusterRole is enough to create the gateway's RBAC.
func markerRules() []rbacv1.PolicyRule {
	GinkgoHelper()
	files, err := filepath.Glob(filepath.Join(testenv.RepoRoot(), "controllers", "*.go"))
	Expect(err).NotTo(HaveOccurred())
	var rules []rbacv1.PolicyRule
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		fh, err := os.Open(f)
		Expect(err).NotTo(HaveOccurred())
		sc := bufio.NewScanner(fh)
		for sc.Scan() {
			line := strings.TrimSpace(sc.Text())
			spec, ok := strings.CutPrefix(line, "// +kubebuilder:rbac:")
			if !ok {
				continue
			}
			var r rbacv1.PolicyRule
			for _, kv := range strings.Split(spec, ",") {
				k, v, _ := strings.Cut(kv, "=")
				vals := strings.Split(strings.Trim(v, `"`), ";")
				switch k {
				case "groups":
					for i := range vals {
						if vals[i] == "core" {
							vals[i] = ""
						}
					}
					r.APIGroups = vals
				case "resources":
					r.Resources = vals
				case "verbs":
					r.Verbs = vals
				case "resourceNames":
					r.ResourceNames = vals
				default:
					Fail("unsupported rbac marker attribute " + k + " in " + f)
				}
			}
			rules = append(rules, r)
		}
		Expect(sc.Err()).NotTo(HaveOccurred())
		Expect(fh.Close()).To(Succeed())
	}
	Expect(rules).NotTo(BeEmpty())
	return rules
}

// clientAs binds rules cluster-wide to user and returns a client acting as that user.
func clientAs(user string, rules []rbacv1.PolicyRule) client.Client {
	GinkgoHelper()
	name := strings.ReplaceAll(strings.TrimPrefix(user, "system:serviceaccount:"), ":", "-")
	Expect(k8s.Create(ctx, &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: name}, Rules: rules})).To(Succeed())
	Expect(k8s.Create(ctx, &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: name},
		Subjects:   []rbacv1.Subject{{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: user}},
	})).To(Succeed())
	cfg := rest.CopyConfig(kube.Config)
	cfg.Impersonate = rest.ImpersonationConfig{UserName: user}
	c, err := client.New(cfg, client.Options{Scheme: kube.Scheme})
	Expect(err).NotTo(HaveOccurred())
	return c
}

var _ = Describe("gateway RBAC", func() {
	It("lets the gateway read its policies, tenant usages and JWT Secret, and nothing else", func() {
		ns := newNamespace()
		p := newPolicy(ns, nil)
		expectGateway(p, false)
		sub := subv1.GroupVersion.Group
		for _, a := range []access{
			{"get", "", "secrets", ns, "jwt-signing", true},
			{"get", "", "secrets", ns, "subscription-operator-redis", false},
			{"list", "", "secrets", ns, "", false},
			{"watch", "", "secrets", ns, "", false},
			{"list", "", "secrets", ns, "jwt-signing", false},
			{"update", "", "secrets", ns, "jwt-signing", false},
			{"watch", sub, "tenantusages", ns, "", true},
			{"list", sub, "tenantusages", ns, "", true},
			{"get", sub, "tenantusages", ns, "acme", true},
			{"watch", sub, "subscriptionpolicies", ns, "", true},
			{"get", sub, "subscriptionpolicies", ns, "default", true},
			{"update", sub, "tenantusages", ns, "acme", false},
			{"patch", sub, "subscriptionpolicies", ns, "default", false},
			{"watch", sub, "tenantusages", "other", "", false},
			{"watch", sub, "tenantusages", "", "", false},
			{"list", "", "configmaps", ns, "", false},
			{"create", "", "pods", ns, "", false},
		} {
			Expect(serviceAccountCan(ns, "default-gateway", a)).To(Equal(a.allowed), "%+v", a)
		}

		// Verifying with a JWKS needs no Secret: the grant goes.
		editPolicy(p, func(p *subv1.SubscriptionPolicy) {
			p.Spec.Gateway.TenantIdentity.JWT = &subv1.JWTVerification{JWKSURL: "https://idp.example.com/.well-known/jwks.json"}
		})
		expectGateway(p, false)
		Eventually(func() bool {
			return serviceAccountCan(ns, "default-gateway", access{"get", "", "secrets", ns, "jwt-signing", true})
		}).Should(BeFalse())
	})

	It("needs no more than the manager's RBAC markers grant, including get on secrets", func() {
		rules := markerRules()
		manager := clientAs("system:serviceaccount:subscription-operator-system:manager", rules)
		ns := newNamespace()
		p := newPolicy(ns, func(p *subv1.SubscriptionPolicy) {
			p.Annotations = map[string]string{unmanagedAnnotation: "true"}
			p.Spec.Gateway.Replicas = ptr.To[int32](2)
		})
		gm := &controllers.GatewayDeployer{Client: manager, Options: gatewaydeploy.Options{Image: testImage}}
		_, _, _, err := gm.Reconcile(ctx, p)
		Expect(err).NotTo(HaveOccurred())
		expectObjectsOf(ns, true)
		Expect(serviceAccountCan(ns, "default-gateway", access{"get", "", "secrets", ns, "jwt-signing", true})).To(BeTrue())

		disabled := p.DeepCopy()
		disabled.Spec.Gateway.Enabled = false
		_, _, _, err = gm.Reconcile(ctx, disabled)
		Expect(err).NotTo(HaveOccurred())
		expectNoGateway(ns)

		// Without get on secrets, the escalation check refuses the Role.
		withoutSecrets := slices.DeleteFunc(slices.Clone(rules), func(r rbacv1.PolicyRule) bool {
			return slices.Contains(r.Resources, "secrets")
		})
		weak := clientAs("system:serviceaccount:subscription-operator-system:weak-manager", withoutSecrets)
		gm = &controllers.GatewayDeployer{Client: weak, Options: gatewaydeploy.Options{Image: testImage}}
		_, _, _, err = gm.Reconcile(ctx, p)
		Expect(apierrors.IsForbidden(err)).To(BeTrue(), "%v", err)
		Expect(err).To(MatchError(ContainSubstring("not currently held")))
	})
})

// expectObjectsOf checks that every gateway object exists right now.
func expectObjectsOf(ns string, pdb bool) {
	GinkgoHelper()
	for _, o := range allKinds() {
		if kindOf(o) == "PodDisruptionBudget" && !pdb {
			continue
		}
		Expect(k8s.Get(ctx, gatewayKey(ns), o)).To(Succeed(), "%s", kindOf(o))
	}
}
