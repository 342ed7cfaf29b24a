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
	"math"
	"math/rand/v2"
	"testing"
	"time"
)

// days returns the whole days from today to t, or -1 for nil.
func daysFrom(today time.Time, t *time.Time) int {
	if t == nil {
		return -1
	}
	return int(dayNumber(*t) - dayNumber(today))
}

func TestTQuantileMatchesTables(t *testing.T) {
	// Two-sided critical values from any t table.
	for _, tc := range []struct {
		c    float64
		df   int
		want float64
	}{
		{0.8, 3, 1.638}, {0.8, 10, 1.372}, {0.9, 5, 2.015}, {0.95, 5, 2.571},
		{0.95, 30, 2.042}, {0.99, 2, 9.925}, {0.5, 1, 1.000},
	} {
		if got := tQuantile(tc.c, tc.df); math.Abs(got-tc.want) > 0.0015 {
			t.Errorf("t(%v, %d) = %.4f, want %.3f", tc.c, tc.df, got, tc.want)
		}
	}
}

func TestBreachWindowTable(t *testing.T) {
	today := date("2025-01-05")
	// The noisy line: x = 0..4, y = 0 3 4 7 8. By hand: mean x 2, Sxx 10,
	// mean y 4.4, Sxy 20, slope 2; fitted 0.4 2.4 4.4 6.4 8.4, residuals
	// -.4 .6 -.4 .6 -.4, SSE 1.2, s^2 = 1.2/3 = 0.4, t(0.9, 3) = 1.6377,
	// so the half-width at k days after the last point is
	// 1.0358*sqrt(1.2 + (2+k)^2/10). Limit 30, current 8: the point
	// estimate is ceil(22/2) = 11; upper 2k + half reaches 22 first at
	// k = 10 (21.78 at 9, 24.09 at 10); lower 2k - half at k = 14
	// (20.96 at 13, 22.64 at 14).
	noisy := daily("2025-01-01", 0, 3, 4, 7, 8)
	// Theil-Sen on the same points: slopes 1 1 5/3 2 2 2 2 7/3 3 3, median
	// 2; Var S = 5*4*15/18 = 16.67, C = 1.2816*4.082 = 5.23, ranks
	// round(2.38) = 2 and round(7.62)+1 = 9 (1-based): bounds 1 and 3, so
	// earliest ceil(22/3) = 8 and latest ceil(22/1) = 22.

	// An exact line with slope 1/3 (a point every third day): the
	// published rate is 0.33, so the point estimate is ceil(10/0.33) = 31,
	// and the window is that single day, not the exact line's day 30.
	third := at("2024-12-18", []int{0, 3, 6, 9, 12, 15, 18}, []int64{0, 1, 2, 3, 4, 5, 6})

	for _, tc := range []struct {
		name          string
		points        []Point
		limit         int64
		method        Method
		minHistory    int
		conf          float64
		wantPoint     int
		wantE, wantL  int
		wantStatusExp Status
	}{
		{name: "exact line", points: daily("2024-12-27", 20, 30, 40, 50, 60, 70, 80, 90, 100, 110), limit: 200,
			wantPoint: 9, wantE: 9, wantL: 9},
		{name: "exact line, limit reached exactly on a day", points: daily("2025-01-01", 0, 10, 20, 30, 40), limit: 100,
			wantPoint: 6, wantE: 6, wantL: 6},
		{name: "exact line, rate rounded", points: third, limit: 16, wantPoint: 31, wantE: 31, wantL: 31},
		{name: "noisy line", points: noisy, limit: 30, conf: 0.8, wantPoint: 11, wantE: 10, wantL: 14},
		{name: "noisy line, Theil-Sen", points: noisy, limit: 30, method: TheilSen, wantPoint: 11, wantE: 8, wantL: 22},
		{name: "flat", points: daily("2025-01-01", 5, 5, 5, 5, 5), limit: 30, wantPoint: -1, wantE: -1, wantL: -1},
		{name: "falling", points: daily("2025-01-01", 9, 8, 7, 6, 5), limit: 30, wantPoint: -1, wantE: -1, wantL: -1},
		{name: "two points: no residuals to estimate noise from", points: daily("2025-01-04", 10, 20), limit: 50,
			minHistory: 2, wantPoint: 3, wantE: -1, wantL: -1},
		{name: "below minHistoryDays", points: noisy, limit: 30, minHistory: 7, wantPoint: -1, wantE: -1, wantL: -1},
		{name: "already at the limit", points: noisy, limit: 8, wantPoint: 0, wantE: 0, wantL: 0},
		{name: "beyond the horizon", points: noisy, limit: math.MaxInt64, wantPoint: -1, wantE: -1, wantL: -1},
		// A rate of 0.25/day against residuals of about 10: the lower bound
		// never catches up with the limit (the interval widens faster than
		// the line rises), so there is no latest date; ceil(99/0.25) = 396.
		{name: "slope not significant: no latest", points: daily("2024-12-30", 0, 20, 0, 21, 0, 22, 1), limit: 100,
			wantPoint: 396, wantE: 24, wantL: -1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			mh := tc.minHistory
			if mh == 0 {
				mh = 2
			}
			r := Compute(Input{Metric: "m", Limit: &tc.limit, Points: tc.points, Today: today,
				Method: tc.method, MinHistoryDays: mh, Confidence: tc.conf})
			if got := daysFrom(today, r.PredictedBreachDate); got != tc.wantPoint {
				t.Errorf("point = %d, want %d", got, tc.wantPoint)
			}
			if got := daysFrom(today, r.EarliestBreachDate); got != tc.wantE {
				t.Errorf("earliest = %d, want %d", got, tc.wantE)
			}
			if got := daysFrom(today, r.LatestBreachDate); got != tc.wantL {
				t.Errorf("latest = %d, want %d", got, tc.wantL)
			}
		})
	}
}

func TestBasisEarliestColoursByPessimisticEnd(t *testing.T) {
	today := date("2025-01-05")
	limit := int64(30)
	in := Input{Metric: "m", Limit: &limit, Points: daily("2025-01-01", 0, 3, 4, 7, 8), Today: today,
		MinHistoryDays: 2, Thresholds: Thresholds{WarningDays: 10}}
	// Point estimate: 11 days (safe under a 10-day warning); earliest: 10.
	if got := Compute(in).Status; got != Safe {
		t.Errorf("expected basis: %s, want safe", got)
	}
	in.Basis = BasisExpected
	if got := Compute(in).Status; got != Safe {
		t.Errorf("explicit expected basis: %s, want safe", got)
	}
	in.Basis = BasisEarliest
	r := Compute(in)
	if r.Status != Warning {
		t.Errorf("earliest basis: %s, want warning", r.Status)
	}
	// The summary carries the deciding metric's window, as copies.
	sum := Summarize([]Result{r})
	if sum.EarliestBreachDate == nil || !sum.EarliestBreachDate.Equal(*r.EarliestBreachDate) ||
		sum.LatestBreachDate == nil || !sum.LatestBreachDate.Equal(*r.LatestBreachDate) ||
		sum.EarliestBreachDate == r.EarliestBreachDate {
		t.Errorf("summary window %v..%v, metric %v..%v", sum.EarliestBreachDate, sum.LatestBreachDate, r.EarliestBreachDate, r.LatestBreachDate)
	}
}

// TestWindowDefaultsKeepExistingResults: the new options at their defaults
// change none of the fields that existed before the window.
func TestWindowDefaultsKeepExistingResults(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	for i := range 500 {
		in := randomInput(rng, Linear)
		if i%2 == 1 {
			in.Method = TheilSen
		}
		a := Compute(in)
		in.Confidence, in.Basis = 0.95, BasisExpected
		b := Compute(in)
		a.EarliestBreachDate, a.LatestBreachDate, b.EarliestBreachDate, b.LatestBreachDate = nil, nil, nil, nil
		if !sameResult(a, b) {
			t.Fatalf("confidence changed the point forecast:\n%+v\n%+v", a, b)
		}
		// The slope behind the window is bit for bit the one behind the rate.
		pts := normalize(in.Points)
		if len(pts) >= 2 {
			s1, _ := slopeSorted(pts, in.Method)
			s2, _, _ := fitSorted(pts, in.Method, 0.8)
			if s1 != s2 && !(math.IsNaN(s1) && math.IsNaN(s2)) {
				t.Fatalf("fitSorted slope %v != slopeSorted %v", s2, s1)
			}
		}
	}
}

func sameResult(a, b Result) bool {
	eqF := func(x, y *float64) bool { return (x == nil) == (y == nil) && (x == nil || *x == *y) }
	eqI := func(x, y *int) bool { return (x == nil) == (y == nil) && (x == nil || *x == *y) }
	eqT := func(x, y *time.Time) bool { return (x == nil) == (y == nil) && (x == nil || x.Equal(*y)) }
	return a.Current == b.Current && a.Status == b.Status && eqF(a.DailyGrowthRate, b.DailyGrowthRate) &&
		eqF(a.UsagePercentage, b.UsagePercentage) && eqI(a.DaysUntilBreach, b.DaysUntilBreach) &&
		eqT(a.PredictedBreachDate, b.PredictedBreachDate)
}

// randomInput is a noisy, mostly rising history of 3 to 60 days with a
// limit somewhat above the current value.
func randomInput(rng *rand.Rand, m Method) Input {
	n := 3 + rng.IntN(58)
	slope := rng.Float64()*20 - 2
	noise := rng.Float64() * 30
	vals := make([]int64, n)
	for i := range vals {
		vals[i] = int64(1000 + slope*float64(i) + noise*rng.NormFloat64())
	}
	pts := daily("2025-01-01", vals...)
	limit := vals[n-1] + 1 + rng.Int64N(2000)
	return Input{Metric: "m", Limit: &limit, Points: pts, Today: pts[n-1].Date, Method: m, MinHistoryDays: 2}
}

// bruteLinearWindow scans day by day with the formula, as a reader would.
func bruteLinearWindow(in Input, r Result, c float64) (int, int) {
	pts := normalize(in.Points)
	_, sp := linearSpread(pts, c)
	cents := math.Round(*r.DailyGrowthRate * 100)
	need := (float64(*in.Limit) - float64(r.Current)) * 100
	e, l := -1, -1
	for k := 1; k <= 20000; k++ {
		u := sp.xl + float64(k) - sp.mx
		h := sp.ts * 100 * math.Sqrt(1+1/sp.n+u*u/sp.sxx)
		if e < 0 && cents*float64(k)+h >= need {
			e = k
		}
		if l < 0 && cents*float64(k)-h >= need {
			l = k
		}
	}
	return e, l
}

func TestWindowProperties(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range 3000 {
		m := Linear
		if i%3 == 0 {
			m = TheilSen
		}
		in := randomInput(rng, m)
		var prevE, prevL int
		for j, c := range []float64{0.99, 0.95, 0.9, 0.8, 0.65, 0.5} {
			in.Confidence = c
			r := Compute(in)
			p := daysFrom(in.Today, r.PredictedBreachDate)
			e, l := daysFrom(in.Today, r.EarliestBreachDate), daysFrom(in.Today, r.LatestBreachDate)
			if e >= 0 && p >= 0 && e > p {
				t.Fatalf("case %d c=%v: earliest %d after point %d", i, c, e, p)
			}
			if l >= 0 && p >= 0 && l < p {
				t.Fatalf("case %d c=%v: latest %d before point %d", i, c, l, p)
			}
			if p >= 0 && e < 0 && r.DailyGrowthRate != nil && len(in.Points) >= 3 && m == Linear {
				t.Fatalf("case %d c=%v: point %d but no earliest", i, c, p)
			}
			if m == Linear && r.DailyGrowthRate != nil && *r.DailyGrowthRate > 0 && e >= 0 && e < 20000 {
				be, bl := bruteLinearWindow(in, r, c)
				if bl > 20000-1 {
					bl = -1
				}
				if be != e || (l < 20000 && bl != l) {
					t.Fatalf("case %d c=%v: window (%d, %d), day-by-day scan (%d, %d)", i, c, e, l, be, bl)
				}
			}
			// Lower confidence: a window inside the wider one.
			if j > 0 && e >= 0 && prevE >= 0 && e < prevE {
				t.Fatalf("case %d: earliest moved earlier (%d -> %d) as c fell to %v", i, prevE, e, c)
			}
			if j > 0 && l >= 0 && prevL >= 0 && l > prevL {
				t.Fatalf("case %d: latest moved later (%d -> %d) as c fell to %v", i, prevL, l, c)
			}
			if j > 0 && prevL < 0 && prevE >= 0 && e < 0 {
				t.Fatalf("case %d: window vanished as c fell to %v", i, c)
			}
			prevE, prevL = e, l
		}
	}
}

// TestWindowNarrowsAsHistoryGrows: the same trend with the same repeating
// noise, observed for longer, gives a window that does not widen.
func TestWindowNarrowsAsHistoryGrows(t *testing.T) {
	noise := []int64{0, 7, -5, 3, -6, 4, -2, 6}
	for _, m := range []Method{Linear, TheilSen} {
		prevW := math.MaxInt
		for _, n := range []int{8, 16, 24, 32, 48, 64} {
			vals := make([]int64, n)
			for i := range vals {
				vals[i] = 100 + 5*int64(i) + noise[i%len(noise)]
			}
			pts := daily("2025-01-01", vals...)
			limit := vals[n-1] + 200
			r := Compute(Input{Metric: "m", Limit: &limit, Points: pts, Today: pts[n-1].Date, Method: m, MinHistoryDays: 2})
			e, l := daysFrom(pts[n-1].Date, r.EarliestBreachDate), daysFrom(pts[n-1].Date, r.LatestBreachDate)
			if e < 0 || l < 0 {
				t.Fatalf("%s n=%d: no window (%d, %d)", m, n, e, l)
			}
			if w := l - e; w > prevW {
				t.Errorf("%s n=%d: width %d > %d with less history", m, n, w, prevW)
			} else {
				prevW = w
			}
		}
		if prevW > 4 {
			t.Errorf("%s: 64 days of a clear trend still give a %d-day window", m, prevW)
		}
	}
}

// checkWindow asserts the window invariants the status and the JSON API
// rely on, for any input.
func checkWindow(t *testing.T, in Input, r Result) {
	t.Helper()
	e, l, p := r.EarliestBreachDate, r.LatestBreachDate, r.PredictedBreachDate
	for name, d := range map[string]*time.Time{"earliest": e, "latest": l} {
		if d == nil {
			continue
		}
		if p == nil && r.DailyGrowthRate == nil && (r.Limit == nil || r.Current < *r.Limit) {
			t.Fatalf("%s %v without a growth rate", name, d)
		}
		k := dayNumber(*d) - dayNumber(in.Today)
		if k < 0 || k > maxBreachDays {
			t.Fatalf("%s is %d days from today", name, k)
		}
	}
	if e != nil && l != nil && e.After(*l) {
		t.Fatalf("earliest %v after latest %v", e, l)
	}
	if p != nil && e != nil && e.After(*p) {
		t.Fatalf("earliest %v after point %v", e, p)
	}
	if p != nil && l != nil && l.Before(*p) {
		t.Fatalf("latest %v before point %v", l, p)
	}
	if e == nil && l != nil {
		t.Fatalf("latest %v without an earliest", l)
	}
}

// FuzzWindow drives the window with arbitrary histories, limits,
// confidences and bases: no panic, the invariants of checkWindow, and a
// status that never gets milder under the earliest basis.
func FuzzWindow(f *testing.F) {
	f.Add([]byte{0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 3, 0, 0, 0, 0, 0, 0, 0, 2, 4, 0, 0, 0, 0, 0, 0, 0}, int64(30), 0.8, false, int64(20090))
	f.Add([]byte{0, 1, 0, 0, 0, 0, 0, 0, 0, 9, 2, 0, 0, 0, 0, 0, 0, 0, 200, 9, 0, 0, 0, 0, 0, 0, 0}, int64(math.MaxInt64), 0.99, true, int64(0))
	f.Add([]byte{1, 255, 255, 255, 255, 255, 255, 255, 127, 2, 0, 0, 0, 0, 0, 0, 0, 128, 3, 5, 5, 5, 5, 5, 5, 5, 5}, int64(-1), math.NaN(), false, int64(-5))
	f.Add([]byte{0, 5, 0, 0, 0, 0, 0, 0, 0, 1, 5, 0, 0, 0, 0, 0, 0, 0, 2, 6, 0, 0, 0, 0, 0, 0, 0}, int64(7), math.Inf(1), true, int64(20000))
	f.Fuzz(func(t *testing.T, data []byte, limit int64, c float64, theilSen bool, today int64) {
		var pts []Point
		base := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
		for len(data) >= 9 {
			v := int64(0)
			for i := 1; i < 9; i++ {
				v |= int64(data[i]) << (8 * (i - 1))
			}
			pts = append(pts, Point{Date: base.AddDate(0, 0, int(int8(data[0]))), Value: v})
			data = data[9:]
		}
		in := Input{Metric: "m", Limit: &limit, Points: pts, MinHistoryDays: 2, Confidence: c,
			Today:      time.Unix((today%1e9)*secondsPerDay, 0).UTC(),
			Thresholds: Thresholds{WarningPercent: 80, CriticalPercent: 90, WarningDays: 14, CriticalDays: 7}}
		if theilSen {
			in.Method = TheilSen
		}
		r := Compute(in)
		checkWindow(t, in, r)
		in.Basis = BasisEarliest
		re := Compute(in)
		checkWindow(t, in, re)
		if severity(re.Status) < severity(r.Status) {
			t.Fatalf("earliest basis %s milder than expected basis %s", re.Status, r.Status)
		}
	})
}
