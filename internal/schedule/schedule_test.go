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
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/robfig/cron/v3"
)

func mustParse(t testing.TB, expr, zone string) *Schedule {
	t.Helper()
	s, err := Parse(expr, zone)
	if err != nil {
		t.Fatalf("Parse(%q, %q): %v", expr, zone, err)
	}
	return s
}

func mustZone(name string) *time.Location {
	loc, err := time.LoadLocation(name)
	if err != nil {
		panic(err)
	}
	return loc
}

var (
	madrid  = mustZone("Europe/Madrid")
	newYork = mustZone("America/New_York")
)

// utc is a shorthand for a UTC instant.
func utc(y int, m time.Month, d, h, min int) time.Time {
	return time.Date(y, m, d, h, min, 0, 0, time.UTC)
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		expr, zone string
		want       []string // substrings of the error, in order of appearance
	}{
		{"", "", []string{"schedule: must not be empty"}},
		{"   ", "UTC", []string{"schedule: must not be empty"}},
		{"61 * * * *", "", []string{`schedule: "61 * * * *": `, "61"}},
		{"0 2 * *", "", []string{`schedule: "0 2 * *": `}},
		{"0 2 * * * *", "", []string{`schedule: "0 2 * * * *": `}},
		{"@fortnightly", "", []string{`schedule: "@fortnightly": `}},
		{"@every 1h", "", []string{"schedule: ", "@every is not supported"}},
		{"CRON_TZ=Europe/Madrid 0 2 * * *", "", []string{"schedule: ", "set timeZone instead"}},
		{"TZ=UTC 0 2 * * *", "", []string{"schedule: ", "set timeZone instead"}},
		{"0 0 30 2 *", "", []string{"schedule: ", "never fires"}},
		{", 0 1 1 0", "", []string{"schedule: ", "matches no value"}}, // an empty list item: found by FuzzParse
		{"0 0 31 4,6,9,11 *", "UTC", []string{"never fires"}},
		{"0 2 * * *", "Mars/Olympus_Mons", []string{"timeZone: unknown time zone Mars/Olympus_Mons"}},
		{"0 2 * * *", "Local", []string{"timeZone: ", "not allowed"}},
		{"0 2 * * *", "../../etc/passwd", []string{"timeZone: "}},
		{"0 25 * * *", "Nowhere/City", []string{"schedule: ", "timeZone: unknown time zone Nowhere/City"}},
	}
	for _, tc := range tests {
		t.Run(tc.expr+"|"+tc.zone, func(t *testing.T) {
			s, err := Parse(tc.expr, tc.zone)
			if err == nil {
				t.Fatalf("Parse(%q, %q) = %v, want an error", tc.expr, tc.zone, s)
			}
			msg := err.Error()
			rest := msg
			for _, w := range tc.want {
				i := strings.Index(rest, w)
				if i < 0 {
					t.Fatalf("error %q does not contain %q (in order)", msg, w)
				}
				rest = rest[i+len(w):]
			}
		})
	}
}

func TestParseValid(t *testing.T) {
	for _, tc := range []struct {
		expr, zone string
		wantLoc    string
		after      time.Time
		next       time.Time
	}{
		{"0 2 * * *", "", "UTC", utc(2025, 1, 1, 0, 0), utc(2025, 1, 1, 2, 0)},
		{" 0 2 * * * ", "UTC", "UTC", utc(2025, 1, 1, 2, 0), utc(2025, 1, 2, 2, 0)},
		{"@daily", "", "UTC", utc(2025, 1, 1, 0, 0), utc(2025, 1, 2, 0, 0)},
		{"@midnight", "Europe/Madrid", "Europe/Madrid", utc(2025, 1, 1, 0, 0), utc(2025, 1, 1, 23, 0)},
		{"@hourly", "", "UTC", utc(2025, 1, 1, 0, 30), utc(2025, 1, 1, 1, 0)},
		{"@weekly", "", "UTC", utc(2025, 1, 1, 0, 0), utc(2025, 1, 5, 0, 0)}, // Sunday
		{"@monthly", "", "UTC", utc(2025, 1, 1, 0, 0), utc(2025, 2, 1, 0, 0)},
		{"@yearly", "", "UTC", utc(2025, 1, 1, 0, 0), utc(2026, 1, 1, 0, 0)},
		{"0 0 29 2 *", "", "UTC", utc(2025, 3, 1, 0, 0), utc(2028, 2, 29, 0, 0)},
		{"0 0 29 2 *", "", "UTC", utc(2097, 1, 1, 0, 0), utc(2104, 2, 29, 0, 0)}, // 2100 is not a leap year
		// Both day fields restricted: either matches (classic cron).
		{"0 0 13 * FRI", "", "UTC", utc(2025, 1, 1, 0, 0), utc(2025, 1, 3, 0, 0)},
		// One is "*": both must match.
		{"0 0 * 6 MON", "", "UTC", utc(2025, 1, 1, 0, 0), utc(2025, 6, 2, 0, 0)},
	} {
		s := mustParse(t, tc.expr, tc.zone)
		if got := s.Location().String(); got != tc.wantLoc {
			t.Errorf("%q: Location = %s, want %s", tc.expr, got, tc.wantLoc)
		}
		if got := s.Next(tc.after); !got.Equal(tc.next) {
			t.Errorf("%q in %q: Next(%v) = %v, want %v", tc.expr, tc.zone, tc.after, got.UTC(), tc.next)
		}
	}
}

func TestPlanDailyUTC(t *testing.T) {
	day0 := func(h, m int) time.Time { return utc(2025, 1, 10, h, m) }
	dayN := func(n, h, m int) time.Time { return utc(2025, 1, 10+n, h, m) }
	tests := []struct {
		name     string
		last     time.Time
		now      time.Time
		deadline time.Duration
		want     Plan
	}{
		{
			name: "01:59: nothing due yet",
			last: dayN(-1, 2, 0), now: day0(1, 59),
			want: Plan{Next: day0(2, 0)},
		},
		{
			name: "02:00 exactly: due",
			last: dayN(-1, 2, 0), now: day0(2, 0),
			want: Plan{Due: day0(2, 0), Next: dayN(1, 2, 0)},
		},
		{
			name: "created at 01:00, first check at 02:00",
			last: day0(1, 0), now: day0(2, 0),
			want: Plan{Due: day0(2, 0), Next: dayN(1, 2, 0)},
		},
		{
			name: "down 01:00-05:00: exactly one run, 02:00",
			last: dayN(-1, 2, 0), now: day0(5, 0),
			want: Plan{Due: day0(2, 0), Next: dayN(1, 2, 0)},
		},
		{
			name: "after running 02:00, nothing more that day",
			last: day0(2, 0), now: day0(5, 0),
			want: Plan{Next: dayN(1, 2, 0)},
		},
		{
			name: "down three days, deadline 24h: only the newest runs",
			last: day0(2, 0), now: dayN(3, 5, 0), deadline: 24 * time.Hour,
			want: Plan{Due: dayN(3, 2, 0), Missed: 2, Lost: 2, TooLate: dayN(2, 2, 0), Next: dayN(4, 2, 0)},
		},
		{
			name: "down three days, no deadline: only the newest runs, nothing too late",
			last: day0(2, 0), now: dayN(3, 5, 0),
			want: Plan{Due: dayN(3, 2, 0), Missed: 2, Next: dayN(4, 2, 0)},
		},
		{
			name: "down three days, back at 01:00 with deadline 1h: nothing due",
			last: day0(2, 0), now: dayN(3, 1, 0), deadline: time.Hour,
			want: Plan{Missed: 2, Lost: 2, TooLate: dayN(2, 2, 0), Next: dayN(3, 2, 0)},
		},
		{
			name: "a minute folded into the next run within the deadline is not lost",
			last: day0(2, 0), now: dayN(2, 2, 30), deadline: 36 * time.Hour,
			want: Plan{Due: dayN(2, 2, 0), Missed: 1, Lost: 0, Next: dayN(3, 2, 0)},
		},
		{
			name: "exactly at the deadline still runs",
			last: dayN(-1, 2, 0), now: day0(3, 0), deadline: time.Hour,
			want: Plan{Due: day0(2, 0), Next: dayN(1, 2, 0)},
		},
		{
			name: "one nanosecond past the deadline is too late",
			last: dayN(-1, 2, 0), now: day0(3, 0).Add(time.Nanosecond), deadline: time.Hour,
			want: Plan{Missed: 1, Lost: 1, TooLate: day0(2, 0), Next: dayN(1, 2, 0)},
		},
		{
			name: "negative deadline means none",
			last: day0(2, 0), now: dayN(30, 1, 0), deadline: -time.Second,
			want: Plan{Due: dayN(29, 2, 0), Missed: 28, Next: dayN(30, 2, 0)},
		},
		{
			name: "last in the future (clock skew): nothing due",
			last: dayN(1, 2, 0), now: day0(5, 0),
			want: Plan{Next: dayN(1, 2, 0)},
		},
	}
	s := mustParse(t, "0 2 * * *", "UTC")
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := s.Plan(tc.last, tc.now, tc.deadline)
			assertPlan(t, got, tc.want)
		})
	}
}

func assertPlan(t *testing.T, got, want Plan) {
	t.Helper()
	if !got.Due.Equal(want.Due) || got.Missed != want.Missed || got.Lost != want.Lost || !got.TooLate.Equal(want.TooLate) || !got.Next.Equal(want.Next) {
		t.Errorf("Plan =\n  {Due %v, Missed %d, TooLate %v, Next %v}\nwant\n  {Due %v, Missed %d, TooLate %v, Next %v}",
			got.Due.UTC(), got.Missed, got.TooLate.UTC(), got.Next.UTC(),
			want.Due.UTC(), want.Missed, want.TooLate.UTC(), want.Next.UTC())
	}
}

// runsPerLocalDate walks Next from the start of from to the end of to and
// groups the runs by local date.
func runsPerLocalDate(s *Schedule, loc *time.Location, from, to string) map[string][]time.Time {
	start, _ := time.ParseInLocation(time.DateOnly, from, loc)
	end, _ := time.ParseInLocation(time.DateOnly, to, loc)
	end = end.AddDate(0, 0, 1)
	runs := map[string][]time.Time{}
	for t := s.Next(start.Add(-time.Second)); t.Before(end); t = s.Next(t) {
		runs[s.DateOf(t)] = append(runs[s.DateOf(t)], t)
	}
	return runs
}

// TestDSTOncePerLocalDay checks the wrapper's reason to exist: robfig/cron
// skips the spring-forward day for a time in the missing hour and runs twice
// on the fall-back day for a time in the repeated hour (asserted below, so a
// fixed robfig is noticed); Schedule runs exactly once per local date.
func TestDSTOncePerLocalDay(t *testing.T) {
	tests := []struct {
		expr, zone string
		loc        *time.Location
		from, to   string
		// special dates and the one instant (UTC) expected on each
		want map[string]time.Time
	}{
		{
			expr: "0 2 * * *", zone: "Europe/Madrid", loc: madrid, from: "2025-03-25", to: "2025-04-03",
			want: map[string]time.Time{
				"2025-03-29": utc(2025, 3, 29, 1, 0), // 02:00 CET
				"2025-03-30": utc(2025, 3, 30, 1, 0), // 02:00 does not exist: 03:00 CEST
				"2025-03-31": utc(2025, 3, 31, 0, 0), // 02:00 CEST
			},
		},
		{
			expr: "30 2 * * *", zone: "Europe/Madrid", loc: madrid, from: "2025-03-25", to: "2025-04-03",
			want: map[string]time.Time{
				"2025-03-29": utc(2025, 3, 29, 1, 30),
				"2025-03-30": utc(2025, 3, 30, 1, 0), // first instant after the gap, 03:00 CEST
				"2025-03-31": utc(2025, 3, 31, 0, 30),
			},
		},
		{
			expr: "0 2 * * *", zone: "Europe/Madrid", loc: madrid, from: "2025-10-21", to: "2025-10-31",
			want: map[string]time.Time{
				"2025-10-25": utc(2025, 10, 25, 0, 0), // 02:00 CEST
				"2025-10-26": utc(2025, 10, 26, 0, 0), // first of the two 02:00s (CEST)
				"2025-10-27": utc(2025, 10, 27, 1, 0), // 02:00 CET
			},
		},
		{
			expr: "30 2 * * *", zone: "Europe/Madrid", loc: madrid, from: "2025-10-21", to: "2025-10-31",
			want: map[string]time.Time{
				"2025-10-26": utc(2025, 10, 26, 0, 30), // 02:30 CEST, not again at 02:30 CET
			},
		},
		{
			// West of UTC, where time.Date resolves gaps and overlaps the
			// other way round.
			expr: "30 2 * * *", zone: "America/New_York", loc: newYork, from: "2025-03-05", to: "2025-03-12",
			want: map[string]time.Time{
				"2025-03-09": utc(2025, 3, 9, 7, 0), // 02:30 does not exist: 03:00 EDT
			},
		},
		{
			expr: "30 1 * * *", zone: "America/New_York", loc: newYork, from: "2025-10-29", to: "2025-11-05",
			want: map[string]time.Time{
				"2025-11-02": utc(2025, 11, 2, 5, 30), // 01:30 EDT, not again at 01:30 EST
			},
		},
		{
			expr: "@daily", zone: "America/Sao_Paulo", loc: mustZone("America/Sao_Paulo"), from: "2018-10-30", to: "2018-11-08",
			want: map[string]time.Time{
				// Sao Paulo moved clocks forward at midnight: 00:00 did not
				// exist on 4 November 2018, the day started at 01:00.
				"2018-11-04": utc(2018, 11, 4, 3, 0),
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.expr+" "+tc.zone+" "+tc.from, func(t *testing.T) {
			s := mustParse(t, tc.expr, tc.zone)
			runs := runsPerLocalDate(s, tc.loc, tc.from, tc.to)
			start, _ := time.ParseInLocation(time.DateOnly, tc.from, tc.loc)
			end, _ := time.ParseInLocation(time.DateOnly, tc.to, tc.loc)
			for d := start; !d.After(end); d = d.AddDate(0, 0, 1) {
				date := d.Format(time.DateOnly)
				if len(runs[date]) != 1 {
					t.Errorf("%s: %d runs %v, want exactly 1", date, len(runs[date]), runs[date])
					continue
				}
				if want, ok := tc.want[date]; ok && !runs[date][0].Equal(want) {
					t.Errorf("%s: runs at %v, want %v", date, runs[date][0], want.In(tc.loc))
				}
			}
			if len(runs) != int(end.Sub(start).Hours()/24+0.5)+1 {
				t.Errorf("runs on %d dates, want every date from %s to %s", len(runs), tc.from, tc.to)
			}
		})
	}
}

// TestRobfigDSTBehavior pins what robfig/cron v3.0.1 does on DST days, the
// reason Schedule does its own matching. If this starts failing, robfig
// changed and the wrapper may be simplified.
func TestRobfigDSTBehavior(t *testing.T) {
	spec, err := cron.ParseStandard("0 2 * * *")
	if err != nil {
		t.Fatal(err)
	}
	rs := spec.(*cron.SpecSchedule)
	rs.Location = madrid
	var spring []string
	for tm := time.Date(2025, 3, 28, 12, 0, 0, 0, madrid); tm.Before(time.Date(2025, 4, 1, 0, 0, 0, 0, madrid)); tm = rs.Next(tm) {
		spring = append(spring, tm.Format(time.DateOnly))
	}
	var autumn []string
	for tm := time.Date(2025, 10, 24, 12, 0, 0, 0, madrid); tm.Before(time.Date(2025, 10, 28, 0, 0, 0, 0, madrid)); tm = rs.Next(tm) {
		autumn = append(autumn, tm.Format(time.DateOnly))
	}
	if got, want := fmt.Sprint(spring[1:]), "[2025-03-29 2025-03-31]"; got != want {
		t.Errorf("robfig spring-forward runs %s, expected it to skip 2025-03-30: %s", got, want)
	}
	if got, want := fmt.Sprint(autumn[1:]), "[2025-10-25 2025-10-26 2025-10-26 2025-10-27]"; got != want {
		t.Errorf("robfig fall-back runs %s, expected it to run 2025-10-26 twice: %s", got, want)
	}
}

func TestHourlyAcrossDST(t *testing.T) {
	s := mustParse(t, "0 * * * *", "Europe/Madrid")
	runs := runsPerLocalDate(s, madrid, "2025-03-29", "2025-03-31")
	// The spring-forward day has 23 hours: 02:00 does not exist and its
	// run coincides with 03:00's, which runs once.
	for date, want := range map[string]int{"2025-03-29": 24, "2025-03-30": 23, "2025-03-31": 24} {
		if len(runs[date]) != want {
			t.Errorf("%s: %d runs, want %d", date, len(runs[date]), want)
		}
	}
	runs = runsPerLocalDate(s, madrid, "2025-10-25", "2025-10-27")
	// The fall-back day has 25 hours, but each wall hour runs once: the
	// repeated 02:00 does not run again.
	for date, want := range map[string]int{"2025-10-25": 24, "2025-10-26": 24, "2025-10-27": 24} {
		if len(runs[date]) != want {
			t.Errorf("%s: %d runs, want %d", date, len(runs[date]), want)
		}
	}
}

func TestPlanAcrossDST(t *testing.T) {
	s := mustParse(t, "0 2 * * *", "Europe/Madrid")
	tests := []struct {
		name      string
		last, now time.Time
		want      Plan
	}{
		{
			name: "spring forward: the missing 02:00 runs at 03:00",
			last: utc(2025, 3, 29, 1, 0), now: utc(2025, 3, 30, 3, 0),
			want: Plan{Due: utc(2025, 3, 30, 1, 0), Next: utc(2025, 3, 31, 0, 0)},
		},
		{
			name: "spring forward: nothing at 01:59 CET",
			last: utc(2025, 3, 29, 1, 0), now: utc(2025, 3, 30, 0, 59),
			want: Plan{Next: utc(2025, 3, 30, 1, 0)},
		},
		{
			name: "fall back: second 02:00 does not run again",
			last: utc(2025, 10, 26, 0, 0), now: utc(2025, 10, 26, 1, 30),
			want: Plan{Next: utc(2025, 10, 27, 1, 0)},
		},
		{
			name: "fall back, down over the whole week-end",
			last: utc(2025, 10, 24, 0, 0), now: utc(2025, 10, 27, 9, 0),
			want: Plan{Due: utc(2025, 10, 27, 1, 0), Missed: 2, Next: utc(2025, 10, 28, 1, 0)},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			assertPlan(t, s.Plan(tc.last, tc.now, 0), tc.want)
		})
	}
}

func TestPlanYearsOfMinutelyIsExactAndBounded(t *testing.T) {
	last := utc(2022, 1, 1, 0, 0)
	now := time.Date(2025, 1, 1, 0, 0, 30, 0, time.UTC)
	minutes := (365 + 365 + 366) * 24 * 60
	for _, tc := range []struct {
		zone   string
		missed int
	}{
		{"UTC", minutes - 1},
		// Madrid's clocks are an hour ahead of UTC: the window holds the
		// same number of minutes, but each spring-forward day has 60 fewer
		// distinct run instants (the missing hour's minutes all land on
		// 03:00) and each fall-back day none more (the repeated hour does
		// not run again): 3 years x -60.
		{"Europe/Madrid", minutes - 1 - 3*60},
	} {
		t.Run(tc.zone, func(t *testing.T) {
			s := mustParse(t, "* * * * *", tc.zone)
			want := Plan{Due: utc(2025, 1, 1, 0, 0), Missed: tc.missed, Next: utc(2025, 1, 1, 0, 1)}
			assertPlan(t, s.Plan(last, now, 0), want)
			want = Plan{Missed: tc.missed + 1, Lost: tc.missed + 1, TooLate: utc(2025, 1, 1, 0, 0), Next: utc(2025, 1, 1, 0, 1)}
			assertPlan(t, s.Plan(last, now, 10*time.Second), want)
		})
	}
}

// TestCountMatchesWalkingNext checks the day-based counter against the
// obvious count, one Next at a time, on windows that cross DST changes in
// both hemispheres and both signs of UTC offset.
func TestCountMatchesWalkingNext(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	exprs := []string{"0 2 * * *", "30 2 * * *", "0 * * * *", "*/7 * * * *", "15,45 1-3 * * *", "0 0 * * 0", "@daily", "0 0 1,15 * MON", "59 23 * * *"}
	zones := []string{"UTC", "Europe/Madrid", "America/New_York", "Australia/Sydney", "Asia/Kolkata", "Australia/Lord_Howe", "America/Sao_Paulo"}
	for _, zone := range zones {
		for _, expr := range exprs {
			s := mustParse(t, expr, zone)
			// Random windows of up to 12 days in 2018-2026, plus windows
			// around each zone's DST changes of 2018 and 2025 (none for UTC
			// and Kolkata). Twelve days leave interior days for the fast
			// path.
			var windows [][2]time.Time
			for range 4 {
				a := time.Unix(1514764800+rng.Int64N(9*365*86400), rng.Int64N(1e9))
				windows = append(windows, [2]time.Time{a, a.Add(time.Duration(rng.Int64N(12*86400)) * time.Second)})
			}
			loc := s.Location()
			for _, year := range []int{2018, 2025} {
				for tr := time.Date(year, 1, 1, 0, 0, 0, 0, loc); tr.Year() == year; {
					_, end := tr.ZoneBounds()
					if end.IsZero() || end.Year() != year {
						break
					}
					a := end.Add(-time.Duration(1+rng.IntN(6)) * 24 * time.Hour).Add(time.Duration(rng.IntN(86400)) * time.Second)
					windows = append(windows, [2]time.Time{a, a.Add(time.Duration(4+rng.IntN(8)) * 24 * time.Hour)})
					tr = end
				}
			}
			for _, w := range windows {
				a, b := w[0], w[1]
				want := 0
				for t := s.Next(a); !t.After(b); t = s.Next(t) {
					want++
				}
				if got := s.count(a, b); got != want {
					t.Errorf("%s %q: count(%v, %v) = %d, walking Next gives %d", zone, expr, a.UTC(), b.UTC(), got, want)
				}
				last := time.Time{}
				for t := s.Next(a); !t.After(b); t = s.Next(t) {
					last = t
				}
				if got := s.prev(b, a); !got.Equal(last) {
					t.Errorf("%s %q: prev(%v, %v) = %v, walking Next gives %v", zone, expr, b.UTC(), a.UTC(), got.UTC(), last.UTC())
				}
			}
		}
	}
}

// TestNextMatchesRobfigAwayFromDST: on days without a zone transition the
// wrapper must agree with robfig/cron exactly, including its day-of-month /
// day-of-week rules and descriptors.
func TestNextMatchesRobfigAwayFromDST(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	exprs := []string{"0 2 * * *", "*/5 * * * *", "0 0 13 * FRI", "0 12 * * MON-FRI", "30 4 1 1,7 *", "0 0 L * *", "@weekly", "@monthly", "7 */3 * * *", "0 0 29 2 *", "0 0 * * 7"}
	for _, zone := range []string{"UTC", "Europe/Madrid", "Asia/Tokyo"} {
		loc := mustZone(zone)
		for _, expr := range exprs {
			spec, rerr := cron.ParseStandard(expr)
			s, err := Parse(expr, zone)
			if (rerr != nil) != (err != nil) {
				t.Errorf("%q: robfig error %v, Parse error %v", expr, rerr, err)
			}
			if err != nil {
				continue
			}
			rs := spec.(*cron.SpecSchedule)
			rs.Location = loc
			for range 300 {
				at := time.Unix(1514764800+rng.Int64N(9*365*86400), 0)
				want := rs.Next(at)
				if inTransitionWeek(at, want, loc) {
					continue
				}
				if got := s.Next(at); !got.Equal(want) {
					t.Errorf("%s %q: Next(%v) = %v, robfig %v", zone, expr, at.In(loc), got, want)
				}
			}
		}
	}
}

// inTransitionWeek reports whether a zone transition happens within a week
// of a or b, where the two implementations are allowed to differ.
func inTransitionWeek(a, b time.Time, loc *time.Location) bool {
	if b.IsZero() {
		b = a
	}
	_, end := a.Add(-7 * 24 * time.Hour).In(loc).ZoneBounds()
	return !end.IsZero() && end.Before(b.Add(7*24*time.Hour))
}

func TestDateOf(t *testing.T) {
	tests := []struct {
		zone string
		at   time.Time
		want string
	}{
		{"UTC", utc(2025, 2, 28, 23, 30), "2025-02-28"},
		{"Europe/Madrid", utc(2025, 2, 28, 23, 30), "2025-03-01"}, // 00:30 CET
		{"Europe/Madrid", utc(2025, 2, 28, 22, 59), "2025-02-28"}, // 23:59 CET
		{"America/New_York", utc(2025, 3, 1, 3, 0), "2025-02-28"}, // 22:00 EST
		{"Pacific/Kiritimati", utc(2025, 12, 31, 10, 0), "2026-01-01"},
		// A time given in another zone is converted first.
		{"UTC", time.Date(2025, 3, 1, 0, 30, 0, 0, madrid), "2025-02-28"},
	}
	for _, tc := range tests {
		if got := mustParse(t, "@daily", tc.zone).DateOf(tc.at); got != tc.want {
			t.Errorf("%s: DateOf(%v) = %s, want %s", tc.zone, tc.at, got, tc.want)
		}
	}
}

func TestDayStepping(t *testing.T) {
	c := dayOf(time.Date(1899, 12, 25, 0, 0, 0, 0, time.UTC))
	for tm := time.Date(1899, 12, 25, 0, 0, 0, 0, time.UTC); tm.Year() < 2110; tm = tm.AddDate(0, 0, 1) {
		if c != dayOf(tm) || c.weekday() != int(tm.Weekday()) {
			t.Fatalf("stepping forward reached %+v (weekday %d), want %+v (%v)", c, c.weekday(), dayOf(tm), tm.Weekday())
		}
		if back := c.next().prev(); back != c {
			t.Fatalf("next then prev of %+v = %+v", c, back)
		}
		c = c.next()
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{"0 2 * * *", "@daily", "*/5 1-3 * * MON-FRI", "0 0 31 2 *", "@every 5m", "TZ=UTC 0 0 * * *", "0 0 L * *"} {
		f.Add(s, "Europe/Madrid")
	}
	f.Fuzz(func(t *testing.T, expr, zone string) {
		s, err := Parse(expr, zone)
		if err != nil {
			msg := err.Error()
			if !strings.HasPrefix(msg, "schedule: ") && !strings.HasPrefix(msg, "timeZone: ") {
				t.Fatalf("error does not name its field: %q", msg)
			}
			return
		}
		at := time.Date(2025, 3, 30, 0, 59, 0, 0, time.UTC)
		n := s.Next(at)
		if !n.After(at) {
			t.Fatalf("Next(%v) = %v", at, n)
		}
		p := s.Plan(at.Add(-48*time.Hour), at, time.Hour)
		if p.Missed < 0 || !p.Next.Equal(n) || (!p.Due.IsZero() && p.Due.After(at)) {
			t.Fatalf("bad plan %+v", p)
		}
	})
}

func BenchmarkNextDaily(b *testing.B) {
	s := mustParse(b, "0 2 * * *", "Europe/Madrid")
	at := utc(2025, 3, 29, 12, 0)
	b.ReportAllocs()
	for b.Loop() {
		s.Next(at)
	}
}

// BenchmarkPlanThreeYearsMinutely: catching up after three years down with a
// minutely schedule must not walk 1.5 million times.
func BenchmarkPlanThreeYearsMinutely(b *testing.B) {
	s := mustParse(b, "* * * * *", "Europe/Madrid")
	last, now := utc(2022, 1, 1, 0, 0), utc(2025, 1, 1, 0, 0)
	b.ReportAllocs()
	for b.Loop() {
		s.Plan(last, now, time.Hour)
	}
}
