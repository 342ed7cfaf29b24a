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

package schedule

import "time"

// secondsPerDay is the length of a calendar day in wall-clock seconds (not
// in elapsed time, which DST changes).
const secondsPerDay = 86400

// day is a calendar date with its day number, stepped forwards and
// backwards without time.Date: Plan walks every date between two runs, and
// for years of downtime that is hundreds of thousands of steps.
type day struct {
	y int
	m time.Month
	d int
	n int64 // days since 1970-01-01
}

// dayOf returns the calendar date of t in t's location.
func dayOf(t time.Time) day {
	y, m, d := t.Date()
	return day{y: y, m: m, d: d, n: floorDiv(time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Unix(), secondsPerDay)}
}

func (c day) next() day {
	c.n++
	c.d++
	if c.d > daysIn(c.m, c.y) {
		c.d = 1
		c.m++
		if c.m > time.December {
			c.m = time.January
			c.y++
		}
	}
	return c
}

func (c day) prev() day {
	c.n--
	c.d--
	if c.d < 1 {
		c.m--
		if c.m < time.January {
			c.m = time.December
			c.y--
		}
		c.d = daysIn(c.m, c.y)
	}
	return c
}

// weekday is 0 for Sunday, as in cron; 1970-01-01 was a Thursday.
func (c day) weekday() int {
	return int(((c.n+4)%7 + 7) % 7)
}

func daysIn(m time.Month, y int) int {
	switch m {
	case time.February:
		if y%4 == 0 && (y%100 != 0 || y%400 == 0) {
			return 29
		}
		return 28
	case time.April, time.June, time.September, time.November:
		return 30
	default:
		return 31
	}
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if (a%b != 0) && ((a < 0) != (b < 0)) {
		q--
	}
	return q
}
