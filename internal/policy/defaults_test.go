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

package policy_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"

	subv1 "github.com/bakery-ia/subscription-operator/api/v1alpha1"
	"github.com/bakery-ia/subscription-operator/internal/policy"
)

// crdDefault returns the default of the field at path (dot-separated, below
// spec) in the generated CRD file.
func crdDefault(t *testing.T, file, path string) string {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("..", "..", "config", "crd", "bases", file))
	if err != nil {
		t.Fatalf("reading the generated CRD (run make manifests): %v", err)
	}
	var crd map[string]any
	if err := yaml.Unmarshal(raw, &crd); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	node := dig(t, crd, "spec", "versions")
	versions, ok := node.([]any)
	if !ok || len(versions) == 0 {
		t.Fatalf("%s: no spec.versions", file)
	}
	node = dig(t, versions[0], "schema", "openAPIV3Schema", "properties", "spec")
	for _, f := range strings.Split(path, ".") {
		if f == "items" { // a list's element schema
			node = dig(t, node, "items")
			continue
		}
		node = dig(t, node, "properties", f)
	}
	def, ok := node.(map[string]any)["default"]
	if !ok {
		t.Fatalf("%s: spec.%s has no default in the CRD", file, path)
	}
	return fmt.Sprint(def)
}

func dig(t *testing.T, node any, keys ...string) any {
	t.Helper()
	for _, k := range keys {
		m, ok := node.(map[string]any)
		if !ok {
			t.Fatalf("CRD schema: %q is not under an object", k)
		}
		if node, ok = m[k]; !ok {
			t.Fatalf("CRD schema: no %q", k)
		}
	}
	return node
}

// TestCRDDefaultsMatchCompiled compiles a policy that leaves every defaulted
// field unset (an object built in Go, or one that bypassed defaulting) and
// checks that each compiled value is the default the API server would have
// written: the CRD and the code cannot drift apart.
func TestCRDDefaultsMatchCompiled(t *testing.T) {
	pol := &subv1.SubscriptionPolicy{
		ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "ns"},
		Spec: subv1.SubscriptionPolicySpec{
			Tiers:   []subv1.Tier{{Name: "starter"}},
			Metrics: []subv1.Metric{{Name: "api_calls", RedisCounter: &subv1.RedisCounterSource{}}},
			Gateway: &subv1.GatewaySpec{TenantIdentity: subv1.TenantIdentity{
				JWT: &subv1.JWTVerification{SecretRef: &subv1.SecretKeyReference{Name: "s"}},
			}},
			Notifications: &subv1.NotificationsSpec{Sinks: []subv1.WebhookSink{{
				Name: "crm", URL: "https://hooks.example/usage", SigningSecretRef: subv1.SecretKeyReference{Name: "s"},
				Events: []subv1.SinkEvent{{Type: subv1.EventPredictedBreach}},
			}}},
		},
	}
	r, err := policy.CompileRules(pol)
	if err != nil {
		t.Fatal(err)
	}
	const sp, tu = "subscriptions.bakery-ia.io_subscriptionpolicies.yaml", "subscriptions.bakery-ia.io_tenantusages.yaml"
	deadline, _ := time.ParseDuration(crdDefault(t, sp, "snapshot.startingDeadlineSeconds") + "s")
	for _, c := range []struct {
		field    string
		crd, got any
	}{
		{"snapshot.schedule", crdDefault(t, sp, "snapshot.schedule"), policy.DefaultSchedule},
		{"snapshot.timeZone", crdDefault(t, sp, "snapshot.timeZone"), r.TimeZone},
		{"snapshot.timeZone (location)", crdDefault(t, sp, "snapshot.timeZone"), r.Location.String()},
		{"snapshot.retentionDays", crdDefault(t, sp, "snapshot.retentionDays"), fmt.Sprint(r.RetentionDays)},
		{"snapshot.minHistoryDays", crdDefault(t, sp, "snapshot.minHistoryDays"), fmt.Sprint(r.MinHistoryDays)},
		{"snapshot.startingDeadlineSeconds", deadline, r.StartingDeadline},
		{"forecast.method", crdDefault(t, sp, "forecast.method"), string(r.Method)},
		{"forecast.confidence", crdDefault(t, sp, "forecast.confidence"), fmt.Sprint(r.Confidence)},
		{"thresholds.basis", crdDefault(t, sp, "thresholds.basis"), string(r.Thresholds.Basis)},
		{"notifications.sinks[].signingSecretRef.key", crdDefault(t, sp, "notifications.sinks.items.signingSecretRef.key"), r.Sinks[0].SigningSecretKey},
		{"thresholds.warningPercent", crdDefault(t, sp, "thresholds.warningPercent"), fmt.Sprint(r.Thresholds.WarningPercent)},
		{"thresholds.criticalPercent", crdDefault(t, sp, "thresholds.criticalPercent"), fmt.Sprint(r.Thresholds.CriticalPercent)},
		{"thresholds.warningDays", crdDefault(t, sp, "thresholds.warningDays"), fmt.Sprint(r.Thresholds.WarningDays)},
		{"thresholds.criticalDays", crdDefault(t, sp, "thresholds.criticalDays"), fmt.Sprint(r.Thresholds.CriticalDays)},
		{"gateway.upgradeURL", crdDefault(t, sp, "gateway.upgradeURL"), r.UpgradeURL},
		{"gateway.tenantIdentity.from", crdDefault(t, sp, "gateway.tenantIdentity.from"), string(r.Identity.From)},
		{"gateway.tenantIdentity.claim", crdDefault(t, sp, "gateway.tenantIdentity.claim"), r.Identity.Claim},
		{"gateway.tenantIdentity.header", crdDefault(t, sp, "gateway.tenantIdentity.header"), r.Identity.Header},
		{"gateway.tenantIdentity.jwt.secretRef.key", crdDefault(t, sp, "gateway.tenantIdentity.jwt.secretRef.key"), r.Identity.SecretKey},
		{"TenantUsage spec.policyRef.name", crdDefault(t, tu, "policyRef.name"), policy.NameOf(&subv1.TenantUsage{})},
		// No CRD default (the field exists only on PredictedBreach events):
		// the documented values, decided in CompileSpec alone.
		{"notifications PredictedBreach withinDays", "14", fmt.Sprint(r.Sinks[0].Events[0].WithinDays)},
		{"notifications PredictedBreach basis (spec.thresholds.basis)", crdDefault(t, sp, "thresholds.basis"),
			map[bool]string{true: "earliest", false: "expected"}[r.Sinks[0].Events[0].Earliest]},
	} {
		if c.crd != c.got {
			t.Errorf("%s: the CRD defaults to %v but the compiled policy uses %v", c.field, c.crd, c.got)
		}
	}
}
