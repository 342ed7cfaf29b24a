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
	"fmt"
	"testing"
	"time"

	"github.com/bakery-ia/subscription-operator/internal/testenv/cputime"
)

// reportCPU reports the CPU per op of this process and of redis-server
// (children of this test process) since the readings before.
func reportCPU(b *testing.B, self0 time.Duration, kids0 map[string]time.Duration) {
	self, kids := cputime.Process()-self0, cputime.Children()["redis-server"]-kids0["redis-server"]
	b.ReportMetric(float64(self.Microseconds())/float64(b.N), "go-cpu-us/op")
	b.ReportMetric(float64(kids.Microseconds())/float64(b.N), "redis-cpu-us/op")
}

// benchMetrics are the nine metrics of the scale benchmark's policy.
var benchMetrics = []string{"m1", "m2", "m3", "m4", "m5", "m6", "m7", "m8", "m9"}

// benchStore fills 61 days (a full retention window) of nine metrics with
// six-digit values for tenants tenants and returns the store and the last day.
func benchStore(b *testing.B, tenants int) (*Store, []string, string) {
	b.Helper()
	s := New(client(b, srv))
	ids := make([]string, tenants)
	for i := range ids {
		ids[i] = fmt.Sprintf("bench-read-%d-%06d", tenants, i)
	}
	start := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	var last string
	for d := range 61 {
		last = start.AddDate(0, 0, d).Format(DateLayout)
		values := make([]Value, 0, tenants*len(benchMetrics))
		for i, id := range ids {
			for j, m := range benchMetrics {
				values = append(values, Value{TenantID: id, Metric: m, Value: int64(100000 + i*7 + j*13 + d*101)})
			}
		}
		if err := s.Write(context.Background(), last, 60, values); err != nil {
			b.Fatal(err)
		}
	}
	return s, ids, last
}

// BenchmarkRead is one forecast API request's history read: nine metrics of
// one tenant, the 30-day trend window of keys holding 61 dates.
func BenchmarkRead(b *testing.B) {
	s, ids, today := benchStore(b, 100)
	ctx := context.Background()
	b.ReportAllocs()
	self0, kids0 := cputime.Process(), cputime.Children()
	i := 0
	for b.Loop() {
		got, err := s.Read(ctx, ids[i%len(ids)], benchMetrics, today, 30)
		if err != nil {
			b.Fatal(err)
		}
		if len(got["m9"]) != 30 {
			b.Fatalf("read %d points, want 30", len(got["m9"]))
		}
		i++
	}
	reportCPU(b, self0, kids0)
}

// BenchmarkReadManyWindow is the manager's read-ahead after a run: nine
// metrics of 1,000 tenants, the whole 60-day window.
func BenchmarkReadManyWindow(b *testing.B) {
	s, ids, today := benchStore(b, 1000)
	ctx := context.Background()
	b.ReportAllocs()
	self0, kids0 := cputime.Process(), cputime.Children()
	for b.Loop() {
		got, err := s.ReadMany(ctx, ids, benchMetrics, today, 60)
		if err != nil {
			b.Fatal(err)
		}
		if len(got[ids[0]]["m1"]) != 60 {
			b.Fatalf("read %d points, want 60", len(got[ids[0]]["m1"]))
		}
	}
	reportCPU(b, self0, kids0)
}
