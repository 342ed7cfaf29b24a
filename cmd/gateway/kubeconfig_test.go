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
	"os"
	"path/filepath"
	"testing"
)

func writeKubeconfig(t *testing.T, server string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "kubeconfig")
	data := "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster:\n    server: " + server +
		"\nusers:\n- name: u\n  user:\n    token: t\ncontexts:\n- name: x\n  context:\n    cluster: c\n    user: u\ncurrent-context: x\n"
	if err := os.WriteFile(p, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// The gateway finds the API server as the manager (controller-runtime) does:
// --kubeconfig before $KUBECONFIG, and client-side rate limiting off.
func TestRestConfigPrecedence(t *testing.T) {
	fromEnv, fromFlag := writeKubeconfig(t, "https://127.0.0.1:1111"), writeKubeconfig(t, "https://127.0.0.1:2222")
	t.Setenv("KUBECONFIG", fromEnv)
	for _, c := range []struct {
		name, flag, want string
	}{
		{"$KUBECONFIG", "", "https://127.0.0.1:1111"},
		{"--kubeconfig wins", fromFlag, "https://127.0.0.1:2222"},
	} {
		t.Run(c.name, func(t *testing.T) {
			cfg, err := restConfig(c.flag)
			if err != nil {
				t.Fatal(err)
			}
			if cfg.Host != c.want || cfg.QPS != -1 || cfg.BearerToken != "t" {
				t.Errorf("host %q, QPS %v, token %q; want %q, -1, t", cfg.Host, cfg.QPS, cfg.BearerToken, c.want)
			}
		})
	}
	if _, err := restConfig(filepath.Join(t.TempDir(), "missing")); err == nil {
		t.Error("a --kubeconfig that does not exist was accepted")
	}
}
