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

// Command manager is the subscription-operator: it validates SubscriptionPolicy
// objects, runs their daily usage snapshots, writes forecasts into TenantUsage
// status, manages the bundled gateway and serves the forecast API.
package main

import (
	"context"
	"crypto/tls"
	"flag"
	"fmt"
	"os"
	"runtime/debug"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
	ctrlconfig "sigs.k8s.io/controller-runtime/pkg/config"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	"github.com/bakery-ia/subscription-operator/controllers"
	"github.com/bakery-ia/subscription-operator/internal/forecastapi"
	"github.com/bakery-ia/subscription-operator/internal/gatewaydeploy"
	"github.com/bakery-ia/subscription-operator/internal/kube"
	"github.com/bakery-ia/subscription-operator/internal/memlimit"
	"github.com/bakery-ia/subscription-operator/internal/redisurl"
	"github.com/bakery-ia/subscription-operator/internal/usage"
)

type options struct {
	metricsAddr, probeAddr, forecastAPIAddr string
	pprofAddr                               string
	leaderElect, forecastAPIAuth            bool
	notifications                           bool
	leaderElectionNamespace                 string
	redisURL, databaseURL                   string
	statementTimeout                        time.Duration
	gatewayImage, gatewayRedisSecret        string
	forecastAPIMaxConns                     int
	kubeQPS                                 float64
	kubeBurst, maxConcurrentReconciles      int
}

// Defaults sized by bench/scale (docs/operations.md, Capacity): after a
// snapshot run every tenant's status is recomputed and written once; one
// worker at ~20 ms a reconcile is ~50 writes/s, 3+ minutes per 10,000
// tenants. More workers and a client rate above controller-runtime's 20 QPS
// let the API server's priority and fairness decide; a 429 is retried by
// client-go after its Retry-After.
const (
	defaultKubeQPS                 = 200
	defaultKubeBurst               = 400
	defaultMaxConcurrentReconciles = 8
)

func main() {
	var o options
	flag.StringVar(&o.metricsAddr, "metrics-bind-address", ":8080", "Address of the Prometheus metrics endpoint (0 disables it).")
	flag.StringVar(&o.pprofAddr, "pprof-bind-address", "", "Address of net/http/pprof's /debug/pprof (CPU and heap profiles); empty, the default, disables it. Bind it to loopback: profiles show what the manager is doing.")
	flag.StringVar(&o.probeAddr, "health-probe-bind-address", ":8081", "Address of /healthz and /readyz.")
	flag.StringVar(&o.forecastAPIAddr, "forecast-api-bind-address", ":8082", "Address of the forecast HTTP API (0 disables it).")
	flag.BoolVar(&o.forecastAPIAuth, "forecast-api-auth", true, "Authenticate forecast API callers (TokenReview) and authorise them (SubjectAccessReview). Turn off only for local runs.")
	flag.IntVar(&o.forecastAPIMaxConns, "forecast-api-max-connections", forecastapi.DefaultMaxConnections, "Connections the forecast API serves at once; more wait until one closes.")
	flag.BoolVar(&o.notifications, "notifications", true, "Send the webhook notifications of spec.notifications (outbox in Redis; delivered by the leader).")
	flag.BoolVar(&o.leaderElect, "leader-elect", false, "Elect a leader so that only one replica runs snapshots and reconciles.")
	flag.StringVar(&o.leaderElectionNamespace, "leader-election-namespace", os.Getenv("POD_NAMESPACE"), "Namespace of the leader election Lease (env POD_NAMESPACE; required outside a cluster).")
	flag.StringVar(&o.redisURL, "redis-url", os.Getenv("REDIS_URL"), "Redis holding usage history and daily counters (env REDIS_URL; mount it from a Secret).")
	flag.StringVar(&o.databaseURL, "database-url", os.Getenv("DATABASE_URL"), "Postgres DSN for metric and discovery queries (env DATABASE_URL; mount it from a Secret).")
	flag.DurationVar(&o.statementTimeout, "statement-timeout", 30*time.Second, "Statement timeout of each metric query.")
	flag.StringVar(&o.gatewayImage, "gateway-image", os.Getenv("OPERATOR_IMAGE"), "Image of the bundled gateway (env OPERATOR_IMAGE; the operator's own image).")
	flag.StringVar(&o.gatewayRedisSecret, "gateway-redis-secret", gatewaydeploy.DefaultRedisSecretName, "Secret in each policy's namespace whose key `url` is the gateway's REDIS_URL.")
	zapOpts := zap.Options{}
	flag.Float64Var(&o.kubeQPS, "kube-api-qps", defaultKubeQPS, "Requests per second the manager's Kubernetes client may send (client-side limit; the API server's priority and fairness has the last word).")
	flag.IntVar(&o.kubeBurst, "kube-api-burst", defaultKubeBurst, "Requests the Kubernetes client may send in a burst above --kube-api-qps.")
	flag.IntVar(&o.maxConcurrentReconciles, "max-concurrent-reconciles", defaultMaxConcurrentReconciles, "Objects each controller reconciles at once (one key is never reconciled twice at the same time); after a run every TenantUsage status is recomputed.")
	zapOpts.BindFlags(flag.CommandLine)
	flag.Parse()
	ctrl.SetLogger(zap.New(zap.UseFlagOptions(&zapOpts)))

	if err := run(ctrl.SetupSignalHandler(), o); err != nil {
		ctrl.Log.Error(err, "manager stopped")
		os.Exit(1)
	}
}

func run(ctx context.Context, o options) error {
	log := ctrl.Log.WithName("setup")
	// The cached TenantUsages and a run's garbage grow the heap with the
	// tenants; a soft limit of 3/4 of the container's keeps it from the
	// OOM killer (GOMEMLIMIT overrides it).
	if limit := memlimit.FromContainer(); limit > 0 {
		log.V(1).Info("soft memory limit from the container's", "bytes", limit)
	}
	if o.redisURL == "" {
		return fmt.Errorf("--redis-url (or REDIS_URL) is required: usage history lives in Redis")
	}
	rdb, err := redisurl.NewClient(o.redisURL)
	if err != nil {
		return fmt.Errorf("--redis-url: %w", err)
	}
	defer func() { _ = rdb.Close() }()
	var pool *pgxpool.Pool
	if o.databaseURL != "" {
		if pool, err = usage.NewPostgresPool(ctx, o.databaseURL); err != nil {
			return fmt.Errorf("--database-url: %w", err)
		}
		defer pool.Close()
	} else {
		log.Info("no DATABASE_URL: Postgres metrics and tenant discovery will report errors")
	}

	if o.kubeQPS <= 0 || o.kubeBurst < 1 || o.maxConcurrentReconciles < 1 {
		return fmt.Errorf("--kube-api-qps, --kube-api-burst and --max-concurrent-reconciles must be positive")
	}
	restCfg := ctrl.GetConfigOrDie()
	restCfg.QPS, restCfg.Burst = float32(o.kubeQPS), o.kubeBurst
	mgr, err := ctrl.NewManager(restCfg, ctrl.Options{
		Scheme:     kube.NewScheme(),
		Cache:      kube.CacheOptions(),
		Controller: ctrlconfig.Controller{MaxConcurrentReconciles: o.maxConcurrentReconciles},
		Metrics: metricsserver.Options{
			BindAddress: o.metricsAddr,
			TLSOpts:     []func(*tls.Config){func(c *tls.Config) { c.NextProtos = []string{"http/1.1"} }},
		},
		HealthProbeBindAddress:  o.probeAddr,
		PprofBindAddress:        o.pprofAddr,
		LeaderElection:          o.leaderElect,
		LeaderElectionID:        "subscription-operator.bakery-ia.io",
		LeaderElectionNamespace: o.leaderElectionNamespace,
		// Release the lease on shutdown so a rolling update hands over quickly.
		LeaderElectionReleaseOnCancel: true,
	})
	if err != nil {
		return fmt.Errorf("creating manager: %w", err)
	}
	if err := kube.SetupIndexes(ctx, mgr.GetCache()); err != nil {
		return err
	}
	var notifications *controllers.NotificationsConfig
	if o.notifications {
		// Svix's retry schedule and a 15 s timeout: the notify defaults.
		notifications = &controllers.NotificationsConfig{}
	}
	comps, err := controllers.Setup(mgr, controllers.Config{
		Clock:            clock.RealClock{},
		Redis:            rdb,
		Postgres:         pool,
		StatementTimeout: o.statementTimeout,
		Gateway: &controllers.GatewayDeployer{Client: mgr.GetClient(), Options: gatewaydeploy.Options{
			Image: o.gatewayImage, RedisSecretName: o.gatewayRedisSecret,
		}},
		GatewayOwned:      controllers.GatewayOwnedTypes(),
		Notifications:     notifications,
		AfterRunForecasts: releaseRunMemory,
	})
	if err != nil {
		return err
	}
	if o.forecastAPIAddr != "0" {
		opts := []forecastapi.Option{
			forecastapi.WithAddr(o.forecastAPIAddr),
			forecastapi.WithMaxConnections(o.forecastAPIMaxConns),
			forecastapi.WithSnapshotter(comps.Snapshots),
			forecastapi.WithLogger(ctrl.Log.WithName("forecast-api")),
			forecastapi.WithCounters(forecastapi.RedisCounters{Client: rdb}), // the gateway's daily api_calls
		}
		if !o.forecastAPIAuth {
			opts = append(opts, forecastapi.WithoutAuth())
		}
		api, err := forecastapi.New(mgr.GetCache(), mgr.GetConfig(), comps.History, opts...)
		if err != nil {
			return fmt.Errorf("creating forecast API: %w", err)
		}
		if err := mgr.Add(api); err != nil {
			return fmt.Errorf("adding forecast API: %w", err)
		}
		// Scheduled and retried snapshots drop the tenants' cached bodies on
		// this replica (the leader); other replicas see the status change
		// that follows, or the cache TTL.
		comps.Snapshots.HistoryWritten = func(ids []string) {
			for _, id := range ids {
				api.Invalidate(id)
			}
		}
	}
	if err := mgr.AddHealthzCheck("healthz", healthz.Ping); err != nil {
		return fmt.Errorf("adding health check: %w", err)
	}
	if err := mgr.AddReadyzCheck("readyz", healthz.Ping); err != nil {
		return fmt.Errorf("adding ready check: %w", err)
	}
	log.Info("starting manager")
	return mgr.Start(ctx)
}

// releaseRunMemory hands a snapshot run's garbage back to the OS once the
// run's forecasts are all but written. The run and its status pass are the
// day's peak (decoded histories, status writes, watch events); afterwards
// the runtime would keep the heap at its goal (twice the live cache at GOGC
// 100) and the idle pages it has not scavenged yet, until the next run. One
// forced collection per run, tens of milliseconds of CPU at 10,000 tenants
// (docs/operations.md, Capacity).
func releaseRunMemory() {
	start := time.Now()
	debug.FreeOSMemory()
	ctrl.Log.WithName("memory").V(1).Info("returned a snapshot run's garbage to the OS", "took", time.Since(start))
}
