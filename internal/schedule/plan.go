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

import (
	"math"
	"time"
)

// Plan is what a scheduled job should do at one moment: run the newest
// missed time (if still in time), and wake up again at Next. It follows
// kubebuilder's CronJob getNextSchedule, with a time zone and without its
// "too many missed start times" error: Plan counts missed times by calendar
// day, so its cost grows with the days since the last run, not with the
// number of times missed.
type Plan struct {
	// Due is the most recent scheduled time <= now that is after last and
	// within the starting deadline; zero if none. Run it, identified by
	// DateOf(Due). Older missed times are never run: one fresh snapshot is
	// worth more than a backlog of stale ones.
	Due time.Time
	// Missed is the number of scheduled times after last and <= now that
	// will never run, because they are past the deadline or superseded by
	// Due (or by a later time that is itself too late).
	Missed int
	// TooLate is the most recent missed time that is older than the
	// starting deadline; zero if none (always zero without a deadline). It
	// is for reporting, e.g. a condition saying which run was lost.
	TooLate time.Time
	// Lost is how many of the Missed times are older than the starting
	// deadline: lost for good. The others were folded into Due, which
	// stores the same kind of snapshot later, so nothing of them is lost
	// (always zero without a deadline).
	Lost int
	// Next is the first scheduled time after now: when to requeue.
	Next time.Time
}

// Plan decides what to run at now. last is the scheduled time of the last
// run started, or the object's creation time if it never ran; only
// scheduled times after it count. startingDeadline <= 0 means a missed time
// may start however late; otherwise a time older than the deadline is too
// late (one exactly at the deadline still runs, as in Kubernetes CronJob).
func (s *Schedule) Plan(last, now time.Time, startingDeadline time.Duration) Plan {
	p := Plan{Next: s.Next(now)}
	latest := s.prev(now, last)
	if latest.IsZero() {
		return p
	}
	missed := s.count(last, now)
	if startingDeadline > 0 && now.Sub(latest) > startingDeadline {
		p.Missed, p.TooLate, p.Lost = missed, latest, missed
		return p
	}
	p.Due, p.Missed = latest, missed-1
	if startingDeadline > 0 {
		// Times older than the deadline are those strictly before
		// now-deadline; prev is inclusive, hence the nanosecond.
		cutoff := now.Add(-startingDeadline - time.Nanosecond)
		p.TooLate = s.prev(cutoff, last)
		if !p.TooLate.IsZero() {
			p.Lost = s.count(last, cutoff)
		}
	}
	return p
}

// count returns how many distinct scheduled instants lie in (a, b]. Days
// well inside the interval and clear of any zone transition count
// hours x minutes without resolving a single time, which is what keeps
// years of a minutely schedule cheap; the few days at the edges or near a
// DST change are resolved time by time.
func (s *Schedule) count(a, b time.Time) int {
	if !b.After(a) {
		return 0
	}
	c := dayOf(a.In(s.loc)).prev()
	end := dayOf(b.In(s.loc)).next()
	// Two days of margin: a time on the wall date next to a's (or b's) can
	// fall on either side of it when a or b is in a repeated hour.
	fastFrom, fastTo := c.n+3, end.n-3
	perDay := len(s.hours) * len(s.minutes)
	lastOffset := int64(s.hours[len(s.hours)-1]*3600 + s.minutes[len(s.minutes)-1]*60)
	firstMinute, lastMinute := s.minutes[0], s.minutes[len(s.minutes)-1]

	n := 0
	var counted time.Time // last instant counted: equal instants count once
	var z zoneCache
	for ; c.n <= end.n; c = c.next() {
		if !s.dayMatches(c) {
			continue
		}
		if c.n >= fastFrom && c.n <= fastTo {
			if midnight, ok := z.simpleDay(c, s.loc); ok {
				n += perDay
				counted = time.Unix(midnight+lastOffset, 0)
				continue
			}
		}
		for _, h := range s.hours {
			lo, hi := s.resolve(c, h, firstMinute), s.resolve(c, h, lastMinute)
			if !hi.After(a) {
				continue
			}
			if lo.After(b) {
				break
			}
			// The hour lies wholly inside the window and no transition
			// splits it (its minutes are as far apart as on the wall): each
			// minute is a distinct new instant. On a DST day that leaves
			// only the hour of the change to resolve minute by minute.
			if lo.After(a) && lo.After(counted) && !hi.After(b) && hi.Sub(lo) == time.Duration(lastMinute-firstMinute)*time.Minute {
				n += len(s.minutes)
				counted = hi
				continue
			}
			for _, m := range s.minutes {
				if t := s.resolve(c, h, m); t.After(a) && !t.After(b) && t.After(counted) {
					n++
					counted = t
				}
			}
		}
	}
	return n
}

// zoneCache remembers the zone period (an interval with one UTC offset) the
// last date fell in, so that consecutive dates need no time.Date call until
// the period ends. Bounds are Unix seconds; an unbounded side (always, for
// UTC) is math.MinInt64 or math.MaxInt64.
type zoneCache struct {
	valid      bool
	start, end int64
	off        int64
}

// simpleDay reports whether every wall time of date c maps to exactly one
// instant, midnight + its offset into the day: true when no zone transition
// is within a day of it. It returns c's midnight as Unix seconds.
func (z *zoneCache) simpleDay(c day, loc *time.Location) (int64, bool) {
	wall := c.n * secondsPerDay
	if !z.valid || wall-z.off < z.start || wall-z.off >= z.end {
		t := time.Date(c.y, c.m, c.d, 12, 0, 0, 0, loc)
		st, en := t.ZoneBounds()
		_, off := t.Zone()
		z.valid, z.off, z.start, z.end = true, int64(off), math.MinInt64, math.MaxInt64
		if !st.IsZero() {
			z.start = st.Unix()
		}
		if !en.IsZero() {
			z.end = en.Unix()
		}
	}
	midnight := wall - z.off
	// A transition less than a day before midnight could still repeat the
	// day's first hours; one less than a day after it changes its offset.
	ok := z.start <= midnight-secondsPerDay && z.end >= midnight+secondsPerDay
	return midnight, ok
}
