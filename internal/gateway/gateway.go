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

// Package gateway enforces a SubscriptionPolicy at the edge: one decision core
// (Decide) used by the reverse proxy and by the forward-auth adapters for
// Traefik, Envoy and ingress-nginx; pre-rendered 402/429/401/503 bodies in the
// caller's language; JWT, path or trusted-header tenant identity; a batched
// Redis counter of API calls per tenant and day; and a rule table compiled
// from the policy and TenantUsage objects, swapped atomically on every change.
package gateway

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	subv1 "github.com/bakery-ia/subscription-operator/api/v1alpha1"
	"github.com/bakery-ia/subscription-operator/internal/policy"
)

// SecretReader reads one key of a Secret in the gateway's namespace (a single
// GET; the gateway never lists or watches Secrets).
type SecretReader func(ctx context.Context, name, key string) ([]byte, error)

// Options configure a Gateway.
type Options struct {
	// FailOpen lets every request through before any policy has been read.
	// Once a policy is read, its spec.gateway.failOpen decides.
	FailOpen bool
	// Upstream overrides spec.gateway.upstream.
	Upstream *url.URL
	// ReadSecret fetches the HS256 key; required for a secretRef policy.
	ReadSecret SecretReader
	// SecretRefresh is how often the HS256 key is re-read (rotation). Default 1m.
	SecretRefresh time.Duration
	Counter       *Counter
	Metrics       *Metrics
	Logger        *slog.Logger
	// Proxy tunes the upstream transport.
	Proxy ProxyOptions
	// UsagePage configures the tenant's usage page (usagepage.go).
	UsagePage UsagePageOptions
	// Now is the clock (tests); default time.Now.
	Now func() time.Time
}

// Gateway holds the rule table in force and decides requests.
type Gateway struct {
	opts    Options
	log     *slog.Logger
	metrics *Metrics
	counter *Counter
	now     func() time.Time
	errs    *errorResponses

	cur      atomic.Pointer[state]
	synced   atomic.Bool
	failOpen atomic.Bool // --fail-open until a policy is read, then spec.gateway.failOpen
	mu       sync.Mutex  // serialises Update and key refreshes
	// failed is the policy version (UID/generation) that last failed to
	// compile: the same bad edit is counted once, however often it is re-read.
	failed   string
	proxy    *proxy
	stopOnce sync.Once
	stop     chan struct{}
}

// state is one immutable rule table with everything derived from it.
type state struct {
	table    *policy.Table
	r        *rendered
	verifier *verifier // jwtClaim identity; nil when the key could not be read
	keyErr   error
	keyID    string // what the verifier was built from
	upstream *url.URL
	swapped  time.Time
	usage    *usageLookup // the TenantUsage objects, for the usage page (usagepage.go)
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

// New returns a Gateway without a rule table; feed it with Update (see Watcher).
func New(o Options) *Gateway {
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Metrics == nil {
		o.Metrics = NewMetrics(nil)
	}
	if o.Counter == nil {
		o.Counter = NewCounter(CounterOptions{Dropped: o.Metrics.Dropped, Logger: o.Logger})
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.SecretRefresh <= 0 {
		o.SecretRefresh = time.Minute
	}
	g := &Gateway{opts: o, log: o.Logger, metrics: o.Metrics, counter: o.Counter, now: o.Now,
		errs: newErrorResponses(), stop: make(chan struct{})}
	g.failOpen.Store(o.FailOpen)
	g.proxy = newProxy(g)
	return g
}

// Counter returns the usage counter.
func (g *Gateway) Counter() *Counter { return g.counter }

// SetSynced marks the informer caches as synced (readiness).
func (g *Gateway) SetSynced() { g.synced.Store(true) }

// Ready is true once the caches synced and a rule table exists, or when the
// gateway fails open.
func (g *Gateway) Ready() bool {
	return g.synced.Load() && (g.cur.Load() != nil || g.failOpen.Load())
}

// Table returns the rule table in force (nil before the first policy).
func (g *Gateway) Table() *policy.Table {
	if st := g.cur.Load(); st != nil {
		return st.table
	}
	return nil
}

// Update compiles pol and tenants and swaps the rule table. A nil policy
// (deleted or unreadable) and a policy that does not compile keep the table in
// force. Policy-derived parts are reused when only tenants changed.
func (g *Gateway) Update(ctx context.Context, pol *subv1.SubscriptionPolicy, tenants []subv1.TenantUsage) error {
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
	st := &state{table: r.rules.Bind(tenants), r: r, swapped: g.now()}
	st.usage = newUsageLookup(tenants)
	st.upstream = g.opts.Upstream
	if st.upstream == nil && r.rules.Upstream != "" {
		u, err := url.Parse(r.rules.Upstream)
		if err != nil {
			return g.reloadFailed(pol, old, fmt.Errorf("spec.gateway.upstream %q: %w", r.rules.Upstream, err))
		}
		st.upstream = u
	}
	g.failed = ""
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

// setVerifier gives st a JWT verifier, reusing old's when the identity config is unchanged.
func (g *Gateway) setVerifier(ctx context.Context, st, old *state) {
	id := st.table.Identity
	if id.From != subv1.IdentityJWTClaim {
		return
	}
	keyID := fmt.Sprintf("%s|%s|%s|%s|%s|%s", id.SecretName, id.SecretKey, id.JWKSURL, id.Issuer, id.Audience, id.Claim)
	if old != nil && old.keyID == keyID && old.verifier != nil {
		st.verifier, st.keyID = old.verifier, keyID
		return
	}
	v, err := g.buildVerifier(ctx, id)
	st.verifier, st.keyErr, st.keyID = v, err, keyID
	if err != nil {
		g.log.Error("cannot verify tenant tokens; gated routes answer 503 until the key can be read", "error", err)
	}
}

func (g *Gateway) buildVerifier(ctx context.Context, id policy.Identity) (*verifier, error) {
	if id.JWKSURL != "" {
		return newJWKSVerifier(ctx, id, g.now)
	}
	if g.opts.ReadSecret == nil {
		return nil, fmt.Errorf("no secret reader configured for secret %s", id.SecretName)
	}
	rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	key, err := g.opts.ReadSecret(rctx, id.SecretName, id.SecretKey)
	if err != nil {
		return nil, fmt.Errorf("reading HS256 key %s/%s: %w", id.SecretName, id.SecretKey, err)
	}
	return newHMACVerifier(id, key, g.now)
}

// RefreshKeys re-reads the HS256 key every SecretRefresh until ctx ends, and
// swaps a new verifier in when the key changed (or was unreadable before).
func (g *Gateway) RefreshKeys(ctx context.Context) {
	t := time.NewTicker(g.opts.SecretRefresh)
	defer t.Stop()
	var last []byte
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		st := g.cur.Load()
		if st == nil || st.table.Identity.From != subv1.IdentityJWTClaim || st.table.Identity.SecretName == "" || g.opts.ReadSecret == nil {
			continue
		}
		id := st.table.Identity
		rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		key, err := g.opts.ReadSecret(rctx, id.SecretName, id.SecretKey)
		cancel()
		if err != nil {
			g.log.Warn("re-reading the HS256 key failed; keeping the current one", "secret", id.SecretName, "error", err)
			continue
		}
		if st.verifier != nil && last != nil && string(key) == string(last) {
			continue
		}
		last = key
		v, err := newHMACVerifier(id, key, g.now)
		if err != nil {
			g.log.Warn("HS256 key unusable", "error", err)
			continue
		}
		g.mu.Lock()
		cur := g.cur.Load()
		if cur == st {
			next := *cur
			next.verifier, next.keyErr, next.swapped = v, nil, g.now()
			g.swap(&next, cur)
		}
		g.mu.Unlock()
	}
}

// render pre-renders every 402 body and the 429 templates of rules.
func (g *Gateway) render(rules *policy.Rules) *rendered {
	r := &rendered{
		rules:  rules,
		neg:    newNegotiator(rules.Languages),
		day:    newDayClock(rules.Location),
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

// Outcome is what the gateway does with a request.
type Outcome uint8

// Outcomes.
const (
	Allow           Outcome = iota // pass to the upstream
	UpgradeRequired                // 402
	QuotaExceeded                  // 429
	Unauthenticated                // 401
	Unavailable                    // 503
)

// Decision is the result of Decide.
type Decision struct {
	Outcome Outcome
	// Label is the gateway_requests_total decision label.
	Label string
	// Tenant and Tier of the caller when identified ("" otherwise).
	Tenant, Tier string
	// Feature of the route (nil: ungated).
	Feature *policy.Feature

	st         *state
	rank       int
	used       int64
	limit      int64
	retryAfter int64
	resetsAt   time.Time
	authErr    error
}

// Decide is the decision core shared by the proxy and every forward-auth
// adapter: route -> feature -> minimum tier against the tenant's tier, then
// the daily api_calls quota. An admitted request of an identified tenant is
// counted.
func (g *Gateway) Decide(method, path string, h http.Header) Decision {
	st := g.cur.Load()
	if st == nil {
		if g.failOpen.Load() {
			return Decision{Outcome: Allow, Label: LabelFailOpen}
		}
		return Decision{Outcome: Unavailable, Label: LabelUnavailable}
	}
	d := Decision{st: st}
	f, pathTenant, gated := st.table.Match(method, path)
	if gated {
		d.Feature = f
	}

	if st.table.Identity.From == subv1.IdentityJWTClaim && st.verifier == nil && gated {
		// The key could not be read: nobody can be identified.
		if st.table.FailOpen {
			d.Outcome, d.Label = Allow, LabelFailOpen
		} else {
			d.Outcome, d.Label = Unavailable, LabelUnavailable
		}
		return d
	}
	var tenant string
	tenant, d.authErr = g.identify(st, pathTenant, h)
	if tenant == "" {
		if gated {
			d.Outcome, d.Label = Unauthenticated, LabelUnauthenticated
			return d
		}
		d.Outcome, d.Label = Allow, LabelUngated
		return d
	}

	d.Tenant = tenant
	tn, known := st.table.Tenant(tenant)
	if !known {
		tn = &st.r.lowest
	}
	d.Tier, d.rank, d.limit = tn.Tier, tn.Rank, tn.APICallsLimit
	if gated && d.rank < f.MinRank {
		d.Outcome, d.Label = UpgradeRequired, LabelUpgradeRequired
		return d
	}
	now := g.now()
	day := st.r.day.at(now)
	ok, used := g.counter.Admit(tenant, day.date, d.limit)
	if !ok {
		d.Outcome, d.Label, d.used = QuotaExceeded, LabelQuotaExceeded, used
		d.retryAfter, d.resetsAt = day.retryAfter(now), day.midnight
		return d
	}
	d.Outcome = Allow
	if gated {
		d.Label = LabelAllowed
	} else {
		d.Label = LabelUngated
	}
	return d
}

// identify returns the caller's tenant ID ("" when there is none).
func (g *Gateway) identify(st *state, pathTenant string, h http.Header) (string, error) {
	switch st.table.Identity.From {
	case subv1.IdentityPath:
		if validTenantID(pathTenant) {
			return pathTenant, nil
		}
	case subv1.IdentityTrustedHeader:
		if v := h[st.r.header]; len(v) > 0 && validTenantID(v[0]) {
			return v[0], nil
		}
	default: // jwtClaim
		if st.verifier != nil {
			return st.verifier.verify(bearer(h["Authorization"]), g.now())
		}
	}
	return "", nil
}

// Stop releases background resources (JWKS refreshers).
func (g *Gateway) Stop() {
	g.stopOnce.Do(func() {
		close(g.stop)
		if st := g.cur.Load(); st != nil {
			st.verifier.close()
		}
	})
}
