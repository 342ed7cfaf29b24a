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
