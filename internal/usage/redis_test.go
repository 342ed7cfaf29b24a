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
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/bakery-ia/subscription-operator/internal/redisurl"
	"github.com/bakery-ia/subscription-operator/internal/testenv"
)

func TestDefaultKeyPattern(t *testing.T) {
	got := CounterKey(DefaultKeyPattern("api_calls"), "t1", "2025-01-19")
	if want := "usage_daily:t1:api_calls:2025-01-19"; got != want {
		t.Errorf("api_calls key = %q, want the gateway's %q", got, want)
	}
}

func TestReadAll(t *testing.T) {
	rdb := redisClient(t, redisSrv)
	ctx := testCtx(t)
	const date = "2025-01-19"
	for _, incr := range []struct {
		tenant string
		n      int
	}{{"t1", 3}, {"t2", 1}, {"t4", 12}} {
		for range incr.n {
			if err := rdb.Incr(ctx, CounterKey(DefaultKeyPattern("api_calls"), incr.tenant, date)).Err(); err != nil {
				t.Fatal(err)
			}
		}
	}
	rdb.Set(ctx, CounterKey(DefaultKeyPattern("api_calls"), "t1", "2025-01-18"), 99, 0) // another day
	rdb.Set(ctx, "training:t2:2025-01-19", 5, 0)

	src := NewRedisCounters(rdb)
	src.batch = 2 // 5 tenants: three round trips
	tenants := []string{"t1", "t2", "t3", "t4", "t5"}
	got, err := src.ReadAll(ctx, "api_calls", DefaultKeyPattern("api_calls"), date, tenants)
	if err != nil {
		t.Fatal(err)
	}
	if want := map[string]int64{"t1": 3, "t2": 1, "t3": 0, "t4": 12, "t5": 0}; !reflect.DeepEqual(got, want) {
		t.Errorf("api_calls = %v, want %v", got, want)
	}
	got, err = src.ReadAll(ctx, "training_jobs", "training:{tenant}:{date}", date, tenants)
	if err != nil {
		t.Fatal(err)
	}
	if want := map[string]int64{"t1": 0, "t2": 5, "t3": 0, "t4": 0, "t5": 0}; !reflect.DeepEqual(got, want) {
		t.Errorf("custom pattern = %v, want %v", got, want)
	}
}

func TestReadAllErrors(t *testing.T) {
	rdb := redisClient(t, redisSrv)
	ctx := testCtx(t)
	rdb.Set(ctx, "usage_daily:bad:forecasts:2025-01-19", "12abc", 0)
	rdb.HSet(ctx, "usage_daily:hash:forecasts:2025-01-19", "f", 1)
	src := NewRedisCounters(rdb)
	tests := []struct {
		name, pattern string
		tenants       []string
		want          string
	}{
		// What Redis held is reported as coming from Redis...
		{"not an integer", DefaultKeyPattern("forecasts"), []string{"ok", "bad"},
			`redis: metric forecasts: key usage_daily:bad:forecasts:2025-01-19 holds "12abc", not an integer`},
		{"wrong type", DefaultKeyPattern("forecasts"), []string{"hash"},
			"redis: metric forecasts: key usage_daily:hash:forecasts:2025-01-19: WRONGTYPE"},
		// ...a bad pattern is the policy's fault, found before Redis is asked.
		{"no tenant placeholder", "usage_daily:forecasts:{date}", []string{"ok"},
			`metric forecasts: key pattern "usage_daily:forecasts:{date}" has no {tenant} placeholder`},
		{"unknown placeholder", "usage_daily:{tenant}:{metric}:{date}", []string{"ok"},
			`metric forecasts: key pattern "usage_daily:{tenant}:{metric}:{date}" has the unknown placeholder {metric}: only {tenant} and {date} are replaced`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := src.ReadAll(ctx, "forecasts", tt.pattern, "2025-01-19", tt.tenants)
			if err == nil || !strings.HasPrefix(err.Error(), tt.want) {
				t.Errorf("err = %v, want it to start with %q", err, tt.want)
			}
		})
	}
}

func TestReadAllRedisDown(t *testing.T) {
	r, err := testenv.StartRedis()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	rdb := redisClient(t, r)
	src := NewRedisCounters(rdb)
	if err := r.Stop(); err != nil {
		t.Fatal(err)
	}
	_, err = src.ReadAll(testCtx(t), "api_calls", DefaultKeyPattern("api_calls"), "2025-01-19", []string{"t1"})
	// The message says which service failed, then what was being done.
	const want = "redis: metric api_calls: read 1 counters for 2025-01-19: dial tcp " // + addr: connect: connection refused
	if err == nil || !strings.HasPrefix(err.Error(), want) || !strings.HasSuffix(err.Error(), "connection refused") {
		t.Errorf("err = %v, want %q...connection refused", err, want)
	}
	if err := r.Start(); err != nil {
		t.Fatal(err)
	}
	if _, err := src.ReadAll(testCtx(t), "api_calls", DefaultKeyPattern("api_calls"), "2025-01-19", []string{"t1"}); err != nil {
		t.Errorf("after restart: %v", err)
	}
}

func freeClosedPort() (string, error) {
	p, err := testenv.FreePort()
	return strconv.Itoa(p), err
}

// TestReadAllCluster reads counters spread over a 3-master Redis Cluster
// through a client made from the cluster's REDIS_URL.
func TestReadAllCluster(t *testing.T) {
	c, err := testenv.StartRedisCluster(3)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	rdb, err := redisurl.NewClient(c.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = rdb.Close() }()
	if _, ok := rdb.(*redis.ClusterClient); !ok {
		t.Fatalf("redisurl.NewClient(%q) = %T, want a cluster client", c.URL, rdb)
	}
	ctx := testCtx(t)
	var tenants []string
	want := map[string]int64{}
	for i := range 300 {
		id := "tenant-" + strconv.Itoa(i)
		tenants = append(tenants, id)
		if i%3 == 0 {
			continue // missing: 0
		}
		if err := rdb.IncrBy(ctx, CounterKey(DefaultKeyPattern("api_calls"), id, "2025-01-19"), int64(i)).Err(); err != nil {
			t.Fatal(err)
		}
		want[id] = int64(i)
	}
	for _, id := range tenants {
		want[id] += 0
	}
	src := NewRedisCounters(rdb)
	src.batch = 128
	got, err := src.ReadAll(ctx, "api_calls", DefaultKeyPattern("api_calls"), "2025-01-19", tenants)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("ReadAll over the cluster = %v, want %v", got, want)
	}
}

func TestCheckKeyPattern(t *testing.T) {
	for _, tc := range []struct{ pattern, want string }{
		{"usage_daily:{tenant}:api_calls:{date}", ""},
		{"{tenant}", ""},
		{"c:{tenant}:{tenant}:{date}", ""},
		{"c:{date}", `key pattern "c:{date}" has no {tenant} placeholder`},
		{"c:{tenant}:{metric}:{date}", `key pattern "c:{tenant}:{metric}:{date}" has the unknown placeholder {metric}: only {tenant} and {date} are replaced`},
		{"c:{Tenant}:{tenant}", `key pattern "c:{Tenant}:{tenant}" has the unknown placeholder {Tenant}: only {tenant} and {date} are replaced`},
		{"c:{}:{tenant}", `key pattern "c:{}:{tenant}" has the unknown placeholder {}: only {tenant} and {date} are replaced`},
		{"c:{tenant}:{date", `key pattern "c:{tenant}:{date" has an unmatched "{": only {tenant} and {date} are replaced`},
		{"c:{tenant}}", `key pattern "c:{tenant}}" has an unmatched "}": only {tenant} and {date} are replaced`},
		{"c:{{tenant}}", `key pattern "c:{{tenant}}" has an unmatched "{": only {tenant} and {date} are replaced`},
	} {
		err := CheckKeyPattern(tc.pattern)
		got := ""
		if err != nil {
			got = err.Error()
		}
		if got != tc.want {
			t.Errorf("CheckKeyPattern(%q) = %q, want %q", tc.pattern, got, tc.want)
		}
	}
}

// FuzzCheckKeyPattern: a pattern CheckKeyPattern accepts fills to a key with
// no brace left (no placeholder is used literally) that differs per tenant.
func FuzzCheckKeyPattern(f *testing.F) {
	for _, seed := range []string{"usage_daily:{tenant}:api_calls:{date}", "{tenant}", "c:{metric}:{tenant}", "{{tenant}}", "}{tenant}{", "{date}{tenant}{date}"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, pattern string) {
		if CheckKeyPattern(pattern) != nil {
			return
		}
		a, b := CounterKey(pattern, "tenant-a", "2025-01-19"), CounterKey(pattern, "tenant-b", "2025-01-19")
		if strings.ContainsAny(a, "{}") {
			t.Errorf("accepted %q fills to %q, which still holds a brace", pattern, a)
		}
		if a == b {
			t.Errorf("accepted %q gives two tenants the same key %q", pattern, a)
		}
	})
}
