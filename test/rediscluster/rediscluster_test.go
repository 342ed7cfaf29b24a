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

package rediscluster

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/redis/go-redis/v9"

	"github.com/bakery-ia/subscription-operator/internal/gateway"
	"github.com/bakery-ia/subscription-operator/internal/history"
	"github.com/bakery-ia/subscription-operator/internal/redisurl"
	"github.com/bakery-ia/subscription-operator/internal/snapshot"
	"github.com/bakery-ia/subscription-operator/internal/testenv"
	"github.com/bakery-ia/subscription-operator/internal/usage"
)

// cluster is the package's 3+3 cluster. Tests that kill a master restart it
// before they end (it comes back as a replica), so every test starts with
// three masters that each have an in-sync replica. Tests use distinct
// tenant ids or dates instead of flushing.
var cluster *testenv.RedisCluster

func TestMain(m *testing.M) {
	var err error
	if cluster, err = testenv.StartRedisClusterWithReplicas(3, 1); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := m.Run()
	cluster.Close()
	os.Exit(code)
}

// metrics are nine daily-counter metrics, like a policy's Redis metrics.
var metrics = []string{"api_calls", "forecasts", "training_jobs", "pos_syncs", "exports", "imports", "logins", "reports", "alerts"}

func tenantID(prefix string, n int) string { return fmt.Sprintf("%s-%05d", prefix, n) }

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// clusterClient is what the operator builds from REDIS_URL.
func clusterClient(t *testing.T) *redis.ClusterClient {
	rdb, err := redisurl.NewClient(cluster.URL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = rdb.Close() })
	cc, ok := rdb.(*redis.ClusterClient)
	if !ok {
		t.Fatalf("redisurl.NewClient(%q) = %T, want a cluster client", cluster.URL, rdb)
	}
	return cc
}

// seedCounters sets every tenant's counter of every metric for date to a value
// derived from (tenant, metric) and returns the values, tenant -> metric ->
// value. Tenant n's counters are 0 (missing) when n%10 == 0.
func seedCounters(t *testing.T, rdb *redis.ClusterClient, tenants []string, date string) map[string]map[string]int64 {
	t.Helper()
	ctx := testCtx(t)
	want := make(map[string]map[string]int64, len(tenants))
	pipe := rdb.Pipeline()
	for n, id := range tenants {
		want[id] = map[string]int64{}
		for k, m := range metrics {
			v := int64(0)
			if n%10 != 0 {
				v = int64(n*10 + k + 1)
				pipe.Set(ctx, usage.CounterKey(usage.DefaultKeyPattern(m), id, date), v, time.Hour)
			}
			want[id][m] = v
		}
	}
	if _, err := pipe.Exec(ctx); err != nil {
		t.Fatalf("seed counters: %v", err)
	}
	// The replicas must hold them before a test kills a master: the point is
	// what the run does, not Redis' asynchronous replication of the seed.
	if err := cluster.WaitReplicated(ctx); err != nil {
		t.Fatal(err)
	}
	return want
}

func request(tenants []string, date, counterDate string) snapshot.Request {
	req := snapshot.Request{Date: date, CounterDate: counterDate, RetentionDays: 60, Tenants: tenants}
	for _, m := range metrics {
		req.Metrics = append(req.Metrics, snapshot.Metric{Name: m, RedisKeyPattern: usage.DefaultKeyPattern(m)})
	}
	return req
}

// checkHistory asserts that every tenant-metric has exactly the point of date
// with the source's value.
func checkHistory(t *testing.T, store *history.Store, tenants []string, date string, want map[string]map[string]int64) {
	t.Helper()
	got, err := store.ReadMany(testCtx(t), tenants, metrics, date, 1)
	if err != nil {
		t.Fatal(err)
	}
	bad := 0
	for _, id := range tenants {
		for _, m := range metrics {
			pts := got[id][m]
			if len(pts) != 1 || pts[0].Date != date || pts[0].Value != want[id][m] {
				if bad++; bad <= 5 {
					t.Errorf("%s %s: %v, want [{%s %d}]", id, m, pts, date, want[id][m])
				}
			}
		}
	}
	if bad > 0 {
		t.Errorf("%d of %d tenant-metrics lack the day or its value", bad, len(tenants)*len(metrics))
	}
}

// nodeClient is a plain client of one node, for asking it about itself.
func nodeClient(t *testing.T, addr string) *redis.Client {
	c := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1})
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// infoInt reads one integer field of an INFO section ("" fields are 0).
func infoInt(ctx context.Context, t *testing.T, c *redis.Client, section, field string) int64 {
	t.Helper()
	info, err := c.Info(ctx, section).Result()
	if err != nil {
		t.Fatalf("INFO %s: %v", section, err)
	}
	for _, line := range strings.Split(info, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), field+":"); ok {
			// commandstats lines are calls=N,usec=...; errorstats count=N.
			v, _, _ = strings.Cut(v, ",")
			_, v, _ = strings.Cut(v, "=")
			n, _ := strconv.ParseInt(v, 10, 64)
			return n
		}
	}
	return 0
}

// TestTenantsSpreadOverMasters runs a snapshot of 1,000 tenants x 9 metrics
// and looks at where the keys landed and which node ran which command:
// every tenant's nine history keys sit on one master (the hash tag), the
// tenants spread over all three masters, the counters (no hash tag in the
// seed's key name, so one key per node by its own slot) spread too, and
// each master ran exactly one write script per tenant it serves, without a
// single MOVED: the pipelines went to the right node in the first place.
func TestTenantsSpreadOverMasters(t *testing.T) {
	ctx := testCtx(t)
	rdb := clusterClient(t)
	const n = 1000
	var tenants []string
	for i := range n {
		tenants = append(tenants, tenantID("spread", i))
	}
	want := seedCounters(t, rdb, tenants, "2026-03-01")
	masters, err := cluster.Masters(ctx)
	if err != nil || len(masters) != 3 {
		t.Fatalf("masters %v (%v), want 3", masters, err)
	}
	before := map[string][2]int64{}
	for _, m := range masters {
		c := nodeClient(t, m)
		_ = c.ConfigResetStat(ctx).Err()
		before[m] = [2]int64{infoInt(ctx, t, c, "commandstats", "cmdstat_evalsha"), infoInt(ctx, t, c, "commandstats", "cmdstat_eval")}
	}

	store := history.New(rdb)
	runner := &snapshot.Runner{Redis: usage.NewRedisCounters(rdb), History: store}
	res, err := runner.Run(ctx, request(tenants, "2026-03-02", "2026-03-01"))
	if err != nil || res.Partial() || res.Retries != 0 {
		t.Fatalf("run: %v; %s", err, res.Summary())
	}
	checkHistory(t, store, tenants, "2026-03-02", want)

	// Where each tenant's history keys are, by asking each master for them.
	home := map[string]string{} // tenant -> master
	perMaster := map[string]int{}
	counters := map[string]int{}
	for _, m := range masters {
		c := nodeClient(t, m)
		keys, err := c.Keys(ctx, "usage_history:{spread-*").Result()
		if err != nil {
			t.Fatal(err)
		}
		for _, k := range keys {
			id := k[strings.Index(k, "{")+1 : strings.Index(k, "}")]
			if h, ok := home[id]; ok && h != m {
				t.Errorf("tenant %s has history keys on %s and %s", id, h, m)
			}
			if _, ok := home[id]; !ok {
				perMaster[m]++
			}
			home[id] = m
		}
		if len(keys) != 9*perMaster[m] {
			t.Errorf("%s holds %d history keys for %d tenants, want 9 each", m, len(keys), perMaster[m])
		}
		cs, err := c.Keys(ctx, "usage_daily:spread-*").Result()
		if err != nil {
			t.Fatal(err)
		}
		counters[m] = len(cs)
		// The slot of every key says the same: go-redis and Redis agree.
		for _, k := range keys[:min(len(keys), 20)] {
			if got, err := cluster.MasterOf(ctx, k); err != nil || got != m {
				t.Errorf("CLUSTER KEYSLOT/SLOTS put %s on %s (%v), found on %s", k, got, err, m)
			}
		}
		calls := infoInt(ctx, t, c, "commandstats", "cmdstat_evalsha") - before[m][0] +
			infoInt(ctx, t, c, "commandstats", "cmdstat_eval") - before[m][1]
		if calls != int64(perMaster[m]) {
			t.Errorf("%s ran %d write scripts for the %d tenants it serves, want one each", m, calls, perMaster[m])
		}
		if moved := infoInt(ctx, t, c, "errorstats", "errorstat_MOVED"); moved != 0 {
			t.Errorf("%s answered MOVED %d times: a pipeline went to the wrong node", m, moved)
		}
	}
	if len(home) != n {
		t.Errorf("history of %d tenants found, want %d", len(home), n)
	}
	for _, m := range masters {
		// 1,000 tenants over three equal slot ranges: ~333 each; 250 is far
		// below any honest spread.
		if perMaster[m] < n/4 {
			t.Errorf("%s serves %d tenants of %d: not spread (%v)", m, perMaster[m], n, perMaster)
		}
		if counters[m] < 9*n*9/10/4 {
			t.Errorf("%s holds %d counters of %d: not spread (%v)", m, counters[m], 9*n*9/10, counters)
		}
	}
	t.Logf("tenants per master %v, counters per master %v", perMaster, counters)
}

// killOnce is a go-redis hook that SIGKILLs a master while the first
// pipeline of the given command is on the wire: the kill races with that
// pipeline, as a crash would, rather than landing between two batches.
type killOnce struct {
	cmd    string // "get" (counter reads) or "evalsha" (history writes)
	victim string
	once   sync.Once
	killed chan error
}

func (k *killOnce) DialHook(next redis.DialHook) redis.DialHook { return next }
func (k *killOnce) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return next
}
func (k *killOnce) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		first := false
		if len(cmds) > 0 && cmds[0].Name() == k.cmd {
			k.once.Do(func() { first = true })
		}
		if !first {
			return next(ctx, cmds)
		}
		// Send the pipeline and kill the node while it is under way; the
		// hook returns only after the kill, so the run's later round trips
		// certainly meet the dead node.
		done := make(chan error, 1)
		go func() { done <- next(ctx, cmds) }()
		time.Sleep(time.Millisecond)
		k.killed <- cluster.Kill(ctx, k.victim)
		return <-done
	}
}

// TestFailoverDuringRun kills one master (SIGKILL, a real process) while a
// snapshot of 2,000 tenants x 9 metrics reads its counters, and again while
// it writes the history. The run rides through the failover: it retries the
// commands that met the dead node until the replica is promoted, says so in
// its result, and loses no day: every tenant-metric has the day's point with
// the source's value. The killed node is restarted and rejoins as a replica.
func TestFailoverDuringRun(t *testing.T) {
	for i, phase := range []string{"get", "evalsha"} {
		t.Run(phase, func(t *testing.T) {
			ctx := testCtx(t)
			rdb := clusterClient(t)
			const n = 2000
			var tenants []string
			for j := range n {
				tenants = append(tenants, tenantID("fo"+strconv.Itoa(i), j))
			}
			date := fmt.Sprintf("2026-03-%02d", 10+i)
			want := seedCounters(t, rdb, tenants, "2026-03-01")
			masters, err := cluster.Masters(ctx)
			if err != nil {
				t.Fatal(err)
			}
			kill := &killOnce{cmd: phase, victim: masters[1], killed: make(chan error, 1)}
			rdb.AddHook(kill)

			store := history.New(rdb)
			runner := &snapshot.Runner{Redis: usage.NewRedisCounters(rdb), History: store}
			res, err := runner.Run(ctx, request(tenants, date, "2026-03-01"))
			if kerr := <-kill.killed; kerr != nil {
				t.Fatalf("kill %s: %v", kill.victim, kerr)
			}
			// Bring the node back (as a replica) whatever happens below, so the
			// next test starts with three masters that each have a replica.
			defer restart(t, kill.victim)
			t.Logf("%s", res.Summary())
			if err != nil || res.Partial() {
				t.Fatalf("run with a failover: %v; %s", err, res.Summary())
			}
			if res.Retries == 0 || res.LastFault == nil || !strings.Contains(res.Summary(), "Redis retries (last fault: ") {
				t.Errorf("the run does not report the fault it rode through: retries %d, last %v, summary %q", res.Retries, res.LastFault, res.Summary())
			}
			promoted, err := cluster.WaitFailover(ctx, kill.victim)
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("killed %s, promoted %s", kill.victim, promoted)
			checkHistory(t, store, tenants, date, want)

			// Running the day again changes nothing: the writes are idempotent.
			if res, err := runner.Run(ctx, request(tenants, date, "2026-03-01")); err != nil || res.Partial() {
				t.Fatalf("second run: %v; %s", err, res.Summary())
			}
			checkHistory(t, store, tenants, date, want)
		})
	}
}

// TestRunGivesUpWhenNoReplicaTakesOver kills a master and its replica: the
// slots stay unserved, so the run retries until its context ends and fails
// with an error that names the fault, instead of hanging or reporting
// success. (The scheduler then reports the failed run and retries it later.)
func TestRunGivesUpWhenNoReplicaTakesOver(t *testing.T) {
	// Runs last: it leaves a third of the slots unserved, so it takes its own
	// cluster rather than the package's.
	c, err := testenv.StartRedisClusterWithReplicas(3, 1)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	rdb, err := redisurl.NewClient(c.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = rdb.Close() }()
	// The shard of slot 0: the first master and its replica (Addrs[3]).
	if err := c.Kill(context.Background(), c.Addrs[0]); err != nil {
		t.Fatal(err)
	}
	if err := c.Kill(context.Background(), c.Addrs[3]); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Second)
	defer cancel()
	var tenants []string
	for i := range 50 {
		tenants = append(tenants, tenantID("gone", i))
	}
	runner := &snapshot.Runner{Redis: usage.NewRedisCounters(rdb), History: history.New(rdb)}
	res, err := runner.Run(ctx, request(tenants, "2026-03-20", "2026-03-19"))
	if err == nil && !res.Partial() {
		t.Fatalf("run without a third of the slots succeeded: %s", res.Summary())
	}
	msg := fmt.Sprint(err) + res.Summary()
	if !strings.Contains(msg, "retries") {
		t.Errorf("the failure does not say it retried: %s", msg)
	}
	if ctx.Err() == nil && !errors.Is(err, context.DeadlineExceeded) {
		t.Logf("gave up before the deadline: %s", msg)
	}
}

// TestCounterFailover counts API calls like the gateway (its Counter, on a
// client tuned like cmd/gateway's: short timeouts, no retries) for 300
// tenants while a master is killed: flushes that meet the dead node fail
// fast and are counted as dropped, requests are still admitted (no panic,
// no wait), and once the replica is promoted counting in Redis resumes for
// the tenants that master served.
func TestCounterFailover(t *testing.T) {
	ctx := testCtx(t)
	const to = 500 * time.Millisecond
	rdb, err := redisurl.NewClientTuned(cluster.URL, redisurl.Tuning{DialTimeout: to, ReadTimeout: to, WriteTimeout: to,
		PoolTimeout: to, MaxRetries: -1, PoolSize: 4})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = rdb.Close() }()
	dropped := prometheus.NewCounter(prometheus.CounterOpts{Name: "dropped"})
	c := gateway.NewCounter(gateway.CounterOptions{Redis: rdb, Timeout: time.Second, Dropped: dropped})
	const date = "2026-03-05"
	var tenants []string
	for i := range 300 {
		tenants = append(tenants, tenantID("gw", i))
	}
	admit := func() {
		for _, id := range tenants {
			if ok, _ := c.Admit(id, date, -1); !ok {
				t.Fatalf("tenant %s refused without a limit", id)
			}
		}
	}
	// stored is the tenant's counter in Redis, or an error while the
	// client still sends to the dead node.
	stored := func(id string) (int64, error) {
		v, err := rdb.Get(ctx, usage.CounterKey(usage.DefaultKeyPattern("api_calls"), id, date)).Int64()
		if errors.Is(err, redis.Nil) {
			err = nil
		}
		return v, err
	}

	admit()
	if n := c.Flush(ctx); n != 0 {
		t.Fatalf("healthy flush dropped %d", n)
	}
	masters, err := cluster.Masters(ctx)
	if err != nil {
		t.Fatal(err)
	}
	victim := masters[2]
	var onVictim string // a tenant whose counter the victim holds
	for _, id := range tenants {
		if m, err := cluster.MasterOf(ctx, usage.CounterKey(usage.DefaultKeyPattern("api_calls"), id, date)); err == nil && m == victim {
			onVictim = id
			break
		}
	}
	if onVictim == "" {
		t.Fatalf("no tenant's counter on %s", victim)
	}
	if err := cluster.WaitReplicated(ctx); err != nil {
		t.Fatal(err)
	}
	before, err := stored(onVictim)
	if err != nil || before != 1 {
		t.Fatalf("%s's counter after one call = %d (%v), want 1", onVictim, before, err)
	}
	if err := cluster.Kill(ctx, victim); err != nil {
		t.Fatal(err)
	}
	defer restart(t, victim)

	// While the cluster fails over: requests are admitted, flushes fail
	// fast and are counted as dropped.
	admit()
	start := time.Now()
	lost := c.Flush(ctx)
	if lost == 0 || testutil.ToFloat64(dropped) != float64(lost) {
		t.Errorf("flush against a dead master dropped %d (metric %v), want > 0 and reported", lost, testutil.ToFloat64(dropped))
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("a flush against a dead master took %s: it must fail fast, not wait for the failover", d)
	}
	if _, err := cluster.WaitFailover(ctx, victim); err != nil {
		t.Fatal(err)
	}

	// Counting resumes: a later flush reaches the promoted master. go-redis
	// reloads the slot map lazily (on MOVED, a failing node, or every 10 s).
	deadline := time.Now().Add(45 * time.Second)
	for {
		admit()
		dropped := c.Flush(ctx)
		now, err := stored(onVictim)
		if dropped == 0 && err == nil && now > before {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("counting did not resume on the promoted master within 45 s (%s at %d, %v; last flush dropped %d)", onVictim, now, err, dropped)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// restart brings a killed node back; it rejoins as a replica.
func restart(t *testing.T, addr string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := cluster.Restart(ctx, addr); err != nil {
		t.Errorf("restart %s: %v", addr, err)
	}
}
