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

// Package policytest loads the sample SubscriptionPolicy and TenantUsage
// fixtures of internal/policy/testdata for tests of this and other packages.
package policytest

import (
	"os"
	"path/filepath"
	"runtime"

	"sigs.k8s.io/yaml"

	subv1 "github.com/bakery-ia/subscription-operator/api/v1alpha1"
)

// Dir is internal/policy/testdata.
func Dir() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "testdata")
}

// Policy returns a fresh copy of testdata/policy.yaml.
func Policy() *subv1.SubscriptionPolicy {
	var p subv1.SubscriptionPolicy
	mustLoad("policy.yaml", &p)
	return &p
}

// Tenants returns a fresh copy of the TenantUsage objects of testdata/tenants.yaml.
func Tenants() []subv1.TenantUsage {
	var l subv1.TenantUsageList
	mustLoad("tenants.yaml", &l)
	return l.Items
}

func mustLoad(name string, into any) {
	data, err := os.ReadFile(filepath.Join(Dir(), name))
	if err != nil {
		panic(err)
	}
	if err := yaml.UnmarshalStrict(data, into); err != nil {
		panic(name + ": " + err.Error())
	}
}
