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
	"context"
	"errors"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"

	"github.com/bakery-ia/subscription-operator/internal/redisurl"
	"github.com/bakery-ia/subscription-operator/internal/testenv"
)

var (
	redisSrv *testenv.Redis
	pgSrv    *testenv.Postgres
	pool     *pgxpool.Pool
)

// Tenants of the bakery fixture.
const (
	tenantA  = "0b7e2c4a-0000-4000-8000-00000000000a" // rows in every table
	tenantB  = "0b7e2c4a-0000-4000-8000-00000000000b" // a few rows
	tenantC  = "0b7e2c4a-0000-4000-8000-00000000000c" // no rows anywhere
	stranger = "0b7e2c4a-0000-4000-8000-0000000000ff" // has rows, not asked for
)

// bakerySchema is a slice of the seed's tenant databases: every table has a
// tenant_id. tenantA has 5 products, 3 users, 2 locations, 4 recipes and 1
// supplier; tenantB 2 products and 1 user; stranger 7 products.
const bakerySchema = `
CREATE TABLE tenants (id uuid PRIMARY KEY, tier text, active boolean NOT NULL DEFAULT true);
CREATE TABLE products (id bigserial PRIMARY KEY, tenant_id uuid NOT NULL, name text NOT NULL, stock bigint NOT NULL DEFAULT 0);
CREATE TABLE users (id bigserial PRIMARY KEY, tenant_id uuid NOT NULL, email text NOT NULL);
CREATE TABLE locations (id bigserial PRIMARY KEY, tenant_id uuid NOT NULL, city text);
CREATE TABLE recipes (id bigserial PRIMARY KEY, tenant_id uuid NOT NULL, title text);
CREATE TABLE suppliers (id bigserial PRIMARY KEY, tenant_id varchar(36) NOT NULL, name text);
CREATE INDEX ON products (tenant_id);
INSERT INTO tenants VALUES
  ('0b7e2c4a-0000-4000-8000-00000000000a', 'professional', true),
  ('0b7e2c4a-0000-4000-8000-00000000000b', 'starter', true),
  ('0b7e2c4a-0000-4000-8000-00000000000c', NULL, true),
  ('0b7e2c4a-0000-4000-8000-0000000000ff', 'enterprise', false);
INSERT INTO products (tenant_id, name, stock)
  SELECT '0b7e2c4a-0000-4000-8000-00000000000a', 'bread ' || i, i FROM generate_series(1, 5) i;
INSERT INTO products (tenant_id, name, stock)
  SELECT '0b7e2c4a-0000-4000-8000-00000000000b', 'croissant ' || i, 10 FROM generate_series(1, 2) i;
INSERT INTO products (tenant_id, name)
  SELECT '0b7e2c4a-0000-4000-8000-0000000000ff', 'cake ' || i FROM generate_series(1, 7) i;
INSERT INTO users (tenant_id, email)
  SELECT '0b7e2c4a-0000-4000-8000-00000000000a', 'baker' || i || '@a.example' FROM generate_series(1, 3) i;
INSERT INTO users (tenant_id, email) VALUES ('0b7e2c4a-0000-4000-8000-00000000000b', 'owner@b.example');
INSERT INTO locations (tenant_id, city) VALUES
  ('0b7e2c4a-0000-4000-8000-00000000000a', 'Bilbao'), ('0b7e2c4a-0000-4000-8000-00000000000a', 'Donostia');
INSERT INTO recipes (tenant_id, title)
  SELECT '0b7e2c4a-0000-4000-8000-00000000000a', 'recipe ' || i FROM generate_series(1, 4) i;
INSERT INTO suppliers (tenant_id, name) VALUES ('0b7e2c4a-0000-4000-8000-00000000000a', 'Flour Co');
`

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	type started struct {
		r   *testenv.Redis
		p   *testenv.Postgres
		err error
	}
	rc, pc := make(chan started), make(chan started)
	go func() { r, err := testenv.StartRedis(); rc <- started{r: r, err: err} }()
	go func() { p, err := testenv.StartPostgres(); pc <- started{p: p, err: err} }()
	rs, ps := <-rc, <-pc
	redisSrv, pgSrv = rs.r, ps.p
	defer redisSrv.Close()
	defer pgSrv.Close()
	if err := errors.Join(rs.err, ps.err); err != nil {
		fmt.Fprintln(os.Stderr, "usage tests need redis-server and PostgreSQL:", err)
		return 1
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var err error
	if pool, err = NewPostgresPool(ctx, pgSrv.DSN); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer pool.Close()
	if _, err := pool.Exec(ctx, bakerySchema); err != nil {
		fmt.Fprintln(os.Stderr, "create bakery schema:", err)
		return 1
	}
	return m.Run()
}

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func redisClient(t *testing.T, r *testenv.Redis) redis.UniversalClient {
	t.Helper()
	rdb, err := redisurl.NewClient(r.URL + "?max_retries=-1")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = rdb.Close() })
	return rdb
}
