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

package forecastapi

import (
	subv1 "github.com/bakery-ia/subscription-operator/api/v1alpha1"
	"github.com/bakery-ia/subscription-operator/internal/entitlement"
	"github.com/bakery-ia/subscription-operator/internal/policy"
)

// compiledEntry is one policy generation compiled.
type compiledEntry struct {
	generation int64
	spec       *policy.Spec
	err        error
	// langs picks among the spec's languages (nil with err); built with
	// the spec so that a request neither joins the language list nor looks
	// a matcher up.
	langs *entitlement.Negotiator
}

// compiled returns the compiled view of a policy, cached per UID and
// generation: the API reads zone, tiers and prices from it rather than
// deciding defaults itself. The error is the policy's own (the policy
// controller reports it as Stalled/InvalidSpec).
func (s *Server) compiled(p *subv1.SubscriptionPolicy) (*policy.Spec, error) {
	e := s.compiledEntry(p)
	return e.spec, e.err
}

// compiledEntry is compiled with the language matcher of the spec.
func (s *Server) compiledEntry(p *subv1.SubscriptionPolicy) compiledEntry {
	if v, ok := s.specs.Load(p.UID); ok {
		if e := v.(compiledEntry); e.generation == p.Generation {
			return e
		}
	}
	spec, err := policy.CompileSpec(p)
	e := compiledEntry{generation: p.Generation, spec: spec, err: err}
	if err == nil {
		e.langs = entitlement.NewNegotiator(spec.Languages)
	}
	s.specs.Store(p.UID, e)
	return e
}
