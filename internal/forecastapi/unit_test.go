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

package forecastapi

import (
	"encoding/json"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"
)

func TestDecimalRendering(t *testing.T) {
	for _, tc := range []struct {
		in            string
		percent, rate string // "" = null
	}{
		{in: "70", percent: "70.0", rate: "70.0"},
		{in: "70.0", percent: "70.0", rate: "70.0"},
		{in: "66.66", percent: "66.7", rate: "66.66"},
		{in: "0.5", percent: "0.5", rate: "0.5"},
		{in: "0", percent: "0.0", rate: "0.0"},
		{in: "-0.25", percent: "-0.2", rate: "-0.25"},
		{in: "2", percent: "2.0", rate: "2.0"},
		{in: "12.345", percent: "12.3", rate: "12.345"},
		{in: "0.0000001", percent: "0.0", rate: "0.0000001"},
		{in: " 1.5 ", percent: "1.5", rate: "1.5"},
		{in: "NaN"},
		{in: "Inf"},
		{in: "abc"},
		{in: ""},
	} {
		in := tc.in
		for _, c := range []struct {
			name string
			got  *json.Number
			want string
		}{{"oneDecimal", oneDecimal(&in), tc.percent}, {"pythonFloat", pythonFloat(&in), tc.rate}} {
			switch {
			case c.want == "" && c.got != nil:
				t.Errorf("%s(%q) = %s, want null", c.name, in, *c.got)
			case c.want != "" && (c.got == nil || string(*c.got) != c.want):
				t.Errorf("%s(%q) = %v, want %s", c.name, in, c.got, c.want)
			case c.got != nil:
				// Every rendering must be a valid JSON number.
				if _, err := json.Marshal(c.got); err != nil {
					t.Errorf("%s(%q) = %s is not a JSON number: %v", c.name, in, *c.got, err)
				}
			}
		}
	}
	if oneDecimal(nil) != nil || pythonFloat(nil) != nil {
		t.Error("absent decimals must render as null")
	}
}

func TestBearerToken(t *testing.T) {
	for _, tc := range []struct {
		header, token string
		ok            bool
	}{
		{"Bearer abc.def", "abc.def", true},
		{"bearer abc", "abc", true},
		{"BEARER  abc ", "abc", true},
		{"Bearer", "", false},
		{"Bearer ", "", false},
		{"Basic dXNlcjpwYXNz", "", false},
		{"", "", false},
		{"Token abc", "", false},
	} {
		r := httptest.NewRequest("GET", "/", nil)
		if tc.header != "" {
			r.Header.Set("Authorization", tc.header)
		}
		token, ok := bearerToken(r)
		if token != tc.token || ok != tc.ok {
			t.Errorf("bearerToken(%q) = %q, %v; want %q, %v", tc.header, token, ok, tc.token, tc.ok)
		}
	}
}

func TestRenewAfterSpreadsRenewals(t *testing.T) {
	const ttl = 10 * time.Second
	seen := map[time.Duration]bool{}
	lo, hi := ttl, time.Duration(0)
	for range 1000 {
		d := renewAfter(ttl)
		if d < ttl/2 || d > ttl*3/4 {
			t.Fatalf("renewAfter(%v) = %v, want within [%v, %v]", ttl, d, ttl/2, ttl*3/4)
		}
		seen[d] = true
		lo, hi = min(lo, d), max(hi, d)
	}
	// 1000 answers cached at once fall due over most of the 2.5 s window,
	// not in one instant.
	if len(seen) < 900 || hi-lo < 2*time.Second {
		t.Errorf("1000 draws: %d distinct, spread %v; want them spread over the window", len(seen), hi-lo)
	}
	if d := renewAfter(0); d != 0 {
		t.Errorf("renewAfter(0) = %v, want 0", d)
	}
}

func TestTTLCacheRenewal(t *testing.T) {
	now := time.Date(2025, 1, 19, 0, 0, 0, 0, time.UTC)
	c := newTTLCache[int, string](10)
	c.putRenewing(1, "one", now, 10*time.Second, 6*time.Second)
	for _, tc := range []struct {
		at           time.Duration
		ok, renewDue bool
	}{
		{0, true, false},
		{6*time.Second - 1, true, false},
		{6 * time.Second, true, true},
		{10*time.Second - 1, true, true},
		{10 * time.Second, false, false}, // expired: never served, whatever the renewal
	} {
		v, due, ok := c.getRenewal(1, now.Add(tc.at))
		if ok != tc.ok || due != tc.renewDue || (ok && v != "one") {
			t.Errorf("at +%v: %q, renewDue %v, ok %v; want renewDue %v, ok %v", tc.at, v, due, ok, tc.renewDue, tc.ok)
		}
	}
	// put never asks for an early renewal.
	c.put(2, "two", now, 10*time.Second)
	if _, due, _ := c.getRenewal(2, now.Add(10*time.Second-1)); due {
		t.Error("an entry stored with put must not be due for renewal before it expires")
	}
}

func TestTTLCache(t *testing.T) {
	now := time.Date(2025, 1, 19, 0, 0, 0, 0, time.UTC)
	c := newTTLCache[int, string](100)
	c.put(1, "one", now, 10*time.Second)
	if v, ok := c.get(1, now.Add(9*time.Second)); !ok || v != "one" {
		t.Fatalf("get before expiry = %q, %v", v, ok)
	}
	if _, ok := c.get(1, now.Add(10*time.Second)); ok {
		t.Fatal("entry must expire at its TTL")
	}
	c.put(2, "zero ttl", now, 0)
	if _, ok := c.get(2, now); ok {
		t.Fatal("a zero TTL must not cache")
	}

	// Bounded: a flood of keys never grows it past max.
	for i := range 10000 {
		c.put(i, strconv.Itoa(i), now, time.Minute)
		if n := c.len(); n > 100 {
			t.Fatalf("cache holds %d entries, max 100", n)
		}
	}
	// Expired entries are evicted before live ones.
	c = newTTLCache[int, string](10)
	for i := range 5 {
		c.put(i, "old", now, time.Second)
	}
	for i := 5; i < 10; i++ {
		c.put(i, "live", now, time.Hour)
	}
	c.put(10, "new", now.Add(time.Minute), time.Hour)
	for i := 5; i <= 10; i++ {
		if _, ok := c.get(i, now.Add(time.Minute)); !ok {
			t.Errorf("live entry %d was evicted while expired ones were present", i)
		}
	}
}

func TestResponseCacheVersion(t *testing.T) {
	c := newResponseCache(time.Minute, 10)
	a0, b0 := c.version("a"), c.version("b")
	c.invalidate("a")
	if c.version("a") == a0 || c.version("b") != b0 {
		t.Fatal("Invalidate must change only that tenant's version")
	}
	a1, b1 := c.version("a"), c.version("b")
	c.invalidateAll()
	if c.version("a") == a1 || c.version("b") == b1 {
		t.Fatal("InvalidateAll must change every version")
	}
}

func TestCheckTenantID(t *testing.T) {
	for id, ok := range map[string]bool{
		"test-tenant": true, "a": true, "0abc9": true, "abc-": false, "-abc": false, "ABC": false,
		"a_b": false, "a.b": false, "": false, "a b": false,
		"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa":  true,  // 63
		"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa": false, // 64
	} {
		if err := checkTenantID(id); (err == nil) != ok {
			t.Errorf("checkTenantID(%q) = %v, want ok=%v", id, err, ok)
		}
	}
}
