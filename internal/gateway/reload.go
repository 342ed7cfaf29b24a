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

// The rule table: compiled from the policy and its TenantUsage objects,
// pre-rendered, and swapped atomically as a whole.

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	subv1 "github.com/bakery-ia/subscription-operator/api/v1alpha1"
	"github.com/bakery-ia/subscription-operator/internal/policy"
)

// state is one immutable rule table with everything derived from it.
type state struct {
	table    *policy.Table
	r        *rendered
	verifier *verifier // jwtClaim identity; nil when the key could not be read
	keyErr   error
	keyID    string // what the verifier was built from
	upstream *url.URL
	swapped  time.Time
	// records finds a bound tenant's record with its forecast, for the
	// tenant's entitlements and usage page: the informer's store and the
	// forecast reader, so a status write shows there without a new table.
	records recordSource
}

// recordSource finds the record of the TenantUsage bound to tn in t, or nil.
// It never returns another tenant's record. ctx is the request's: a record
// whose status takes longer to read than the request may wait comes without it.
type recordSource func(ctx context.Context, t *policy.Table, tn *policy.Tenant) *TenantRecord

// record is the record of tn in the table in force, or nil.
func (st *state) record(ctx context.Context, tn *policy.Tenant) *TenantRecord {
	if st.records == nil {
		return nil
	}
	return st.records(ctx, st.table, tn)
}

// rendered is derived from policy.Rules only; TenantUsage changes reuse it.
type rendered struct {
	rules   *policy.Rules
	neg     *negotiator
	upgrade [][][]*response // [feature][tier rank][language]; nil when the tier suffices
	quota   [][]*quotaTemplate
	day     *dayClock
	header  string // canonical identity header
	lowest  policy.Tenant
	// upgradeCounters[feature][rank] is gateway_upgrade_required_total's child.
	upgradeCounters [][]prometheus.Counter
}

// Update compiles pol and tenants and swaps the rule table. A nil policy
// (deleted or unreadable) and a policy that does not compile keep the table in
// force. Policy-derived parts are reused when only tenants changed.
func (g *Gateway) Update(ctx context.Context, pol *subv1.SubscriptionPolicy, tenants []subv1.TenantUsage) error {
	recs := make([]*TenantRecord, len(tenants))
	bs := make([]*policy.Binding, len(tenants))
	for i := range tenants {
		recs[i] = NewTenantRecord(&tenants[i])
		bs[i] = &recs[i].Binding
	}
	return g.update(ctx, pol, bs, func(t *policy.Table) recordSource { return boundRecords(t, recs) })
}

// boundRecords indexes the records bound in t by tenant id.
func boundRecords(t *policy.Table, recs []*TenantRecord) recordSource {
	m := make(map[string]*TenantRecord, len(recs))
	for _, rec := range recs {
		if tn, ok := t.Tenant(rec.TenantID); ok && tn.Object == rec.Name && t.Binds(&rec.Binding) {
			if _, dup := m[rec.TenantID]; !dup {
				m[rec.TenantID] = rec
			}
		}
	}
	return func(_ context.Context, _ *policy.Table, tn *policy.Tenant) *TenantRecord { return m[tn.ID] }
}

// update binds bs to pol's rules and swaps the table in; source gives the
// records of the new table's tenants.
func (g *Gateway) update(ctx context.Context, pol *subv1.SubscriptionPolicy, bs []*policy.Binding, source func(*policy.Table) recordSource) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	old := g.cur.Load()
	if pol == nil {
		if old != nil {
			g.log.Warn("policy not found; keeping the last rule table", "generation", old.table.Generation)
		}
		return nil
	}
	g.failOpen.Store(pol.Spec.Gateway != nil && pol.Spec.Gateway.FailOpen)
	var r *rendered
	if old != nil && sameRules(old.table.Rules, pol) {
		r = old.r
	} else {
		rules, err := policy.CompileRules(pol)
		if err != nil {
			return g.reloadFailed(pol, old, err)
		}
		r = g.render(rules)
	}
	st := &state{table: r.rules.BindAll(bs), r: r, swapped: g.clock.Now()}
	st.records = source(st.table)
	st.upstream = g.opts.Upstream
	if st.upstream == nil && r.rules.Upstream != "" {
		u, err := url.Parse(r.rules.Upstream)
		if err != nil {
			return g.reloadFailed(pol, old, fmt.Errorf("spec.gateway.upstream %q: %w", r.rules.Upstream, err))
		}
		st.upstream = u
	}
	g.failed = ""
	g.counter.SetKeyPattern(r.rules.APICallsKeyPattern())
	g.setVerifier(ctx, st, old)
	g.swap(st, old)
	return nil
}

// reloadFailed counts a policy version that does not compile once and says
// what stays in force.
func (g *Gateway) reloadFailed(pol *subv1.SubscriptionPolicy, old *state, err error) error {
	version := fmt.Sprintf("%s/%s/%d", pol.UID, pol.ResourceVersion, pol.Generation)
	if pol.Generation != 0 {
		version = fmt.Sprintf("%s/%d", pol.UID, pol.Generation) // status writes do not change it
	}
	if version != g.failed {
		g.failed = version
		g.metrics.ReloadFailures.Inc()
	}
	keeping := "keeping the last rule table"
	if old == nil {
		keeping = "no rule table is in force yet"
	}
	return fmt.Errorf("policy %s/%s generation %d does not compile, %s: %w",
		pol.Namespace, pol.Name, pol.Generation, keeping, err)
}

func (g *Gateway) swap(st, old *state) {
	g.cur.Store(st)
	g.metrics.Swaps.Inc()
	g.metrics.Generation.Set(float64(st.table.Generation))
	g.metrics.LastReload.Set(float64(st.swapped.UnixNano()) / 1e9)
	if old == nil || old.table.Generation != st.table.Generation || old.table.TenantsVersion != st.table.TenantsVersion {
		g.log.Info("rule table swapped", "policy", st.table.Namespace+"/"+st.table.Name,
			"generation", st.table.Generation, "tenants", len(st.table.Tenants()))
	}
	if old != nil && old.verifier != nil && old.verifier != st.verifier {
		old.verifier.close()
	}
}

func sameRules(r *policy.Rules, pol *subv1.SubscriptionPolicy) bool {
	return r.Namespace == pol.Namespace && r.Name == pol.Name && r.UID == string(pol.UID) &&
		r.Generation == pol.Generation && pol.Generation != 0
}

// render pre-renders every 402 body and the 429 templates of rules.
func (g *Gateway) render(rules *policy.Rules) *rendered {
	r := &rendered{
		rules:  rules,
		neg:    newNegotiator(rules.Languages),
		day:    newDayClock(rules.Spec),
		header: http.CanonicalHeaderKey(rules.Identity.Header),
		lowest: rules.UnknownTenant(""),
	}
	for _, f := range rules.Features {
		perTier := make([][]*response, len(rules.Tiers))
		counters := make([]prometheus.Counter, len(rules.Tiers))
		for rank := 0; rank < f.MinRank; rank++ {
			perTier[rank] = make([]*response, len(rules.Languages))
			for li, lang := range rules.Languages {
				perTier[rank][li] = renderUpgrade(rules, f, rules.Tiers[rank], lang)
			}
			counters[rank] = g.metrics.Upgrade.WithLabelValues(f.Name, rules.Tiers[rank].Name, f.MinimumTier)
		}
		r.upgrade = append(r.upgrade, perTier)
		r.upgradeCounters = append(r.upgradeCounters, counters)
	}
	for _, tier := range rules.Tiers {
		row := make([]*quotaTemplate, len(rules.Languages))
		for li, lang := range rules.Languages {
			row[li] = renderQuota(rules, tier, lang)
		}
		r.quota = append(r.quota, row)
	}
	return r
}
