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
	"encoding/json"
	"reflect"
	"testing"

	"github.com/bakery-ia/subscription-operator/internal/entitlement"
	"github.com/bakery-ia/subscription-operator/internal/policy"
	"github.com/bakery-ia/subscription-operator/internal/policy/policytest"
	"github.com/bakery-ia/subscription-operator/internal/usage"
)

// TestEntitlementOfferIsThe402Offer holds the entitlement view's upgrade
// offer equal to the details of the 402 body, for every feature, every tier
// below it and every language (and one the policy lacks).
func TestEntitlementOfferIsThe402Offer(t *testing.T) {
	rules, err := policy.CompileRules(policytest.Policy())
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, f := range rules.Features {
		for rank := 0; rank < f.MinRank; rank++ {
			for _, lang := range append([]string{"fr"}, rules.Languages...) {
				var body struct{ Details json.RawMessage }
				if err := json.Unmarshal(renderUpgrade(rules, f, rules.Tiers[rank], lang).body, &body); err != nil {
					t.Fatal(err)
				}
				offer, err := json.Marshal(entitlement.FeatureOffer(rules.Spec, f, rules.Tiers[rank], lang))
				if err != nil {
					t.Fatal(err)
				}
				var want, got any
				_ = json.Unmarshal(body.Details, &want)
				_ = json.Unmarshal(offer, &got)
				if !reflect.DeepEqual(got, want) {
					t.Errorf("%s from %s in %s:\n402 details %s\noffer       %s", f.Name, rules.Tiers[rank].Name, lang, body.Details, offer)
				}
				n++
			}
		}
	}
	if n < 8 {
		t.Fatalf("compared only %d offers", n)
	}
}

// TestCounterKeyIsTheAPIsKey: the forecast API reads today's api_calls with
// usage.CounterKey and the default pattern; the gateway writes under its
// counter's key pattern, which starts as that default.
func TestCounterKeyIsTheAPIsKey(t *testing.T) {
	got := usage.CounterKey(policy.DefaultKeyPattern(policy.APICallsMetric), "panaderia-san-pablo", "2026-03-10")
	c := NewCounter(CounterOptions{})
	if want := policy.CounterKey(c.KeyPattern(), "panaderia-san-pablo", "2026-03-10"); got != want {
		t.Fatalf("API reads %q, gateway writes %q", got, want)
	}
}
