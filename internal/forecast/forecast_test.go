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
	"math/big"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

// date parses a calendar date as midnight UTC.
func date(s string) time.Time {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		panic(err)
	}
	return t
}

// daily returns consecutive daily points starting at start.
func daily(start string, values ...int64) []Point {
	d := date(start)
	pts := make([]Point, len(values))
	for i, v := range values {
		pts[i] = Point{Date: d.AddDate(0, 0, i), Value: v}
	}
	return pts
}

// at returns points at the given day offsets from start.
func at(start string, offsets []int, values []int64) []Point {
	d := date(start)
	pts := make([]Point, len(values))
	for i, v := range values {
		pts[i] = Point{Date: d.AddDate(0, 0, offsets[i]), Value: v}
	}
	return pts
}

// spikeThenFlat is first followed by n-1 copies of rest.
func spikeThenFlat(first, rest int64, n int) []int64 {
	v := slices.Repeat([]int64{rest}, n)
	v[0] = first
	return v
}

func ptr[T any](v T) *T { return &v }

// seedThresholds are the seed's defaults: warn at 80 % or 14 days left,
// critical at 90 % or 7 days left.
var seedThresholds = Thresholds{WarningPercent: 80, CriticalPercent: 90, WarningDays: 14, CriticalDays: 7}

// seedSeries rises 0.5 a day as whole numbers (28, 28, 29, 29, ... 35). With
// an odd number of points the step pattern is symmetric about the middle, so
// the least-squares slope is exactly 0.5, as in the seed's example response.
func seedSeries() []Point {
	v := make([]int64, 15)
	for i := range v {
		v[i] = 28 + int64(i)/2
	}
	return daily("2025-01-05", v...)
}

func TestCompute(t *testing.T) {
	spike := daily("2025-01-01", 100, 101, 102, 103, 104, 105, 106, 107, 108, 109, 110, 111, 312, 113, 114)
	gaps := at("2025-01-01", []int{0, 1, 5, 6, 10}, []int64{10, 12, 20, 22, 30})
	noisy := daily("2025-01-01", 102, 102, 106, 112, 110, 116, 115, 123, 124, 126, 131, 131, 139, 139, 141, 147, 145, 152, 154, 156)

	tests := []struct {
		name       string
		in         Input
		current    int64
		rate       *float64
		breach     string // "" = nil
		days       *int
		pct        *float64
		status     Status
		thresholds *Thresholds
	}{
		{
			name:    "seed example: 0.5/day to 35 of 50",
			in:      Input{Limit: ptr[int64](50), Points: seedSeries(), Today: date("2025-01-19")},
			current: 35, rate: ptr(0.5), breach: "2025-02-18", days: ptr(30), pct: ptr(70.0), status: Safe,
		},
		{
			name:    "flat: no breach",
			in:      Input{Limit: ptr[int64](50), Points: daily("2025-01-01", 20, 20, 20, 20, 20, 20, 20, 20, 20, 20), Today: date("2025-01-10")},
			current: 20, rate: ptr(0.0), pct: ptr(40.0), status: Safe,
		},
		{
			name:    "declining: no breach, warning from percentage alone",
			in:      Input{Limit: ptr[int64](50), Points: daily("2025-01-01", 49, 48, 47, 46, 45, 44, 43, 42, 41, 40), Today: date("2025-01-10")},
			current: 40, rate: ptr(-1.0), pct: ptr(80.0), status: Warning,
		},
		{
			// Expected slope 787/266 = 2.9586... from the closed form in
			// exact rationals (see TestLeastSquaresMatchesExactRational).
			name:    "noisy: 3/day with noise",
			in:      Input{Limit: ptr[int64](200), Points: noisy, Today: date("2025-01-20")},
			current: 156, rate: ptr(2.96), breach: "2025-02-04", days: ptr(15), pct: ptr(78.0), status: Safe,
		},
		{
			name:    "one-day spike pulls the linear slope",
			in:      Input{Limit: ptr[int64](150), Points: spike, Today: date("2025-01-15"), Method: Linear},
			current: 114, rate: ptr(4.57), breach: "2025-01-23", days: ptr(8), pct: ptr(76.0), status: Warning,
		},
		{
			name:    "one-day spike is ignored by Theil-Sen",
			in:      Input{Limit: ptr[int64](150), Points: spike, Today: date("2025-01-15"), Method: TheilSen},
			current: 114, rate: ptr(1.0), breach: "2025-02-20", days: ptr(36), pct: ptr(76.0), status: Safe,
		},
		{
			// Slope over actual dates is 2/day; over point indexes it would
			// be 5/day.
			name:    "gaps in dates use real day distances",
			in:      Input{Limit: ptr[int64](100), Points: gaps, Today: date("2025-01-11"), MinHistoryDays: 5},
			current: 30, rate: ptr(2.0), breach: "2025-02-15", days: ptr(35), pct: ptr(30.0), status: Safe,
		},
		{
			name:    "gaps, Theil-Sen",
			in:      Input{Limit: ptr[int64](100), Points: gaps, Today: date("2025-01-11"), MinHistoryDays: 5, Method: TheilSen},
			current: 30, rate: ptr(2.0), breach: "2025-02-15", days: ptr(35), pct: ptr(30.0), status: Safe,
		},
		{
			name:    "fewer than MinHistoryDays: no prediction, status from percentage",
			in:      Input{Limit: ptr[int64](50), Points: daily("2025-01-01", 41, 42, 43, 44, 45, 46), Today: date("2025-01-06")},
			current: 46, pct: ptr(92.0), status: Critical,
		},
		{
			name:    "over the limit with little history: critical today",
			in:      Input{Limit: ptr[int64](50), Points: daily("2025-01-01", 48, 55), Today: date("2025-01-02")},
			current: 55, breach: "2025-01-02", days: ptr(0), pct: ptr(110.0), status: Critical,
		},
		{
			name:    "exactly at the limit, flat: critical today",
			in:      Input{Limit: ptr[int64](50), Points: daily("2025-01-01", 50, 50, 50, 50, 50, 50, 50), Today: date("2025-01-07")},
			current: 50, rate: ptr(0.0), breach: "2025-01-07", days: ptr(0), pct: ptr(100.0), status: Critical,
		},
		{
			name:    "limit 0 with zero usage is full",
			in:      Input{Limit: ptr[int64](0), Points: daily("2025-01-01", 0, 0, 0, 0, 0, 0, 0), Today: date("2025-01-07")},
			current: 0, rate: ptr(0.0), breach: "2025-01-07", days: ptr(0), pct: ptr(100.0), status: Critical,
		},
		{
			name:    "unlimited: rate but no limit, percentage or breach",
			in:      Input{Points: seedSeries(), Today: date("2025-01-19")},
			current: 35, rate: ptr(0.5), status: Unlimited,
		},
		{
			name:    "no points at all",
			in:      Input{Limit: ptr[int64](50), Today: date("2025-01-19")},
			current: 0, pct: ptr(0.0), status: Safe,
		},
		{
			name: "unsorted with duplicate dates: last one given wins",
			in: Input{Limit: ptr[int64](100), Today: date("2025-01-03"), MinHistoryDays: 2, Points: []Point{
				{Date: date("2025-01-03"), Value: 1}, {Date: date("2025-01-01"), Value: 10},
				{Date: date("2025-01-03"), Value: 50}, {Date: date("2025-01-02"), Value: 30},
			}},
			current: 50, rate: ptr(20.0), breach: "2025-01-06", days: ptr(3), pct: ptr(50.0), status: Critical,
		},
		{
			name:    "warning from days left",
			in:      Input{Limit: ptr[int64](100), Points: daily("2025-01-01", 10, 15, 20, 25, 30, 35, 40), Today: date("2025-01-07")},
			current: 40, rate: ptr(5.0), breach: "2025-01-19", days: ptr(12), pct: ptr(40.0), status: Warning,
		},
		{
			name:    "critical from days left",
			in:      Input{Limit: ptr[int64](100), Points: daily("2025-01-01", 10, 20, 30, 40, 50, 60, 70), Today: date("2025-01-07")},
			current: 70, rate: ptr(10.0), breach: "2025-01-10", days: ptr(3), pct: ptr(70.0), status: Critical,
		},
		{
			// 15 left at 0.3/day is exactly 50 days; dividing by the float
			// 0.3 would give 50.000000000000007 and round up to 51.
			name:    "rate without exact binary form does not add a day",
			in:      Input{Limit: ptr[int64](50), Points: at("2024-12-20", []int{0, 10, 20, 30}, []int64{26, 29, 32, 35}), Today: date("2025-01-19"), MinHistoryDays: 4},
			current: 35, rate: ptr(0.3), breach: "2025-03-10", days: ptr(50), pct: ptr(70.0), status: Safe,
		},
		{
			name:    "breach beyond the horizon is no breach",
			in:      Input{Limit: ptr[int64](math.MaxInt64), Points: daily("2025-01-01", 1, 1, 1, 1, 1, 1, 2), Today: date("2025-01-07")},
			current: 2, rate: ptr(0.11), pct: ptr(0.0), status: Safe,
		},
		{
			// slope = -6/(n(n+1)) = -0.0016 for n = 60
			name:    "tiny negative slope rounds to 0, not -0",
			in:      Input{Limit: ptr[int64](1000), Points: daily("2025-01-01", spikeThenFlat(101, 100, 60)...), Today: date("2025-03-01")},
			current: 100, rate: ptr(0.0), pct: ptr(10.0), status: Safe,
		},
		{
			name:       "zero thresholds are disabled, not 'always'",
			in:         Input{Limit: ptr[int64](100), Points: daily("2025-01-01", 90, 91, 92, 93, 94, 95, 96), Today: date("2025-01-07")},
			thresholds: &Thresholds{},
			current:    96, rate: ptr(1.0), breach: "2025-01-11", days: ptr(4), pct: ptr(96.0), status: Safe,
		},
		{
			name:    "percentage is rounded before comparing with thresholds",
			in:      Input{Limit: ptr[int64](2000), Points: daily("2025-01-01", 1599), Today: date("2025-01-01")},
			current: 1599, pct: ptr(80.0), status: Warning,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in := tc.in
			in.Metric, in.Label, in.Unit = "products", "Products", "items"
			if in.MinHistoryDays == 0 {
				in.MinHistoryDays = 7
			}
			in.Thresholds = seedThresholds
			if tc.thresholds != nil {
				in.Thresholds = *tc.thresholds
			}
			got := Compute(in)

			if got.Metric != "products" || got.Label != "Products" || got.Unit != "items" {
				t.Errorf("names not copied: %q %q %q", got.Metric, got.Label, got.Unit)
			}
			if got.Current != tc.current {
				t.Errorf("Current = %d, want %d", got.Current, tc.current)
			}
			if !equalPtr(got.Limit, in.Limit) {
				t.Errorf("Limit = %v, want %v", show(got.Limit), show(in.Limit))
			}
			if !equalPtr(got.DailyGrowthRate, tc.rate) {
				t.Errorf("DailyGrowthRate = %v, want %v", show(got.DailyGrowthRate), show(tc.rate))
			}
			if got.DailyGrowthRate != nil && math.Signbit(*got.DailyGrowthRate) && *got.DailyGrowthRate == 0 {
				t.Errorf("DailyGrowthRate is -0")
			}
			var wantBreach *time.Time
			if tc.breach != "" {
				wantBreach = ptr(date(tc.breach))
			}
			if !equalPtr(got.PredictedBreachDate, wantBreach) {
				t.Errorf("PredictedBreachDate = %v, want %v", show(got.PredictedBreachDate), show(wantBreach))
			}
			if !equalPtr(got.DaysUntilBreach, tc.days) {
				t.Errorf("DaysUntilBreach = %v, want %v", show(got.DaysUntilBreach), show(tc.days))
			}
			if !equalPtr(got.UsagePercentage, tc.pct) {
				t.Errorf("UsagePercentage = %v, want %v", show(got.UsagePercentage), show(tc.pct))
			}
			if got.Status != tc.status {
				t.Errorf("Status = %q, want %q", got.Status, tc.status)
			}
		})
	}
}

// TestComputeOrderInvariant: the history store returns sorted points, other
// callers may not; the answer must not depend on it.
func TestComputeOrderInvariant(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, m := range []Method{Linear, TheilSen} {
		pts := seedSeries()
		in := Input{Limit: ptr[int64](50), Points: pts, Today: date("2025-01-19"), Method: m, MinHistoryDays: 7, Thresholds: seedThresholds}
		want := Compute(in)
		for range 20 {
			shuffled := slices.Clone(pts)
			rng.Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
			in.Points = shuffled
			got := Compute(in)
			if *got.DailyGrowthRate != *want.DailyGrowthRate || *got.DaysUntilBreach != *want.DaysUntilBreach || got.Current != want.Current {
				t.Fatalf("%s: shuffled input changed the result: got rate %v days %v current %d", m, *got.DailyGrowthRate, *got.DaysUntilBreach, got.Current)
			}
		}
		if !slices.Equal(pts, seedSeries()) {
			t.Fatalf("Compute modified its input")
		}
	}
}

// TestComputeDoesNotModifyInput: Compute sorts a copy, never the caller's
// slice (it may be shared with the trend data of the API response).
func TestComputeDoesNotModifyInput(t *testing.T) {
	pts := []Point{{Date: date("2025-01-03"), Value: 3}, {Date: date("2025-01-01"), Value: 1}, {Date: date("2025-01-02"), Value: 2}}
	orig := slices.Clone(pts)
	Compute(Input{Points: pts, Method: TheilSen, MinHistoryDays: 2})
	Compute(Input{Points: pts, MinHistoryDays: 2})
	if !slices.Equal(pts, orig) {
		t.Fatalf("input modified: %v", pts)
	}
}

// exactSlope is the least-squares slope from the one-pass closed form
// (n*Sxy - Sx*Sy) / (n*Sxx - Sx^2) in exact rational arithmetic: a different
// formula and no rounding at all, so it checks the compensated two-pass
// float64 implementation independently.
func exactSlope(points []Point) float64 {
	x0 := dayNumber(points[0].Date)
	var n, sx, sy, sxy, sxx big.Int
	n.SetInt64(int64(len(points)))
	var x, y, t big.Int
	for _, p := range points {
		x.SetInt64(dayNumber(p.Date) - x0)
		y.SetInt64(p.Value)
		sx.Add(&sx, &x)
		sy.Add(&sy, &y)
		sxy.Add(&sxy, t.Mul(&x, &y))
		sxx.Add(&sxx, t.Mul(&x, &x))
	}
	var num, den, u big.Int
	num.Sub(num.Mul(&n, &sxy), u.Mul(&sx, &sy))
	den.Sub(den.Mul(&n, &sxx), u.Mul(&sx, &sx))
	f, _ := new(big.Rat).SetFrac(&num, &den).Float64()
	return f
}

func TestLeastSquaresMatchesExactRational(t *testing.T) {
	rng := rand.New(rand.NewPCG(42, 7))
	type gen struct {
		name   string
		offset int64 // large offsets are where naive one-pass sums lose digits
		trend  float64
		noise  int64
	}
	gens := []gen{
		{"small counts", 0, 0.5, 3},
		{"declining", 1000, -2.25, 10},
		{"large offset, slow growth", 1 << 40, 0.01, 5},
		{"near 2^53, exact in float64", 1<<53 - 1<<20, 3, 1000},
		{"huge noise", 0, 1, 1 << 30},
		{"flat", 123456789, 0, 0},
	}
	for _, g := range gens {
		t.Run(g.name, func(t *testing.T) {
			for range 200 {
				n := 2 + rng.IntN(90)
				day := 0
				pts := make([]Point, n)
				for i := range pts {
					v := g.offset + int64(g.trend*float64(day))
					if g.noise > 0 {
						v += rng.Int64N(2*g.noise+1) - g.noise
					}
					pts[i] = Point{Date: date("2025-01-01").AddDate(0, 0, day), Value: v}
					day += 1 + rng.IntN(3) // gaps of up to two days
				}
				got, ok := Slope(pts, Linear)
				if !ok {
					t.Fatalf("Slope not ok for %d points", n)
				}
				want := exactSlope(pts)
				// Relative to the y spread per day, which is what the
				// rounding error scales with.
				tol := 1e-9 * math.Max(1, math.Abs(want)+float64(g.noise))
				if math.Abs(got-want) > tol {
					t.Fatalf("n=%d: slope %v, exact %v (diff %g > %g)", n, got, want, math.Abs(got-want), tol)
				}
			}
		})
	}
}

// naiveTheilSen sorts every pairwise slope and takes the middle, the
// textbook definition, to check the quickselect implementation.
func naiveTheilSen(points []Point) float64 {
	var s []float64
	for i := range points {
		for j := i + 1; j < len(points); j++ {
			dx := float64(dayNumber(points[j].Date) - dayNumber(points[i].Date))
			s = append(s, float64(points[j].Value-points[i].Value)/dx)
		}
	}
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func TestTheilSenMatchesNaive(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for i := range 500 {
		n := 2 + rng.IntN(70)
		pts := make([]Point, n)
		day := 0
		for j := range pts {
			v := int64(j) * int64(rng.IntN(5))
			if i%3 == 0 {
				v = int64(rng.IntN(4)) // many equal slopes
			}
			pts[j] = Point{Date: date("2025-01-01").AddDate(0, 0, day), Value: v}
			day += 1 + rng.IntN(2)
		}
		got, _ := Slope(pts, TheilSen)
		if want := naiveTheilSen(pts); got != want {
			t.Fatalf("case %d (n=%d): got %v, want %v", i, n, got, want)
		}
	}
}

func TestSlopeNeedsTwoDates(t *testing.T) {
	for _, pts := range [][]Point{
		nil,
		daily("2025-01-01", 5),
		{{Date: date("2025-01-01"), Value: 1}, {Date: date("2025-01-01"), Value: 9}},
	} {
		for _, m := range []Method{Linear, TheilSen} {
			if s, ok := Slope(pts, m); ok {
				t.Errorf("Slope(%v, %s) = %v, true; want false", pts, m, s)
			}
		}
	}
}

func TestDayNumberIgnoresTimeOfDay(t *testing.T) {
	for _, tc := range []struct {
		t    time.Time
		want int64
	}{
		{time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC), 0},
		{time.Date(1970, 1, 1, 23, 59, 59, 0, time.UTC), 0},
		{time.Date(1969, 12, 31, 23, 0, 0, 0, time.UTC), -1},
		{time.Date(2025, 1, 19, 0, 0, 0, 0, time.UTC), 20107},
		// 01:00 in Madrid on the 20th is still the 19th in UTC.
		{time.Date(2025, 1, 20, 0, 30, 0, 0, time.FixedZone("CET", 3600)), 20107},
	} {
		if got := dayNumber(tc.t); got != tc.want {
			t.Errorf("dayNumber(%v) = %d, want %d", tc.t, got, tc.want)
		}
	}
}

func TestSummarize(t *testing.T) {
	r := func(metric string, s Status, days *int, pct *float64) Result {
		return Result{Metric: metric, Status: s, DaysUntilBreach: days, UsagePercentage: pct}
	}
	tests := []struct {
		name    string
		results []Result
		status  Status
		days    *int
		metric  string
	}{
		{"empty is unlimited", nil, Unlimited, nil, ""},
		{"all unlimited names no metric", []Result{r("a", Unlimited, nil, nil), r("b", Unlimited, nil, nil)}, Unlimited, nil, ""},
		{
			"worst status wins over fewer days",
			[]Result{r("users", Warning, ptr(3), ptr(50.0)), r("products", Critical, ptr(20), ptr(95.0)), r("api", Safe, nil, ptr(10.0))},
			Critical, ptr(3), "products",
		},
		{
			"same status: fewest days decides",
			[]Result{r("a", Warning, ptr(12), ptr(85.0)), r("b", Warning, ptr(9), ptr(81.0)), r("c", Warning, nil, ptr(99.0))},
			Warning, ptr(9), "b",
		},
		{
			"same status and days: highest percentage decides",
			[]Result{r("a", Critical, ptr(0), ptr(100.0)), r("b", Critical, ptr(0), ptr(120.0))},
			Critical, ptr(0), "b",
		},
		{
			"full tie: smallest name, whatever the order",
			[]Result{r("zeta", Safe, nil, ptr(10.0)), r("alpha", Safe, nil, ptr(10.0)), r("mid", Safe, nil, ptr(10.0))},
			Safe, nil, "alpha",
		},
		{
			"safe beats unlimited",
			[]Result{r("u", Unlimited, nil, nil), r("s", Safe, nil, ptr(1.0))},
			Safe, nil, "s",
		},
		{
			"days from a metric that did not decide the status",
			[]Result{r("a", Safe, ptr(40), ptr(10.0)), r("b", Warning, nil, ptr(85.0))},
			Warning, ptr(40), "b",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for _, rs := range [][]Result{tc.results, reversed(tc.results)} {
				got := Summarize(rs)
				if got.Status != tc.status || got.Metric != tc.metric || !equalPtr(got.DaysUntilBreach, tc.days) {
					t.Errorf("Summarize = {%q %v %q}, want {%q %v %q}", got.Status, show(got.DaysUntilBreach), got.Metric, tc.status, show(tc.days), tc.metric)
				}
			}
		})
	}
}

func reversed[T any](s []T) []T {
	c := slices.Clone(s)
	slices.Reverse(c)
	return c
}

func equalPtr[T comparable](a, b *T) bool {
	if a == nil || b == nil {
		return a == b
	}
	return *a == *b
}

func show[T any](p *T) any {
	if p == nil {
		return "nil"
	}
	return *p
}
