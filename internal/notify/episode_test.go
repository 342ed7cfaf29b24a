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

package notify

import (
	"fmt"
	"strings"
	"testing"
)

func pct(v float64) Observation { return Observation{Percentage: &v} }

func daysObs(expected, earliest int) Observation {
	p := 50.0
	o := Observation{Percentage: &p}
	if expected >= 0 {
		o.DaysUntilBreach = &expected
	}
	if earliest >= 0 {
		o.DaysUntilEarliest = &earliest
	}
	return o
}

// run steps c through obs and returns the events as short strings
// ("usage_threshold@80#1.1" = type@threshold#episode.seq), one per step
// ("-" for none).
func run(c Condition, obs []Observation) []string {
	var s State
	out := make([]string, len(obs))
	for i, o := range obs {
		var tr Transition
		var ok bool
		s, tr, ok = Step(c, s, o)
		out[i] = "-"
		if ok {
			out[i] = fmt.Sprintf("%s@%d#%d.%d", tr.Type.Short(), tr.Threshold, tr.Episode, tr.Seq)
		}
	}
	return out
}

func TestStep(t *testing.T) {
	usage := Condition{Kind: KindUsageThreshold, Percentages: []int{50, 80, 90}}
	limit := Condition{Kind: KindLimitReached}
	breach := Condition{Kind: KindPredictedBreach, WithinDays: 14}
	breachEarliest := Condition{Kind: KindPredictedBreach, WithinDays: 14, Earliest: true}
	unlimited := Observation{}
	for _, tc := range []struct {
		name string
		c    Condition
		obs  []Observation
		want string
	}{
		{"limit: one event per episode, re-armed after recovery", limit,
			[]Observation{pct(99), pct(100), pct(120), pct(100), pct(94.9), pct(100)},
			"- limit_reached@0#1.1 - - recovered@0#1.2 limit_reached@0#2.1"},
		{"limit: flapping within the hysteresis band does not spam", limit,
			[]Observation{pct(100), pct(99), pct(100), pct(96), pct(101), pct(95), pct(100)},
			"limit_reached@0#1.1 - - - - - -"},
		{"usage: a jump over several thresholds is one event for the highest", usage,
			[]Observation{pct(10), pct(85), pct(86)},
			"- usage_threshold@80#1.1 -"},
		{"usage: higher thresholds within an episode, then one recovery", usage,
			[]Observation{pct(50), pct(80), pct(90), pct(91), pct(46), pct(44.9)},
			"usage_threshold@50#1.1 usage_threshold@80#1.2 usage_threshold@90#1.3 - - recovered@50#1.4"},
		{"usage: flapping around 80 reports it once", usage,
			[]Observation{pct(79), pct(80), pct(79.9), pct(80.1), pct(76), pct(80)},
			"usage_threshold@50#1.1 usage_threshold@80#1.2 - - - -"},
		{"usage: 80 re-armed after falling below 75", usage,
			[]Observation{pct(80), pct(74), pct(80)},
			"usage_threshold@80#1.1 - usage_threshold@80#1.2"},
		{"usage: unlimited clears", usage,
			[]Observation{pct(95), unlimited, pct(95)},
			"usage_threshold@90#1.1 recovered@90#1.2 usage_threshold@90#2.1"},
		{"breach: within 14 days, hysteresis of 3 days, cleared by no prediction", breach,
			[]Observation{daysObs(20, 10), daysObs(14, 10), daysObs(16, 10), daysObs(17, 10), daysObs(18, 10), daysObs(12, 10), daysObs(-1, -1)},
			"- predicted_breach@0#1.1 - - recovered@0#1.2 predicted_breach@0#2.1 recovered@0#2.2"},
		{"breach on the earliest basis fires sooner", breachEarliest,
			[]Observation{daysObs(20, 15), daysObs(20, 14), daysObs(16, -1)},
			"- predicted_breach@0#1.1 -"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := strings.Join(run(tc.c, tc.obs), " "); got != tc.want {
				t.Errorf("got  %s\nwant %s", got, tc.want)
			}
		})
	}
}

func TestConditionValidateAndKey(t *testing.T) {
	for _, tc := range []struct {
		c       Condition
		key     string
		wantErr string
	}{
		{Condition{Kind: KindLimitReached}, "limit_reached", ""},
		{Condition{Kind: KindUsageThreshold, Percentages: []int{50, 80}}, "usage_threshold:50,80", ""},
		{Condition{Kind: KindPredictedBreach, WithinDays: 7, Earliest: true}, "predicted_breach:7d:earliest", ""},
		{Condition{Kind: KindUsageThreshold}, "", "percentages is empty"},
		{Condition{Kind: KindUsageThreshold, Percentages: []int{80, 50}}, "", "percentages[1] 50 is not above"},
		{Condition{Kind: KindUsageThreshold, Percentages: []int{0}}, "", "percentages[0] 0 is outside"},
		{Condition{Kind: KindPredictedBreach, WithinDays: -1}, "", "withinDays -1"},
		{Condition{Kind: "Sometimes"}, "", `kind "Sometimes"`},
		{Condition{Kind: KindLimitReached, HysteresisPercent: -2}, "", "hysteresisPercent -2"},
	} {
		err := tc.c.Validate()
		switch {
		case tc.wantErr == "" && err != nil:
			t.Errorf("%+v: %v", tc.c, err)
		case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
			t.Errorf("%+v: error %v, want %q", tc.c, err, tc.wantErr)
		case tc.wantErr == "" && tc.c.Key() != tc.key:
			t.Errorf("key %q, want %q", tc.c.Key(), tc.key)
		}
	}
}

func TestStateEncoding(t *testing.T) {
	for _, s := range []State{{}, {Active: true, Level: 90, Episode: 3, Seq: 7}} {
		got, err := decodeState(encodeState(s))
		if err != nil || got != s {
			t.Errorf("round trip of %+v: %+v, %v", s, got, err)
		}
	}
	for _, bad := range []string{"", "1|2|3", "2|0|0|0", "1|x|0|0", "1|0|-1|0", "1|0|0|0|0"} {
		if _, err := decodeState(bad); err == nil {
			t.Errorf("decodeState(%q) accepted", bad)
		}
	}
}

// FuzzStep: any sequence of observations gives at most one event per step,
// never two opening events without a Recovered between them, and episode
// and sequence numbers that only grow.
func FuzzStep(f *testing.F) {
	f.Add([]byte{10, 85, 86, 200, 0, 90, 255}, uint8(0))
	f.Add([]byte{100, 99, 100, 96, 101, 95}, uint8(1))
	f.Add([]byte{20, 14, 16, 17, 18, 12}, uint8(2))
	f.Fuzz(func(t *testing.T, data []byte, kind uint8) {
		conds := []Condition{
			{Kind: KindUsageThreshold, Percentages: []int{50, 80, 90}},
			{Kind: KindLimitReached},
			{Kind: KindPredictedBreach, WithinDays: 14, Earliest: kind%2 == 0},
		}
		c := conds[int(kind)%len(conds)]
		var s State
		for _, b := range data {
			var o Observation
			if b != 255 {
				p := float64(b)
				d := int(b) / 4
				o = Observation{Percentage: &p, DaysUntilBreach: &d}
				if b%3 == 0 {
					e := d / 2
					o.DaysUntilEarliest = &e
				}
			}
			next, tr, ok := Step(c, s, o)
			if next.Episode < s.Episode || (next.Episode == s.Episode && next.Seq < s.Seq) {
				t.Fatalf("state went back: %+v -> %+v", s, next)
			}
			if ok {
				opening := tr.Type != Recovered && !s.Active
				if opening && next.Episode != s.Episode+1 {
					t.Fatalf("opening event without a new episode: %+v -> %+v", s, next)
				}
				if tr.Type == Recovered && !s.Active {
					t.Fatalf("Recovered while inactive")
				}
				if tr.Episode != next.Episode || tr.Seq != next.Seq {
					t.Fatalf("transition %+v does not match state %+v", tr, next)
				}
			} else if next.Active != s.Active {
				t.Fatalf("silent activation change %+v -> %+v", s, next)
			}
			s = next
		}
	})
}
