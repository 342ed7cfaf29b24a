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
// from the policy and TenantUsage objects, swapped atomically on every change
// that can alter a decision (a status write does not).
//
// One job per file: gateway.go options and wiring; reload.go the rule-table
// swap; keys.go JWT keys; decide.go the decision; bodies.go and respond.go
// rendering and writing answers; proxy.go and forwardauth.go the HTTP
// surfaces; counter.go the usage counter; watch.go the informers.
package gateway

import (
	"context"
	"log/slog"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	"k8s.io/utils/clock"

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
	// Clock is the gateway's one clock: the counter's day, token expiry,
	// reload times, request durations and the key refresh ticker. Default the
	// real clock; tests inject k8s.io/utils/clock/testing.FakeClock.
	Clock clock.WithTicker
	// UsagePage configures the tenant's usage page (usagepage.go).
	UsagePage UsagePageOptions
}

// Gateway holds the rule table in force and decides requests.
type Gateway struct {
	opts    Options
	log     *slog.Logger
	metrics *Metrics
	counter *Counter
	clock   clock.WithTicker
	errs    *errorResponses

	cur      atomic.Pointer[state]
	synced   atomic.Bool
	failOpen atomic.Bool // --fail-open until a policy is read, then spec.gateway.failOpen
	mu       sync.Mutex  // serialises Update and key refreshes
	// failed is the policy version (UID/generation) that last failed to
	// compile: the same bad edit is counted once, however often it is re-read.
	failed string
	proxy  *proxy
	// usagePage is the usage page's path ("/_subscription/usage"); "" when
	// the page is off.
	usagePage string
	stopOnce  sync.Once
	stop      chan struct{}
}

// New returns a Gateway without a rule table; feed it with Update (see Watcher).
func New(o Options) *Gateway {
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Metrics == nil {
		o.Metrics = NewMetrics(nil)
	}
	if o.Clock == nil {
		o.Clock = clock.RealClock{}
	}
	if o.Counter == nil {
		o.Counter = NewCounter(CounterOptions{Dropped: o.Metrics.Dropped, Logger: o.Logger, Clock: o.Clock})
	}
	if o.SecretRefresh <= 0 {
		o.SecretRefresh = time.Minute
	}
	g := &Gateway{opts: o, log: o.Logger, metrics: o.Metrics, counter: o.Counter, clock: o.Clock,
		errs: newErrorResponses(), stop: make(chan struct{})}
	g.failOpen.Store(o.FailOpen)
	g.usagePage = o.UsagePage.path()
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

// Stop releases background resources (JWKS refreshers).
func (g *Gateway) Stop() {
	g.stopOnce.Do(func() {
		close(g.stop)
		if st := g.cur.Load(); st != nil {
			st.verifier.close()
		}
	})
}
