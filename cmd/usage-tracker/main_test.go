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

package main

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	subv1 "github.com/bakery-ia/subscription-operator/api/v1alpha1"
	"github.com/bakery-ia/subscription-operator/internal/history"
	"github.com/bakery-ia/subscription-operator/internal/redisurl"
	"github.com/bakery-ia/subscription-operator/internal/testenv"
)

// TestExitCodes runs the tracker in-process against a real API server, Redis
// and Postgres: 0 when every metric is recorded, 1 when one query fails, 2 when
// Redis cannot be reached.
func TestExitCodes(t *testing.T) {
	kube, err := testenv.StartEnvtest()
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = kube.Stop() }()
	rsrv, err := testenv.StartRedis()
	if err != nil {
		t.Fatal(err)
	}
	defer rsrv.Close()
	pg, err := testenv.StartPostgres()
	if err != nil {
		t.Fatal(err)
	}
	defer pg.Close()
	t.Setenv("KUBECONFIG", kube.Kubeconfig)

	ctx := context.Background()
	conn, err := pgx.Connect(ctx, pg.DSN)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = conn.Close(ctx) }()
	if _, err := conn.Exec(ctx, `CREATE TABLE products (tenant_id text, name text);
		INSERT INTO products VALUES ('bakery-a', 'croissant'), ('bakery-a', 'baguette'), ('bakery-b', 'roscon');`); err != nil {
		t.Fatal(err)
	}
	for _, ns := range []string{"good", "partial"} {
		query := "SELECT tenant_id, count(*) FROM products GROUP BY tenant_id"
		if ns == "partial" {
			query = "SELECT tenant_id, count(*) FROM no_such_table GROUP BY tenant_id"
		}
		must(t, kube.Client.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}))
		must(t, kube.Client.Create(ctx, &subv1.SubscriptionPolicy{
			ObjectMeta: metav1.ObjectMeta{Name: "default", Namespace: ns},
			Spec: subv1.SubscriptionPolicySpec{
				Tiers: []subv1.Tier{{Name: "starter"}},
				Metrics: []subv1.Metric{
					{Name: "products", Postgres: &subv1.PostgresSource{Query: query}},
					{Name: "api_calls", RedisCounter: &subv1.RedisCounterSource{}},
				},
			},
		}))
		for _, id := range []string{"bakery-a", "bakery-b"} {
			must(t, kube.Client.Create(ctx, &subv1.TenantUsage{
				ObjectMeta: metav1.ObjectMeta{Name: id, Namespace: ns},
				Spec:       subv1.TenantUsageSpec{TenantID: id, Tier: "starter"},
			}))
		}
	}

	cases := []struct {
		name     string
		opts     options
		wantCode int
		wantOut  []string
	}{
		{"success", options{namespace: "good", policy: "default", redisURL: rsrv.URL, databaseURL: pg.DSN, date: "2025-01-19"},
			exitOK, []string{"Starting daily usage tracking", "✅ bakery-a: Tracked 2 metrics", "Tenants: 2 total", "Success: 2 tenants tracked", "Errors: 0 tenants failed"}},
		{"one bad query is a partial failure", options{namespace: "partial", policy: "default", redisURL: rsrv.URL, databaseURL: pg.DSN},
			exitPartial, []string{"❌ bakery-a: Tracked 1 of 2 metrics (failed: products)", "Errors: 2 tenants failed"}},
		{"Redis unreachable is fatal", options{namespace: "good", redisURL: "redis://127.0.0.1:1/0", databaseURL: pg.DSN},
			exitFatal, []string{"FATAL: connecting to Redis"}},
		{"unknown policy is fatal", options{namespace: "good", policy: "nope", redisURL: rsrv.URL, databaseURL: pg.DSN},
			exitFatal, []string{"FATAL: getting policy good/nope"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			tc.opts.statementTimeout = 5e9
			if got := run(ctx, tc.opts, &out); got != tc.wantCode {
				t.Fatalf("exit code %d, want %d; output:\n%s", got, tc.wantCode, out.String())
			}
			for _, w := range tc.wantOut {
				if !strings.Contains(out.String(), w) {
					t.Errorf("output lacks %q:\n%s", w, out.String())
				}
			}
		})
	}

	// The successful run stored the values under the requested date.
	rdb, err := redisurl.NewClient(rsrv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = rdb.Close() }()
	pts, err := history.New(rdb).Read(ctx, "bakery-a", []string{"products"}, "2025-01-19", 60)
	if err != nil {
		t.Fatal(err)
	}
	if want := []history.Point{{Date: "2025-01-19", Value: 2}}; fmt.Sprint(pts["products"]) != fmt.Sprint(want) {
		t.Errorf("history of bakery-a/products = %v, want %v", pts["products"], want)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
