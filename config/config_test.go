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

// Package config_test renders the kustomize trees with the pinned kustomize
// (bin/kustomize-<version>, installed by the Makefile) and checks what a
// reviewer would: pod security, where secrets come from, least-privilege RBAC,
// that every metric an alert uses is exported by the code, and that the API
// server accepts the objects (kubectl apply --dry-run=server against envtest).
package config_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"

	"github.com/bakery-ia/subscription-operator/controllers"
	"github.com/bakery-ia/subscription-operator/internal/gatewaydeploy"
	"github.com/bakery-ia/subscription-operator/internal/testenv"
)

// exportedMetrics are the metrics the code exports, with their labels. Alerts
// may use only these; TestMetricsListMatchesCode keeps the list honest by
// finding every name in a `Name: "..."` of the Go sources.
var exportedMetrics = map[string]struct {
	labels    []string
	histogram bool
}{
	"subscription_snapshot_runs_total":                     {labels: []string{"policy", "result"}},
	"subscription_snapshot_duration_seconds":               {labels: []string{"policy"}, histogram: true},
	"subscription_snapshot_last_success_timestamp_seconds": {labels: []string{"policy"}},
	"subscription_tenants":                                 {labels: []string{"policy", "status"}},
	"http_request_duration_seconds":                        {labels: []string{"endpoint", "code"}, histogram: true},
	"gateway_requests_total":                               {labels: []string{"decision"}},
	"gateway_upgrade_required_total":                       {labels: []string{"feature", "current_tier", "required_tier"}},
	"gateway_request_duration_seconds":                     {labels: []string{"decision"}, histogram: true},
	"gateway_rule_table_generation":                        {},
	"gateway_rule_table_last_reload_timestamp_seconds":     {},
	"gateway_usage_counter_dropped_total":                  {},
	"subscription_notifications_total":                     {labels: []string{"sink", "event", "result"}},
	"subscription_notification_sink_consecutive_failures":  {labels: []string{"sink"}},
}

// targetLabels are added by Prometheus (and the Prometheus Operator) to every
// scraped series.
var targetLabels = []string{"namespace", "pod", "service", "job", "instance", "container", "endpoint"}

// requiredAlerts must exist in the PrometheusRule.
var requiredAlerts = []string{"UsageSnapshotFailed", "UsageForecastSlow", "TenantPredictedBreach",
	"SubscriptionNotificationSinkFailing", "SubscriptionNotificationExpired"}

func root() string { return testenv.RepoRoot() }

var (
	kustomizeOnce sync.Once
	kustomizeBin  string
	kustomizeErr  error
)

// kustomize returns the pinned kustomize, installing it with `make` (the
// Makefile's $(KUSTOMIZE) target) when it is missing.
func kustomize(t *testing.T) string {
	t.Helper()
	kustomizeOnce.Do(func() {
		mk, err := os.ReadFile(filepath.Join(root(), "Makefile"))
		if err != nil {
			kustomizeErr = err
			return
		}
		m := regexp.MustCompile(`(?m)^KUSTOMIZE_VERSION \?= (\S+)$`).FindSubmatch(mk)
		if m == nil {
			kustomizeErr = errors.New("KUSTOMIZE_VERSION not found in the Makefile")
			return
		}
		kustomizeBin = filepath.Join(root(), "bin", "kustomize-"+string(m[1]))
		if _, err := os.Stat(kustomizeBin); err == nil {
			return
		}
		out, err := exec.Command("make", "-C", root(), kustomizeBin).CombinedOutput()
		if err != nil {
			kustomizeErr = fmt.Errorf("make %s: %w\n%s", kustomizeBin, err, out)
		}
	})
	if kustomizeErr != nil {
		t.Fatalf("kustomize: %v", kustomizeErr)
	}
	return kustomizeBin
}

// build renders config/<dir> and returns its raw YAML and its objects.
func build(t *testing.T, dir string) ([]byte, []*unstructured.Unstructured) {
	t.Helper()
	cmd := exec.Command(kustomize(t), "build", filepath.Join(root(), "config", dir))
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("kustomize build config/%s: %v\n%s", dir, err, stderr.String())
	}
	return out, parse(t, out)
}

// readSamples parses config/samples as `kubectl apply -f config/samples` reads
// it: every YAML file of the folder (it has no kustomization on purpose, so
// that command works).
func readSamples(t *testing.T) []*unstructured.Unstructured {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(root(), "config", "samples", "*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no samples in config/samples: %v", err)
	}
	var all []byte
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, []byte("\n---\n")...)
		all = append(all, data...)
	}
	return parse(t, all)
}

func parse(t *testing.T, data []byte) []*unstructured.Unstructured {
	t.Helper()
	dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(data), 4096)
	var objs []*unstructured.Unstructured
	for {
		var m map[string]any
		err := dec.Decode(&m)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("parsing document %d: %v", len(objs)+1, err)
		}
		if m == nil {
			continue
		}
		u := &unstructured.Unstructured{Object: m}
		if u.GetAPIVersion() == "" || u.GetKind() == "" || u.GetName() == "" {
			t.Fatalf("document %d has no apiVersion, kind or name: %v", len(objs)+1, m)
		}
		objs = append(objs, u)
	}
	if len(objs) == 0 {
		t.Fatal("no documents")
	}
	return objs
}

func kinds(objs []*unstructured.Unstructured, kind string) []*unstructured.Unstructured {
	var out []*unstructured.Unstructured
	for _, o := range objs {
		if o.GetKind() == kind {
			out = append(out, o)
		}
	}
	return out
}

func convert[T any](t *testing.T, u *unstructured.Unstructured) *T {
	t.Helper()
	var v T
	if err := runtime.DefaultUnstructuredConverter.FromUnstructuredWithValidation(u.Object, &v, true); err != nil {
		t.Fatalf("%s %s: %v", u.GetKind(), u.GetName(), err)
	}
	return &v
}

const (
	operatorNamespace = "subscription-operator-system"
	managerName       = "subscription-operator-controller-manager"
)

func TestDefaultInventory(t *testing.T) {
	_, objs := build(t, "default")
	seen := map[string]bool{}
	for _, o := range objs {
		key := o.GetKind() + "/" + o.GetName()
		if seen[key] {
			t.Errorf("duplicate object %s", key)
		}
		seen[key] = true
		if ns := o.GetNamespace(); ns != "" && ns != operatorNamespace {
			t.Errorf("%s is in namespace %q, want %q", key, ns, operatorNamespace)
		}
		if o.GetKind() == "Secret" || o.GetKind() == "ConfigMap" {
			t.Errorf("%s: config/default must not ship Secrets or ConfigMaps; credentials come from Secrets the user creates", key)
		}
	}
	for _, want := range []string{
		"Namespace/" + operatorNamespace,
		"CustomResourceDefinition/subscriptionpolicies.subscriptions.bakery-ia.io",
		"CustomResourceDefinition/tenantusages.subscriptions.bakery-ia.io",
		"ServiceAccount/" + managerName,
		"ClusterRole/subscription-operator-manager-role",
		"ClusterRoleBinding/subscription-operator-manager-rolebinding",
		"Role/subscription-operator-leader-election-role",
		"RoleBinding/subscription-operator-leader-election-rolebinding",
		"Deployment/" + managerName,
		"Service/subscription-operator-forecast-api",
		"Service/subscription-operator-metrics",
		"NetworkPolicy/" + managerName,
		"PodDisruptionBudget/" + managerName,
	} {
		if !seen[want] {
			t.Errorf("config/default lacks %s", want)
		}
	}
}

func managerDeployment(t *testing.T, objs []*unstructured.Unstructured) *appsv1.Deployment {
	t.Helper()
	for _, o := range kinds(objs, "Deployment") {
		if o.GetName() == managerName {
			return convert[appsv1.Deployment](t, o)
		}
	}
	t.Fatalf("no Deployment %s", managerName)
	return nil
}

func TestManagerDeployment(t *testing.T) {
	_, objs := build(t, "default")
	for _, u := range kinds(objs, "Deployment") {
		checkPodSecurity(t, u.GetName(), &convert[appsv1.Deployment](t, u).Spec.Template.Spec)
	}
	d := managerDeployment(t, objs)
	if d.Spec.Replicas == nil || *d.Spec.Replicas < 2 {
		t.Errorf("replicas = %v, want 2 (leader election makes that safe)", d.Spec.Replicas)
	}
	c := d.Spec.Template.Spec.Containers[0]
	if !slices.Contains(c.Args, "--leader-elect") && !slices.Contains(c.Args, "--leader-elect=true") {
		t.Errorf("manager args %v lack --leader-elect", c.Args)
	}
	ports := map[string]int32{}
	for _, p := range c.Ports {
		ports[p.Name] = p.ContainerPort
	}
	for name, port := range map[string]int32{"metrics": 8080, "health": 8081, "forecast-api": 8082} {
		if ports[name] != port {
			t.Errorf("container port %s = %d, want %d (the manager's flag defaults)", name, ports[name], port)
		}
	}
	for _, probe := range []*corev1.Probe{c.LivenessProbe, c.ReadinessProbe} {
		if probe == nil || probe.HTTPGet == nil || probe.HTTPGet.Port.String() != "health" {
			t.Errorf("liveness and readiness probes must GET the health port, got %+v", probe)
		}
	}
	var image string
	for _, e := range c.Env {
		if e.Name == "OPERATOR_IMAGE" {
			image = e.Value
		}
	}
	if image != c.Image {
		t.Errorf("OPERATOR_IMAGE = %q, want the manager's image %q (the gateways run it)", image, c.Image)
	}
	if d.Spec.Template.Spec.ServiceAccountName != managerName {
		t.Errorf("serviceAccountName = %q, want %q", d.Spec.Template.Spec.ServiceAccountName, managerName)
	}

	// The forecast API Service must reach the container port.
	for _, u := range kinds(objs, "Service") {
		svc := convert[corev1.Service](t, u)
		for _, p := range svc.Spec.Ports {
			if _, ok := ports[p.TargetPort.String()]; !ok {
				t.Errorf("Service %s port %s targets %q, which the manager does not expose", svc.Name, p.Name, p.TargetPort.String())
			}
		}
		if !selects(svc.Spec.Selector, d.Spec.Template.Labels) {
			t.Errorf("Service %s selector %v does not select the manager pods %v", svc.Name, svc.Spec.Selector, d.Spec.Template.Labels)
		}
	}
}

func selects(selector, labels map[string]string) bool {
	if len(selector) == 0 {
		return false
	}
	for k, v := range selector {
		if labels[k] != v {
			return false
		}
	}
	return true
}

// checkPodSecurity asserts the restricted Pod Security Standard and more.
func checkPodSecurity(t *testing.T, name string, pod *corev1.PodSpec) {
	t.Helper()
	psc := pod.SecurityContext
	if psc == nil || psc.SeccompProfile == nil || psc.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
		t.Errorf("%s: pod securityContext.seccompProfile must be RuntimeDefault", name)
	}
	podNonRoot := psc != nil && psc.RunAsNonRoot != nil && *psc.RunAsNonRoot
	if pod.HostNetwork || pod.HostPID || pod.HostIPC {
		t.Errorf("%s: must not use host namespaces", name)
	}
	for _, v := range pod.Volumes {
		if v.HostPath != nil {
			t.Errorf("%s: volume %s is a hostPath", name, v.Name)
		}
	}
	for _, c := range append(slices.Clone(pod.InitContainers), pod.Containers...) {
		where := name + "/" + c.Name
		sc := c.SecurityContext
		if sc == nil {
			t.Errorf("%s: no securityContext", where)
			continue
		}
		if !podNonRoot && (sc.RunAsNonRoot == nil || !*sc.RunAsNonRoot) {
			t.Errorf("%s: runAsNonRoot must be true", where)
		}
		if sc.RunAsUser != nil && *sc.RunAsUser == 0 {
			t.Errorf("%s: runAsUser 0", where)
		}
		if sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem {
			t.Errorf("%s: readOnlyRootFilesystem must be true", where)
		}
		if sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation {
			t.Errorf("%s: allowPrivilegeEscalation must be false", where)
		}
		if sc.Privileged != nil && *sc.Privileged {
			t.Errorf("%s: privileged", where)
		}
		if sc.Capabilities == nil || !slices.Contains(sc.Capabilities.Drop, "ALL") || len(sc.Capabilities.Add) > 0 {
			t.Errorf("%s: capabilities must drop ALL and add none", where)
		}
		if sc.SeccompProfile != nil && sc.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
			t.Errorf("%s: seccompProfile %s, want RuntimeDefault", where, sc.SeccompProfile.Type)
		}
		if c.Resources.Requests.Cpu().IsZero() || c.Resources.Requests.Memory().IsZero() || c.Resources.Limits.Memory().IsZero() {
			t.Errorf("%s: needs cpu and memory requests and a memory limit", where)
		}
		if c.LivenessProbe == nil || c.ReadinessProbe == nil {
			t.Errorf("%s: needs liveness and readiness probes", where)
		}
		checkSecretsFromSecretKeyRef(t, where, c)
	}
}

// sensitive env vars and argument values.
var (
	sensitiveEnv = regexp.MustCompile(`(?i)(_URL|DSN|PASSWORD|PASSWD|SECRET|TOKEN|_KEY)$`)
	credentialIn = regexp.MustCompile(`(?i)(redis|rediss|postgres|postgresql)://|password=`)
)

// checkSecretsFromSecretKeyRef: credentials reach the containers only through
// env valueFrom.secretKeyRef, never as literals, ConfigMaps or arguments.
func checkSecretsFromSecretKeyRef(t *testing.T, where string, c corev1.Container) {
	t.Helper()
	for _, a := range append(slices.Clone(c.Command), c.Args...) {
		if credentialIn.MatchString(a) {
			t.Errorf("%s: argument %q holds a connection string; use a secretKeyRef", where, a)
		}
	}
	if len(c.EnvFrom) > 0 {
		t.Errorf("%s: envFrom imports unnamed keys; list each env var with a secretKeyRef", where)
	}
	for _, e := range c.Env {
		if credentialIn.MatchString(e.Value) {
			t.Errorf("%s: env %s has a literal connection string", where, e.Name)
		}
		if !sensitiveEnv.MatchString(e.Name) {
			continue
		}
		if e.ValueFrom == nil || e.ValueFrom.SecretKeyRef == nil {
			t.Errorf("%s: env %s must come from a secretKeyRef", where, e.Name)
		}
	}
	for _, want := range []string{"REDIS_URL", "DATABASE_URL"} {
		if !slices.ContainsFunc(c.Env, func(e corev1.EnvVar) bool { return e.Name == want }) {
			t.Errorf("%s: env %s is missing", where, want)
		}
	}
}

func TestRBACIsLeastPrivilege(t *testing.T) {
	_, objs := build(t, "default")
	var rules []struct {
		owner string
		rule  rbacv1.PolicyRule
	}
	for _, u := range append(kinds(objs, "ClusterRole"), kinds(objs, "Role")...) {
		var rs []rbacv1.PolicyRule
		if u.GetKind() == "Role" {
			rs = convert[rbacv1.Role](t, u).Rules
		} else {
			rs = convert[rbacv1.ClusterRole](t, u).Rules
		}
		for _, r := range rs {
			rules = append(rules, struct {
				owner string
				rule  rbacv1.PolicyRule
			}{u.GetKind() + "/" + u.GetName(), r})
		}
	}
	if len(rules) == 0 {
		t.Fatal("no RBAC rules rendered")
	}
	for _, r := range rules {
		for _, field := range [][]string{r.rule.Verbs, r.rule.Resources, r.rule.APIGroups} {
			if slices.Contains(field, "*") {
				t.Errorf("%s: wildcard in %+v", r.owner, r.rule)
			}
		}
		for _, v := range r.rule.Verbs {
			if v == "escalate" || v == "bind" || v == "impersonate" {
				t.Errorf("%s: verb %s", r.owner, v)
			}
		}
		if slices.Contains(r.rule.Resources, "secrets") &&
			slices.ContainsFunc(r.rule.Verbs, func(v string) bool { return v != "get" }) {
			t.Errorf("%s: secrets need only get (the gateway's Role grants get on one Secret), got %v", r.owner, r.rule.Verbs)
		}
	}
	// Only the manager's own role and the leader-election Role are bound to
	// the manager's ServiceAccount.
	allowed := map[string]bool{
		"ClusterRole/subscription-operator-manager-role":  true,
		"Role/subscription-operator-leader-election-role": true,
	}
	for _, u := range append(kinds(objs, "ClusterRoleBinding"), kinds(objs, "RoleBinding")...) {
		var ref rbacv1.RoleRef
		var subjects []rbacv1.Subject
		if u.GetKind() == "RoleBinding" {
			b := convert[rbacv1.RoleBinding](t, u)
			ref, subjects = b.RoleRef, b.Subjects
		} else {
			b := convert[rbacv1.ClusterRoleBinding](t, u)
			ref, subjects = b.RoleRef, b.Subjects
		}
		if !allowed[ref.Kind+"/"+ref.Name] {
			t.Errorf("%s binds unexpected %s/%s", u.GetName(), ref.Kind, ref.Name)
		}
		for _, s := range subjects {
			if s.Kind != "ServiceAccount" || s.Name != managerName || s.Namespace != operatorNamespace {
				t.Errorf("%s: subject %+v, want the manager's ServiceAccount %s/%s", u.GetName(), s, operatorNamespace, managerName)
			}
		}
	}
}

func TestNetworkPolicy(t *testing.T) {
	_, objs := build(t, "default")
	d := managerDeployment(t, objs)
	nps := kinds(objs, "NetworkPolicy")
	if len(nps) != 1 {
		t.Fatalf("want one NetworkPolicy, got %d", len(nps))
	}
	np := convert[networkingv1.NetworkPolicy](t, nps[0])
	if !selects(np.Spec.PodSelector.MatchLabels, d.Spec.Template.Labels) {
		t.Errorf("NetworkPolicy selects %v, not the manager pods %v", np.Spec.PodSelector.MatchLabels, d.Spec.Template.Labels)
	}
	if !slices.Contains(np.Spec.PolicyTypes, networkingv1.PolicyTypeIngress) || !slices.Contains(np.Spec.PolicyTypes, networkingv1.PolicyTypeEgress) {
		t.Errorf("policyTypes %v, want Ingress and Egress", np.Spec.PolicyTypes)
	}
	open := map[string]bool{}
	for _, r := range np.Spec.Ingress {
		for _, p := range r.Ports {
			open[p.Port.String()] = true
		}
	}
	for _, p := range []string{"metrics", "health", "forecast-api"} {
		if !open[p] {
			t.Errorf("ingress does not open port %s", p)
		}
	}
	egress := map[string]bool{}
	for _, r := range np.Spec.Egress {
		if len(r.Ports) == 0 {
			t.Errorf("an egress rule without ports allows everything: %+v", r)
		}
		for _, p := range r.Ports {
			egress[p.Port.String()] = true
		}
	}
	for _, p := range []string{"53", "443", "6443", "6379", "5432"} {
		if !egress[p] {
			t.Errorf("egress does not allow port %s", p)
		}
	}
}

// --- Prometheus ------------------------------------------------------------

type promRule struct {
	Alert       string            `json:"alert"`
	Record      string            `json:"record"`
	Expr        string            `json:"expr"`
	For         string            `json:"for"`
	Labels      map[string]string `json:"labels"`
	Annotations map[string]string `json:"annotations"`
}

func prometheusRules(t *testing.T, objs []*unstructured.Unstructured) []promRule {
	t.Helper()
	var out []promRule
	for _, u := range kinds(objs, "PrometheusRule") {
		var spec struct {
			Groups []struct {
				Name  string     `json:"name"`
				Rules []promRule `json:"rules"`
			} `json:"groups"`
		}
		if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object["spec"].(map[string]any), &spec); err != nil {
			t.Fatalf("PrometheusRule %s: %v", u.GetName(), err)
		}
		if len(spec.Groups) == 0 {
			t.Errorf("PrometheusRule %s has no groups", u.GetName())
		}
		for _, g := range spec.Groups {
			if g.Name == "" || len(g.Rules) == 0 {
				t.Errorf("PrometheusRule %s: group %q needs a name and rules", u.GetName(), g.Name)
			}
			out = append(out, g.Rules...)
		}
	}
	return out
}

var (
	promDuration = regexp.MustCompile(`^([0-9]+(ms|s|m|h|d|w|y))+$`)
	promString   = regexp.MustCompile(`"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'`)
	promMatchers = regexp.MustCompile(`\{[^}]*\}`)
	promGrouping = regexp.MustCompile(`\b(by|without|on|ignoring|group_left|group_right)\s*\(([^)]*)\)`)
	promRange    = regexp.MustCompile(`\[[^\]]*\]`)
	promIdent    = regexp.MustCompile(`[A-Za-z_:][A-Za-z0-9_:]*`)
	promSelector = regexp.MustCompile(`([A-Za-z_:][A-Za-z0-9_:]*)\s*\{([^}]*)\}`)
	promMatcher  = regexp.MustCompile(`([A-Za-z_][A-Za-z0-9_]*)\s*(=~|!~|!=|=)`)
	promKeywords = map[string]bool{"and": true, "or": true, "unless": true, "bool": true, "offset": true, "inf": true, "nan": true}
)

// promMetrics returns the metric names an expression reads, and the label
// names it matches on or groups by.
func promMetrics(expr string) (metrics, labels []string) {
	stripped := promString.ReplaceAllString(expr, `""`)
	for _, m := range promSelector.FindAllStringSubmatch(stripped, -1) {
		for _, lm := range promMatcher.FindAllStringSubmatch(m[2], -1) {
			labels = append(labels, lm[1])
		}
	}
	for _, g := range promGrouping.FindAllStringSubmatch(stripped, -1) {
		for _, l := range strings.Split(g[2], ",") {
			if l = strings.TrimSpace(l); l != "" {
				labels = append(labels, l)
			}
		}
	}
	s := promMatchers.ReplaceAllString(stripped, " ")
	s = promGrouping.ReplaceAllString(s, " ")
	s = promRange.ReplaceAllString(s, " ")
	for _, loc := range promIdent.FindAllStringIndex(s, -1) {
		word := s[loc[0]:loc[1]]
		rest := strings.TrimLeft(s[loc[1]:], " \t\n")
		if strings.HasPrefix(rest, "(") || promKeywords[strings.ToLower(word)] {
			continue // a function or aggregation, or a keyword
		}
		if loc[0] > 0 && (s[loc[0]-1] >= '0' && s[loc[0]-1] <= '9' || s[loc[0]-1] == '.') {
			continue // the exponent or unit of a number, e.g. 1e3
		}
		metrics = append(metrics, word)
	}
	return metrics, labels
}

// metricLabels resolves a series name (with histogram suffixes) to its labels.
func metricLabels(name string) ([]string, bool) {
	if m, ok := exportedMetrics[name]; ok {
		return m.labels, true
	}
	for _, suffix := range []string{"_bucket", "_sum", "_count"} {
		base, found := strings.CutSuffix(name, suffix)
		if m, ok := exportedMetrics[base]; found && ok && m.histogram {
			if suffix == "_bucket" {
				return append(slices.Clone(m.labels), "le"), true
			}
			return m.labels, true
		}
	}
	return nil, false
}

func TestPromQLParsing(t *testing.T) {
	metrics, labels := promMetrics(`histogram_quantile(0.95, sum by (namespace, le) (rate(http_request_duration_seconds_bucket{endpoint="/usage-forecast", code!~"5.."}[5m]))) > 1.0 and on(policy) foo_total offset 1h`)
	if want := []string{"http_request_duration_seconds_bucket", "foo_total"}; !slices.Equal(metrics, want) {
		t.Errorf("metrics = %v, want %v", metrics, want)
	}
	if want := []string{"endpoint", "code", "namespace", "le", "policy"}; !slices.Equal(labels, want) {
		t.Errorf("labels = %v, want %v", labels, want)
	}
	metrics, _ = promMetrics(`time() - max by (policy) (subscription_snapshot_last_success_timestamp_seconds) > 26 * 3600`)
	if want := []string{"subscription_snapshot_last_success_timestamp_seconds"}; !slices.Equal(metrics, want) {
		t.Errorf("metrics = %v, want %v", metrics, want)
	}
}

func TestPrometheusRules(t *testing.T) {
	for _, dir := range []string{"prometheus", "default-prometheus"} {
		t.Run(dir, func(t *testing.T) {
			_, objs := build(t, dir)
			rules := prometheusRules(t, objs)
			alerts := map[string]promRule{}
			for _, r := range rules {
				name := r.Alert + r.Record
				if (r.Alert == "") == (r.Record == "") {
					t.Errorf("rule %q: exactly one of alert or record", name)
				}
				if r.Alert != "" {
					if _, dup := alerts[r.Alert]; dup {
						t.Errorf("alert %s defined twice", r.Alert)
					}
					alerts[r.Alert] = r
					if r.Labels["severity"] == "" || r.Annotations["summary"] == "" || r.Annotations["description"] == "" {
						t.Errorf("alert %s needs a severity label and summary and description annotations", r.Alert)
					}
				}
				if r.For != "" && !promDuration.MatchString(r.For) {
					t.Errorf("%s: for %q is not a Prometheus duration", name, r.For)
				}
				if strings.Count(r.Expr, "(") != strings.Count(r.Expr, ")") || strings.Count(r.Expr, "{") != strings.Count(r.Expr, "}") {
					t.Errorf("%s: unbalanced brackets in %q", name, r.Expr)
				}
				metrics, labels := promMetrics(r.Expr)
				if len(metrics) == 0 {
					t.Errorf("%s: no metric found in %q", name, r.Expr)
				}
				var known []string
				for _, m := range metrics {
					ls, ok := metricLabels(m)
					if !ok {
						t.Errorf("%s: metric %s is not exported by the code (see exportedMetrics)", name, m)
					}
					known = append(known, ls...)
				}
				for _, l := range labels {
					if l != "le" && !slices.Contains(known, l) && !slices.Contains(targetLabels, l) {
						t.Errorf("%s: label %s is not a label of %v", name, l, metrics)
					}
				}
			}
			for _, a := range requiredAlerts {
				if _, ok := alerts[a]; !ok {
					t.Errorf("alert %s is missing", a)
				}
			}
			if r := alerts["UsageForecastSlow"]; !strings.Contains(r.Expr, `http_request_duration_seconds_bucket{endpoint="/usage-forecast"}`) ||
				!strings.Contains(r.Expr, "histogram_quantile(0.95") || !regexp.MustCompile(`>\s*1(\.0)?\s*$`).MatchString(strings.TrimSpace(r.Expr)) || r.For != "10m" {
				t.Errorf("UsageForecastSlow must be p95 of /usage-forecast > 1s for 10m, got %q for %q", r.Expr, r.For)
			}
			if r := alerts["TenantPredictedBreach"]; !strings.Contains(r.Expr, `subscription_tenants{status="critical"}`) || !strings.Contains(r.Expr, "> 0") {
				t.Errorf("TenantPredictedBreach must fire on subscription_tenants{status=\"critical\"} > 0, got %q", r.Expr)
			}
			// The alert's threshold is the manager's: NotificationsHealthy turns
			// False at controllers.DefaultFailingAfter failures in a row.
			if r := alerts["SubscriptionNotificationSinkFailing"]; !strings.Contains(r.Expr, "subscription_notification_sink_consecutive_failures") ||
				!regexp.MustCompile(`>=\s*`+strconv.Itoa(controllers.DefaultFailingAfter)+`\s*$`).MatchString(strings.TrimSpace(r.Expr)) {
				t.Errorf("SubscriptionNotificationSinkFailing must fire on subscription_notification_sink_consecutive_failures >= %d, got %q",
					controllers.DefaultFailingAfter, r.Expr)
			}
			if r := alerts["SubscriptionNotificationExpired"]; !strings.Contains(r.Expr, `subscription_notifications_total{result="expired"}`) {
				t.Errorf("SubscriptionNotificationExpired must count result=\"expired\", got %q", r.Expr)
			}
			if r := alerts["UsageSnapshotFailed"]; !strings.Contains(r.Expr, "subscription_snapshot_runs_total") {
				t.Errorf("UsageSnapshotFailed must use subscription_snapshot_runs_total, got %q", r.Expr)
			}
		})
	}
}

// TestMetricsListMatchesCode: every name in exportedMetrics is registered by
// the code (a `Name: "..."` in a non-test Go file), so the alerts cannot use a
// metric that was renamed.
func TestMetricsListMatchesCode(t *testing.T) {
	nameField := regexp.MustCompile(`\bName:\s*"([a-z_:][a-z0-9_:]*)"`)
	found := map[string]string{}
	for _, dir := range []string{"controllers", "internal", "cmd"} {
		err := filepath.WalkDir(filepath.Join(root(), dir), func(path string, d os.DirEntry, err error) error {
			if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
				return err
			}
			src, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			for _, m := range nameField.FindAllSubmatch(src, -1) {
				found[string(m[1])] = path
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	var names []string
	for name := range exportedMetrics {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		if _, ok := found[name]; !ok {
			t.Errorf("metric %s is listed here but no Go source registers it (Name: %q)", name, name)
		}
	}
}

func TestMonitors(t *testing.T) {
	_, objs := build(t, "default-prometheus")
	var metricsSvc *corev1.Service
	for _, u := range kinds(objs, "Service") {
		if u.GetName() == "subscription-operator-metrics" {
			metricsSvc = convert[corev1.Service](t, u)
		}
	}
	if metricsSvc == nil {
		t.Fatal("no metrics Service")
	}
	sms := kinds(objs, "ServiceMonitor")
	if len(sms) != 1 {
		t.Fatalf("want one ServiceMonitor, got %d", len(sms))
	}
	type endpoint struct {
		Port string `json:"port"`
		Path string `json:"path"`
	}
	type selector struct {
		MatchLabels map[string]string `json:"matchLabels"`
	}
	var sm struct {
		Selector  selector   `json:"selector"`
		Endpoints []endpoint `json:"endpoints"`
	}
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(sms[0].Object["spec"].(map[string]any), &sm); err != nil {
		t.Fatal(err)
	}
	if !selects(sm.Selector.MatchLabels, metricsSvc.Labels) {
		t.Errorf("ServiceMonitor selects %v, not the metrics Service %v", sm.Selector.MatchLabels, metricsSvc.Labels)
	}
	if len(sm.Endpoints) != 1 || sm.Endpoints[0].Port != metricsSvc.Spec.Ports[0].Name || sm.Endpoints[0].Path != "/metrics" {
		t.Errorf("ServiceMonitor endpoints %+v, want port %s path /metrics", sm.Endpoints, metricsSvc.Spec.Ports[0].Name)
	}
	pms := kinds(objs, "PodMonitor")
	if len(pms) != 1 {
		t.Fatalf("want one PodMonitor, got %d", len(pms))
	}
	var pm struct {
		Selector            selector   `json:"selector"`
		PodMetricsEndpoints []endpoint `json:"podMetricsEndpoints"`
	}
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(pms[0].Object["spec"].(map[string]any), &pm); err != nil {
		t.Fatal(err)
	}
	if !selects(pm.Selector.MatchLabels, gatewaydeploy.Labels("any-policy")) {
		t.Errorf("PodMonitor selects %v, not the gateway pods %v", pm.Selector.MatchLabels, gatewaydeploy.Labels("any-policy"))
	}
	if len(pm.PodMetricsEndpoints) != 1 || pm.PodMetricsEndpoints[0].Port != gatewaydeploy.PortNameMetrics {
		t.Errorf("PodMonitor endpoints %+v, want port %s", pm.PodMetricsEndpoints, gatewaydeploy.PortNameMetrics)
	}
	for _, u := range append(append(sms, pms...), kinds(objs, "PrometheusRule")...) {
		if u.GetAPIVersion() != "monitoring.coreos.com/v1" || u.GetNamespace() != operatorNamespace {
			t.Errorf("%s %s: apiVersion %s namespace %s", u.GetKind(), u.GetName(), u.GetAPIVersion(), u.GetNamespace())
		}
	}
	// default-prometheus is config/default plus the component, nothing else.
	_, base := build(t, "default")
	if got, want := len(objs)-len(sms)-len(pms)-len(kinds(objs, "PrometheusRule")), len(base); got != want {
		t.Errorf("default-prometheus has %d non-monitoring objects, config/default %d", got, want)
	}
}

// TestServerDryRun applies the rendered manifests to a real kube-apiserver
// (envtest) with --dry-run=server: admission and schema validation of every
// kind the API server knows. The Prometheus Operator kinds are checked
// structurally above; their CRDs are not installed here.
func TestServerDryRun(t *testing.T) {
	raw, objs := build(t, "default")
	samples := readSamples(t)
	k, err := testenv.StartEnvtest()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = k.Stop() })

	// A server-side dry run of a namespaced object needs its namespace to exist.
	for _, ns := range []string{operatorNamespace, "bakery-ia"} {
		if out, err := k.Kubectl("create", "namespace", ns); err != nil {
			t.Fatalf("%v: %s", err, out)
		}
	}
	apply := func(name string, data []byte) string {
		t.Helper()
		f := filepath.Join(t.TempDir(), name+".yaml")
		if err := os.WriteFile(f, data, 0o600); err != nil {
			t.Fatal(err)
		}
		var out string
		// The CRDs were just installed; give discovery a moment on the first try.
		deadline := time.Now().Add(20 * time.Second)
		for {
			out, err = k.Kubectl("apply", "--dry-run=server", "--server-side", "--field-manager=config-test", "-f", f)
			if err == nil || time.Now().After(deadline) || !strings.Contains(out, "no matches for kind") {
				break
			}
			time.Sleep(500 * time.Millisecond)
		}
		if err != nil {
			t.Fatalf("kubectl apply --dry-run=server config/%s: %v", name, err)
		}
		return out
	}
	out := apply("default", raw)
	for _, o := range objs {
		if !strings.Contains(out, strings.ToLower(o.GetKind())) || !strings.Contains(out, o.GetName()) {
			t.Errorf("kubectl did not report %s %s:\n%s", o.GetKind(), o.GetName(), out)
		}
	}
	var buf bytes.Buffer
	for _, s := range samples {
		data, err := s.MarshalJSON()
		if err != nil {
			t.Fatal(err)
		}
		buf.WriteString("---\n")
		buf.Write(data)
		buf.WriteString("\n")
	}
	apply("samples", buf.Bytes())
}
