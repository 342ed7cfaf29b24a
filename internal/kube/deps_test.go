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

package kube_test

import (
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

const module = "github.com/bakery-ia/subscription-operator"

// TestDependenciesPointInward enforces the package graph of ARCHITECTURE.md:
// only cmd/manager imports controllers, and the pure packages import no
// Kubernetes client. It asks the go tool, so a new import anywhere in the
// chain is caught.
func TestDependenciesPointInward(t *testing.T) {
	root := filepath.Join("..", "..")
	for _, c := range []struct {
		pkgs      []string
		forbidden []string
	}{
		{
			// The usage page renders what its callers hold; it reads nothing itself.
			pkgs: []string{"./internal/usagepage"},
			forbidden: []string{module + "/controllers", "sigs.k8s.io/controller-runtime", "k8s.io/client-go",
				module + "/internal/kube", module + "/internal/gateway", module + "/internal/forecastapi"},
		},
		{
			// Every gateway pod holds what it links and initialises: no
			// controller-runtime, and no typed clientset, whose scheme
			// registers every built-in API group (internal/gateway/watch.go),
			// and no Postgres driver (REDIS_URL is read by internal/redisurl,
			// not by the snapshot sources in internal/usage).
			pkgs: []string{"./cmd/gateway", "./internal/gateway"},
			forbidden: []string{"sigs.k8s.io/controller-runtime", "k8s.io/client-go/kubernetes",
				"k8s.io/api/apps", "k8s.io/api/batch", "k8s.io/api/networking",
				"github.com/jackc/pgx/v5", module + "/internal/usage"},
		},
		{
			pkgs:      []string{"./cmd/usage-tracker", "./cmd/gateway", "./internal/forecastapi", "./internal/gateway", "./internal/snapshot", "./internal/kube"},
			forbidden: []string{module + "/controllers"},
		},
		{
			pkgs: []string{"./internal/policy", "./internal/forecast", "./internal/schedule", "./internal/entitlement"},
			forbidden: []string{module + "/controllers", "sigs.k8s.io/controller-runtime", "k8s.io/client-go",
				module + "/internal/kube"},
		},
	} {
		args := append([]string{"list", "-deps"}, c.pkgs...)
		cmd := exec.Command("go", args...)
		cmd.Dir = root
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		for _, dep := range strings.Fields(string(out)) {
			for _, bad := range c.forbidden {
				if dep == bad || strings.HasPrefix(dep, bad+"/") {
					t.Errorf("%s depend on %s; dependencies must point inward (see docs/ARCHITECTURE or internal/kube)", strings.Join(c.pkgs, " "), dep)
				}
			}
		}
	}
}
