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

// Package suite is the one bootstrap of the project's Ginkgo suites: every
// envtest suite runs its specs in a random order, logs to GinkgoWriter and
// waits with the same generous timeouts.
package suite

import (
	"testing"
	"time"

	"github.com/onsi/ginkgo/v2"
	"github.com/onsi/gomega"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
)

// Run runs the Ginkgo specs of the calling package under name. Specs run in a
// random order (the seed is printed), not only the top-level containers: a
// spec that depends on what another left in the shared API server fails here
// rather than now and then. The controller-runtime logger writes to
// GinkgoWriter, shown for failed specs only; Eventually waits up to 30 s
// (the machine has two cores and CI shares them), polling every 100 ms, and
// Consistently holds for 2 s.
func Run(t *testing.T, name string) {
	t.Helper()
	gomega.RegisterFailHandler(ginkgo.Fail)
	ctrl.SetLogger(zap.New(zap.WriteTo(ginkgo.GinkgoWriter), zap.UseDevMode(true)))
	gomega.SetDefaultEventuallyTimeout(30 * time.Second)
	gomega.SetDefaultEventuallyPollingInterval(100 * time.Millisecond)
	gomega.SetDefaultConsistentlyDuration(2 * time.Second)
	cfg, reporter := ginkgo.GinkgoConfiguration()
	cfg.RandomizeAllSpecs = true
	ginkgo.RunSpecs(t, name, cfg, reporter)
}
