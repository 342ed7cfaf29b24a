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

// Package schedule evaluates a cron expression in a time zone and decides
// what a scheduled job should do after the operator was down: which missed
// time to run now, how many were skipped, and when to wake up next.
//
// It is pure: the clock is an argument, so tests pin exact instants and the
// controller passes its injected clock's Now.
//
// Parsing uses robfig/cron's standard parser (five fields, plus descriptors
// such as @daily), as Kubernetes CronJob does. Matching does not use robfig's
// Next: around daylight-saving changes it skips the spring-forward day for
// times in the missing hour and runs twice on the fall-back day for times in
// the repeated hour. A daily snapshot must run exactly once per local
// calendar day, so this package walks local calendar dates itself and
// resolves each wall-clock time to an instant with these rules:
//
//   - a time that does not exist (the spring-forward gap) runs at the first
//     instant after the gap: "30 2 * * *" in Europe/Madrid runs at 03:00 CEST
//     on the last Sunday of March;
//   - a time that happens twice (the fall-back overlap) runs at its first
//     occurrence only.
//
// These are the rules Vixie cron (and cronie) apply to DST changes. Several
// wall times that land on the same instant (02:00 and 02:30 in the gap, or
// the real 03:00) run once.
package schedule

import (
	"errors"
	"fmt"
	"strings"
	"time"

	// Embed the IANA database so a time zone that validates in one image
	// validates in every image, whether or not it ships /usr/share/zoneinfo.
	_ "time/tzdata"

	"github.com/robfig/cron/v3"
)

// searchDays bounds the walk for the next or previous matching date. The
// rarest standard schedule that fires at all, 29 February, can be eight years
// away (2096 to 2104); nine years covers it.
const searchDays = 9 * 366

// starBit is robfig/cron's marker for a day field written as "*" or "?"
// (its constant is unexported). It decides whether day-of-month and
// day-of-week are combined with AND or, as in classic cron, with OR.
const starBit = 1 << 63

// Schedule is a parsed cron expression bound to a time zone. It is
// immutable and safe for concurrent use.
type Schedule struct {
	loc   *time.Location
	month uint64 // bit m set when month m (1-12) matches
	dom   uint64 // bit d set when day-of-month d matches, plus starBit
	dow   uint64 // bit w set when weekday w (0 = Sunday) matches, plus starBit
	// hours and minutes are the matching values in ascending order; every
	// standard schedule fires at second 0.
	hours   []int
	minutes []int
}

// Parse compiles a standard five-field cron expression (or a descriptor
// such as @daily or @hourly) and an IANA time zone name ("" means UTC).
// Errors start with the field they are about, "schedule: " or
// "timeZone: ", and both are reported when both are wrong.
func Parse(expr, timeZone string) (*Schedule, error) {
	spec, specErr := parseSpec(expr)
	loc, zoneErr := loadLocation(timeZone)
	if err := errors.Join(specErr, zoneErr); err != nil {
		return nil, err
	}
	s := &Schedule{
		loc:     loc,
		month:   spec.Month,
		dom:     spec.Dom,
		dow:     spec.Dow,
		hours:   bitsToList(spec.Hour, 23),
		minutes: bitsToList(spec.Minute, 59),
	}
	// robfig/cron accepts a field that lists nothing (", 0 1 1 0": an empty
	// item before the comma sets no bit), which would leave Next nothing to
	// iterate over. Found by FuzzParse.
	if len(s.hours) == 0 || len(s.minutes) == 0 || s.month == 0 || s.dom&^starBit == 0 || s.dow&^starBit == 0 {
		return nil, fmt.Errorf("schedule: %q: a field matches no value", expr)
	}
	// "0 0 30 2 *" parses but never fires; as a snapshot schedule that would
	// silently stop all history, so reject it here where the user sees it.
	if s.Next(time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)).IsZero() {
		return nil, fmt.Errorf("schedule: %q never fires: no date matches its day and month fields", expr)
	}
	return s, nil
}

func parseSpec(expr string) (*cron.SpecSchedule, error) {
	expr = strings.TrimSpace(expr)
	if expr == "" {
		return nil, errors.New("schedule: must not be empty")
	}
	if strings.HasPrefix(expr, "TZ=") || strings.HasPrefix(expr, "CRON_TZ=") {
		// Two sources of truth for the zone would disagree sooner or
		// later; Kubernetes CronJob rejects this prefix for the same reason.
		return nil, fmt.Errorf("schedule: %q: a TZ= or CRON_TZ= prefix is not supported; set timeZone instead", expr)
	}
	parsed, err := cron.ParseStandard(expr)
	if err != nil {
		return nil, fmt.Errorf("schedule: %q: %w", expr, err)
	}
	spec, ok := parsed.(*cron.SpecSchedule)
	if !ok {
		// @every counts from whenever the process started, so it has no
		// fixed times to catch up on and no date to identify a run by.
		return nil, fmt.Errorf("schedule: %q: @every is not supported; use a cron expression such as \"0 */6 * * *\"", expr)
	}
	if spec.Second != 1 {
		// The standard parser always sets second 0; anything else means a
		// parser change this package does not handle.
		return nil, fmt.Errorf("schedule: %q: only schedules at second 0 are supported", expr)
	}
	return spec, nil
}

func loadLocation(name string) (*time.Location, error) {
	switch name {
	case "", "UTC":
		return time.UTC, nil
	case "Local":
		// The zone of whatever node the manager lands on is not a setting.
		return nil, errors.New(`timeZone: "Local" is not allowed; use an IANA name such as "Europe/Madrid"`)
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		// err reads "unknown time zone X" (or "invalid location name").
		return nil, fmt.Errorf("timeZone: %w", err)
	}
	return loc, nil
}

// bitsToList lists the set bits 0..maxBit of a robfig field in ascending order.
func bitsToList(field uint64, maxBit int) []int {
	var out []int
	for v := 0; v <= maxBit; v++ {
		if field&(1<<uint(v)) != 0 {
			out = append(out, v)
		}
	}
	return out
}

// Location returns the schedule's time zone.
func (s *Schedule) Location() *time.Location { return s.loc }

// DateOf returns t's calendar date in the schedule's time zone as
// "2006-01-02". It is the identity of a run: a daily snapshot scheduled at
// 00:30 Madrid time on 1 March belongs to 1 March even though it is still
// 28 February in UTC, and a run retried or caught up later keeps the date it
// was scheduled for when given its scheduled time.
func (s *Schedule) DateOf(t time.Time) string {
	return t.In(s.loc).Format(time.DateOnly)
}

// Next returns the first scheduled time strictly after after, in the
// schedule's zone, or the zero time if there is none within nine years
// (impossible for a schedule Parse accepted).
func (s *Schedule) Next(after time.Time) time.Time {
	// Start a day early: a time in a repeated hour can belong to a wall
	// date before after's (see resolve).
	c := dayOf(after.In(s.loc)).prev()
	lastMinute := s.minutes[len(s.minutes)-1]
	for range searchDays + 2 {
		if s.dayMatches(c) {
			for _, h := range s.hours {
				// Instants grow with wall time, so if the hour's last minute
				// is not after after, none of its minutes is.
				if !s.resolve(c, h, lastMinute).After(after) {
					continue
				}
				for _, m := range s.minutes {
					if t := s.resolve(c, h, m); t.After(after) {
						return t
					}
				}
			}
		}
		c = c.next()
	}
	return time.Time{}
}

// prev returns the last scheduled time at or before at and strictly after
// floor, or the zero time if there is none (looking back at most nine years).
func (s *Schedule) prev(at, floor time.Time) time.Time {
	c := dayOf(at.In(s.loc)).next()
	stop := max(dayOf(floor.In(s.loc)).n-1, c.n-searchDays)
	firstMinute := s.minutes[0]
	for ; c.n >= stop; c = c.prev() {
		if !s.dayMatches(c) {
			continue
		}
		for hi := len(s.hours) - 1; hi >= 0; hi-- {
			h := s.hours[hi]
			if s.resolve(c, h, firstMinute).After(at) {
				continue
			}
			for mi := len(s.minutes) - 1; mi >= 0; mi-- {
				if t := s.resolve(c, h, s.minutes[mi]); !t.After(at) {
					if t.After(floor) {
						return t
					}
					return time.Time{}
				}
			}
		}
	}
	return time.Time{}
}

func (s *Schedule) dayMatches(c day) bool {
	if s.month&(1<<uint(c.m)) == 0 {
		return false
	}
	domMatch := s.dom&(1<<uint(c.d)) != 0
	dowMatch := s.dow&(1<<uint(c.weekday())) != 0
	// Classic cron: when both day fields are restricted, either may match
	// ("0 0 1 * MON" is the 1st and every Monday); otherwise both must.
	if s.dom&starBit != 0 || s.dow&starBit != 0 {
		return domMatch && dowMatch
	}
	return domMatch || dowMatch
}

// resolve turns the wall-clock time h:m on local date c into an instant,
// with the package's DST rules: a time inside a gap becomes the first
// instant after the gap, a time inside an overlap its first occurrence.
// Both rules keep instants non-decreasing in wall time, which Next, prev and
// count rely on.
func (s *Schedule) resolve(c day, h, m int) time.Time {
	// time.Date picks one side of a gap or overlap without promising which
	// (in practice it depends on the sign of the UTC offset), so only its
	// zone period is trusted below.
	t := time.Date(c.y, c.m, c.d, h, m, 0, 0, s.loc)
	wall := c.n*secondsPerDay + int64(h*3600+m*60)
	ty, tm, td := t.Date()
	th, tmin, _ := t.Clock()
	if ty != c.y || tm != c.m || td != c.d || th != h || tmin != m {
		// The wall time does not exist. t is either after the gap (so its
		// period starts at the transition) or before it (so its period
		// ends there).
		start, end := t.ZoneBounds()
		if wallOf(t) > wall {
			return start
		}
		return end
	}
	// The wall time exists; it may exist twice. t's period has one
	// instant with this wall time; the previous period may have an earlier
	// one.
	start, _ := t.ZoneBounds()
	if start.IsZero() {
		return t // fixed zone or first period: no earlier occurrence
	}
	before := start.Add(-time.Second)
	_, off := before.Zone()
	earlier := time.Unix(wall-int64(off), 0).In(s.loc)
	if pstart, _ := before.ZoneBounds(); earlier.Before(start) && (pstart.IsZero() || !earlier.Before(pstart)) {
		return earlier
	}
	return t
}

// wallOf is t's wall-clock time as seconds since 1970-01-01 00:00 in t's
// own zone.
func wallOf(t time.Time) int64 {
	_, off := t.Zone()
	return t.Unix() + int64(off)
}
