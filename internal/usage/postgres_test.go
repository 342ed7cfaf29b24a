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

package usage

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/bakery-ia/subscription-operator/internal/testenv"
)

var askedFor = []string{tenantA, tenantB, tenantC}

func TestQueryAll(t *testing.T) {
	src := NewPostgres(pool, 5*time.Second)
	tests := []struct {
		metric, query string
		want          map[string]int64
	}{
		{"products", "SELECT tenant_id, count(*) FROM products GROUP BY tenant_id",
			map[string]int64{tenantA: 5, tenantB: 2, tenantC: 0}},
		{"users", "SELECT tenant_id, count(*) FROM users GROUP BY tenant_id",
			map[string]int64{tenantA: 3, tenantB: 1, tenantC: 0}},
		{"locations", "SELECT tenant_id, count(*)::int4 FROM locations GROUP BY tenant_id",
			map[string]int64{tenantA: 2, tenantB: 0, tenantC: 0}},
		{"recipes", "SELECT tenant_id::text, count(*)::int2 FROM recipes GROUP BY 1",
			map[string]int64{tenantA: 4, tenantB: 0, tenantC: 0}},
		{"suppliers", "SELECT tenant_id, count(*) FROM suppliers GROUP BY tenant_id",
			map[string]int64{tenantA: 1, tenantB: 0, tenantC: 0}},
		{"stock (sum of bigint is numeric)", "SELECT tenant_id, sum(stock) FROM products GROUP BY tenant_id",
			map[string]int64{tenantA: 15, tenantB: 20, tenantC: 0}},
		{"NULL value is 0", "SELECT tenant_id, NULL::bigint FROM products GROUP BY tenant_id",
			map[string]int64{tenantA: 0, tenantB: 0, tenantC: 0}},
		{"no rows", "SELECT tenant_id, count(*) FROM products WHERE false GROUP BY tenant_id",
			map[string]int64{tenantA: 0, tenantB: 0, tenantC: 0}},
	}
	for _, tt := range tests {
		t.Run(tt.metric, func(t *testing.T) {
			got, err := src.QueryAll(testCtx(t), tt.metric, tt.query, askedFor)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %v, want %v (stranger's rows ignored, missing tenants 0)", got, tt.want)
			}
		})
	}
}

func TestQueryAllErrors(t *testing.T) {
	src := NewPostgres(pool, 5*time.Second)
	tests := []struct {
		name, query string
		want        []string
	}{
		{"INSERT is refused", "INSERT INTO products (tenant_id, name) VALUES ('" + tenantA + "', 'x') RETURNING tenant_id, 1",
			[]string{"postgres: metric m: ", "read-only", "25006"}},
		{"UPDATE is refused", "UPDATE products SET stock = 0 RETURNING tenant_id, stock",
			[]string{"postgres: metric m: ", "read-only"}},
		{"DELETE in a CTE is refused", "WITH d AS (DELETE FROM users RETURNING tenant_id) SELECT tenant_id, count(*) FROM d GROUP BY 1",
			[]string{"postgres: metric m: ", "read-only"}},
		{"one column", "SELECT tenant_id FROM products",
			[]string{"postgres: metric m: query must return (tenant_id text, value integer) columns, got (tenant_id uuid)"}},
		{"text value", "SELECT tenant_id, name FROM products",
			[]string{"postgres: metric m: query must return (tenant_id text, value integer) columns, got (tenant_id uuid, name text)"}},
		{"float value", "SELECT tenant_id, count(*)::float8 AS n FROM products GROUP BY 1",
			[]string{"got (tenant_id uuid, n float8)"}},
		{"integer tenant", "SELECT 1 AS tenant_id, 2 AS value",
			[]string{"got (tenant_id int4, value int4)"}},
		{"fractional numeric", "SELECT tenant_id, sum(stock) / 2.0 FROM products GROUP BY 1",
			[]string{"postgres: metric m: tenant ", "is not an integer"}},
		{"no GROUP BY", "SELECT tenant_id, 1 FROM products",
			[]string{"postgres: metric m: tenant ", "returned twice", "GROUP BY tenant_id"}},
		{"syntax error", "SELEKT 1",
			[]string{"postgres: metric m: ", "syntax error"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := src.QueryAll(testCtx(t), "m", tt.query, askedFor)
			if err == nil {
				t.Fatalf("no error, got %v", got)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) || !strings.HasPrefix(err.Error(), "postgres: metric m: ") {
					t.Errorf("err = %q, want it to contain %q", err, w)
				}
			}
		})
	}
	var n int
	if err := pool.QueryRow(testCtx(t), "SELECT count(*) FROM products WHERE stock = 0 OR name = 'x'").Scan(&n); err != nil || n != 7 {
		t.Errorf("the refused writes changed data: %d rows with stock 0 or name x (want the 7 of the fixture), err %v", n, err)
	}
}

func TestStatementTimeout(t *testing.T) {
	src := NewPostgres(pool, 200*time.Millisecond)
	began := time.Now()
	_, err := src.QueryAll(testCtx(t), "slow", "SELECT tenant_id, count(*) FROM products, pg_sleep(3) GROUP BY 1", askedFor)
	took := time.Since(began)
	if err == nil || !strings.HasPrefix(err.Error(), "postgres: metric slow: ") || !strings.Contains(err.Error(), "statement timeout") {
		t.Fatalf("err = %v, want the statement timeout naming the metric", err)
	}
	if took > 2*time.Second {
		t.Errorf("query ran %v, the 200ms timeout did not stop it", took)
	}
	// The timeout is local to the transaction: the pooled connections are fine.
	got, err := NewPostgres(pool, 0).QueryAll(testCtx(t), "fast", "SELECT tenant_id, count(*) FROM products, pg_sleep(0.3) GROUP BY 1", askedFor)
	if err != nil || got[tenantA] != 5 {
		t.Errorf("after a timeout: %v, %v", got, err)
	}
}

func TestTenants(t *testing.T) {
	src := NewPostgres(pool, 5*time.Second)
	got, err := src.Tenants(testCtx(t), "SELECT id, tier FROM tenants WHERE active ORDER BY id")
	if err != nil {
		t.Fatal(err)
	}
	want := []TenantRow{{tenantA, "professional"}, {tenantB, "starter"}, {tenantC, ""}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
	for _, tc := range []struct{ query, want string }{
		{"SELECT id FROM tenants", "postgres: tenant discovery: query must return (tenant_id text, tier text) columns, got (id uuid)"},
		{"SELECT id, active FROM tenants", "got (id uuid, active bool)"},
		{"DELETE FROM tenants RETURNING id, tier", "read-only"},
	} {
		if _, err := src.Tenants(testCtx(t), tc.query); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Tenants(%q): err = %v, want it to contain %q", tc.query, err, tc.want)
		}
	}
}

func TestNewPostgresPool(t *testing.T) {
	if _, err := NewPostgresPool(testCtx(t), "postgres://u:s3cret@127.0.0.1:notaport/db"); err == nil || strings.Contains(err.Error(), "s3cret") {
		t.Errorf("bad DSN: err = %v, want an error without the password", err)
	}
	port, err := freeClosedPort()
	if err != nil {
		t.Fatal(err)
	}
	dsn := "postgres://u:s3cret@127.0.0.1:" + port + "/db?connect_timeout=2"
	if _, err := NewPostgresPool(testCtx(t), dsn); err == nil || strings.Contains(err.Error(), "s3cret") {
		t.Errorf("nothing listening: err = %v, want an error without the password", err)
	}
}

// TestPostgresDown: with nothing listening where DATABASE_URL points, a metric
// and the discovery query fail with errors that start with the service.
func TestPostgresDown(t *testing.T) {
	port, err := testenv.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	down, err := pgxpool.New(testCtx(t), fmt.Sprintf("postgres://u@127.0.0.1:%d/db?connect_timeout=5", port))
	if err != nil {
		t.Fatal(err)
	}
	defer down.Close()
	src := NewPostgres(down, time.Second)
	_, err = src.QueryAll(testCtx(t), "products", "SELECT tenant_id, count(*) FROM products GROUP BY 1", askedFor)
	if err == nil || !strings.HasPrefix(err.Error(), "postgres: metric products: ") || !strings.Contains(err.Error(), "connection refused") {
		t.Errorf("QueryAll: err = %v, want \"postgres: metric products: ...connection refused\"", err)
	}
	_, err = src.Tenants(testCtx(t), "SELECT id, tier FROM tenants")
	if err == nil || !strings.HasPrefix(err.Error(), "postgres: tenant discovery: ") || !strings.Contains(err.Error(), "connection refused") {
		t.Errorf("Tenants: err = %v, want \"postgres: tenant discovery: ...connection refused\"", err)
	}
}
