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

package v1alpha1_test

import (
	"testing"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/bakery-ia/subscription-operator/internal/testenv"
	"github.com/bakery-ia/subscription-operator/internal/testenv/suite"
)

// The admission suite runs against a real kube-apiserver (envtest) with the
// generated CRDs, so OpenAPI and CEL validation are exactly what users get.
var kube *testenv.Kube

func TestAdmission(t *testing.T) {
	suite.Run(t, "API admission suite")
}

var _ = BeforeSuite(func() {
	var err error
	kube, err = testenv.StartEnvtest()
	Expect(err).NotTo(HaveOccurred())
})

var _ = AfterSuite(func() {
	if kube != nil {
		Expect(kube.Stop()).To(Succeed())
	}
})
