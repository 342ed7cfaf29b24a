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
	"bytes"
	"slices"
	"strconv"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/yaml"

	subv1 "github.com/bakery-ia/subscription-operator/api/v1alpha1"
	"github.com/bakery-ia/subscription-operator/internal/testenv/golden"
)

var testOpts = Options{Image: "ghcr.io/bakery-ia/subscription-operator:v0.1.0"}

// basePolicy is an enabled gateway with every field the pods depend on set.
func basePolicy() *subv1.SubscriptionPolicy {
	return &subv1.SubscriptionPolicy{
		ObjectMeta: metav1.ObjectMeta{Name: "default", Namespace: "bakery-ia", UID: "8f04bde2-97e9-6962-0000-000000000001"},
		Spec: subv1.SubscriptionPolicySpec{
			Tiers: []subv1.Tier{{Name: "starter"}, {Name: "professional"}},
			Gateway: &subv1.GatewaySpec{
				Enabled:  true,
				Replicas: ptr.To[int32](1),
				Upstream: "http://gateway-upstream.bakery-ia.svc:8000",
				TenantIdentity: subv1.TenantIdentity{
					From:  subv1.IdentityJWTClaim,
					Claim: "tenant_id",
					JWT:   &subv1.JWTVerification{SecretRef: &subv1.SecretKeyReference{Name: "jwt-signing", Key: "key"}},
				},
				UpgradeURL: "/app/settings/subscription",
				Resources: &corev1.ResourceRequirements{
					Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("100m"), corev1.ResourceMemory: resource.MustParse("64Mi")},
					Limits:   corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("256Mi")},
				},
			},
		},
	}
}

func render(t *testing.T, p *subv1.SubscriptionPolicy, o Options) *Objects {
	t.Helper()
	objs, err := Render(p, o)
	if err != nil {
		t.Fatalf("Render: %v", err)
	}
	if objs == nil {
		t.Fatal("Render returned no objects for an enabled gateway")
	}
	return objs
}

func toYAML(t *testing.T, docs ...any) []byte {
	t.Helper()
	var buf bytes.Buffer
	for i, d := range docs {
		if i > 0 {
			buf.WriteString("---\n")
		}
		b, err := yaml.Marshal(d)
		if err != nil {
			t.Fatalf("marshal: %v", err)
		}
		buf.Write(b)
	}
	return buf.Bytes()
}

func TestGoldenDeployment(t *testing.T) {
	golden.Assert(t, "deployment.yaml", toYAML(t, render(t, basePolicy(), testOpts).Deployment))
}

func TestGoldenAllObjectsTwoReplicas(t *testing.T) {
	p := basePolicy()
	p.Spec.Gateway.Replicas = ptr.To[int32](2)
	o := render(t, p, testOpts)
	golden.Assert(t, "objects-2-replicas.yaml", toYAML(t, o.ServiceAccount, o.Role, o.RoleBinding, o.Deployment, o.Service, o.PodDisruptionBudget))
}

// Like prometheus-operator's config generation test: rendering is a pure
// function, so many renderings of the same input are byte-identical.
func TestRenderIsDeterministic(t *testing.T) {
	first := toYAML(t, render(t, basePolicy(), testOpts))
	for range 50 {
		if got := toYAML(t, render(t, basePolicy(), testOpts)); !bytes.Equal(first, got) {
			t.Fatalf("rendering changed between runs:\n%s\n---\n%s", first, got)
		}
	}
}

func TestConfigHash(t *testing.T) {
	base := render(t, basePolicy(), testOpts).ConfigHash
	tests := []struct {
		name    string
		mutate  func(*subv1.SubscriptionPolicy, *Options)
		changes bool
	}{
		{"nothing", func(*subv1.SubscriptionPolicy, *Options) {}, false},
		{"upstream", func(p *subv1.SubscriptionPolicy, _ *Options) { p.Spec.Gateway.Upstream = "http://other:8000" }, true},
		{"image override", func(p *subv1.SubscriptionPolicy, _ *Options) { p.Spec.Gateway.Image = "example.com/gw:2" }, true},
		{"operator image", func(_ *subv1.SubscriptionPolicy, o *Options) {
			o.Image = "ghcr.io/bakery-ia/subscription-operator:v0.2.0"
		}, true},
		{"memory limit", func(p *subv1.SubscriptionPolicy, _ *Options) {
			p.Spec.Gateway.Resources.Limits[corev1.ResourceMemory] = resource.MustParse("512Mi")
		}, true},
		{"resources removed", func(p *subv1.SubscriptionPolicy, _ *Options) { p.Spec.Gateway.Resources = nil }, true},
		{"redis secret", func(_ *subv1.SubscriptionPolicy, o *Options) { o.RedisSecretName = "redis-creds" }, true},
		{"namespace (args)", func(p *subv1.SubscriptionPolicy, _ *Options) { p.Namespace = "other" }, true},
		{"same quantity, other spelling", func(p *subv1.SubscriptionPolicy, _ *Options) {
			p.Spec.Gateway.Resources.Requests[corev1.ResourceCPU] = resource.MustParse("0.1")
		}, false},
		// Watched live by the gateway: no restart.
		{"tiers", func(p *subv1.SubscriptionPolicy, _ *Options) {
			p.Spec.Tiers = append(p.Spec.Tiers, subv1.Tier{Name: "enterprise"})
		}, false},
		{"replicas", func(p *subv1.SubscriptionPolicy, _ *Options) { p.Spec.Gateway.Replicas = ptr.To[int32](3) }, false},
		{"failOpen", func(p *subv1.SubscriptionPolicy, _ *Options) { p.Spec.Gateway.FailOpen = true }, false},
		{"upgradeURL", func(p *subv1.SubscriptionPolicy, _ *Options) { p.Spec.Gateway.UpgradeURL = "/upgrade" }, false},
		{"tenant claim", func(p *subv1.SubscriptionPolicy, _ *Options) { p.Spec.Gateway.TenantIdentity.Claim = "org" }, false},
		{"jwt secret", func(p *subv1.SubscriptionPolicy, _ *Options) {
			p.Spec.Gateway.TenantIdentity.JWT.SecretRef.Name = "jwt-2"
		}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, o := basePolicy(), testOpts
			tt.mutate(p, &o)
			objs := render(t, p, o)
			got := objs.ConfigHash
			if (got != base) != tt.changes {
				t.Errorf("hash %s -> %s, want changed=%v", base, got, tt.changes)
			}
			if ann := objs.Deployment.Spec.Template.Annotations[ConfigHashAnnotation]; ann != got {
				t.Errorf("pod template annotation %q, want %q", ann, got)
			}
		})
	}
}

func TestRoleRules(t *testing.T) {
	secretRule := "secrets get [jwt-signing]"
	tests := []struct {
		name   string
		mutate func(*subv1.TenantIdentity)
		want   []string
	}{
		{"HS256 secret", func(*subv1.TenantIdentity) {}, []string{"subscriptionpolicies,tenantusages get,list,watch []", secretRule}},
		{"from defaults to jwtClaim", func(id *subv1.TenantIdentity) { id.From = "" }, []string{"subscriptionpolicies,tenantusages get,list,watch []", secretRule}},
		{"JWKS", func(id *subv1.TenantIdentity) {
			id.JWT = &subv1.JWTVerification{JWKSURL: "https://idp.example.com/jwks.json"}
		}, []string{"subscriptionpolicies,tenantusages get,list,watch []"}},
		{"path identity ignores the secret", func(id *subv1.TenantIdentity) { id.From = subv1.IdentityPath }, []string{"subscriptionpolicies,tenantusages get,list,watch []"}},
		{"trusted header ignores the secret", func(id *subv1.TenantIdentity) { id.From = subv1.IdentityTrustedHeader }, []string{"subscriptionpolicies,tenantusages get,list,watch []"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := basePolicy()
			tt.mutate(&p.Spec.Gateway.TenantIdentity)
			var got []string
			for _, r := range render(t, p, testOpts).Role.Rules {
				got = append(got, strings.Join(r.Resources, ",")+" "+strings.Join(r.Verbs, ",")+" ["+strings.Join(r.ResourceNames, ",")+"]")
				for _, v := range r.Verbs {
					if v != "get" && v != "list" && v != "watch" {
						t.Errorf("rule %v grants %q: the gateway is read-only", r, v)
					}
				}
				if slices.Contains(r.Resources, "secrets") && (len(r.ResourceNames) != 1 || !slices.Equal(r.Verbs, []string{"get"})) {
					t.Errorf("secret rule %v must be get on one resourceName", r)
				}
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("rules %q, want %q", got, tt.want)
			}
		})
	}
}

func TestPodDisruptionBudget(t *testing.T) {
	tests := []struct {
		replicas *int32
		want     bool
	}{{nil, false}, {ptr.To[int32](0), false}, {ptr.To[int32](1), false}, {ptr.To[int32](2), true}, {ptr.To[int32](50), true}}
	for _, tt := range tests {
		p := basePolicy()
		p.Spec.Gateway.Replicas = tt.replicas
		o := render(t, p, testOpts)
		if got := o.PodDisruptionBudget != nil; got != tt.want {
			t.Errorf("replicas %v: PDB %v, want %v", ptr.Deref(tt.replicas, -1), got, tt.want)
		}
		if want := ptr.Deref(tt.replicas, 1); *o.Deployment.Spec.Replicas != want {
			t.Errorf("replicas %v: Deployment has %d", ptr.Deref(tt.replicas, -1), *o.Deployment.Spec.Replicas)
		}
	}
}

func TestRenderInputs(t *testing.T) {
	tests := []struct {
		name    string
		mutate  func(*subv1.SubscriptionPolicy, *Options)
		nilObjs bool
		err     string
		image   string
	}{
		{name: "operator image", mutate: func(*subv1.SubscriptionPolicy, *Options) {}, image: testOpts.Image},
		{name: "spec image wins", mutate: func(p *subv1.SubscriptionPolicy, _ *Options) { p.Spec.Gateway.Image = "example.com/gw:1" }, image: "example.com/gw:1"},
		{name: "no image anywhere", mutate: func(_ *subv1.SubscriptionPolicy, o *Options) { o.Image = "" }, err: "spec.gateway.image is empty"},
		{name: "disabled", mutate: func(p *subv1.SubscriptionPolicy, _ *Options) { p.Spec.Gateway.Enabled = false }, nilObjs: true},
		{name: "no gateway", mutate: func(p *subv1.SubscriptionPolicy, _ *Options) { p.Spec.Gateway = nil }, nilObjs: true},
		{name: "longest name", mutate: func(p *subv1.SubscriptionPolicy, _ *Options) { p.Name = "p" + strings.Repeat("x", 54) }, image: testOpts.Image},
		{name: "name too long", mutate: func(p *subv1.SubscriptionPolicy, _ *Options) { p.Name = "p" + strings.Repeat("x", 55) }, err: "metadata.name"},
		{name: "dotted name", mutate: func(p *subv1.SubscriptionPolicy, _ *Options) { p.Name = "bakery.default" }, err: "not a valid Service name"},
		{name: "leading digit", mutate: func(p *subv1.SubscriptionPolicy, _ *Options) { p.Name = "1policy" }, err: "not a valid Service name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, o := basePolicy(), testOpts
			tt.mutate(p, &o)
			objs, err := Render(p, o)
			switch {
			case tt.err != "":
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err %v, want it to mention %q", err, tt.err)
				}
			case err != nil:
				t.Fatalf("Render: %v", err)
			case tt.nilObjs:
				if objs != nil {
					t.Fatalf("objects rendered for a disabled gateway")
				}
			default:
				if got := *objs.Deployment.Spec.Template.Spec.Containers[0].Image; got != tt.image {
					t.Errorf("image %q, want %q", got, tt.image)
				}
			}
		})
	}
}

func TestDeploymentContract(t *testing.T) {
	o := render(t, basePolicy(), Options{Image: "img", RedisSecretName: "redis-creds", RedisSecretKey: "dsn"})
	d := o.Deployment
	pod := d.Spec.Template.Spec
	c := pod.Containers[0]
	if want := []string{"--namespace=bakery-ia", "--policy=default", "--listen=:8080", "--forward-auth-listen=:8081", "--metrics-listen=:9090"}; !slices.Equal(c.Args, want) {
		t.Errorf("args %q, want %q", c.Args, want)
	}
	if !slices.Equal(c.Command, []string{"/gateway"}) {
		t.Errorf("command %q", c.Command)
	}
	ref := c.Env[0].ValueFrom.SecretKeyRef
	if *c.Env[0].Name != "REDIS_URL" || *ref.Name != "redis-creds" || *ref.Key != "dsn" {
		t.Errorf("REDIS_URL env %s from %s/%s", *c.Env[0].Name, *ref.Name, *ref.Key)
	}
	sc := c.SecurityContext
	if !*sc.RunAsNonRoot || *sc.RunAsUser != 65532 || !*sc.ReadOnlyRootFilesystem || *sc.AllowPrivilegeEscalation ||
		!slices.Equal(sc.Capabilities.Drop, []corev1.Capability{"ALL"}) || *sc.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
		t.Errorf("container security context is not restricted: %+v", sc)
	}
	if !*pod.AutomountServiceAccountToken || *pod.ServiceAccountName != "default-gateway" {
		t.Errorf("pod must run as default-gateway with its token mounted")
	}
	if *c.ReadinessProbe.HTTPGet.Path != "/readyz" || *c.LivenessProbe.HTTPGet.Path != "/healthz" ||
		c.ReadinessProbe.HTTPGet.Port.StrVal != PortNameMetrics {
		t.Errorf("probes: readiness %s, liveness %s", *c.ReadinessProbe.HTTPGet.Path, *c.LivenessProbe.HTTPGet.Path)
	}
	// A rollout loses no request: the pod keeps serving until kube-proxy has
	// dropped it, then drains within the grace period.
	if c.Lifecycle == nil || c.Lifecycle.PreStop == nil || c.Lifecycle.PreStop.Sleep == nil ||
		*c.Lifecycle.PreStop.Sleep.Seconds != PreStopSleepSeconds {
		t.Errorf("gateway container needs a preStop sleep of %d s: %+v", PreStopSleepSeconds, c.Lifecycle)
	}
	const drain = 15 // the gateway's default --shutdown-timeout
	if *pod.TerminationGracePeriodSeconds < PreStopSleepSeconds+drain {
		t.Errorf("terminationGracePeriodSeconds %d < preStop %d s + shutdown %d s", *pod.TerminationGracePeriodSeconds, PreStopSleepSeconds, drain)
	}
	for _, labels := range []map[string]string{d.Labels, d.Spec.Template.Labels, o.Service.Labels, o.Role.Labels} {
		if labels["app.kubernetes.io/name"] != "gateway" || labels["app.kubernetes.io/instance"] != "default" ||
			labels["app.kubernetes.io/managed-by"] != "subscription-operator" {
			t.Errorf("labels %v", labels)
		}
	}
	owner := d.OwnerReferences[0]
	if !*owner.Controller || *owner.Kind != "SubscriptionPolicy" || *owner.UID != "8f04bde2-97e9-6962-0000-000000000001" {
		t.Errorf("owner reference %+v", owner)
	}
	var ports []string
	for _, p := range o.Service.Spec.Ports {
		ports = append(ports, *p.Name+":"+strings.Join([]string{strconv.Itoa(int(*p.Port)), p.TargetPort.String()}, "->"))
	}
	if want := []string{"http:80->http", "forward-auth:8081->forward-auth", "metrics:9090->metrics"}; !slices.Equal(ports, want) {
		t.Errorf("service ports %q, want %q", ports, want)
	}
	if *o.Service.Spec.Type != corev1.ServiceTypeClusterIP {
		t.Errorf("service type %s", *o.Service.Spec.Type)
	}
}
