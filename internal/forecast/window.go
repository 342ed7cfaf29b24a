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
	"sync"
	"sync/atomic"

	"gonum.org/v1/gonum/stat/distuv"
)

// Basis selects which breach day decides a metric's status colour.
type Basis string

const (
	// BasisExpected colours by the predicted (point) breach date, as before
	// the breach window existed. It is the default.
	BasisExpected Basis = "expected"
	// BasisEarliest colours by the earliest breach date of the window, the
	// pessimistic end: a metric turns warning or critical as soon as a
	// breach within the thresholds is plausible at the chosen confidence.
	BasisEarliest Basis = "earliest"
)

// Confidence bounds. Below 0.5 the "window" would be narrower than the
// noise it describes; at 0.99 and above the t quantile for short histories
// grows so fast that the window says nothing. The policy layer rejects
// values outside the range with an error naming the field; Compute clamps
// them, so the maths stays defined whatever it is given.
const (
	DefaultConfidence = 0.8
	MinConfidence     = 0.5
	MaxConfidence     = 0.99
)

// confidence returns c clamped to [MinConfidence, MaxConfidence], with 0
// (unset) and NaN meaning DefaultConfidence.
func confidence(c float64) float64 {
	if c == 0 || math.IsNaN(c) {
		return DefaultConfidence
	}
	return min(max(c, MinConfidence), MaxConfidence)
}

// spread is what the breach window needs to know about a fit's
// uncertainty, beyond the slope itself.
type spread struct {
	// ok is false when no interval exists at the requested confidence:
	// least squares on two points leaves no residual degrees of freedom to
	// estimate the noise from, and Theil-Sen on very few points cannot
	// bound the slope at level c (the rank would fall outside the slopes).
	ok bool

	// Linear: the prediction interval's ingredients, with x counted in days
	// from the first point.
	n    float64 // number of points
	mx   float64 // mean x
	sxx  float64 // sum of (x - mx)^2
	xl   float64 // x of the last point
	ts   float64 // t((1+c)/2, n-2) * s, s^2 = SSE/(n-2)
	slow float64 // Theil-Sen: the slope's lower confidence bound
	shi  float64 // Theil-Sen: the slope's upper confidence bound
}

// tTable holds t((1+c)/2, df) for one confidence and df < tTableSize.
type tTable struct {
	c float64
	t [tTableSize]float64
}

// tTableSize covers histories of up to 257 points; longer ones (a
// misconfigured retention) compute the quantile each time.
const tTableSize = 256

// tTablesMax bounds the cache: a policy uses one confidence, so a handful
// of tables serve every policy; a caller feeding arbitrary confidences
// gets correct but uncached answers instead of unbounded memory.
const tTablesMax = 16

// tTables is an immutable, copy-on-write list of tables. gonum computes a
// quantile by inverting the regularised incomplete beta function, which
// costs microseconds, and a map lookup hashing a float key showed in the
// profile; a linear scan of a few tables behind an atomic pointer costs
// neither a lock nor a hash.
var tTables atomic.Pointer[[]*tTable]

var tTablesMu sync.Mutex

// tQuantile is the two-sided c-level Student's t critical value with df
// degrees of freedom, from gonum's distuv (not a hand-written
// approximation). df must be >= 1.
func tQuantile(c float64, df int) float64 {
	if df >= tTableSize {
		return studentT(c, df)
	}
	if ts := tTables.Load(); ts != nil {
		for _, t := range *ts {
			if t.c == c {
				return t.t[df]
			}
		}
	}
	tTablesMu.Lock()
	defer tTablesMu.Unlock()
	var old []*tTable
	if ts := tTables.Load(); ts != nil {
		old = *ts
		for _, t := range old {
			if t.c == c {
				return t.t[df]
			}
		}
	}
	if len(old) >= tTablesMax {
		return studentT(c, df)
	}
	t := &tTable{c: c}
	for i := 1; i < tTableSize; i++ {
		t.t[i] = studentT(c, i)
	}
	next := append(append(make([]*tTable, 0, len(old)+1), old...), t)
	tTables.Store(&next)
	return t.t[df]
}

func studentT(c float64, df int) float64 {
	return distuv.StudentsT{Mu: 0, Sigma: 1, Nu: float64(df)}.Quantile((1 + c) / 2)
}

// residualScale is the relative size below which the residual standard
// deviation of a least-squares fit is floating-point noise, not data: an
// exact line fitted in float64 leaves residuals around 1e-15 of the
// values' range, and taking them at face value would put an exactly
// reached limit one day later on the lower bound than on the upper.
const residualScale = 1e-9

// linearSpread fits least squares to sorted, unique-date points (at least
// two) and returns the slope and the prediction interval's ingredients at
// confidence c.
func linearSpread(points []Point, c float64) (float64, spread) {
	x0 := dayNumber(points[0].Date)
	y0 := float64(points[0].Value)
	n := float64(len(points))
	// Day offsets computed once: the division in dayNumber, three times
	// over, was most of the window's cost. 64 covers the 60-day retention
	// without a heap allocation.
	var xsBuf [64]float64
	xs := xsBuf[:0]
	var sx, sy, yRange float64
	for _, p := range points {
		x := float64(dayNumber(p.Date) - x0)
		xs = append(xs, x)
		sx += x
		dy := float64(p.Value) - y0
		sy += dy
		yRange = max(yRange, math.Abs(dy))
	}
	mx, my := sx/n, sy/n
	// The same sums, in the same order, as leastSquares: the slope behind
	// the window is bit for bit the published one.
	var sxy, sxx neumaier
	for i, p := range points {
		dx := xs[i] - mx
		sxy.add(dx * (float64(p.Value) - y0))
		sxx.add(dx * dx)
	}
	slope := sxy.value() / sxx.value()
	sp := spread{n: n, mx: mx, sxx: sxx.value(), xl: xs[len(xs)-1]}
	if len(points) < 3 {
		return slope, sp
	}
	// SSE from the residuals themselves rather than Syy - b*Sxy, which
	// cancels to noise exactly when the fit is good. The terms are all
	// positive, so a plain sum loses nothing that matters here.
	var sse float64
	for i, p := range points {
		r := (float64(p.Value) - y0) - my - slope*(xs[i]-mx)
		sse += r * r
	}
	s := math.Sqrt(max(sse, 0) / (n - 2))
	if s <= residualScale*max(1, yRange) {
		s = 0
	}
	sp.ts = tQuantile(c, len(points)-2) * s
	sp.ok = !math.IsNaN(sp.ts) && !math.IsInf(sp.ts, 0)
	return slope, sp
}

// theilSenBounds returns Sen's (1968) distribution-free c-level confidence
// interval of the slope, given the pairwise slopes (reordered in place) and
// the points' values. The rank half-width is C = z((1+c)/2) * sqrt(Var S),
// with Var S Kendall's variance of S corrected for tied values:
// [n(n-1)(2n+5) - sum t(t-1)(2t+5)] / 18 (x has no ties: dates are unique).
// The bounds are the slopes of 1-based rank round((N-C)/2) and
// round((N+C)/2)+1 in ascending order (Gilbert 1987, 16.5). ok is false
// when a rank falls outside the N slopes: too few points for level c.
func theilSenBounds(slopes []float64, values []float64, c float64) (lo, hi float64, ok bool) {
	n := float64(len(values))
	ties := 0.0
	for i := 0; i < len(values); {
		j := i + 1
		for j < len(values) && values[j] == values[i] {
			j++
		}
		t := float64(j - i)
		ties += t * (t - 1) * (2*t + 5)
		i = j
	}
	varS := (n*(n-1)*(2*n+5) - ties) / 18
	if !(varS > 0) {
		// Every value tied: all slopes are 0, the interval is that point.
		return 0, 0, len(slopes) > 0
	}
	z := distuv.UnitNormal.Quantile((1 + c) / 2)
	cc := z * math.Sqrt(varS)
	nSlopes := float64(len(slopes))
	l := math.Round((nSlopes-cc)/2) - 1 // 0-based
	u := math.Round((nSlopes + cc) / 2) // 0-based
	if !(l >= 0 && u <= nSlopes-1) {
		return 0, 0, false
	}
	selectKth(slopes, int(l))
	lo = slopes[int(l)]
	selectKth(slopes, int(u))
	hi = slopes[int(u)]
	return lo, hi, true
}

// window is a breach window in whole days after Today; 0 means "none
// within the horizon".
type window struct{ earliest, latest int }

// linearWindow finds the first day k >= 1 after Today where the upper and
// the lower bound of the prediction interval reach the limit.
//
// The interval is centred on the published forecast, current + rate*k
// (rate rounded to cents, as in DailyGrowthRate), rather than on the
// fitted line yhat. For an exact line the two coincide, and this choice
// keeps the numbers a reader sees consistent with each other: the window
// always contains PredictedBreachDate, and zero residuals give earliest =
// latest = PredictedBreachDate even when the rate's rounding moves that
// day. The half-width is the textbook one for a new observation,
// t((1+c)/2, n-2) * s * sqrt(1 + 1/n + (x - mx)^2 / Sxx), at x = the last
// data day + k.
//
// Both tests are done in hundredths, so that with zero residuals they
// compare exact integers, like daysToBreach.
func linearWindow(current, limit int64, rate float64, sp spread) window {
	need := (float64(limit) - float64(current)) * 100
	cents := math.Round(rate * 100)
	g := sp.ts * 100
	a := 1 + 1/sp.n
	half := func(k int) float64 {
		u := sp.xl + float64(k) - sp.mx
		return g * math.Sqrt(a+u*u/sp.sxx)
	}
	upper := func(k int) bool { return cents*float64(k)+half(k) >= need }
	lower := func(k int) bool { return cents*float64(k)-half(k) >= need }

	// The point estimate's day d0: the centre reaches the limit there and
	// not before, so the upper bound has reached it by d0 and the lower
	// bound has not before d0. Searching from d0 takes a handful of
	// steps instead of a bisection of the whole horizon.
	d0 := maxBreachDays
	if q := math.Ceil(need / cents); q < maxBreachDays {
		d0 = max(int(q), 1)
	}

	var w window
	// The upper bound rises with k (rate > 0, and x > mx after the last
	// data day), so the first day it reaches the limit is a bisection.
	w.earliest = firstTrue(1, d0, upper)

	// The lower bound is concave in k: it rises while the rate outpaces
	// the widening interval, then may fall. Past its peak it cannot first
	// reach the limit, so search only up to the peak.
	kHi := maxBreachDays
	if slopeLimit := g / math.Sqrt(sp.sxx); slopeLimit > cents {
		// d/dk half = g*(u/Sxx)/sqrt(a + u^2/Sxx) equals cents at u*.
		den := math.Sqrt(g*g/(sp.sxx*sp.sxx) - cents*cents/sp.sxx)
		uPeak := cents * math.Sqrt(a) / den
		kPeak := uPeak - (sp.xl - sp.mx)
		if !math.IsNaN(kPeak) && kPeak < maxBreachDays {
			kHi = max(int(math.Floor(kPeak))+1, 1)
		}
	}
	// On [d0, kHi-1] the lower bound rises: gallop up from d0, then bisect.
	lo, hi := d0, d0
	for hi < kHi-1 && !lower(hi) {
		lo = hi + 1
		hi = min(2*hi, kHi-1)
	}
	if lo <= hi {
		w.latest = firstTrue(lo, hi, lower)
	}
	if w.latest == 0 && kHi >= d0 && lower(kHi) {
		w.latest = kHi
	}
	return w
}

// firstTrue returns the smallest k in [lo, hi] with f(k) true, for f false
// then true over the range; 0 when f(hi) is false.
func firstTrue(lo, hi int, f func(int) bool) int {
	if lo > hi || !f(hi) {
		return 0
	}
	for lo < hi {
		mid := lo + (hi-lo)/2
		if f(mid) {
			hi = mid
		} else {
			lo = mid + 1
		}
	}
	return lo
}

// theilSenWindow turns the slope's confidence bounds into breach days the
// same way the point estimate is made: ceil((limit - current) / rate) with
// the rate rounded to cents. lo <= median <= hi, so the window contains
// the point estimate; a lower bound that is not positive never breaches.
func theilSenWindow(current, limit int64, sp spread) window {
	var w window
	if d, ok := daysToBreach(current, limit, roundTo(sp.shi, 100)); ok {
		w.earliest = d
	}
	if lo := roundTo(sp.slow, 100); lo > 0 {
		if d, ok := daysToBreach(current, limit, lo); ok {
			w.latest = d
		}
	}
	return w
}
