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

package memlimit

import (
	"os"
	"path/filepath"
	"testing"
)

func TestSoftMemoryLimit(t *testing.T) {
	dir := t.TempDir()
	for name, tc := range map[string]struct {
		content string
		want    int64
	}{
		"256Mi limit":  {"268435456\n", 201326592},
		"no limit":     {"max\n", 0},
		"empty":        {"", 0},
		"negative":     {"-1", 0},
		"garbage":      {"12x", 0},
		"huge":         {"9223372036854775807", 9223372036854775807 / 4 * 3},
		"out of range": {"99999999999999999999", 0},
	} {
		t.Run(name, func(t *testing.T) {
			f := filepath.Join(dir, name)
			if err := os.WriteFile(f, []byte(tc.content), 0o600); err != nil {
				t.Fatal(err)
			}
			if got := Soft(f); got != tc.want {
				t.Errorf("Soft(%q) = %d, want %d", tc.content, got, tc.want)
			}
		})
	}
	if got := Soft(filepath.Join(dir, "missing")); got != 0 {
		t.Errorf("missing file: %d, want 0", got)
	}
}
