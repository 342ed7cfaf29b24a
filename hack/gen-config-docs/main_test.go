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

package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
)

const root = "../.."

// TestConfigurationDocIsCurrent fails when docs/configuration.md differs from
// what the CRDs generate: after changing the API, run `make manifests` and
// `go run ./hack/gen-config-docs > docs/configuration.md`.
func TestConfigurationDocIsCurrent(t *testing.T) {
	want, err := Render(filepath.Join(root, "config", "crd", "bases"))
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(filepath.Join(root, "docs", "configuration.md"))
	if err != nil {
		t.Fatalf("%v: run `go run ./hack/gen-config-docs > docs/configuration.md`", err)
	}
	if !bytes.Equal(got, want) {
		gl, wl := strings.Split(string(got), "\n"), strings.Split(string(want), "\n")
		for i := range max(len(gl), len(wl)) {
			var g, w string
			if i < len(gl) {
				g = gl[i]
			}
			if i < len(wl) {
				w = wl[i]
			}
			if g != w {
				t.Fatalf("docs/configuration.md is stale (first difference at line %d):\n  have: %s\n  want: %s\n"+
					"run `go run ./hack/gen-config-docs > docs/configuration.md`", i+1, g, w)
			}
		}
	}
}

// TestEveryFieldIsDocumented: each spec field of both CRDs has a row, and the
// defaults of the schema appear.
func TestEveryFieldIsDocumented(t *testing.T) {
	doc, err := Render(filepath.Join(root, "config", "crd", "bases"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"| `spec.snapshot.schedule` | string | `\"0 2 * * *\"` |",
		"| `spec.snapshot.retentionDays` | integer (int32) | `60` |",
		"| `spec.thresholds.warningPercent` | integer (int32) | `80` |",
		"| `spec.gateway.tenantIdentity.from` | string | `\"jwtClaim\"` |",
		"| `spec.tiers[].limits` | map[string]integer (int64) | — |",
		"| `spec.features[].messages{key}.benefits[].text` | string | — |",
		"| `spec.tenantID` | string | — |",
		"| `spec.policyRef.name` | string | `\"default\"` |",
		"| `status.summary.daysUntilBreach` | integer (int32) | — |",
	} {
		if !bytes.Contains(doc, []byte(want)) {
			t.Errorf("the reference lacks the row %s", want)
		}
	}
}

// TestEveryPropertyHasADescription walks the generated CRD schemas: a property
// without a description is "<no description>" in `kubectl explain`.
func TestEveryPropertyHasADescription(t *testing.T) {
	crds, err := load(filepath.Join(root, "config", "crd", "bases"))
	if err != nil {
		t.Fatal(err)
	}
	if len(crds) != 2 {
		t.Fatalf("found %d CRDs in config/crd/bases, want 2", len(crds))
	}
	for _, path := range Undocumented(crds) {
		t.Errorf("%s has no description: add a godoc comment to its Go field and run `make manifests`", path)
	}
}

// TestUndocumentedFindsNestedFields: the walk reaches list items and map
// values, and only the root's metadata is exempt.
func TestUndocumentedFindsNestedFields(t *testing.T) {
	doc := func(d string, p map[string]apiextensionsv1.JSONSchemaProps) apiextensionsv1.JSONSchemaProps {
		return apiextensionsv1.JSONSchemaProps{Type: "object", Description: d, Properties: p}
	}
	leaf := func(d string) apiextensionsv1.JSONSchemaProps {
		return apiextensionsv1.JSONSchemaProps{Type: "string", Description: d}
	}
	schema := doc("root", map[string]apiextensionsv1.JSONSchemaProps{
		"metadata": {Type: "object"},
		"spec": doc("spec", map[string]apiextensionsv1.JSONSchemaProps{
			"list": {Type: "array", Description: "a list", Items: &apiextensionsv1.JSONSchemaPropsOrArray{
				Schema: ptr(doc("item", map[string]apiextensionsv1.JSONSchemaProps{"a": leaf(""), "b": leaf("b")}))}},
			"map": {Type: "object", Description: "a map", AdditionalProperties: &apiextensionsv1.JSONSchemaPropsOrBool{
				Schema: ptr(doc("value", map[string]apiextensionsv1.JSONSchemaProps{"c": leaf("  ")}))}},
			"nested": doc("", map[string]apiextensionsv1.JSONSchemaProps{"metadata": {Type: "object"}}),
		}),
	})
	crd := &apiextensionsv1.CustomResourceDefinition{Spec: apiextensionsv1.CustomResourceDefinitionSpec{
		Names: apiextensionsv1.CustomResourceDefinitionNames{Kind: "Thing"},
		Versions: []apiextensionsv1.CustomResourceDefinitionVersion{{Name: "v1",
			Schema: &apiextensionsv1.CustomResourceValidation{OpenAPIV3Schema: &schema}}},
	}}
	got := Undocumented([]*apiextensionsv1.CustomResourceDefinition{crd})
	want := []string{"Thing.v1.spec.list[].a", "Thing.v1.spec.map{key}.c", "Thing.v1.spec.nested", "Thing.v1.spec.nested.metadata"}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("Undocumented = %q, want %q", got, want)
	}
	if _, ok := schema.Properties["metadata"]; !ok {
		t.Error("Undocumented deleted the root's metadata from the caller's schema")
	}
}

// TestDescriptionsSayWhatTheFieldIs pins the descriptions found wrong by
// trying the product (issue 11): Go details and another field's text.
func TestDescriptionsSayWhatTheFieldIs(t *testing.T) {
	doc, err := Render(filepath.Join(root, "config", "crd", "bases"))
	if err != nil {
		t.Fatal(err)
	}
	rowOf := func(path string) string {
		for _, line := range strings.Split(string(doc), "\n") {
			if strings.HasPrefix(line, "| `"+path+"` |") {
				return line
			}
		}
		t.Fatalf("no row for %s", path)
		return ""
	}
	for _, tc := range []struct {
		path      string
		want, not []string
	}{
		{path: "spec.thresholds.criticalDays", want: []string{"within this many days", "critical"}, not: []string{"pointer"}},
		{path: "spec.tenantDiscovery.postgres.query", want: []string{"tenant ID", "tier"}, not: []string{"Tenants without a row get 0", "count(*)"}},
		{path: "spec.metrics[].postgres.query", want: []string{"Tenants without a row get 0"}},
		{path: "spec.metrics[].redisCounter.keyPattern", want: []string{"PREVIOUS day", "spec.snapshot.timeZone", "no other placeholder"}},
		{path: "spec.snapshot.timeZone", want: []string{`"Local" is refused`}},
	} {
		row := rowOf(tc.path)
		for _, w := range tc.want {
			if !strings.Contains(row, w) {
				t.Errorf("%s: description lacks %q:\n%s", tc.path, w, row)
			}
		}
		for _, n := range tc.not {
			if strings.Contains(row, n) {
				t.Errorf("%s: description should not say %q:\n%s", tc.path, n, row)
			}
		}
	}
}

func ptr[T any](v T) *T { return &v }
