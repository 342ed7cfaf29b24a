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

package forecast

import (
	"encoding/binary"
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/bakery-ia/subscription-operator/internal/testenv/cputime"
)

// FuzzCompute feeds arbitrary histories, limits and thresholds to Compute
// and checks the invariants the CRD status and JSON API rely on: no panic,
// no NaN or Inf anywhere, days never negative, and the optional fields
// consistent with each other.
func FuzzCompute(f *testing.F) {
	f.Add([]byte{0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 0, 0, 0}, int64(50), true, false, 7, int64(20107), 80, 90, 14, 7)
	f.Add([]byte{}, int64(0), true, true, 0, int64(0), 0, 0, 0, 0)
	f.Add([]byte{255, 255, 255, 255, 255, 255, 255, 255, 127, 3, 0, 0, 0, 0, 0, 0, 0, 128}, int64(math.MaxInt64), true, false, 1, int64(-1), 1, 1, 1, 1)
	f.Add([]byte{9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9}, int64(math.MinInt64), true, true, 2, int64(math.MaxInt32), -5, 200, -1, 100000)
	f.Fuzz(func(t *testing.T, data []byte, limit int64, hasLimit, theilSen bool, minHistory int, today int64, wp, cp, wd, cd int) {
		// Each point is 9 bytes: a day offset (int8, so duplicates and any
		// order happen often) and an int64 value.
		var pts []Point
		base := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
		for len(data) >= 9 {
			pts = append(pts, Point{
				Date:  base.AddDate(0, 0, int(int8(data[0]))),
				Value: int64(binary.LittleEndian.Uint64(data[1:9])),
			})
			data = data[9:]
		}
		// Today anywhere within a few million years of 1970.
		in := Input{
			Metric: "m", Points: pts, MinHistoryDays: minHistory,
			Today:      time.Unix((today%1e9)*secondsPerDay, 0).UTC(),
			Thresholds: Thresholds{WarningPercent: wp, CriticalPercent: cp, WarningDays: wd, CriticalDays: cd},
		}
		if hasLimit {
			in.Limit = &limit
		}
		if theilSen {
			in.Method = TheilSen
		}
		r := Compute(in)
		checkWindow(t, in, r)

		finite := func(name string, p *float64) {
			if p != nil && (math.IsNaN(*p) || math.IsInf(*p, 0)) {
				t.Fatalf("%s = %v", name, *p)
			}
		}
		finite("DailyGrowthRate", r.DailyGrowthRate)
		finite("UsagePercentage", r.UsagePercentage)
		if (r.DaysUntilBreach == nil) != (r.PredictedBreachDate == nil) {
			t.Fatalf("days %v and date %v disagree on nil", r.DaysUntilBreach, r.PredictedBreachDate)
		}
		if d := r.DaysUntilBreach; d != nil {
			if *d < 0 || *d > maxBreachDays {
				t.Fatalf("DaysUntilBreach = %d", *d)
			}
			want := time.Unix((dayNumber(in.Today)+int64(*d))*secondsPerDay, 0).UTC()
			if !r.PredictedBreachDate.Equal(want) {
				t.Fatalf("PredictedBreachDate = %v, want Today+%d = %v", r.PredictedBreachDate, *d, want)
			}
		}
		if hasLimit != (r.UsagePercentage != nil) || hasLimit != (r.Limit != nil) {
			t.Fatalf("limit %v but percentage %v", hasLimit, r.UsagePercentage)
		}
		switch r.Status {
		case Unlimited:
			if hasLimit {
				t.Fatalf("Unlimited with a limit")
			}
		case Safe, Warning, Critical:
			if !hasLimit {
				t.Fatalf("%s without a limit", r.Status)
			}
			if r.Current >= limit && r.Status != Critical {
				t.Fatalf("at/over limit (%d >= %d) but %s", r.Current, limit, r.Status)
			}
		default:
			t.Fatalf("unknown status %q", r.Status)
		}
		for _, m := range []Method{Linear, TheilSen} {
			if s, ok := Slope(pts, m); ok && (math.IsNaN(s) || math.IsInf(s, 0)) {
				t.Fatalf("Slope(%s) = %v", m, s)
			}
		}
	})
}

// tenant builds the history of one tenant: metrics x days of sorted daily
// points, as the history store returns them (60-day retention).
func tenant(metrics, days int, method Method) []Input {
	ins := make([]Input, metrics)
	start := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	for m := range ins {
		pts := make([]Point, days)
		for d := range pts {
			pts[d] = Point{Date: start.AddDate(0, 0, d), Value: int64(100*m + 3*d + (d*7919)%5)}
		}
		limit := int64(100*m + 400)
		ins[m] = Input{
			Metric: fmt.Sprintf("metric%d", m), Limit: &limit, Points: pts,
			Today: start.AddDate(0, 0, days-1), Method: method, MinHistoryDays: 7,
			Thresholds: seedThresholds,
		}
	}
	return ins
}

var sink Summary

func benchTenant(b *testing.B, ins []Input) {
	results := make([]Result, len(ins))
	b.ReportAllocs()
	cpu0 := cputime.Process()
	for b.Loop() {
		for i := range ins {
			results[i] = Compute(ins[i])
		}
		sink = Summarize(results)
	}
	b.ReportMetric(float64(cputime.Process()-cpu0)/float64(b.N), "cpu-ns/op")
}

// BenchmarkComputeTenant is one tenant's forecast as the controller does it:
// 9 metrics x 60 days, sorted input, the default Linear method, the
// breach window at the default confidence, plus the summary. Target:
// <= 20 µs per op. cpu-ns/op is the process's CPU time per op, the
// figure to read on a loaded machine.
func BenchmarkComputeTenant(b *testing.B) {
	benchTenant(b, tenant(9, 60, Linear))
}

// BenchmarkComputeTenantTheilSen is the same tenant with the robust method,
// whose cost grows with the square of the history length.
func BenchmarkComputeTenantTheilSen(b *testing.B) {
	benchTenant(b, tenant(9, 60, TheilSen))
}

// BenchmarkComputeTenantUnsorted measures the copy-sort-dedupe path taken
// when a caller's points are not in date order.
func BenchmarkComputeTenantUnsorted(b *testing.B) {
	ins := tenant(9, 60, Linear)
	for _, in := range ins {
		for i, j := 0, len(in.Points)-1; i < j; i, j = i+1, j-1 {
			in.Points[i], in.Points[j] = in.Points[j], in.Points[i]
		}
	}
	benchTenant(b, ins)
}
