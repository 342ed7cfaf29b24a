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

// Package forecastapi is the operator's in-cluster HTTP API: the usage forecast
// of a tenant in the seed's JSON shape (from the TenantUsage status in the
// informer cache plus a 30-day trend from the history store), "track usage now"
// (a snapshot run) and the plan comparison table of a SubscriptionPolicy.
//
// Callers authenticate with a Kubernetes bearer token (TokenReview) and are
// authorised by RBAC (SubjectAccessReview); both answers are cached briefly, so
// the hot path makes no API round trip. Forecast bodies are cached per tenant
// and invalidated by the TenantUsage resourceVersion, by Invalidate and by a
// short TTL. See docs/api.md.
//
// The Server is a controller-runtime Runnable that does not need leader
// election: every replica serves.
package forecastapi

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/go-logr/logr"
	"golang.org/x/net/netutil"
	"golang.org/x/time/rate"
	"k8s.io/client-go/rest"
	"k8s.io/utils/clock"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/manager"

	subv1 "github.com/bakery-ia/subscription-operator/api/v1alpha1"
	"github.com/bakery-ia/subscription-operator/internal/history"
	"github.com/bakery-ia/subscription-operator/internal/snapshot"
)

// Paths served.
const (
	PathForecast   = "/api/v1/usage-forecast"
	PathTrackUsage = "/api/v1/usage-forecast/track-usage"
	PathPlans      = "/api/v1/plans"
)

// Defaults of the options.
const (
	DefaultAddr         = ":8082"
	DefaultAuthCacheTTL = 10 * time.Second

	// DefaultReviewQPS and DefaultReviewBurst limit the TokenReviews and
	// SubjectAccessReviews the API sends, together.
	DefaultReviewQPS       = 100
	DefaultReviewBurst     = 200
	DefaultResponseTTL     = 30 * time.Second
	DefaultResponseEntries = 4096
	DefaultTrendDays       = 30
	DefaultShutdownTimeout = 10 * time.Second

	// DefaultTrackUsageRate and DefaultTrackUsageBurst limit each caller's
	// track-usage requests: 5 at once, then one every 6 s (10 a minute).
	DefaultTrackUsageRate  = rate.Limit(1.0 / 6)
	DefaultTrackUsageBurst = 5
)

// Limits of the HTTP server (docs/api.md, "Limits").
const (
	// DefaultMaxConnections caps open connections; more wait in the
	// listen backlog until one closes.
	DefaultMaxConnections = 512

	readHeaderTimeout   = 5 * time.Second  // request line and headers
	readTimeout         = 10 * time.Second // whole request, body included (at most 64 KiB)
	idleTimeout         = 30 * time.Second // keep-alive between requests
	maxHeaderBytes      = 64 << 10
	defaultWriteTimeout = 15 * time.Second // GET endpoints
	trackWriteTimeout   = 10 * time.Minute // a snapshot of a large policy
	maxAuthEntries      = 10000            // per auth cache
	maxRateLimitCallers = 10000            // callers with a track-usage token bucket
	maxRequestBodyBytes = 64 << 10

	// trackWaitTimeout is the longest a track-usage caller waits: the run
	// running when it arrived, then the queued run it joined.
	trackWaitTimeout = 2*trackWriteTimeout + time.Minute
)

// History reads a tenant's recent daily values, oldest first, in one round
// trip. *history.Store satisfies it.
type History interface {
	Read(ctx context.Context, tenantID string, metrics []string, today string, days int) (map[string][]history.Point, error)
}

// Snapshotter runs a usage snapshot immediately, for one tenant of the policy
// or (tenantID "") for all of them. *controllers.SnapshotScheduler satisfies it.
type Snapshotter interface {
	RunNow(ctx context.Context, policy *subv1.SubscriptionPolicy, tenantID string) (snapshot.Result, error)
}

// Server is the forecast API. Create it with New and add it to the manager
// with mgr.Add.
type Server struct {
	cache   cache.Cache
	history History
	snaps   Snapshotter
	auth    *authorizer // nil: authentication and authorisation are off
	log     logr.Logger
	clock   clock.PassiveClock

	addr            string
	listener        net.Listener
	shutdownTimeout time.Duration
	trendDays       int
	noAuth          bool
	authTTL         time.Duration
	audiences       []string
	respTTL         time.Duration
	respEntries     int
	reviewQPS       float32
	reviewBurst     int
	trackRate       rate.Limit
	trackBurst      int
	maxConns        int

	responses   *responseCache
	runs        *runJoiner
	trackLimits *callerLimits
	specs       sync.Map // policy UID -> compiledEntry
	counters    Counters // nil: api_calls from the last snapshot
	entBodies   *ttlCache[bodyKey, renderedBody]
	handler     http.Handler
}

var (
	_ manager.Runnable               = (*Server)(nil)
	_ manager.LeaderElectionRunnable = (*Server)(nil)
)

// Option configures a Server.
type Option func(*Server)

// WithAddr sets the listen address (default ":8082"). "0" disables the
// server: Start then only waits for the context to end.
func WithAddr(addr string) Option { return func(s *Server) { s.addr = addr } }

// WithListener serves on an already open listener instead of WithAddr (tests,
// benchmarks, socket activation). Start closes it.
func WithListener(l net.Listener) Option { return func(s *Server) { s.listener = l } }

// WithSnapshotter enables POST track-usage; without it the endpoint answers 501.
func WithSnapshotter(sn Snapshotter) Option { return func(s *Server) { s.snaps = sn } }

// WithoutAuth turns authentication and authorisation off: any caller may read
// every forecast and run snapshots. For local runs only; Start logs a warning.
func WithoutAuth() Option { return func(s *Server) { s.noAuth = true } }

// WithAuthCacheTTL sets how long TokenReview and SubjectAccessReview answers,
// positive and negative, are reused (default 10 s).
func WithAuthCacheTTL(d time.Duration) Option { return func(s *Server) { s.authTTL = d } }

// WithReviewRateLimit sets the client-side limit of TokenReviews and
// SubjectAccessReviews together (default 100/s, burst 200). Requests that
// would wait for it longer than the review timeout (5 s) answer 503.
func WithReviewRateLimit(qps float32, burst int) Option {
	return func(s *Server) { s.reviewQPS, s.reviewBurst = qps, burst }
}

// WithAudiences makes TokenReview accept only tokens issued for one of these
// audiences (default: the API server's own audience).
func WithAudiences(aud ...string) Option {
	return func(s *Server) { s.audiences = append([]string(nil), aud...) }
}

// WithResponseCache sets the forecast body cache's time to live (default 30 s;
// 0 disables the cache) and its size in tenants (default 4096).
func WithResponseCache(ttl time.Duration, maxEntries int) Option {
	return func(s *Server) { s.respTTL, s.respEntries = ttl, maxEntries }
}

// WithTrackUsageRateLimit sets each caller's track-usage token bucket
// (default DefaultTrackUsageRate, DefaultTrackUsageBurst); rate.Inf turns
// the limit off. A caller is the authenticated user name, or the client's
// address when auth is off.
func WithTrackUsageRateLimit(limit rate.Limit, burst int) Option {
	return func(s *Server) { s.trackRate, s.trackBurst = limit, burst }
}

// WithMaxConnections caps the connections served at once (default
// DefaultMaxConnections).
func WithMaxConnections(n int) Option { return func(s *Server) { s.maxConns = n } }

// WithTrendDays sets how many days of history trend_data covers (default 30).
func WithTrendDays(days int) Option { return func(s *Server) { s.trendDays = days } }

// WithClock injects the clock that decides "today" and cache expiry.
func WithClock(c clock.PassiveClock) Option { return func(s *Server) { s.clock = c } }

// WithLogger sets the logger (default: the one in Start's context).
func WithLogger(l logr.Logger) Option { return func(s *Server) { s.log = l } }

// WithShutdownTimeout bounds the graceful shutdown (default 10 s).
func WithShutdownTimeout(d time.Duration) Option {
	return func(s *Server) { s.shutdownTimeout = d }
}

// New returns the API server. c is the manager's cache (mgr.GetCache()), which
// must have the kube.IndexTenantID index; cfg is the rest.Config the API uses for
// TokenReview and SubjectAccessReview (mgr.GetConfig(); it needs RBAC to
// create tokenreviews and subjectaccessreviews) and may be nil only WithoutAuth;
// h is the history store.
func New(c cache.Cache, cfg *rest.Config, h History, opts ...Option) (*Server, error) {
	if c == nil || h == nil {
		return nil, errors.New("forecastapi: cache and history are required")
	}
	s := &Server{
		cache: c, history: h,
		addr: DefaultAddr, shutdownTimeout: DefaultShutdownTimeout, trendDays: DefaultTrendDays,
		authTTL: DefaultAuthCacheTTL, respTTL: DefaultResponseTTL, respEntries: DefaultResponseEntries,
		reviewQPS: DefaultReviewQPS, reviewBurst: DefaultReviewBurst,
		trackRate: DefaultTrackUsageRate, trackBurst: DefaultTrackUsageBurst,
		maxConns: DefaultMaxConnections,
		clock:    clock.RealClock{},
	}
	for _, o := range opts {
		o(s)
	}
	if s.maxConns < 1 {
		return nil, fmt.Errorf("forecastapi: max connections must be at least 1, got %d", s.maxConns)
	}
	if s.trendDays < 1 {
		return nil, fmt.Errorf("forecastapi: trend days must be at least 1, got %d", s.trendDays)
	}
	if !s.noAuth {
		if cfg == nil {
			return nil, errors.New("forecastapi: a rest.Config is required unless auth is disabled")
		}
		a, err := newAuthorizer(cfg, s.audiences, s.authTTL, maxAuthEntries, s.reviewQPS, s.reviewBurst, s.clock)
		if err != nil {
			return nil, err
		}
		s.auth = a
	}
	if rc, ok := s.counters.(RedisCounters); ok {
		// Concurrent requests share round trips (see coalescedCounters).
		s.counters = newCoalescedCounters(rc)
	}
	s.responses = newResponseCache(s.respTTL, s.respEntries)
	s.runs = newRunJoiner(s.runTrack)
	s.trackLimits = newCallerLimits(s.trackRate, s.trackBurst, maxRateLimitCallers)
	s.handler = s.routes()
	return s, nil
}

// NeedLeaderElection is false: every replica serves.
func (s *Server) NeedLeaderElection() bool { return false }

// Handler is the API's http.Handler, for tests and embedding.
func (s *Server) Handler() http.Handler { return s.handler }

// Invalidate drops the cached forecast bodies of a tenant (in every
// namespace). Call it when the tenant's history changed (a snapshot ran).
func (s *Server) Invalidate(tenantID string) { s.responses.invalidate(tenantID) }

// InvalidateAll drops every cached forecast body.
func (s *Server) InvalidateAll() { s.responses.invalidateAll() }

// Start serves until ctx ends, then shuts down gracefully: it stops accepting,
// lets requests in flight finish (up to the shutdown timeout) and returns.
func (s *Server) Start(ctx context.Context) error {
	if s.log.GetSink() == nil {
		s.log = logr.FromContextOrDiscard(ctx).WithName("forecast-api")
	}
	if s.addr == "0" && s.listener == nil {
		s.log.Info("forecast API disabled (address 0)")
		<-ctx.Done()
		return nil
	}
	if s.noAuth {
		s.log.Info("WARNING: forecast API authentication and authorisation are DISABLED; " +
			"any caller can read every tenant's forecast and trigger snapshots. Use only for local runs.")
	}
	// Start the informers the API reads and wait for them, so the first
	// request does not wait for a list (nor answer 404 from an empty cache).
	for _, obj := range []client.Object{&subv1.TenantUsage{}, &subv1.SubscriptionPolicy{}} {
		if _, err := s.cache.GetInformer(ctx, obj); err != nil {
			return fmt.Errorf("forecastapi: starting informer for %T: %w", obj, err)
		}
	}
	if !s.cache.WaitForCacheSync(ctx) {
		if ctx.Err() != nil {
			return nil
		}
		return errors.New("forecastapi: cache did not sync")
	}

	l := s.listener
	if l == nil {
		var err error
		if l, err = (&net.ListenConfig{}).Listen(ctx, "tcp", s.addr); err != nil {
			return fmt.Errorf("forecastapi: listening on %s: %w", s.addr, err)
		}
	}
	l = netutil.LimitListener(l, s.maxConns)
	srv := &http.Server{
		Handler:           s.handler,
		ReadHeaderTimeout: readHeaderTimeout,
		ReadTimeout:       readTimeout,
		WriteTimeout:      trackWaitTimeout, // handlers shorten it; see routes
		IdleTimeout:       idleTimeout,
		MaxHeaderBytes:    maxHeaderBytes,
		// Requests in flight keep running during the graceful shutdown.
		BaseContext: func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(l) }()
	s.log.Info("forecast API serving", "address", l.Addr().String(), "auth", !s.noAuth)

	select {
	case err := <-errc:
		return fmt.Errorf("forecastapi: serving: %w", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.shutdownTimeout)
	defer cancel()
	err := srv.Shutdown(sctx)
	if serveErr := <-errc; serveErr != nil && !errors.Is(serveErr, http.ErrServerClosed) && err == nil {
		err = serveErr
	}
	if err != nil {
		return fmt.Errorf("forecastapi: shutting down: %w", err)
	}
	s.log.Info("forecast API stopped")
	return nil
}
