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

package gateway

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"

	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"

	subv1 "github.com/bakery-ia/subscription-operator/api/v1alpha1"
)

// LoadFile reads a SubscriptionPolicy named policyName and TenantUsage objects
// from a multi-document YAML file, for running the gateway without a cluster
// (--policy-file: local development and benchmarks). Other kinds are ignored.
func LoadFile(path, policyName string) (*subv1.SubscriptionPolicy, []subv1.TenantUsage, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, err
	}
	reader := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data)))
	var pol *subv1.SubscriptionPolicy
	var tenants []subv1.TenantUsage
	for {
		doc, err := reader.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, nil, fmt.Errorf("%s: %w", path, err)
		}
		var meta struct{ Kind string }
		if err := yaml.Unmarshal(doc, &meta); err != nil {
			return nil, nil, fmt.Errorf("%s: %w", path, err)
		}
		switch meta.Kind {
		case "SubscriptionPolicy":
			var p subv1.SubscriptionPolicy
			if err := yaml.UnmarshalStrict(doc, &p); err != nil {
				return nil, nil, fmt.Errorf("%s: SubscriptionPolicy: %w", path, err)
			}
			if p.Name == policyName {
				pol = &p
			}
		case "TenantUsage":
			var tu subv1.TenantUsage
			if err := yaml.UnmarshalStrict(doc, &tu); err != nil {
				return nil, nil, fmt.Errorf("%s: TenantUsage: %w", path, err)
			}
			tenants = append(tenants, tu)
		}
	}
	if pol == nil {
		return nil, nil, fmt.Errorf("%s has no SubscriptionPolicy named %q", path, policyName)
	}
	if pol.Generation == 0 {
		pol.Generation = 1
	}
	for i := range tenants {
		if tenants[i].Namespace == "" {
			tenants[i].Namespace = pol.Namespace
		}
	}
	return pol, tenants, nil
}
