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

// Command usage-tracker runs one usage snapshot for every SubscriptionPolicy (or
// one, with --policy) and exits, like the seed's track_daily_usage.py: usable as
// a Job or from a shell with a kubeconfig. It shares the operator's snapshot
// code; the operator's own schedule is unaffected.
//
// Exit codes (the seed's contract): 0 success, 1 partial failure, 2 fatal error.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	subv1 "github.com/bakery-ia/subscription-operator/api/v1alpha1"
	"github.com/bakery-ia/subscription-operator/internal/history"
	"github.com/bakery-ia/subscription-operator/internal/kube"
	"github.com/bakery-ia/subscription-operator/internal/policy"
	"github.com/bakery-ia/subscription-operator/internal/redisurl"
	"github.com/bakery-ia/subscription-operator/internal/snapshot"
	"github.com/bakery-ia/subscription-operator/internal/usage"
)

// Exit codes.
const (
	exitOK      = 0
	exitPartial = 1
	exitFatal   = 2
)

type options struct {
	namespace, policy     string
	redisURL, databaseURL string
	date                  string
	statementTimeout      time.Duration
	// clock is the real clock; tests inject a fake one.
	clock clock.PassiveClock
}

func main() {
	o := options{clock: clock.RealClock{}}
	flag.StringVar(&o.namespace, "namespace", "", "Only policies in this namespace (default: all namespaces).")
	flag.StringVar(&o.policy, "policy", "", "Only this policy (needs --namespace).")
	flag.StringVar(&o.redisURL, "redis-url", os.Getenv("REDIS_URL"), "Redis for history and counters (env REDIS_URL).")
	flag.StringVar(&o.databaseURL, "database-url", os.Getenv("DATABASE_URL"), "Postgres DSN (env DATABASE_URL).")
	flag.StringVar(&o.date, "date", "", "Store the snapshot under this date (YYYY-MM-DD); default today in each policy's time zone.")
	flag.DurationVar(&o.statementTimeout, "statement-timeout", 30*time.Second, "Statement timeout of each metric query.")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, o, os.Stdout)
	stop()
	os.Exit(code)
}

func fatal(out io.Writer, format string, args ...any) int {
	fmt.Fprintf(out, "FATAL: "+format+"\n", args...)
	return exitFatal
}

func run(ctx context.Context, o options, out io.Writer) int {
	if o.policy != "" && o.namespace == "" {
		return fatal(out, "--policy needs --namespace")
	}
	if o.redisURL == "" {
		return fatal(out, "--redis-url (or REDIS_URL) is required")
	}
	cfg, err := ctrl.GetConfig()
	if err != nil {
		return fatal(out, "loading kubeconfig: %v", err)
	}
	c, err := client.New(cfg, client.Options{Scheme: kube.NewScheme()})
	if err != nil {
		return fatal(out, "creating client: %v", err)
	}
	rdb, err := redisurl.NewClient(o.redisURL)
	if err != nil {
		return fatal(out, "--redis-url: %v", err)
	}
	defer func() { _ = rdb.Close() }()
	if err := rdb.Ping(ctx).Err(); err != nil {
		return fatal(out, "connecting to Redis: %v", err)
	}
	if o.clock == nil {
		o.clock = clock.RealClock{}
	}
	runner := &snapshot.Runner{Redis: usage.NewRedisCounters(rdb), History: history.New(rdb), Clock: o.clock}
	if o.databaseURL != "" {
		var pool *pgxpool.Pool
		if pool, err = usage.NewPostgresPool(ctx, o.databaseURL); err != nil {
			return fatal(out, "--database-url: %v", err)
		}
		defer pool.Close()
		runner.Postgres = usage.NewPostgres(pool, o.statementTimeout)
	}

	policies, err := listPolicies(ctx, c, o)
	if err != nil {
		return fatal(out, "%v", err)
	}
	start := o.clock.Now().UTC()
	fmt.Fprintf(out, "[%s] Starting daily usage tracking\n", start.Format("2006-01-02 15:04:05-07:00"))
	var total, succeeded, failed int
	code := exitOK
	for i := range policies {
		res, err := trackPolicy(ctx, c, runner, &policies[i], o.date, o.clock.Now(), out)
		total += res.Tenants
		succeeded += res.Succeeded
		failed += res.Failed
		switch {
		case err != nil:
			fmt.Fprintf(out, "❌ policy %s/%s: %v\n", policies[i].Namespace, policies[i].Name, err)
			failed += res.Tenants - res.Failed
			code = exitFatal
		case res.Partial() && code == exitOK:
			code = exitPartial
		}
	}
	end := o.clock.Now().UTC()
	bar := strings.Repeat("=", 60)
	fmt.Fprintf(out, "%s\nDaily Usage Tracking Complete\nStarted: %s UTC\nFinished: %s UTC\nDuration: %.2fs\n"+
		"Tenants: %d total\nSuccess: %d tenants tracked\nErrors: %d tenants failed\n%s\n",
		bar, start.Format(time.DateTime), end.Format(time.DateTime), end.Sub(start).Seconds(),
		total, succeeded, failed, bar)
	return code
}

func listPolicies(ctx context.Context, c client.Client, o options) ([]subv1.SubscriptionPolicy, error) {
	if o.policy != "" {
		p := subv1.SubscriptionPolicy{}
		if err := c.Get(ctx, client.ObjectKey{Namespace: o.namespace, Name: o.policy}, &p); err != nil {
			return nil, fmt.Errorf("getting policy %s/%s: %w", o.namespace, o.policy, err)
		}
		return []subv1.SubscriptionPolicy{p}, nil
	}
	var list subv1.SubscriptionPolicyList
	if err := c.List(ctx, &list, client.InNamespace(o.namespace)); err != nil {
		return nil, fmt.Errorf("listing policies: %w", err)
	}
	if len(list.Items) == 0 {
		return nil, fmt.Errorf("no SubscriptionPolicy found")
	}
	return list.Items, nil
}

// trackPolicy runs one policy and prints a line per tenant.
func trackPolicy(ctx context.Context, c client.Client, runner *snapshot.Runner, p *subv1.SubscriptionPolicy, date string, now time.Time, out io.Writer) (snapshot.Result, error) {
	spec, err := policy.CompileSpec(p)
	if err != nil {
		return snapshot.Result{}, err
	}
	if date == "" {
		date = spec.Today(now)
	}
	mine, err := kube.TenantsOfPolicy(ctx, c, p.Namespace, p.Name, false)
	if err != nil {
		return snapshot.Result{}, err
	}
	ids := snapshot.ActiveTenants(mine, "", nil)
	fmt.Fprintf(out, "Found %d active tenants to track (policy %s/%s, date %s)\n", len(ids), p.Namespace, p.Name, date)
	req := snapshot.NewRequest(spec, ids, date)
	res, err := runner.Run(ctx, req)
	if err != nil {
		res.Failed = len(ids)
		return res, err
	}
	ok := len(req.Metrics) - len(res.FailedMetrics)
	for _, id := range ids {
		if res.Partial() {
			fmt.Fprintf(out, "❌ %s: Tracked %d of %d metrics (failed: %s)\n", id, ok, len(req.Metrics), strings.Join(res.FailedMetricNames(), ", "))
		} else {
			fmt.Fprintf(out, "✅ %s: Tracked %d metrics\n", id, ok)
		}
	}
	for _, m := range res.FailedMetricNames() {
		fmt.Fprintf(out, "   metric %s failed: %v\n", m, res.FailedMetrics[m])
	}
	return res, nil
}
