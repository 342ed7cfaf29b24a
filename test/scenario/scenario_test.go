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

package scenario

import (
	"os"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	"sigs.k8s.io/yaml"

	subv1 "github.com/bakery-ia/subscription-operator/api/v1alpha1"
)

const root = "../.."

func TestDataSet(t *testing.T) {
	p, err := SamplePolicy(root)
	if err != nil {
		t.Fatal(err)
	}
	d, err := Generate(p, time.Date(2026, 3, 29, 12, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Tenants) != 50 {
		t.Fatalf("%d tenants, want 50", len(d.Tenants))
	}
	id := regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`)
	seen, tiers, shapes := map[string]bool{}, map[string]int{}, map[Profile]int{}
	for _, tn := range d.Tenants {
		if seen[tn.ID] || !id.MatchString(tn.ID) || len(tn.ID) > 63 {
			t.Errorf("tenant ID %q is duplicate or not a valid spec.tenantID", tn.ID)
		}
		seen[tn.ID] = true
		tiers[tn.Tier]++
		shapes[tn.Profile]++
		for _, m := range MetricNames(p) {
			if got := len(d.Values[tn.ID][m]); got != HistoryDays+1 {
				t.Errorf("%s/%s: %d values", tn.ID, m, got)
			}
		}
	}
	if tiers["starter"] != 25 || tiers["professional"] != 20 || tiers["enterprise"] != 5 {
		t.Errorf("tiers %v", tiers)
	}
	for _, pr := range profiles {
		if shapes[pr] == 0 {
			t.Errorf("no tenant is %s", pr)
		}
	}
	if d.Today != "2026-03-29" || d.Date(0) != "2026-02-27" || d.Date(HistoryDays-1) != "2026-03-28" {
		t.Errorf("dates: today %s, first %s, yesterday %s", d.Today, d.Date(0), d.Date(HistoryDays-1))
	}
	// The starter tenant of the demo is about to breach its products limit.
	products := d.Values[StarterTenant]["products"]
	if today := products[HistoryDays]; today < 45 || today > 50 || products[0] >= today {
		t.Errorf("%s products %v: want growing to 90-100%% of 50", StarterTenant, products)
	}
	// The sample TenantUsages are part of the data set, with the same tier.
	raw, err := os.ReadFile(filepath.Join(root, "config", "samples", "subscriptions_v1alpha1_tenantusage.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	for _, doc := range regexp.MustCompile(`(?m)^---$`).Split(string(raw), -1) {
		var tu subv1.TenantUsage
		if err := yaml.Unmarshal([]byte(doc), &tu); err != nil {
			t.Fatal(err)
		}
		found := false
		for _, tn := range d.Tenants {
			if tn.ID == tu.Spec.TenantID {
				found = tn.Tier == tu.Spec.Tier
			}
		}
		if !found {
			t.Errorf("sample tenant %s (%s) is not in the data set with that tier", tu.Spec.TenantID, tu.Spec.Tier)
		}
	}
	if _, err := d.TenantUsagesYAML(); err != nil {
		t.Fatal(err)
	}
}

func TestExpand(t *testing.T) {
	if got := expand("usage_daily:{tenant}:api_calls:{date}", "t1", "2026-01-02"); got != "usage_daily:t1:api_calls:2026-01-02" {
		t.Errorf("expand = %q", got)
	}
}
