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

// Command gateway enforces a SubscriptionPolicy in front of an application:
// a reverse proxy (--listen), forward-auth endpoints for Traefik, Envoy and
// ingress-nginx (--forward-auth-listen), and metrics and probes
// (--metrics-listen). Flags and wiring only; the logic is in internal/gateway.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/pprof"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/debug"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/redis/go-redis/v9"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/klog/v2"
	"k8s.io/utils/clock"

	"github.com/bakery-ia/subscription-operator/internal/gateway"
	"github.com/bakery-ia/subscription-operator/internal/history"
	"github.com/bakery-ia/subscription-operator/internal/memlimit"
	"github.com/bakery-ia/subscription-operator/internal/policy"
	"github.com/bakery-ia/subscription-operator/internal/redisurl"
)

type flags struct {
	namespace, policy                        string
	listen, forwardAuthListen, metricsListen string
	redisURL, upstream                       string
	failOpen                                 bool
	flushInterval, shutdown                  time.Duration
	proxy                                    gateway.ProxyOptions
	server                                   gateway.ServerOptions
	logLevel                                 string
	policyFile, secretsDir                   string
	pprof                                    bool
	usagePagePath                            string
	kubeconfig                               string
	forecastReads                            float64
	forecastCache                            int
}

func main() {
	var f flags
	flag.StringVar(&f.namespace, "namespace", envOr("POD_NAMESPACE", "default"), "namespace of the SubscriptionPolicy and TenantUsage objects (env POD_NAMESPACE)")
	flag.StringVar(&f.policy, "policy", policy.DefaultPolicyName, "name of the SubscriptionPolicy to enforce")
	flag.StringVar(&f.listen, "listen", ":8080", "address of the reverse proxy")
	flag.StringVar(&f.forwardAuthListen, "forward-auth-listen", ":8081", "address of the forward-auth endpoints /traefik, /envoy/..., /nginx (empty: off)")
	flag.StringVar(&f.metricsListen, "metrics-listen", ":9090", "address of /metrics, /healthz and /readyz")
	flag.StringVar(&f.redisURL, "redis-url", os.Getenv("REDIS_URL"), "Redis URL for the daily API call counters (env REDIS_URL; empty: count in memory only)")
	flag.StringVar(&f.upstream, "upstream", "", "upstream URL; overrides spec.gateway.upstream")
	flag.BoolVar(&f.failOpen, "fail-open", false, "let requests through until the policy has been read (afterwards spec.gateway.failOpen decides)")
	flag.DurationVar(&f.proxy.ResponseHeaderTimeout, "upstream-response-timeout", gateway.DefaultResponseHeaderTimeout, "how long to wait for the upstream's response headers, counted from the end of the request body")
	flag.IntVar(&f.proxy.MaxIdleConnsPerHost, "upstream-idle-conns", gateway.DefaultMaxIdleConnsPerHost, "idle keep-alive connections kept to the upstream")
	flag.Float64Var(&f.forecastReads, "forecast-reads", gateway.DefaultForecastReads, "forecast reads per second from the API server for the tenants' entitlements and usage pages (bursts of twice that)")
	flag.IntVar(&f.forecastCache, "forecast-cache", gateway.DefaultForecastCache, "tenants whose last forecast read is kept")
	flag.Int64Var(&f.proxy.BodyMinRate, "body-min-rate", gateway.DefaultBodyMinRate, "bytes per second a request body must average after --body-grace, or the request gets 408 (negative: no check)")
	flag.DurationVar(&f.proxy.BodyGrace, "body-grace", gateway.DefaultBodyGrace, "time a request body may take before --body-min-rate applies")
	flag.DurationVar(&f.server.ReadHeaderTimeout, "read-header-timeout", gateway.DefaultReadHeaderTimeout, "time a client has to send the request line and headers")
	flag.DurationVar(&f.server.IdleTimeout, "idle-timeout", gateway.DefaultIdleTimeout, "how long an idle keep-alive client connection stays open")
	flag.IntVar(&f.server.MaxHeaderBytes, "max-header-bytes", gateway.DefaultMaxHeaderBytes, "largest request line and headers accepted (431 beyond)")
	flag.IntVar(&f.server.MaxConns, "max-connections", gateway.DefaultMaxConns, "open client connections per listening port; further clients wait to be accepted (negative: no cap)")
	flag.DurationVar(&f.flushInterval, "flush-interval", 100*time.Millisecond, "how often counted API calls are written to Redis")
	flag.DurationVar(&f.shutdown, "shutdown-timeout", 15*time.Second, "how long to drain connections on SIGTERM")
	flag.StringVar(&f.logLevel, "log-level", "info", "debug, info, warn or error")
	flag.BoolVar(&f.pprof, "pprof", false, "serve /debug/pprof/ on the metrics address")
	flag.StringVar(&f.usagePagePath, "usage-page-path", gateway.DefaultUsagePagePath, "path of the calling tenant's usage page, served by the gateway itself (empty: off, the path is proxied)")
	flag.StringVar(&f.policyFile, "policy-file", "", "run without a cluster: read the policy and TenantUsage objects from this YAML file once (development, benchmarks)")
	flag.StringVar(&f.secretsDir, "secrets-dir", "", "with --policy-file: read Secret keys from <dir>/<secret name>/<key> instead of the API server")
	flag.StringVar(&f.kubeconfig, "kubeconfig", "", "kubeconfig file (default: $KUBECONFIG, else the pod's service account, else ~/.kube/config)")
	flag.Parse()

	if err := run(f); err != nil {
		slog.Error("gateway stopped", "error", err)
		os.Exit(1)
	}
}

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

// newLogger sets up JSON logging at level for slog and client-go.
func newLogger(level string) (*slog.Logger, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("--log-level: %w", err)
	}
	handler := slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: l})
	log := slog.New(handler)
	slog.SetDefault(log)
	klog.SetSlogLogger(log) // client-go's informers log through klog
	return log, nil
}

// defaultGCPercent is the gateway's GOGC unless the environment sets one.
// The live heap grows with the tenants of the namespace (a few hundred bytes
// each, see TenantRecord), and RSS follows the heap goal, live x (1 + GOGC/100): at
// 400 a pod of 10,000 tenants held five times its live heap. At Go's default
// of 100 the collector runs more often per request; measured with
// go test ./internal/gateway -bench, docs/operations.md "Capacity".
const defaultGCPercent = 100

// tuneGC sets the collector unless GOGC or GOMEMLIMIT say otherwise.
func tuneGC(log *slog.Logger) {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(defaultGCPercent)
	}
	if limit := memlimit.FromContainer(); limit > 0 {
		log.Debug("soft memory limit from the container's", "bytes", limit)
	}
}

// clusterAccess is the API server config (nil with --policy-file) and where
// the gateway reads Secrets from (files with --policy-file).
func clusterAccess(f flags) (*rest.Config, gateway.SecretReader, error) {
	if f.policyFile != "" {
		return nil, fileSecretReader(f.secretsDir), nil
	}
	cfg, err := restConfig(f.kubeconfig)
	if err != nil {
		return nil, nil, fmt.Errorf("kubeconfig: %w", err)
	}
	secrets, err := newSecretReader(cfg, f.namespace)
	if err != nil {
		return nil, nil, err
	}
	return cfg, secrets, nil
}

func run(f flags) error {
	log, err := newLogger(f.logLevel)
	if err != nil {
		return err
	}
	tuneGC(log)

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()

	var upstream *url.URL
	if f.upstream != "" {
		var err error
		if upstream, err = url.Parse(f.upstream); err != nil || upstream.Host == "" {
			return fmt.Errorf("--upstream %q is not an absolute URL", f.upstream)
		}
	}

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	metrics := gateway.NewMetrics(reg)

	rdb, closeRedis, err := newRedis(f.redisURL, log)
	if err != nil {
		return err
	}
	defer closeRedis()
	clk := clock.RealClock{} // the gateway's one clock, shared by the counter
	counter := gateway.NewCounter(gateway.CounterOptions{Redis: rdb, FlushInterval: f.flushInterval,
		Dropped: metrics.Dropped, Logger: log, Clock: clk})

	cfg, secrets, err := clusterAccess(f)
	if err != nil {
		return err
	}
	page := gateway.UsagePageOptions{Path: f.usagePagePath, Disabled: f.usagePagePath == ""}
	if c, ok := rdb.(redis.UniversalClient); ok {
		page.History = history.New(c) // the sparklines; the same Redis as the counters
	}
	gw := gateway.New(gateway.Options{
		FailOpen: f.failOpen, Upstream: upstream, ReadSecret: secrets,
		Counter: counter, Metrics: metrics, Logger: log,
		Proxy: f.proxy, Clock: clk, UsagePage: page,
	})
	defer gw.Stop()

	errc := make(chan error, 4)
	if f.policyFile != "" {
		pol, tenants, err := gateway.LoadFile(f.policyFile, f.policy)
		if err != nil {
			return fmt.Errorf("--policy-file: %w", err)
		}
		if err := gw.Update(ctx, pol, tenants); err != nil {
			return fmt.Errorf("--policy-file: %w", err)
		}
		gw.SetSynced()
	} else {
		watcher, err := gateway.NewWatcher(cfg, gw, f.namespace, f.policy)
		if err != nil {
			return err
		}
		watcher.ForecastReads, watcher.ForecastCache = f.forecastReads, f.forecastCache
		// The initial list decoded every TenantUsage of the namespace before
		// each became a small record: hand that garbage back to the OS once,
		// instead of keeping it as RSS until the scavenger gets to it.
		watcher.AfterSync = func() { releaseMemory(log, "the initial list") }
		// Likewise after a burst of status writes (a snapshot run rewrites
		// every tenant's): each update was a whole decoded object, and the
		// heap would otherwise stay at its goal, twice the records, until
		// the next burst.
		watcher.AfterBurst = func() { releaseMemory(log, "a burst of status writes") }
		go func() { errc <- watcher.Run(ctx) }()
	}

	servers, err := serve(ctx, f, []listener{{f.listen, gw.Handler()}, {f.metricsListen, opsMux(reg, gw, f.pprof)},
		{f.forwardAuthListen, gw.ForwardAuthHandler()}}, errc, log)
	if err != nil {
		return err
	}
	counterCtx, stopCounter := context.WithCancel(context.Background())
	counterDone := make(chan struct{})
	go func() { counter.Run(counterCtx); close(counterDone) }()
	go gw.RefreshKeys(ctx)

	var runErr error
	select {
	case <-ctx.Done():
		log.Info("shutting down")
	case runErr = <-errc:
	}
	sctx, cancel := context.WithTimeout(context.Background(), f.shutdown)
	defer cancel()
	for _, s := range servers {
		_ = s.Shutdown(sctx)
	}
	stopCounter() // final flush of the counted calls
	<-counterDone
	return runErr
}

// releaseMemory collects and returns every idle page to the OS, after what.
func releaseMemory(log *slog.Logger, what string) {
	start := time.Now()
	debug.FreeOSMemory()
	log.Debug("returned garbage to the OS", "after", what, "took", time.Since(start))
}

type listener struct {
	addr string
	h    http.Handler
}

// serve starts a server with the gateway's limits on every listener with an
// address; their errors go to errc.
func serve(ctx context.Context, f flags, ls []listener, errc chan<- error, log *slog.Logger) ([]*http.Server, error) {
	var servers []*http.Server
	for _, l := range ls {
		if l.addr == "" {
			continue
		}
		ln, err := gateway.Listen(ctx, l.addr, f.server)
		if err != nil {
			for _, s := range servers {
				_ = s.Close()
			}
			return nil, err
		}
		s := gateway.NewServer(l.h, f.server)
		servers = append(servers, s)
		go func() {
			log.Info("listening", "addr", l.addr)
			if err := s.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
				errc <- fmt.Errorf("serving on %s: %w", l.addr, err)
			}
		}()
	}
	return servers, nil
}

// newRedis connects to Redis for the counters (nil without a URL).
func newRedis(rawURL string, log *slog.Logger) (redis.Cmdable, func(), error) {
	if rawURL == "" {
		log.Warn("no --redis-url: API calls are counted in memory only and lost on restart")
		return nil, func() {}, nil
	}
	// Short timeouts and no retries: a flush that fails is dropped and
	// counted, never retried at the expense of requests. Any REDIS_URL kind
	// the manager takes (Sentinel, Cluster) works here too.
	const t = 500 * time.Millisecond
	c, err := redisurl.NewClientTuned(rawURL, redisurl.Tuning{DialTimeout: t, ReadTimeout: t, WriteTimeout: t, PoolTimeout: t,
		MaxRetries: -1, PoolSize: 4})
	if err != nil {
		return nil, nil, fmt.Errorf("--redis-url: %w", err)
	}
	return c, func() { _ = c.Close() }, nil
}

// opsMux serves /metrics, /healthz, /readyz (and /debug/pprof/ when asked).
func opsMux(reg *prometheus.Registry, gw *gateway.Gateway, withPprof bool) *http.ServeMux {
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg}))
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok\n")) })
	mux.HandleFunc("/readyz", func(w http.ResponseWriter, _ *http.Request) {
		if !gw.Ready() {
			http.Error(w, "rule table not loaded", http.StatusServiceUnavailable)
			return
		}
		_, _ = w.Write([]byte("ok\n"))
	})
	if withPprof {
		mux.HandleFunc("/debug/pprof/", pprof.Index)
		mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
		mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	}
	return mux
}

// newSecretReader reads the HS256 key with a single GET (no informer: the
// gateway's RBAC allows get on that Secret, not list or watch).
func newSecretReader(cfg *rest.Config, namespace string) (gateway.SecretReader, error) {
	s := runtime.NewScheme()
	if err := corev1.AddToScheme(s); err != nil {
		return nil, err
	}
	c, err := gateway.NewRESTClient(cfg, corev1.SchemeGroupVersion, "/api", s)
	if err != nil {
		return nil, err
	}
	return func(ctx context.Context, name, key string) ([]byte, error) {
		var sec corev1.Secret
		if err := c.Get().Namespace(namespace).Resource("secrets").Name(name).Do(ctx).Into(&sec); err != nil {
			return nil, fmt.Errorf("reading secret %s/%s: %w", namespace, name, err)
		}
		v, ok := sec.Data[key]
		if !ok {
			return nil, fmt.Errorf("secret %s/%s has no key %q", namespace, name, key)
		}
		return v, nil
	}, nil
}

// restConfig finds the API server as controller-runtime-based programs do
// (the manager among them), so both are configured alike: --kubeconfig, else
// $KUBECONFIG, else the pod's service account, else ~/.kube/config. Client-side
// rate limiting is off (QPS -1): the API server's priority and fairness
// decides, and the gateway only lists and watches.
func restConfig(explicit string) (*rest.Config, error) {
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	rules.ExplicitPath = explicit
	if explicit == "" && os.Getenv(clientcmd.RecommendedConfigPathEnvVar) == "" {
		if c, err := rest.InClusterConfig(); err == nil {
			c.QPS = -1
			return c, nil
		}
	}
	c, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{}).ClientConfig()
	if err != nil {
		return nil, err
	}
	c.QPS = -1
	return c, nil
}

// fileSecretReader reads <dir>/<name>/<key>, the layout of a mounted Secret.
func fileSecretReader(dir string) gateway.SecretReader {
	return func(_ context.Context, name, key string) ([]byte, error) {
		if dir == "" {
			return nil, fmt.Errorf("secret %s: no --secrets-dir", name)
		}
		return os.ReadFile(filepath.Join(dir, name, key))
	}
}
