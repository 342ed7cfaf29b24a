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
	"cmp"
	"math"
	"slices"
	"sync"
	"time"
)

// maxTheilSenPoints bounds Theil-Sen's quadratic cost: n points make
// n(n-1)/2 slopes, so 1000 points is ~500k slopes (4 MB). History is kept
// for 60 days, so only a misconfigured caller reaches this; it then gets the
// median over the most recent points rather than an out-of-memory kill.
const maxTheilSenPoints = 1000

// Slope returns the growth per day of points, unrounded, estimated with
// method ("" or unknown means Linear). x is the number of days since the
// first date, taken from the actual dates, so gaps are handled. ok is false
// when there are fewer than two distinct dates, where no slope exists.
func Slope(points []Point, method Method) (float64, bool) {
	return slopeSorted(normalize(points), method)
}

// slopeSorted is Slope for points already sorted by date with unique dates.
func slopeSorted(points []Point, method Method) (float64, bool) {
	if len(points) < 2 {
		return 0, false
	}
	if method == TheilSen {
		return theilSen(points), true
	}
	return leastSquares(points), true
}

// fitSorted is slopeSorted plus, for the breach window, the fit's spread at
// confidence c. The slope is the same number slopeSorted returns.
func fitSorted(points []Point, method Method, c float64) (float64, spread, bool) {
	if len(points) < 2 {
		return 0, spread{}, false
	}
	if method == TheilSen {
		slope, sp := theilSenFit(points, c, true)
		return slope, sp, true
	}
	slope, sp := linearSpread(points, c)
	return slope, sp, true
}

// dayNumber is the number of days from 1970-01-01 to t's UTC calendar date.
// Integer day numbers make x exact, so only y carries rounding error.
func dayNumber(t time.Time) int64 {
	s := t.Unix()
	d := s / secondsPerDay
	if s%secondsPerDay < 0 {
		d-- // floor, not truncation, for dates before 1970
	}
	return d
}

// normalize returns points sorted by date with one point per date, the last
// one given winning. The history store already returns sorted, unique dates,
// so that case is detected and returned as is: no copy, no allocation.
func normalize(points []Point) []Point {
	sorted := true
	for i, prev := 1, int64(math.MinInt64); i <= len(points); i++ {
		d := dayNumber(points[i-1].Date)
		if d <= prev {
			sorted = false
			break
		}
		prev = d
	}
	if sorted {
		return points
	}
	// Sort keys computed once: dayNumber in the comparator made sorting
	// the whole cost of Compute. The index tie-break gives the last point
	// of a date the last position, where the loop below keeps it.
	keys := make([]keyedPoint, len(points))
	for i, p := range points {
		keys[i] = keyedPoint{day: dayNumber(p.Date), idx: i, p: p}
	}
	slices.SortFunc(keys, func(a, b keyedPoint) int {
		if c := cmp.Compare(a.day, b.day); c != 0 {
			return c
		}
		return cmp.Compare(a.idx, b.idx)
	})
	out := make([]Point, 0, len(keys))
	for i, k := range keys {
		if i+1 < len(keys) && keys[i+1].day == k.day {
			continue // a later point has the same date
		}
		out = append(out, k.p)
	}
	return out
}

// keyedPoint is a point with its sort key.
type keyedPoint struct {
	day int64
	idx int
	p   Point
}

// neumaier is a compensated running sum (Kahan-Babuska-Neumaier), the same
// technique Prometheus uses in predict_linear: it keeps the low-order bits
// that a plain float64 sum drops when adding small terms to a large total.
type neumaier struct{ sum, c float64 }

func (k *neumaier) add(v float64) {
	t := k.sum + v
	if math.Abs(k.sum) >= math.Abs(v) {
		k.c += (k.sum - t) + v
	} else {
		k.c += (v - t) + k.sum
	}
	k.sum = t
}

func (k *neumaier) value() float64 { return k.sum + k.c }

// leastSquares is the ordinary least-squares slope Sxy/Sxx, computed in two
// passes around the mean day instead of with the one-pass
// sum(xy)-sum(x)sum(y)/n form: with usage counts in the millions that form
// subtracts two nearly equal large numbers and loses most of the digits
// (on values near 2^53 it was measured 2.5/day off; this is within 1e-13,
// see TestLeastSquaresMatchesExactRational). y is
// taken relative to the first value for the same reason; that shift leaves
// Sxy unchanged because the centered x sum to zero. The products are summed
// with compensation. A flat series gives exactly 0, since every y term is 0.
func leastSquares(points []Point) float64 {
	x0 := dayNumber(points[0].Date)
	y0 := float64(points[0].Value)
	// x are whole days, so this plain sum is exact for any real history
	// (it stays far below 2^53); no compensation needed.
	var sx float64
	for _, p := range points {
		sx += float64(dayNumber(p.Date) - x0)
	}
	mx := sx / float64(len(points))
	var sxy, sxx neumaier
	for _, p := range points {
		dx := float64(dayNumber(p.Date)-x0) - mx
		sxy.add(dx * (float64(p.Value) - y0))
		sxx.add(dx * dx)
	}
	// sxx > 0: the dates are distinct and there are at least two.
	return sxy.value() / sxx.value()
}

// theilSenBuf is Theil-Sen's scratch space: the day of each point, the
// pairwise slopes (1770 for 60 points) and the sorted values (for the
// confidence interval's ties correction). Pooled so that forecasting a
// whole policy does not allocate 14 KB per metric.
type theilSenBuf struct{ days, slopes, values []float64 }

var theilSenPool = sync.Pool{New: func() any { return new(theilSenBuf) }}

// theilSen is the median of the slopes between every pair of points.
func theilSen(points []Point) float64 {
	slope, _ := theilSenFit(points, 0, false)
	return slope
}

// theilSenFit is theilSen, plus Sen's confidence interval of the slope at
// level c when withBounds is set.
func theilSenFit(points []Point, c float64, withBounds bool) (float64, spread) {
	if len(points) > maxTheilSenPoints {
		points = points[len(points)-maxTheilSenPoints:]
	}
	buf := theilSenPool.Get().(*theilSenBuf)
	defer theilSenPool.Put(buf)
	x0 := dayNumber(points[0].Date)
	days := buf.days[:0]
	for _, p := range points {
		days = append(days, float64(dayNumber(p.Date)-x0))
	}
	slopes := buf.slopes[:0]
	for i, xi := range days {
		yi := float64(points[i].Value)
		for j := i + 1; j < len(days); j++ {
			slopes = append(slopes, (float64(points[j].Value)-yi)/(days[j]-xi))
		}
	}
	buf.days, buf.slopes = days, slopes
	slope := median(slopes)
	var sp spread
	if withBounds {
		values := buf.values[:0]
		for _, p := range points {
			values = append(values, float64(p.Value))
		}
		slices.Sort(values)
		buf.values = values
		sp.slow, sp.shi, sp.ok = theilSenBounds(slopes, values, c)
	}
	return slope, sp
}

// median returns the median of a non-empty slice, reordering it. Selection
// instead of sorting keeps it O(n) on average, which matters because the
// slice grows with the square of the history length.
func median(a []float64) float64 {
	k := len(a) / 2
	selectKth(a, k)
	if len(a)%2 == 1 {
		return a[k]
	}
	// After selection everything before k is <= a[k]; the lower middle is
	// the largest of them.
	lower := slices.Max(a[:k])
	return lower/2 + a[k]/2
}

// selectKth reorders a so that a[k] is the k-th smallest element, everything
// before it is <= a[k] and everything after is >= a[k] (Hoare's quickselect
// with a median-of-three pivot, which behaves well on the sorted and
// constant inputs that usage histories produce).
func selectKth(a []float64, k int) {
	lo, hi := 0, len(a)-1
	for lo < hi {
		mid := lo + (hi-lo)/2
		if a[mid] < a[lo] {
			a[mid], a[lo] = a[lo], a[mid]
		}
		if a[hi] < a[lo] {
			a[hi], a[lo] = a[lo], a[hi]
		}
		if a[hi] < a[mid] {
			a[hi], a[mid] = a[mid], a[hi]
		}
		pivot := a[mid]
		i, j := lo, hi
		for i <= j {
			for a[i] < pivot {
				i++
			}
			for a[j] > pivot {
				j--
			}
			if i <= j {
				a[i], a[j] = a[j], a[i]
				i++
				j--
			}
		}
		switch {
		case k <= j:
			hi = j
		case k >= i:
			lo = i
		default:
			return // j < k < i: a[k] equals the pivot and is in place
		}
	}
}
