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

package bench

// Benchmarks of one daily snapshot (architecture, data flow 1): 5 Postgres
// metrics (one GROUP BY query each over bakery-sized tables), 4 Redis daily
// counters (one pipelined GET per tenant each) and one history Write of all
// tenants x 9 values, at 1,000 and 10,000 tenants. Each op also reports the
// round trips it made and, for writes, the MEMORY USAGE of a history key.
//
//	go test ./bench -run '^$' -bench 'Snapshot|QueryAll|ReadAll|History' -benchtime 3x
//
// BenchmarkSnapshotRedis compares one redis-server with a 3+3 Redis Cluster,
// with and without a master failing over during the run.

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"

	"github.com/bakery-ia/subscription-operator/internal/history"
	"github.com/bakery-ia/subscription-operator/internal/redisurl"
	"github.com/bakery-ia/subscription-operator/internal/snapshot"
	"github.com/bakery-ia/subscription-operator/internal/testenv"
	"github.com/bakery-ia/subscription-operator/internal/usage"
)

var scales = []int{1000, 10000}

const retentionDays = 60

// pgMetrics are counted with GROUP BY; the per-tenant row counts average
// 50 products, 5 users, 2 locations, 25 recipes and 10 suppliers
// (about 920,000 rows at 10,000 tenants).
var pgMetrics = []struct{ name, rowsPerTenant string }{
	{"products", "20 + (t.n * 7) % 61"},
	{"users", "1 + t.n % 9"},
	{"locations", "1 + t.n % 3"},
	{"recipes", "5 + (t.n * 13) % 41"},
	{"suppliers", "2 + (t.n * 3) % 17"},
}

// redisMetrics are daily counters; 80% of tenants have one.
var redisMetrics = []string{"api_calls", "forecasts", "training_jobs", "pos_syncs"}

// fixture is the data of one scale, built once per test binary.
type fixture struct {
	tenants    []string
	queries    []string // per pgMetrics
	pg         *usage.PostgresSource
	counters   *usage.RedisCounterSource
	store      *history.Store
	rdb        *redis.Client
	pgTrips    *tripCounter
	redisTrips *redisTripCounter
	counterDay string
	nextWrite  time.Time // the next date to write: every op writes a new day
}

var (
	fixturesMu sync.Mutex
	fixtures   = map[int]*fixture{}
)

func tenantID(n int) string { return fmt.Sprintf("00000000-0000-4000-8000-%012x", n) }

// getFixture builds (once) the Postgres tables, Redis counters and 60 days of
// history for n tenants.
func getFixture(b *testing.B, n int) *fixture {
	b.Helper()
	fixturesMu.Lock()
	defer fixturesMu.Unlock()
	if f := fixtures[n]; f != nil {
		return f
	}
	began := time.Now()
	ctx := context.Background()
	f := &fixture{pgTrips: &tripCounter{}, redisTrips: &redisTripCounter{}, counterDay: "2025-01-18"}
	for i := 1; i <= n; i++ {
		f.tenants = append(f.tenants, tenantID(i))
	}

	// Postgres: schema s<n> with the bakery tables.
	cfg, err := pgxpool.ParseConfig(sharedPostgres(b).DSN)
	if err != nil {
		b.Fatal(err)
	}
	cfg.ConnConfig.Tracer = f.pgTrips
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		b.Fatal(err)
	}
	closers = append(closers, pool.Close)
	schema := fmt.Sprintf("s%d", n)
	sql := fmt.Sprintf(`
DROP SCHEMA IF EXISTS %[1]s CASCADE;
CREATE SCHEMA %[1]s;
CREATE TABLE %[1]s.tenants (n int PRIMARY KEY, id uuid NOT NULL UNIQUE, tier text NOT NULL);
INSERT INTO %[1]s.tenants
  SELECT n, ('00000000-0000-4000-8000-' || lpad(to_hex(n), 12, '0'))::uuid,
         (ARRAY['starter', 'professional', 'enterprise'])[1 + n %% 3]
  FROM generate_series(1, %[2]d) n;`, schema, n)
	for _, m := range pgMetrics {
		sql += fmt.Sprintf(`
CREATE TABLE %[1]s.%[2]s (id bigserial PRIMARY KEY, tenant_id uuid NOT NULL, name text NOT NULL,
  notes text, amount_cents int NOT NULL, created_at timestamptz NOT NULL DEFAULT now());
INSERT INTO %[1]s.%[2]s (tenant_id, name, notes, amount_cents)
  SELECT t.id, '%[2]s ' || g, 'fixture row ' || t.n || '/' || g, 100 + g
  FROM %[1]s.tenants t, generate_series(1, %[3]s) g;
CREATE INDEX ON %[1]s.%[2]s (tenant_id);`, schema, m.name, m.rowsPerTenant)
		f.queries = append(f.queries, fmt.Sprintf("SELECT tenant_id, count(*) FROM %s.%s GROUP BY tenant_id", schema, m.name))
	}
	if _, err := pool.Exec(ctx, sql); err != nil {
		b.Fatalf("create bakery tables: %v", err)
	}
	if _, err := pool.Exec(ctx, "VACUUM ANALYZE"); err != nil {
		b.Fatal(err)
	}
	b.Logf("%d tenants: Postgres tables built in %v", n, time.Since(began).Round(time.Millisecond))
	f.pg = usage.NewPostgres(pool, 30*time.Second)

	// Redis: counters and history, in database <n % 16> so scales do not mix.
	opt, err := redis.ParseURL(sharedRedis(b).URL)
	if err != nil {
		b.Fatal(err)
	}
	opt.DB = n % 16
	f.rdb = redis.NewClient(opt)
	closers = append(closers, func() { _ = f.rdb.Close() })
	if err := f.rdb.FlushDB(ctx).Err(); err != nil {
		b.Fatal(err)
	}
	pipe := f.rdb.Pipeline()
	for i, t := range f.tenants {
		if i%5 == 4 {
			continue
		}
		for k, m := range redisMetrics {
			pipe.Set(ctx, usage.CounterKey(usage.DefaultKeyPattern(m), t, f.counterDay), (i*31+k)%5000, 0)
		}
	}
	if _, err := pipe.Exec(ctx); err != nil {
		b.Fatal(err)
	}
	// The steady state before the first date the benchmarks write: the 61
	// dates of the previous day's window and its mark (see package history).
	f.nextWrite = time.Date(2025, 1, 19, 0, 0, 0, 0, time.UTC)
	fields := []any{"oldest", f.nextWrite.AddDate(0, 0, -retentionDays-1).Format("20060102")}
	for d := retentionDays + 1; d >= 1; d-- {
		fields = append(fields, f.nextWrite.AddDate(0, 0, -d).Format("20060102"), 0)
	}
	pipe = f.rdb.Pipeline()
	for i, t := range f.tenants {
		for _, m := range append(pgMetricNames(), redisMetrics...) {
			for j := 3; j < len(fields); j += 2 {
				fields[j] = (i + j) % 700
			}
			key := history.Key(t, m)
			pipe.HSet(ctx, key, fields...)
			pipe.Expire(ctx, key, (retentionDays+1)*24*time.Hour)
		}
		if pipe.Len() >= 2000 {
			if _, err := pipe.Exec(ctx); err != nil {
				b.Fatal(err)
			}
		}
	}
	if _, err := pipe.Exec(ctx); err != nil {
		b.Fatal(err)
	}
	b.Logf("%d tenants: Postgres and Redis fixtures built in %v", n, time.Since(began).Round(time.Millisecond))
	f.rdb.AddHook(f.redisTrips)
	f.counters = usage.NewRedisCounters(f.rdb)
	f.store = history.New(f.rdb)

	// Warm up: prepared statements on the pooled connections, the script cache.
	f.readPostgres(b)
	b.Logf("fixture for %d tenants built in %v", n, time.Since(began).Round(time.Millisecond))
	fixtures[n] = f
	return f
}

func pgMetricNames() []string {
	names := make([]string, len(pgMetrics))
	for i, m := range pgMetrics {
		names[i] = m.name
	}
	return names
}

func (f *fixture) readPostgres(b *testing.B) [][]history.Value {
	out := make([][]history.Value, 0, len(pgMetrics))
	for i, m := range pgMetrics {
		got, err := f.pg.QueryAll(context.Background(), m.name, f.queries[i], f.tenants)
		if err != nil {
			b.Fatal(err)
		}
		out = append(out, toValues(f.tenants, m.name, got))
	}
	return out
}

func (f *fixture) readRedis(b *testing.B) [][]history.Value {
	out := make([][]history.Value, 0, len(redisMetrics))
	for _, m := range redisMetrics {
		got, err := f.counters.ReadAll(context.Background(), m, usage.DefaultKeyPattern(m), f.counterDay, f.tenants)
		if err != nil {
			b.Fatal(err)
		}
		out = append(out, toValues(f.tenants, m, got))
	}
	return out
}

func (f *fixture) write(b *testing.B, values []history.Value) {
	date := f.nextWrite.Format(history.DateLayout)
	f.nextWrite = f.nextWrite.AddDate(0, 0, 1)
	if err := f.store.Write(context.Background(), date, retentionDays, values); err != nil {
		b.Fatal(err)
	}
}

func toValues(tenants []string, metric string, got map[string]int64) []history.Value {
	vs := make([]history.Value, len(tenants))
	for i, t := range tenants {
		vs[i] = history.Value{TenantID: t, Metric: metric, Value: got[t]}
	}
	return vs
}

func flatten(parts ...[][]history.Value) []history.Value {
	var all []history.Value
	for _, p := range parts {
		for _, vs := range p {
			all = append(all, vs...)
		}
	}
	return all
}

// sample is what report compares before and after the timed loop.
type sample struct {
	pgTrips, redisTrips           int64
	client, redisCPU, postgresCPU time.Duration
}

func (f *fixture) sample(b *testing.B) sample {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	redisCPU, err := sharedRedis(b).CPUTime()
	if err != nil {
		b.Fatal(err)
	}
	postgresCPU, err := sharedPostgres(b).CPUTime()
	if err != nil {
		b.Fatal(err)
	}
	return sample{
		pgTrips: f.pgTrips.n.Load(), redisTrips: f.redisTrips.n.Load(),
		client:   time.Duration(ru.Utime.Nano() + ru.Stime.Nano()),
		redisCPU: redisCPU, postgresCPU: postgresCPU,
	}
}

// report adds round trips and CPU time per op (this process, redis-server,
// postgres: the work, whatever the machine's load) and, after writes, the
// mean MEMORY USAGE of history keys (sampled).
func (f *fixture) report(b *testing.B, before sample, memory bool) {
	after := f.sample(b)
	perOp := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) / float64(b.N) }
	b.ReportMetric(float64(after.pgTrips-before.pgTrips)/float64(b.N), "pg-roundtrips/op")
	b.ReportMetric(float64(after.redisTrips-before.redisTrips)/float64(b.N), "redis-roundtrips/op")
	b.ReportMetric(perOp(after.client-before.client), "client-cpu-ms/op")
	b.ReportMetric(perOp(after.redisCPU-before.redisCPU), "redis-cpu-ms/op")
	b.ReportMetric(perOp(after.postgresCPU-before.postgresCPU), "pg-cpu-ms/op")
	if !memory {
		return
	}
	ctx := context.Background()
	var total, keys int64
	for i := 0; i < len(f.tenants); i += max(1, len(f.tenants)/100) {
		for _, m := range []string{"products", "api_calls"} {
			size, err := f.rdb.MemoryUsage(ctx, history.Key(f.tenants[i], m)).Result()
			if err != nil {
				b.Fatal(err)
			}
			total, keys = total+size, keys+1
		}
	}
	dates := f.rdb.HLen(ctx, history.Key(f.tenants[0], "products")).Val() - 1 // minus the "oldest" field
	b.ReportMetric(float64(total)/float64(keys), "history-B/key")
	b.ReportMetric(float64(dates), "history-points/key")
}

// BenchmarkSnapshot is one whole snapshot: 5 QueryAll, 4 ReadAll, one Write.
func BenchmarkSnapshot(b *testing.B) {
	for _, n := range scales {
		b.Run(fmt.Sprintf("tenants=%d", n), func(b *testing.B) {
			f := getFixture(b, n)
			before := f.sample(b)
			b.ResetTimer()
			for range b.N {
				f.write(b, flatten(f.readPostgres(b), f.readRedis(b)))
			}
			b.StopTimer()
			f.report(b, before, true)
		})
	}
}

// BenchmarkQueryAll is the Postgres part: 5 metrics, one query each.
func BenchmarkQueryAll(b *testing.B) {
	for _, n := range scales {
		b.Run(fmt.Sprintf("tenants=%d", n), func(b *testing.B) {
			f := getFixture(b, n)
			before := f.sample(b)
			b.ResetTimer()
			for range b.N {
				f.readPostgres(b)
			}
			b.StopTimer()
			f.report(b, before, false)
		})
	}
}

// BenchmarkReadAll is the Redis counter part: 4 metrics.
func BenchmarkReadAll(b *testing.B) {
	for _, n := range scales {
		b.Run(fmt.Sprintf("tenants=%d", n), func(b *testing.B) {
			f := getFixture(b, n)
			before := f.sample(b)
			b.ResetTimer()
			for range b.N {
				f.readRedis(b)
			}
			b.StopTimer()
			f.report(b, before, false)
		})
	}
}

// BenchmarkHistoryWrite is one Write of tenants x 9 values for a new date,
// on keys holding 60 days (so each write also trims one date).
func BenchmarkHistoryWrite(b *testing.B) {
	for _, n := range scales {
		b.Run(fmt.Sprintf("tenants=%d", n), func(b *testing.B) {
			f := getFixture(b, n)
			values := flatten(f.readPostgres(b), f.readRedis(b))
			before := f.sample(b)
			b.ResetTimer()
			for range b.N {
				f.write(b, values)
			}
			b.StopTimer()
			f.report(b, before, true)
		})
	}
}

// BenchmarkHistoryReadMany reads 60 days of 9 metrics for all tenants (what
// the forecast controller does after a run).
func BenchmarkHistoryReadMany(b *testing.B) {
	metrics := append(pgMetricNames(), redisMetrics...)
	for _, n := range scales {
		b.Run(fmt.Sprintf("tenants=%d", n), func(b *testing.B) {
			f := getFixture(b, n)
			today := f.nextWrite.AddDate(0, 0, -1).Format(history.DateLayout)
			before := f.sample(b)
			b.ResetTimer()
			for range b.N {
				got, err := f.store.ReadMany(context.Background(), f.tenants, metrics, today, 60)
				if err != nil {
					b.Fatal(err)
				}
				if len(got) != n || len(got[f.tenants[0]]["products"]) == 0 {
					b.Fatalf("ReadMany returned %d tenants", len(got))
				}
			}
			b.StopTimer()
			f.report(b, before, false)
		})
	}
}

// tripCounter counts Postgres round trips: every query or exec (BEGIN and
// COMMIT included), batch and prepare is one.
type tripCounter struct{ n atomic.Int64 }

func (c *tripCounter) TraceQueryStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceQueryStartData) context.Context {
	c.n.Add(1)
	return ctx
}
func (c *tripCounter) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}
func (c *tripCounter) TraceBatchStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceBatchStartData) context.Context {
	c.n.Add(1)
	return ctx
}
func (c *tripCounter) TraceBatchQuery(context.Context, *pgx.Conn, pgx.TraceBatchQueryData) {}
func (c *tripCounter) TraceBatchEnd(context.Context, *pgx.Conn, pgx.TraceBatchEndData)     {}
func (c *tripCounter) TracePrepareStart(ctx context.Context, _ *pgx.Conn, _ pgx.TracePrepareStartData) context.Context {
	c.n.Add(1)
	return ctx
}
func (c *tripCounter) TracePrepareEnd(context.Context, *pgx.Conn, pgx.TracePrepareEndData) {}

// redisTripCounter counts Redis round trips: one per command or pipeline.
type redisTripCounter struct{ n atomic.Int64 }

func (h *redisTripCounter) DialHook(next redis.DialHook) redis.DialHook { return next }
func (h *redisTripCounter) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		h.n.Add(1)
		return next(ctx, cmd)
	}
}
func (h *redisTripCounter) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		h.n.Add(1)
		return next(ctx, cmds)
	}
}

// clusterMetrics are the nine Redis daily counters of BenchmarkSnapshotRedis.
var clusterMetrics = []string{"api_calls", "forecasts", "training_jobs", "pos_syncs", "exports", "imports", "logins", "reports", "alerts"}

var (
	clusterOnce sync.Once
	clusterSrv  *testenv.RedisCluster
	clusterErr  error
	// seeded records which (backend, scale) already has its counters.
	seeded = map[string]bool{}
)

// sharedCluster returns the package's 3-master, 3-replica Redis Cluster.
func sharedCluster(b testing.TB) *testenv.RedisCluster {
	b.Helper()
	clusterOnce.Do(func() {
		clusterSrv, clusterErr = testenv.StartRedisClusterWithReplicas(3, 1)
		if clusterErr == nil {
			closers = append(closers, clusterSrv.Close)
		}
	})
	if clusterErr != nil {
		b.Fatal(clusterErr)
	}
	return clusterSrv
}

// killAtFirstWrite SIGKILLs victim while the run's first history pipeline
// (EVALSHA) is on the wire.
type killAtFirstWrite struct {
	c      *testenv.RedisCluster
	victim string
	once   sync.Once
	killed chan error
}

func (k *killAtFirstWrite) DialHook(next redis.DialHook) redis.DialHook          { return next }
func (k *killAtFirstWrite) ProcessHook(next redis.ProcessHook) redis.ProcessHook { return next }
func (k *killAtFirstWrite) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		first := false
		if len(cmds) > 0 && cmds[0].Name() == "evalsha" {
			k.once.Do(func() { first = true })
		}
		if !first {
			return next(ctx, cmds)
		}
		done := make(chan error, 1)
		go func() { done <- next(ctx, cmds) }()
		time.Sleep(time.Millisecond)
		k.killed <- k.c.Kill(ctx, k.victim)
		return <-done
	}
}

// BenchmarkSnapshotRedis is one snapshot.Runner.Run of N tenants x 9 Redis
// counter metrics (9 pipelined reads, one history Write; every op stores a
// new day) against one redis-server, against a Redis Cluster of 3 masters
// with a replica each, and against that cluster with a master SIGKILLed
// while the run writes: that op's time includes the failover (the replica
// is promoted about cluster-node-timeout = 2 s after the kill) and the
// run's second write pass. The cluster is healed (the node restarted as a
// replica) outside the timer.
//
//	go test ./bench -run '^$' -bench SnapshotRedis -benchtime 3x
func BenchmarkSnapshotRedis(b *testing.B) {
	for _, n := range scales {
		for _, backend := range []string{"single", "cluster", "cluster-failover"} {
			b.Run(fmt.Sprintf("%s/tenants=%d", backend, n), func(b *testing.B) {
				benchSnapshotRedis(b, backend, n)
			})
		}
	}
}

func benchSnapshotRedis(b *testing.B, backend string, n int) {
	ctx := context.Background()
	var tenants []string
	for i := 1; i <= n; i++ {
		tenants = append(tenants, tenantID(i))
	}
	const counterDay = "2025-01-18"
	var cluster *testenv.RedisCluster
	url := sharedRedis(b).URL
	if backend != "single" {
		cluster = sharedCluster(b)
		url = cluster.URL
	}
	newClient := func() redis.UniversalClient {
		rdb, err := redisurl.NewClient(url)
		if err != nil {
			b.Fatal(err)
		}
		return rdb
	}
	rdb := newClient()
	defer func() { _ = rdb.Close() }()
	if key := fmt.Sprint(url, n); !seeded[key] {
		pipe := rdb.Pipeline()
		for i, t := range tenants {
			for k, m := range clusterMetrics {
				if i%5 != 0 { // 80% of tenants have a counter
					pipe.Set(ctx, usage.CounterKey(usage.DefaultKeyPattern(m), t, counterDay), i*10+k, 0)
				}
			}
		}
		if _, err := pipe.Exec(ctx); err != nil {
			b.Fatalf("seed counters: %v", err)
		}
		seeded[key] = true
	}
	req := snapshot.Request{CounterDate: counterDay, RetentionDays: retentionDays, Tenants: tenants}
	for _, m := range clusterMetrics {
		req.Metrics = append(req.Metrics, snapshot.Metric{Name: m, RedisKeyPattern: usage.DefaultKeyPattern(m)})
	}
	day := time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC)
	retries := 0
	b.ResetTimer()
	for i := range b.N {
		req.Date = day.AddDate(0, 0, i).Format(time.DateOnly)
		client := rdb
		var kill *killAtFirstWrite
		if backend == "cluster-failover" {
			b.StopTimer()
			if err := cluster.WaitReplicated(ctx); err != nil {
				b.Fatal(err)
			}
			masters, err := cluster.Masters(ctx)
			if err != nil {
				b.Fatal(err)
			}
			client = newClient()
			kill = &killAtFirstWrite{c: cluster, victim: masters[i%len(masters)], killed: make(chan error, 1)}
			client.AddHook(kill)
			b.StartTimer()
		}
		runner := &snapshot.Runner{Redis: usage.NewRedisCounters(client), History: history.New(client)}
		res, err := runner.Run(ctx, req)
		if err != nil || res.Partial() {
			b.Fatalf("run: %v; %s", err, res.Summary())
		}
		retries += res.Retries
		if kill != nil {
			b.StopTimer()
			if err := <-kill.killed; err != nil {
				b.Fatal(err)
			}
			if _, err := cluster.WaitFailover(ctx, kill.victim); err != nil {
				b.Fatal(err)
			}
			if err := cluster.Restart(ctx, kill.victim); err != nil {
				b.Fatal(err)
			}
			_ = client.Close()
			b.StartTimer()
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(retries)/float64(b.N), "retries/op")
}
