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

// Package policy is the compiled view of a SubscriptionPolicy: the one place
// where defaults and derived values are decided (schedule and time zone,
// retention, minimum history, forecast method and thresholds, tier ranks,
// prices in cents, effective limits, the policy a tenant belongs to, routes and
// finished upgrade offers). The controllers, the forecast API, usage-tracker and
// the gateway all read it; none of them repeats a default.
//
// CompileSpec compiles what every program needs; CompileRules adds what only
// the gateway needs (tenant identity); Bind adds the TenantUsage objects. It is
// pure: no Kubernetes clients, no I/O, and the same input always gives the same
// result. A compiled value is never modified after it is returned, so it can be
// shared by any number of goroutines and swapped atomically as a whole.
package policy

import (
	"fmt"
	"hash/fnv"
	"sort"
	"strconv"
	"strings"

	subv1 "github.com/bakery-ia/subscription-operator/api/v1alpha1"
)

// Defaults applied when the API server did not (objects built in Go, old
// objects). They equal the CRD's defaults; TestCRDDefaultsMatchCompiled reads
// config/crd/bases and fails when one drifts.
const (
	DefaultUpgradeURL = "/app/settings/subscription"
	DefaultClaim      = "tenant_id"
	DefaultHeader     = "X-Tenant-ID"
	DefaultPolicyName = "default"
	DefaultSecretKey  = "key"
	// FallbackLanguage is always offered and used when nothing else matches.
	FallbackLanguage = "en"
	// APICallsMetric is the metric the gateway counts and enforces per day.
	APICallsMetric = "api_calls"
)

// Unlimited is the limit of a metric a tier does not limit.
const Unlimited int64 = -1

// Rules is a compiled Spec plus what only the gateway needs. Tenants are bound
// to Rules separately (see Rules.Bind) so a TenantUsage change does not
// recompile routes and offers.
type Rules struct {
	*Spec

	Identity Identity
	FailOpen bool
	Upstream string
}

// Tier is one plan.
type Tier struct {
	Name        string
	DisplayName string
	Rank        int
	// Highlighted marks the plan to recommend in plan tables.
	Highlighted bool `json:",omitempty"`
	// Limits per metric; a metric that is absent is unlimited.
	Limits map[string]int64
	// Price is nil for a free or custom-priced tier.
	Price *Price
}

// Price is a monthly price in cents, with its original text.
type Price struct {
	Monthly  string // as written in the policy, e.g. "49.99"
	Cents    int64
	Currency string
}

// PerDayCents is the monthly price / 30 rounded half up to whole cents.
func (p Price) PerDayCents() int64 { return (p.Cents*2 + 30) / 60 }

// Feature is a gated capability.
type Feature struct {
	Name        string
	MinimumTier string
	MinRank     int
	PreviewURL  string
	ROI         *subv1.ROIEstimate
	// Messages by language code; always has FallbackLanguage when non-empty.
	Messages map[string]subv1.FeatureMessage
	// Index is the feature's position in Rules.Features.
	Index int
}

// Message returns the feature's text in lang, falling back to English, and the
// language actually used. ok is false when the feature has no messages at all.
func (f *Feature) Message(lang string) (subv1.FeatureMessage, string, bool) {
	if m, ok := f.Messages[lang]; ok {
		return m, lang, true
	}
	if m, ok := f.Messages[FallbackLanguage]; ok {
		return m, FallbackLanguage, true
	}
	return subv1.FeatureMessage{}, FallbackLanguage, false
}

// Identity says how the gateway learns the calling tenant.
type Identity struct {
	From   subv1.IdentitySource
	Claim  string
	Header string
	// Exactly one of SecretName or JWKSURL is set when From is jwtClaim.
	SecretName, SecretKey string
	JWKSURL               string
	Issuer, Audience      string
}

// Tenant is a TenantUsage bound to Rules: what decisions and the tenant's
// entitlements need, nothing of its status (readers that show the forecast
// find the object by Object and read it there, so a status write does not
// rebind the table).
type Tenant struct {
	ID string
	// Tier is the tier name used for decisions; Rank its rank. A tenant whose
	// TenantUsage names a tier the policy lacks is treated as the lowest tier,
	// and DeclaredTier keeps what it said.
	Tier         string
	Rank         int
	DeclaredTier string
	// APICallsLimit is the daily api_calls limit after overrides, or Unlimited.
	APICallsLimit int64
	// Suspended and Overrides are the TenantUsage's spec.suspend and
	// spec.limitOverrides (shared, read only): what a tenant's entitlements
	// view needs beyond its tier.
	Suspended bool
	Overrides map[string]int64
	// Object is the name of the TenantUsage bound (in the policy's namespace).
	Object string
}

// Binding is what Bind reads of one TenantUsage. Callers that keep many
// tenants keep Bindings (a few strings each) instead of whole objects.
type Binding struct {
	Name, Namespace, ResourceVersion string
	// Policy is spec.policyRef.name with the default applied (NameOf).
	Policy    string
	TenantID  string
	Tier      string
	Suspend   bool
	Overrides map[string]int64
}

// BindingOf is what Bind reads of tu (its strings and map are shared).
func BindingOf(tu *subv1.TenantUsage) Binding {
	return Binding{Name: tu.Name, Namespace: tu.Namespace, ResourceVersion: tu.ResourceVersion,
		Policy: NameOf(tu), TenantID: tu.Spec.TenantID, Tier: tu.Spec.Tier,
		Suspend: tu.Spec.Suspend, Overrides: tu.Spec.LimitOverrides}
}

// Table is Rules with the tenants bound to them.
type Table struct {
	*Rules
	tenants map[string]*Tenant
	// TenantsVersion identifies the TenantUsage set (for logs and metrics).
	TenantsVersion string
}

// Compile compiles a policy and the TenantUsage objects of its namespace into a Table.
func Compile(pol *subv1.SubscriptionPolicy, tenants []subv1.TenantUsage) (*Table, error) {
	r, err := CompileRules(pol)
	if err != nil {
		return nil, err
	}
	return r.Bind(tenants), nil
}

// CompileRules compiles the policy alone, with the gateway's tenant identity.
// Errors name the offending field.
func CompileRules(pol *subv1.SubscriptionPolicy) (*Rules, error) {
	spec, err := CompileSpec(pol)
	if err != nil {
		return nil, err
	}
	r := &Rules{Spec: spec}
	if err := r.compileGateway(pol.Spec.Gateway); err != nil {
		return nil, err
	}
	return r, nil
}

func (r *Spec) compileTiers(tiers []subv1.Tier) error {
	if len(tiers) == 0 {
		return fmt.Errorf("spec.tiers: at least one tier is required")
	}
	for i, t := range tiers {
		if t.Name == "" {
			return fmt.Errorf("spec.tiers[%d].name: must not be empty", i)
		}
		if _, dup := r.tierRank[t.Name]; dup {
			return fmt.Errorf("spec.tiers[%d].name: duplicate tier %q", i, t.Name)
		}
		tier := Tier{Name: t.Name, DisplayName: t.DisplayName, Rank: i, Highlighted: t.Highlighted, Limits: copyLimits(t.Limits)}
		if tier.DisplayName == "" {
			tier.DisplayName = t.Name
		}
		if t.Price != nil {
			cents, err := parseCents(t.Price.Monthly)
			if err != nil {
				return fmt.Errorf("spec.tiers[%d].price.monthly: %w", i, err)
			}
			tier.Price = &Price{Monthly: t.Price.Monthly, Cents: cents, Currency: t.Price.Currency}
		}
		r.tierRank[t.Name] = i
		r.Tiers = append(r.Tiers, tier)
	}
	return nil
}

func (r *Spec) compileFeatures(features []subv1.Feature) error {
	langs := map[string]bool{FallbackLanguage: true}
	seen := map[string]bool{}
	for i := range features {
		sf := &features[i]
		if seen[sf.Name] {
			return fmt.Errorf("spec.features[%d].name: duplicate feature %q", i, sf.Name)
		}
		seen[sf.Name] = true
		rank, ok := r.tierRank[sf.MinimumTier]
		if !ok {
			return fmt.Errorf("spec.features[%d].minimumTier: %q is not a tier of spec.tiers", i, sf.MinimumTier)
		}
		f := &Feature{
			Name: sf.Name, MinimumTier: sf.MinimumTier, MinRank: rank,
			PreviewURL: sf.PreviewURL, Index: len(r.Features),
			Messages: make(map[string]subv1.FeatureMessage, len(sf.Messages)),
		}
		if sf.ROIEstimate != nil {
			roi := *sf.ROIEstimate
			f.ROI = &roi
		}
		for lang, m := range sf.Messages {
			lang = strings.ToLower(lang)
			m.Benefits = append([]subv1.Benefit(nil), m.Benefits...)
			f.Messages[lang] = m
			langs[lang] = true
		}
		if len(f.Messages) > 0 {
			if _, ok := f.Messages[FallbackLanguage]; !ok {
				return fmt.Errorf("spec.features[%d].messages: %q (the fallback language) is required", i, FallbackLanguage)
			}
		}
		for j, rt := range sf.Routes {
			if err := r.routes.add(string(rt.Method), rt.Path, f); err != nil {
				return fmt.Errorf("spec.features[%d].routes[%d]: %w", i, j, err)
			}
		}
		r.Features = append(r.Features, f)
	}
	r.Languages = []string{FallbackLanguage}
	others := make([]string, 0, len(langs))
	for l := range langs {
		if l != FallbackLanguage {
			others = append(others, l)
		}
	}
	sort.Strings(others)
	r.Languages = append(r.Languages, others...)
	return nil
}

func (r *Rules) compileGateway(gw *subv1.GatewaySpec) error {
	r.Identity = Identity{From: subv1.IdentityJWTClaim, Claim: DefaultClaim, Header: DefaultHeader}
	if gw != nil {
		r.FailOpen = gw.FailOpen
		r.Upstream = gw.Upstream
		id := gw.TenantIdentity
		if id.From != "" {
			r.Identity.From = id.From
		}
		if id.Claim != "" {
			r.Identity.Claim = id.Claim
		}
		if id.Header != "" {
			r.Identity.Header = id.Header
		}
		if j := id.JWT; j != nil {
			if j.SecretRef != nil {
				r.Identity.SecretName = j.SecretRef.Name
				r.Identity.SecretKey = j.SecretRef.Key
				if r.Identity.SecretKey == "" {
					r.Identity.SecretKey = DefaultSecretKey
				}
			}
			r.Identity.JWKSURL = j.JWKSURL
			r.Identity.Issuer = j.Issuer
			r.Identity.Audience = j.Audience
		}
	}
	switch r.Identity.From {
	case subv1.IdentityJWTClaim:
		if (r.Identity.SecretName == "") == (r.Identity.JWKSURL == "") {
			return fmt.Errorf("spec.gateway.tenantIdentity.jwt: exactly one of secretRef or jwksURL must be set when from is jwtClaim")
		}
	case subv1.IdentityPath, subv1.IdentityTrustedHeader:
	default:
		return fmt.Errorf("spec.gateway.tenantIdentity.from: unknown source %q", r.Identity.From)
	}
	return nil
}

// Bind binds the TenantUsage objects that refer to this policy (spec.policyRef.name,
// default "default") and live in its namespace. When two objects claim the same
// tenantID, the one whose name sorts first wins, so the result is deterministic.
func (r *Rules) Bind(list []subv1.TenantUsage) *Table {
	bs := make([]Binding, len(list))
	ptrs := make([]*Binding, len(list))
	for i := range list {
		bs[i] = BindingOf(&list[i])
		ptrs[i] = &bs[i]
	}
	return r.BindAll(ptrs)
}

// BindAll is Bind over Bindings. bs is not modified; the Table shares the
// Bindings' strings and maps, not the Bindings.
func (r *Rules) BindAll(bs []*Binding) *Table {
	items := bs[:0:0]
	for _, b := range bs {
		if r.Binds(b) {
			items = append(items, b)
		}
	}
	sort.Slice(items, func(i, j int) bool { return items[i].Name < items[j].Name })
	t := &Table{Rules: r, tenants: make(map[string]*Tenant, len(items))}
	// TenantsVersion is a hash of the bound objects' resourceVersions, not
	// their list: with 100,000 tenants the list would be a 700 KB string.
	ver := fnv.New64a()
	// One allocation for every tenant; its capacity is never exceeded, so
	// the pointers taken below stay valid.
	all := make([]Tenant, 0, len(items))
	for _, b := range items {
		if _, dup := t.tenants[b.TenantID]; dup {
			continue
		}
		all = append(all, r.tenant(b.TenantID, b.Tier, b.Overrides))
		tn := &all[len(all)-1]
		tn.Suspended, tn.Overrides, tn.Object = b.Suspend, b.Overrides, b.Name
		t.tenants[b.TenantID] = tn
		_, _ = ver.Write([]byte(b.ResourceVersion))
		_, _ = ver.Write([]byte{','})
	}
	t.TenantsVersion = strconv.Itoa(len(all)) + "/" + strconv.FormatUint(ver.Sum64(), 16)
	return t
}

// Binds reports whether b is a candidate for binding: a tenant id, this
// policy, this policy's namespace. (Of two candidates with one tenant id, the
// one whose name sorts first is bound.)
func (r *Rules) Binds(b *Binding) bool {
	if r.Namespace != "" && b.Namespace != "" && b.Namespace != r.Namespace {
		return false
	}
	return b.Policy == r.Name && b.TenantID != ""
}

func (r *Spec) tenant(id, tier string, overrides map[string]int64) Tenant {
	rank, ok := r.tierRank[tier]
	if !ok {
		rank = 0
	}
	tn := Tenant{ID: id, Tier: r.Tiers[rank].Name, Rank: rank, DeclaredTier: tier}
	tn.APICallsLimit = Unlimited
	if v, ok := r.Tiers[rank].EffectiveLimit(APICallsMetric, overrides); ok {
		tn.APICallsLimit = v
	}
	return tn
}

// Tenant returns the bound tenant, or a tenant of the lowest tier (with the
// lowest tier's limits) and false when no TenantUsage names id.
func (t *Table) Tenant(id string) (*Tenant, bool) {
	if tn, ok := t.tenants[id]; ok {
		return tn, true
	}
	return nil, false
}

// UnknownTenant is how a tenant without a TenantUsage is treated: the lowest tier.
func (r *Spec) UnknownTenant(id string) Tenant {
	return r.tenant(id, r.Tiers[0].Name, nil)
}

// Tenants returns the bound tenant IDs, sorted.
func (t *Table) Tenants() []string {
	ids := make([]string, 0, len(t.tenants))
	for id := range t.tenants {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return ids
}

// TierRank returns the rank of a tier name.
func (r *Spec) TierRank(name string) (int, bool) {
	rank, ok := r.tierRank[name]
	return rank, ok
}

// Match finds the feature of a request. tenant is the path segment matched by
// {tenant}, if the route has one (a substring of path; no allocation).
func (r *Spec) Match(method, path string) (f *Feature, tenant string, ok bool) {
	return r.routes.match(method, path)
}

// upgradeTierForLimit returns the lowest tier above rank whose limit of metric is
// higher than limit or unlimited; ok is false when there is none.
func (r *Spec) upgradeTierForLimit(rank int, metric string, limit int64) (Tier, bool) {
	for i := rank + 1; i < len(r.Tiers); i++ {
		v, limited := r.Tiers[i].Limits[metric]
		if !limited || v > limit {
			return r.Tiers[i], true
		}
	}
	return Tier{}, false
}

// upgradeURLFor renders spec.gateway.upgradeURL?upgrade=..&from=..&feature=...
func (r *Spec) upgradeURLFor(upgrade, from, feature string) string {
	sep := "?"
	if strings.Contains(r.UpgradeURL, "?") {
		sep = "&"
	}
	return r.UpgradeURL + sep + "upgrade=" + queryEscape(upgrade) + "&from=" + queryEscape(from) + "&feature=" + queryEscape(feature)
}

// queryEscape percent-encodes all but unreserved characters. Tier and feature
// names are [a-z0-9_-], so this is defensive.
func queryEscape(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if c := s[i]; unreserved(c) {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}

func unreserved(c byte) bool {
	switch {
	case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		return true
	}
	return c == '-' || c == '_' || c == '.' || c == '~'
}

func copyLimits(in map[string]int64) map[string]int64 {
	out := make(map[string]int64, len(in))
	for k, v := range in {
		out[k] = v
	}
	return out
}

// parseCents parses "49", "49.9" or "49.99" into cents without floating point.
func parseCents(s string) (int64, error) {
	whole, frac, hasFrac := strings.Cut(s, ".")
	if whole == "" || len(whole) > 12 || (hasFrac && (frac == "" || len(frac) > 2)) {
		return 0, fmt.Errorf("%q is not a price with at most two decimals", s)
	}
	w, err := strconv.ParseInt(whole, 10, 64)
	if err != nil || w < 0 {
		return 0, fmt.Errorf("%q is not a price with at most two decimals", s)
	}
	var f int64
	if hasFrac {
		if len(frac) == 1 {
			frac += "0"
		}
		f, err = strconv.ParseInt(frac, 10, 64)
		if err != nil || f < 0 {
			return 0, fmt.Errorf("%q is not a price with at most two decimals", s)
		}
	}
	return w*100 + f, nil
}

// FormatCents renders cents as a decimal without trailing zeros: 163 -> "1.63",
// 150 -> "1.5", 200 -> "2".
func FormatCents(c int64) string {
	s := strconv.FormatInt(c/100, 10)
	frac := c % 100
	switch {
	case frac == 0:
		return s
	case frac%10 == 0:
		return s + "." + strconv.FormatInt(frac/10, 10)
	case frac < 10:
		return s + ".0" + strconv.FormatInt(frac, 10)
	default:
		return s + "." + strconv.FormatInt(frac, 10)
	}
}
