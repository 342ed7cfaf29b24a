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

package policy_test

import (
	"bytes"
	"encoding/json"
	"sort"
	"strings"
	"testing"

	subv1 "github.com/bakery-ia/subscription-operator/api/v1alpha1"
	"github.com/bakery-ia/subscription-operator/internal/policy"
	"github.com/bakery-ia/subscription-operator/internal/policy/policytest"
	"github.com/bakery-ia/subscription-operator/internal/testenv/golden"
)

// probes are requests whose match result is part of the golden file.
var probes = []struct{ Method, Path string }{
	{"GET", "/api/v1/tenants/panaderia-san-pablo/forecasting/analytics/advanced"},
	{"GET", "/api/v1/tenants/panaderia-san-pablo/forecasting/analytics"},
	{"HEAD", "/api/v1/tenants/t1/forecasting/analytics/x/y/z"},
	{"POST", "/api/v1/tenants/t1/forecasting/analytics/advanced"},
	{"DELETE", "/api/v1/tenants/t1/analytics"},
	{"POST", "/api/v1/tenants/t1/export"},
	{"GET", "/api/v1/tenants/t1/export"},
	{"GET", "/api/v1/tenants/t1/reports/2026/01"},
	{"GET", "/api/v1/tenants/t1/reports"},
	{"GET", "/api/v1/tenants//t1//forecasting/analytics/"},
	{"GET", "/api/v1/tenants/t1/orders/../forecasting/analytics/a"},
	{"GET", "/api/v1/tenants/t1/orders"},
	{"GET", "/"},
}

type dump struct {
	Policy     string              `json:"policy"`
	Generation int64               `json:"generation"`
	Tiers      []policy.Tier       `json:"tiers"`
	Features   []dumpFeature       `json:"features"`
	Languages  []string            `json:"languages"`
	TimeZone   string              `json:"timeZone"`
	UpgradeURL string              `json:"upgradeURL"`
	Identity   policy.Identity     `json:"identity"`
	FailOpen   bool                `json:"failOpen"`
	Upstream   string              `json:"upstream"`
	Tenants    []policy.Tenant     `json:"tenants"`
	Unknown    policy.Tenant       `json:"unknownTenant"`
	Matches    []string            `json:"matches"`
	Upgrades   map[string]string   `json:"apiCallsUpgrades"`
	URLs       []string            `json:"upgradeURLs"`
	PerDay     map[string]string   `json:"perDayCost"`
	Messages   map[string][]string `json:"messageLanguages"`
}

type dumpFeature struct {
	Name, MinimumTier string
	MinRank           int
	PreviewURL        string
	ROI               *subv1.ROIEstimate
}

func dumpTable(t *testing.T, tb *policy.Table) []byte {
	t.Helper()
	d := dump{
		Policy: tb.Namespace + "/" + tb.Name, Generation: tb.Generation, Tiers: tb.Tiers,
		Languages: tb.Languages, TimeZone: tb.TimeZone, UpgradeURL: tb.UpgradeURL,
		Identity: tb.Identity, FailOpen: tb.FailOpen, Upstream: tb.Upstream,
		Unknown:  tb.UnknownTenant("nobody"),
		Upgrades: map[string]string{}, PerDay: map[string]string{}, Messages: map[string][]string{},
	}
	for _, f := range tb.Features {
		d.Features = append(d.Features, dumpFeature{f.Name, f.MinimumTier, f.MinRank, f.PreviewURL, f.ROI})
		var langs []string
		for l := range f.Messages {
			langs = append(langs, l)
		}
		sort.Strings(langs)
		d.Messages[f.Name] = langs
	}
	for _, id := range tb.Tenants() {
		tn, _ := tb.Tenant(id)
		d.Tenants = append(d.Tenants, *tn)
	}
	for _, p := range probes {
		f, tenant, ok := tb.Match(p.Method, p.Path)
		res := "ungated"
		if ok {
			res = f.Name + " tenant=" + tenant
		}
		d.Matches = append(d.Matches, p.Method+" "+p.Path+" -> "+res)
	}
	for _, tier := range tb.Tiers {
		up, ok := policy.UpgradeTierForLimit(tb.Spec, tier.Rank, policy.APICallsMetric, tier.Limits[policy.APICallsMetric])
		if ok {
			d.Upgrades[tier.Name] = up.Name
		} else {
			d.Upgrades[tier.Name] = "none"
		}
		if tier.Price != nil {
			d.PerDay[tier.Name] = policy.FormatCents(tier.Price.PerDayCents())
		}
	}
	d.URLs = append(d.URLs, policy.UpgradeURLFor(tb.Spec, "professional", "starter", "analytics"))
	var out bytes.Buffer
	enc := json.NewEncoder(&out)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(d); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

func TestCompileGolden(t *testing.T) {
	tb, err := policy.Compile(policytest.Policy(), policytest.Tenants())
	if err != nil {
		t.Fatal(err)
	}
	golden.Assert(t, "compiled.golden", dumpTable(t, tb))
}

func TestCompileDeterministic(t *testing.T) {
	first, err := policy.Compile(policytest.Policy(), policytest.Tenants())
	if err != nil {
		t.Fatal(err)
	}
	want := dumpTable(t, first)
	for i := 0; i < 20; i++ {
		tenants := policytest.Tenants()
		// Reverse the input order: the result must not depend on it.
		for a, b := 0, len(tenants)-1; a < b; a, b = a+1, b-1 {
			tenants[a], tenants[b] = tenants[b], tenants[a]
		}
		tb, err := policy.Compile(policytest.Policy(), tenants)
		if err != nil {
			t.Fatal(err)
		}
		if got := dumpTable(t, tb); !bytes.Equal(got, want) {
			t.Fatalf("run %d compiled differently:\n%s\nvs\n%s", i, got, want)
		}
	}
}

func TestCompileErrors(t *testing.T) {
	cases := []struct {
		name   string
		mutate func(*subv1.SubscriptionPolicy)
		want   string
	}{
		{"no tiers", func(p *subv1.SubscriptionPolicy) { p.Spec.Tiers = nil }, "spec.tiers"},
		{"duplicate tier", func(p *subv1.SubscriptionPolicy) { p.Spec.Tiers[1].Name = "starter" }, "spec.tiers[1].name"},
		{"bad price", func(p *subv1.SubscriptionPolicy) { p.Spec.Tiers[0].Price.Monthly = "4.999" }, "spec.tiers[0].price.monthly"},
		{"bad time zone", func(p *subv1.SubscriptionPolicy) { p.Spec.Snapshot.TimeZone = "Mars/Olympus" }, "spec.snapshot.timeZone"},
		{"unknown minimum tier", func(p *subv1.SubscriptionPolicy) { p.Spec.Features[0].MinimumTier = "gold" }, "spec.features[0].minimumTier"},
		{"duplicate feature", func(p *subv1.SubscriptionPolicy) { p.Spec.Features[1].Name = "analytics" }, "spec.features[1].name"},
		{"no english", func(p *subv1.SubscriptionPolicy) { delete(p.Spec.Features[0].Messages, "en") }, "spec.features[0].messages"},
		{"inner **", func(p *subv1.SubscriptionPolicy) { p.Spec.Features[0].Routes[0].Path = "/a/**/b" }, "spec.features[0].routes[0]"},
		{"partial *", func(p *subv1.SubscriptionPolicy) { p.Spec.Features[0].Routes[1].Path = "/a/b*" }, "spec.features[0].routes[1]"},
		{"other placeholder", func(p *subv1.SubscriptionPolicy) { p.Spec.Features[1].Routes[0].Path = "/a/{id}" }, "spec.features[1].routes[0]"},
		{"two tenants", func(p *subv1.SubscriptionPolicy) { p.Spec.Features[1].Routes[1].Path = "/{tenant}/{tenant}" }, "spec.features[1].routes[1]"},
		{"relative path", func(p *subv1.SubscriptionPolicy) { p.Spec.Features[1].Routes[1].Path = "a/b" }, "spec.features[1].routes[1]"},
		{"jwt without key", func(p *subv1.SubscriptionPolicy) { p.Spec.Gateway.TenantIdentity.JWT = nil }, "spec.gateway.tenantIdentity.jwt"},
		{"unknown identity", func(p *subv1.SubscriptionPolicy) { p.Spec.Gateway.TenantIdentity.From = "cookie" }, "spec.gateway.tenantIdentity.from"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := policytest.Policy()
			c.mutate(p)
			_, err := policy.CompileRules(p)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %v, want one naming %s", err, c.want)
			}
		})
	}
}

func TestDefaults(t *testing.T) {
	p := policytest.Policy()
	p.Spec.Gateway = nil
	p.Spec.Snapshot.TimeZone = ""
	if _, err := policy.CompileRules(p); err == nil {
		t.Fatal("jwtClaim identity without a key must not compile")
	}
	p.Spec.Gateway = &subv1.GatewaySpec{TenantIdentity: subv1.TenantIdentity{From: subv1.IdentityPath}}
	r, err := policy.CompileRules(p)
	if err != nil {
		t.Fatal(err)
	}
	if r.UpgradeURL != policy.DefaultUpgradeURL || r.TimeZone != "UTC" || r.Identity.Claim != "tenant_id" || r.Identity.Header != "X-Tenant-ID" {
		t.Fatalf("defaults not applied: %+v", r)
	}
}

func TestUpgradeURLWithQuery(t *testing.T) {
	p := policytest.Policy()
	p.Spec.Gateway.UpgradeURL = "https://shop.example/upgrade?src=gw"
	r, err := policy.CompileRules(p)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := policy.UpgradeURLFor(r.Spec, "professional", "starter", "a b"), "https://shop.example/upgrade?src=gw&upgrade=professional&from=starter&feature=a%20b"; got != want {
		t.Fatalf("got %s want %s", got, want)
	}
}

func TestPrices(t *testing.T) {
	cases := []struct{ monthly, perDay string }{
		{"49", "1.63"}, {"149", "4.97"}, {"499", "16.63"}, {"60", "2"}, {"45", "1.5"},
		{"49.99", "1.67"}, {"0", "0"}, {"0.15", "0.01"}, {"1.5", "0.05"}, {"3", "0.1"}, {"2.7", "0.09"},
	}
	for _, c := range cases {
		p := policytest.Policy()
		p.Spec.Tiers[0].Price.Monthly = c.monthly
		r, err := policy.CompileRules(p)
		if err != nil {
			t.Fatalf("%s: %v", c.monthly, err)
		}
		if got := policy.FormatCents(r.Tiers[0].Price.PerDayCents()); got != c.perDay {
			t.Errorf("monthly %s: per day %s, want %s", c.monthly, got, c.perDay)
		}
	}
}
