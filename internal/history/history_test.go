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

package history

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/bakery-ia/subscription-operator/internal/testenv"
)

// srv is the package's Redis; tests use distinct tenant ids instead of flushing.
var srv *testenv.Redis

func TestMain(m *testing.M) {
	var err error
	if srv, err = testenv.StartRedis(); err != nil {
		fmt.Fprintln(os.Stderr, "history tests need redis-server:", err)
		os.Exit(1)
	}
	code := m.Run()
	srv.Close()
	os.Exit(code)
}

func client(t testing.TB, r *testenv.Redis) *redis.Client {
	t.Helper()
	opt, err := redis.ParseURL(r.URL)
	if err != nil {
		t.Fatal(err)
	}
	opt.MaxRetries = -1
	rdb := redis.NewClient(opt)
	t.Cleanup(func() { _ = rdb.Close() })
	return rdb
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return c
}

// tenant returns a tenant id unique to the test.
func tenant(t *testing.T, suffix string) string {
	return strings.NewReplacer("/", "-", " ", "_").Replace(t.Name()) + "-" + suffix
}

func day(t *testing.T, date string, offset int) string {
	t.Helper()
	d, err := time.Parse(DateLayout, date)
	if err != nil {
		t.Fatal(err)
	}
	return d.AddDate(0, 0, offset).Format(DateLayout)
}

func mustWrite(t *testing.T, s *Store, date string, retention int, values ...Value) {
	t.Helper()
	if err := s.Write(ctx(t), date, retention, values); err != nil {
		t.Fatalf("Write(%s): %v", date, err)
	}
}

func mustRead(t *testing.T, s *Store, tenantID string, metrics []string, today string, days int) map[string][]Point {
	t.Helper()
	got, err := s.Read(ctx(t), tenantID, metrics, today, days)
	if err != nil {
		t.Fatalf("Read: %v", err)
	}
	return got
}

func TestKey(t *testing.T) {
	if got, want := Key("3fa85f64", "products"), "usage_history:{3fa85f64}:products"; got != want {
		t.Errorf("Key = %q, want %q", got, want)
	}
}

// TestWriteRead covers the write semantics on one tenant each.
func TestWriteRead(t *testing.T) {
	const today = "2025-03-10"
	tests := []struct {
		name   string
		writes []struct {
			date  string
			value int64
		}
		readDays int
		want     []Point
	}{
		{
			name: "round trip, sorted by date",
			writes: []struct {
				date  string
				value int64
			}{{"2025-03-10", 12}, {"2025-03-08", 10}, {"2025-03-09", 11}},
			readDays: 7,
			want:     []Point{{"2025-03-08", 10}, {"2025-03-09", 11}, {"2025-03-10", 12}},
		},
		{
			name: "same date twice is one point, value overwritten",
			writes: []struct {
				date  string
				value int64
			}{{"2025-03-10", 5}, {"2025-03-10", 7}},
			readDays: 60,
			want:     []Point{{"2025-03-10", 7}},
		},
		{
			name: "next day adds one point",
			writes: []struct {
				date  string
				value int64
			}{{"2025-03-09", 5}, {"2025-03-10", 6}},
			readDays: 60,
			want:     []Point{{"2025-03-09", 5}, {"2025-03-10", 6}},
		},
		{
			name: "read window ends today and holds days dates",
			writes: []struct {
				date  string
				value int64
			}{{"2025-03-07", 1}, {"2025-03-08", 2}, {"2025-03-10", 4}, {"2025-03-11", 5}},
			readDays: 3,
			want:     []Point{{"2025-03-08", 2}, {"2025-03-10", 4}},
		},
		{
			name: "large and negative values",
			writes: []struct {
				date  string
				value int64
			}{{"2025-03-09", -3}, {"2025-03-10", 1 << 62}},
			readDays: 2,
			want:     []Point{{"2025-03-09", -3}, {"2025-03-10", 1 << 62}},
		},
	}
	s := New(client(t, srv))
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id := tenant(t, "a")
			for _, w := range tt.writes {
				mustWrite(t, s, w.date, 60, Value{TenantID: id, Metric: "products", Value: w.value})
			}
			got := mustRead(t, s, id, []string{"products"}, today, tt.readDays)
			if !reflect.DeepEqual(got["products"], tt.want) {
				t.Errorf("points = %v, want %v", got["products"], tt.want)
			}
		})
	}
}

func TestReadMissingMetricIsEmpty(t *testing.T) {
	s := New(client(t, srv))
	got := mustRead(t, s, tenant(t, "a"), []string{"products", "users"}, "2025-03-10", 30)
	if len(got) != 2 || got["products"] == nil || len(got["products"]) != 0 || len(got["users"]) != 0 {
		t.Errorf("Read of nothing = %#v, want an empty slice per metric", got)
	}
}

// TestReadForeignFields checks what Read makes of fields it did not write:
// a non-integer value inside the window is an error naming the key and the
// field; an empty value inside it is no point; fields outside the window
// (other dates, junk names) are never read.
func TestReadForeignFields(t *testing.T) {
	rdb := client(t, srv)
	s := New(rdb)
	id := tenant(t, "a")
	key := Key(id, "products")
	if err := rdb.HSet(ctx(t), key, "20250308", "7", "20250309", "", "20250301", "junk", "hello", "world", "oldest", "20250101").Err(); err != nil {
		t.Fatal(err)
	}
	got := mustRead(t, s, id, []string{"products"}, "2025-03-10", 3)
	if want := []Point{{"2025-03-08", 7}}; !reflect.DeepEqual(got["products"], want) {
		t.Errorf("Read = %v, want %v (the empty value is no point, the junk outside the window is not read)", got["products"], want)
	}

	if err := rdb.HSet(ctx(t), key, "20250310", "12abc").Err(); err != nil {
		t.Fatal(err)
	}
	_, err := s.Read(ctx(t), id, []string{"products"}, "2025-03-10", 3)
	if err == nil || !strings.Contains(err.Error(), key) || !strings.Contains(err.Error(), `field 20250310 holds "12abc", not an integer`) {
		t.Errorf("Read of a non-integer value: err = %v, want one naming %s and field 20250310", err, key)
	}
}

// TestTrim checks which dates are left after a write: every date before
// date-retentionDays is deleted, whichever way the key got its fields.
func TestTrim(t *testing.T) {
	const today = "2025-03-10"
	rdb := client(t, srv)
	s := New(rdb)
	type write struct {
		offset, retention int // date = today+offset
	}
	tests := []struct {
		name   string
		raw    []int   // dates (offsets from today) set with a plain HSET, without the mark
		writes []write // then written with Write, in order
		want   []int   // date offsets left
	}{
		{"daily writes: the date 61 days old goes",
			nil, []write{{-61, 60}, {-60, 60}, {-1, 60}, {0, 60}}, []int{-60, -1, 0}},
		{"a point 61 days old is trimmed with retention 60",
			[]int{-61}, []write{{0, 60}}, []int{0}},
		{"fields without the mark are swept",
			[]int{-90, -70, -61, -60, -5}, []write{{0, 60}}, []int{-60, -5, 0}},
		{"a gap of 10 days deletes the 10 dates that left the window",
			nil, []write{{-70, 60}, {-65, 60}, {-62, 60}, {-60, 60}, {-10, 60}, {0, 60}}, []int{-60, -10, 0}},
		{"a gap longer than the window sweeps",
			nil, []write{{-200, 60}, {-150, 60}, {0, 60}}, []int{0}},
		{"a backfilled old date is kept, then trimmed by the next write",
			nil, []write{{-1, 60}, {-70, 100}, {0, 60}}, []int{-1, 0}},
		{"a shorter retention trims the older dates",
			nil, []write{{-30, 60}, {-8, 60}, {-7, 60}, {-1, 60}, {0, 7}}, []int{-7, -1, 0}},
		{"rewriting a date keeps the rest",
			nil, []write{{-3, 60}, {0, 60}, {0, 60}}, []int{-3, 0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id := tenant(t, "a")
			key := Key(id, "products")
			for _, offset := range tt.raw {
				d, _ := time.Parse(DateLayout, day(t, today, offset))
				if err := rdb.HSet(ctx(t), key, d.Format(fieldLayout), 1).Err(); err != nil {
					t.Fatal(err)
				}
			}
			for _, w := range tt.writes {
				mustWrite(t, s, day(t, today, w.offset), w.retention, Value{TenantID: id, Metric: "products", Value: 1})
			}
			fields, err := rdb.HGetAll(ctx(t), key).Result()
			if err != nil {
				t.Fatal(err)
			}
			var want []string
			for _, offset := range tt.want {
				d, _ := time.Parse(DateLayout, day(t, today, offset))
				want = append(want, d.Format(fieldLayout))
			}
			var got []string
			for f := range fields {
				if f != "oldest" {
					got = append(got, f)
				}
			}
			slices.Sort(got)
			if !slices.Equal(got, want) {
				t.Errorf("dates left = %v, want %v", got, want)
			}
			last := tt.writes[len(tt.writes)-1]
			d, _ := time.Parse(DateLayout, day(t, today, last.offset-last.retention))
			if mark := fields["oldest"]; mark != d.Format(fieldLayout) {
				t.Errorf("mark oldest = %q, want %s", mark, d.Format(fieldLayout))
			}
		})
	}
}

// TestTrimCalendar writes every few days across a year end and a leap day:
// the dates deleted by the mark (computed in Lua) must be exactly those that
// left the window.
func TestTrimCalendar(t *testing.T) {
	rdb := client(t, srv)
	s := New(rdb)
	if err := rdb.ConfigResetStat(ctx(t)).Err(); err != nil {
		t.Fatal(err)
	}
	writes := 0
	for _, step := range []int{1, 3, 10} {
		id := tenant(t, fmt.Sprint(step))
		key := Key(id, "m")
		written := map[string]bool{}
		for d := time.Date(2023, 11, 1, 0, 0, 0, 0, time.UTC); d.Before(time.Date(2024, 4, 1, 0, 0, 0, 0, time.UTC)); d = d.AddDate(0, 0, step) {
			mustWrite(t, s, d.Format(DateLayout), 30, Value{TenantID: id, Metric: "m", Value: 1})
			writes++
			written[d.Format(fieldLayout)] = true
			oldest := d.AddDate(0, 0, -30).Format(fieldLayout)
			var want []string
			for f := range written {
				if f >= oldest {
					want = append(want, f)
				}
			}
			got := rdb.HKeys(ctx(t), key).Val()
			got = slices.DeleteFunc(got, func(f string) bool { return f == "oldest" })
			slices.Sort(got)
			slices.Sort(want)
			if !slices.Equal(got, want) {
				t.Fatalf("step %d, after writing %s: dates %v, want %v", step, d.Format(DateLayout), got, want)
			}
		}
	}
	// Only each key's first write (no mark yet) may list the fields; this
	// test lists them once per write.
	want := fmt.Sprintf("cmdstat_hkeys:calls=%d,", writes+3)
	if stats := rdb.Info(ctx(t), "commandstats").Val(); !strings.Contains(stats, want) {
		t.Errorf("HKEYS calls: want %q in\n%s", want, stats)
	}
}

func TestTTL(t *testing.T) {
	rdb := client(t, srv)
	s := New(rdb)
	id := tenant(t, "a")
	for _, retention := range []int{60, 7} {
		mustWrite(t, s, "2025-03-10", retention, Value{TenantID: id, Metric: "products", Value: 1})
		ttl, err := rdb.TTL(ctx(t), Key(id, "products")).Result()
		if err != nil {
			t.Fatal(err)
		}
		if want := time.Duration(retention+1) * 24 * time.Hour; ttl > want || ttl < want-time.Minute {
			t.Errorf("retention %d: TTL = %v, want %v (retentionDays+1 days)", retention, ttl, want)
		}
	}
}

// TestLegacy covers keys holding the seed's JSON array string.
func TestLegacy(t *testing.T) {
	const today = "2025-01-19"
	rdb := client(t, srv)
	s := New(rdb)
	seed := func(t *testing.T, key string, points []map[string]any) {
		t.Helper()
		raw, err := json.Marshal(points)
		if err != nil {
			t.Fatal(err)
		}
		if err := rdb.Set(ctx(t), key, raw, 60*24*time.Hour).Err(); err != nil {
			t.Fatal(err)
		}
	}
	legacyPoints := []map[string]any{
		{"date": "2024-11-01", "value": 1}, // older than 60 days before today
		{"date": "2025-01-17", "value": 40},
		{"date": "2025-01-18", "value": 41},
	}

	t.Run("write converts and extends", func(t *testing.T) {
		id := tenant(t, "a")
		key := Key(id, "products")
		seed(t, key, legacyPoints)
		mustWrite(t, s, today, 60, Value{TenantID: id, Metric: "products", Value: 42})
		if typ := rdb.Type(ctx(t), key).Val(); typ != "hash" {
			t.Fatalf("TYPE after Write = %s, want hash", typ)
		}
		got := mustRead(t, s, id, []string{"products"}, today, 365)
		want := []Point{{"2025-01-17", 40}, {"2025-01-18", 41}, {"2025-01-19", 42}}
		if !reflect.DeepEqual(got["products"], want) {
			t.Errorf("points = %v, want %v (the point of 2024-11-01 is beyond retention)", got["products"], want)
		}
		if ttl := rdb.TTL(ctx(t), key).Val(); ttl < 60*24*time.Hour {
			t.Errorf("TTL = %v, want 61 days", ttl)
		}
	})

	t.Run("read converts, keeping points and TTL", func(t *testing.T) {
		id := tenant(t, "a")
		key := Key(id, "products")
		seed(t, key, legacyPoints)
		got := mustRead(t, s, id, []string{"products"}, today, 365)
		want := []Point{{"2024-11-01", 1}, {"2025-01-17", 40}, {"2025-01-18", 41}}
		if !reflect.DeepEqual(got["products"], want) {
			t.Errorf("points = %v, want %v", got["products"], want)
		}
		if typ := rdb.Type(ctx(t), key).Val(); typ != "hash" {
			t.Errorf("TYPE after Read = %s, want hash", typ)
		}
		if ttl := rdb.TTL(ctx(t), key).Val(); ttl < 59*24*time.Hour || ttl > 60*24*time.Hour {
			t.Errorf("TTL = %v, want the legacy key's 60 days", ttl)
		}
	})

	t.Run("broken legacy value fails only its key and is kept", func(t *testing.T) {
		bad, good := tenant(t, "bad"), tenant(t, "good")
		badKey := Key(bad, "products")
		if err := rdb.Set(ctx(t), badKey, `{"not":"an array"}`, 0).Err(); err != nil {
			t.Fatal(err)
		}
		err := s.Write(ctx(t), today, 60, []Value{
			{TenantID: bad, Metric: "products", Value: 1},
			{TenantID: bad, Metric: "users", Value: 2},
			{TenantID: good, Metric: "products", Value: 3},
		})
		if want := "history: write " + today + ": redis: 1 of 2 tenants failed: tenant " + bad + ": "; err == nil ||
			!strings.HasPrefix(err.Error(), want) || !strings.Contains(err.Error(), badKey) {
			t.Fatalf("Write err = %v, want one naming %s", err, badKey)
		}
		if v := rdb.Get(ctx(t), badKey).Val(); v != `{"not":"an array"}` {
			t.Errorf("broken legacy key changed to %q", v)
		}
		if got := mustRead(t, s, bad, []string{"users"}, today, 1)["users"]; len(got) != 1 {
			t.Errorf("the tenant's other metric was not written: %v", got)
		}
		if got := mustRead(t, s, good, []string{"products"}, today, 1)["products"]; len(got) != 1 {
			t.Errorf("the other tenant was not written: %v", got)
		}
		if _, err := s.Read(ctx(t), bad, []string{"products"}, today, 1); err == nil || !strings.Contains(err.Error(), badKey) {
			t.Errorf("Read err = %v, want one naming %s", err, badKey)
		}
	})

	t.Run("a key of another type is an error", func(t *testing.T) {
		id := tenant(t, "a")
		key := Key(id, "products")
		if err := rdb.RPush(ctx(t), key, "x").Err(); err != nil {
			t.Fatal(err)
		}
		err := s.Write(ctx(t), today, 60, []Value{{TenantID: id, Metric: "products", Value: 1}})
		if err == nil || !strings.Contains(err.Error(), "holds a list") {
			t.Errorf("Write err = %v, want one saying the key holds a list", err)
		}
	})
}

func TestReadMany(t *testing.T) {
	const today = "2025-03-10"
	s := New(client(t, srv))
	s.readBatch = 3 // several round trips for 4 tenants x 2 metrics
	s.writeBatch = 2
	var ids []string
	var values []Value
	for i := range 4 {
		id := tenant(t, fmt.Sprint(i))
		ids = append(ids, id)
		values = append(values, Value{id, "products", int64(10 * i)}, Value{id, "users", int64(i)})
	}
	mustWrite(t, s, day(t, today, -1), 60, values...)
	for i := range values {
		values[i].Value++
	}
	mustWrite(t, s, today, 60, values...)
	got, err := s.ReadMany(ctx(t), append(ids, ids[0]), []string{"products", "users", "locations"}, today, 30)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(ids) {
		t.Fatalf("ReadMany returned %d tenants, want %d", len(got), len(ids))
	}
	for i, id := range ids {
		want := map[string][]Point{
			"products":  {{"2025-03-09", int64(10 * i)}, {today, int64(10*i + 1)}},
			"users":     {{"2025-03-09", int64(i)}, {today, int64(i + 1)}},
			"locations": {},
		}
		if !reflect.DeepEqual(got[id], want) {
			t.Errorf("tenant %d: %v, want %v", i, got[id], want)
		}
	}
}

func TestInvalidArguments(t *testing.T) {
	s := New(client(t, srv))
	v := []Value{{TenantID: "t", Metric: "m", Value: 1}}
	tests := []struct {
		name string
		err  error
		want string
	}{
		{"write date", s.Write(ctx(t), "19-01-2025", 60, v), `date "19-01-2025" is not YYYY-MM-DD`},
		{"write retention", s.Write(ctx(t), "2025-01-19", 0, v), "retentionDays must be at least 1"},
		{"write empty tenant", s.Write(ctx(t), "2025-01-19", 60, []Value{{Metric: "m"}}), "tenant id and metric must not be empty"},
		{"read date", func() error { _, err := s.Read(ctx(t), "t", []string{"m"}, "2025/01/19", 7); return err }(), "is not YYYY-MM-DD"},
		{"read days", func() error { _, err := s.Read(ctx(t), "t", []string{"m"}, "2025-01-19", 0); return err }(), "days must be at least 1"},
	}
	for _, tt := range tests {
		if tt.err == nil || !strings.Contains(tt.err.Error(), tt.want) {
			t.Errorf("%s: err = %v, want it to contain %q", tt.name, tt.err, tt.want)
		}
		// Bad arguments are found before Redis is asked, so Redis is not blamed.
		if tt.err != nil && strings.Contains(tt.err.Error(), "redis") {
			t.Errorf("%s: err = %v blames Redis for a bad argument", tt.name, tt.err)
		}
	}
	if err := s.Write(ctx(t), "2025-01-19", 60, nil); err != nil {
		t.Errorf("Write of no values: %v", err)
	}
}

// TestScriptCacheFlushed checks that writes survive a server that forgot
// the script (restart, failover, SCRIPT FLUSH).
func TestScriptCacheFlushed(t *testing.T) {
	rdb := client(t, srv)
	s := New(rdb)
	id := tenant(t, "a")
	mustWrite(t, s, "2025-01-18", 60, Value{TenantID: id, Metric: "m", Value: 1})
	if err := rdb.ScriptFlush(ctx(t)).Err(); err != nil {
		t.Fatal(err)
	}
	mustWrite(t, s, "2025-01-19", 60, Value{TenantID: id, Metric: "m", Value: 2})
	if n := len(mustRead(t, s, id, []string{"m"}, "2025-01-19", 2)["m"]); n != 2 {
		t.Errorf("%d points, want 2", n)
	}
}

// TestRedisDown stops the server: errors are returned with context, and a
// retry after the server is back succeeds.
func TestRedisDown(t *testing.T) {
	r, err := testenv.StartRedis()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	s := New(client(t, r))
	v := []Value{{TenantID: "t1", Metric: "products", Value: 7}}
	mustWrite(t, s, "2025-01-18", 60, v...)

	if err := r.Stop(); err != nil {
		t.Fatal(err)
	}
	// The messages say which service failed: "redis: " before what it was asked.
	err = s.Write(ctx(t), "2025-01-19", 60, v)
	const wantWrite = "history: write 2025-01-19: redis: load script: dial tcp " // + addr: connect: connection refused
	if err == nil || !strings.HasPrefix(err.Error(), wantWrite) || !strings.HasSuffix(err.Error(), "connection refused") {
		t.Errorf("Write with Redis down: err = %v, want %q...connection refused", err, wantWrite)
	}
	_, err = s.Read(ctx(t), "t1", []string{"products"}, "2025-01-19", 7)
	const wantRead = "history: read 2025-01-19 (keys 1-1 of 1): redis: dial tcp "
	if err == nil || !strings.HasPrefix(err.Error(), wantRead) || !strings.HasSuffix(err.Error(), "connection refused") {
		t.Errorf("Read with Redis down: err = %v, want %q...connection refused", err, wantRead)
	}

	if err := r.Start(); err != nil {
		t.Fatal(err)
	}
	mustWrite(t, s, "2025-01-19", 60, v...)
	got := mustRead(t, s, "t1", []string{"products"}, "2025-01-19", 7)
	if want := []Point{{"2025-01-19", 7}}; !reflect.DeepEqual(got["products"], want) {
		t.Errorf("after restart (the test server keeps no data) points = %v, want %v", got["products"], want)
	}
}

// TestMemoryUsage measures a full key: 60 dates, a 36-character tenant id.
// The size is deterministic for a given Redis version and value width.
func TestMemoryUsage(t *testing.T) {
	const today = "2025-03-10"
	rdb := client(t, srv)
	s := New(rdb)
	for i, tc := range []struct {
		name  string
		value func(i int) int64
	}{
		{"2-digit values", func(i int) int64 { return int64(40 + i/3) }},
		{"6-digit values", func(i int) int64 { return int64(100000 + 137*i) }},
		{"values near 2^31", func(i int) int64 { return int64(2_000_000_000 + i) }},
	} {
		id := fmt.Sprintf("3fa85f64-5717-4562-b3fc-%012d", len(tc.name)*10+i)
		for i := 59; i >= 0; i-- {
			mustWrite(t, s, day(t, today, -i), 60, Value{TenantID: id, Metric: "products", Value: tc.value(i)})
		}
		key := Key(id, "products")
		if n := rdb.HLen(ctx(t), key).Val(); n != 61 {
			t.Fatalf("%s: %d fields, want 60 dates and the mark", tc.name, n)
		}
		size, err := rdb.MemoryUsage(ctx(t), key).Result()
		if err != nil {
			t.Fatal(err)
		}
		enc := rdb.ObjectEncoding(ctx(t), key).Val()
		t.Logf("MEMORY USAGE %s (60 points, %s): %d bytes, encoding %s", key, tc.name, size, enc)
		if size > 1024 {
			t.Errorf("%s: %d bytes, want <= 1024", tc.name, size)
		}
		// The most a key holds with retention 60: 61 dates.
		mustWrite(t, s, day(t, today, 1), 60, Value{TenantID: id, Metric: "products", Value: tc.value(0)})
		if n := rdb.HLen(ctx(t), key).Val(); n != 62 {
			t.Fatalf("%s: %d fields, want 61 dates and the mark", tc.name, n)
		}
		if size61 := rdb.MemoryUsage(ctx(t), key).Val(); size61 > 1024 {
			t.Errorf("%s, 61 points: %d bytes, want <= 1024", tc.name, size61)
		}
		if enc != "listpack" && enc != "ziplist" {
			t.Errorf("%s: encoding %s, want listpack", tc.name, enc)
		}
	}
}

// TestNoScriptFallback runs a batch against a server that does not know the
// script (it lost its cache between Write's SCRIPT LOAD and the batch).
func TestNoScriptFallback(t *testing.T) {
	rdb := client(t, srv)
	s := New(rdb)
	if err := rdb.ScriptFlush(ctx(t)).Err(); err != nil {
		t.Fatal(err)
	}
	id := tenant(t, "a")
	calls, err := groupByTenant([]Value{{TenantID: id, Metric: "m", Value: 5}})
	if err != nil {
		t.Fatal(err)
	}
	retry, fault, errs, err := s.evalBatch(ctx(t), calls, writeArgs{field: "20250119", oldest: "20241120", ttl: "100"})
	if err != nil || len(errs) != 0 || len(retry) != 0 || fault != nil {
		t.Fatalf("evalBatch: %v %v (retry %d: %v)", err, errs, len(retry), fault)
	}
	if got := mustRead(t, s, id, []string{"m"}, "2025-01-19", 1)["m"]; !reflect.DeepEqual(got, []Point{{"2025-01-19", 5}}) {
		t.Errorf("points = %v", got)
	}
}

// TestCluster runs writes, reads and a legacy conversion on a 3-master
// Redis Cluster: one script call per tenant works because a tenant's keys
// share a hash slot.
func TestCluster(t *testing.T) {
	c, err := testenv.StartRedisCluster(3)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	rdb := redis.NewClusterClient(&redis.ClusterOptions{Addrs: c.Addrs})
	defer func() { _ = rdb.Close() }()
	s := New(rdb)
	s.writeBatch, s.readBatch = 40, 100

	var ids []string
	var values []Value
	for i := range 200 {
		id := fmt.Sprintf("tenant-%03d", i)
		ids = append(ids, id)
		for k, m := range []string{"products", "users", "api_calls"} {
			values = append(values, Value{TenantID: id, Metric: m, Value: int64(i*10 + k)})
		}
	}
	legacyKey := Key(ids[7], "products")
	if err := rdb.Set(ctx(t), legacyKey, `[{"date":"2025-01-18","value":1}]`, 0).Err(); err != nil {
		t.Fatal(err)
	}
	legacyRead := Key(ids[8], "locations")
	if err := rdb.Set(ctx(t), legacyRead, `[{"date":"2025-01-19","value":3}]`, 0).Err(); err != nil {
		t.Fatal(err)
	}
	mustWrite(t, s, "2025-01-19", 60, values...)
	// Each master holds some of the keys.
	masters := 0
	if err := rdb.ForEachMaster(ctx(t), func(ctx context.Context, node *redis.Client) error {
		if node.DBSize(ctx).Val() > 0 {
			masters++
		}
		return nil
	}); err != nil || masters != 3 {
		t.Fatalf("keys on %d masters (%v), want 3", masters, err)
	}
	got, err := s.ReadMany(ctx(t), ids, []string{"products", "users", "api_calls", "locations"}, "2025-01-19", 2)
	if err != nil {
		t.Fatal(err)
	}
	for i, id := range ids {
		want := map[string][]Point{
			"products":  {{"2025-01-19", int64(i * 10)}},
			"users":     {{"2025-01-19", int64(i*10 + 1)}},
			"api_calls": {{"2025-01-19", int64(i*10 + 2)}},
			"locations": {},
		}
		switch i {
		case 7:
			want["products"] = []Point{{"2025-01-18", 1}, {"2025-01-19", 70}}
		case 8:
			want["locations"] = []Point{{"2025-01-19", 3}}
		}
		if !reflect.DeepEqual(got[id], want) {
			t.Errorf("%s: %v, want %v", id, got[id], want)
		}
	}
}
