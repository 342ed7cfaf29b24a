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

package loadgen

import (
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
)

func TestMain(m *testing.M) {
	Main()
	os.Exit(m.Run())
}

// TestRun runs a job in a generator process against a loopback server: every
// request arrives once with its token (and its body when a POST), answers
// other than 200 count as refused, and the durations come back sorted.
func TestRun(t *testing.T) {
	var got atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got.Add(1)
		switch {
		case r.Header.Get("Authorization") != "Bearer tok-"+r.URL.Query().Get("t"):
			w.WriteHeader(http.StatusUnauthorized)
		case r.Method == http.MethodPost && r.Header.Get("Content-Type") != "application/json":
			w.WriteHeader(http.StatusUnsupportedMediaType)
		case strings.HasSuffix(r.URL.Path, "/refuse"):
			w.WriteHeader(http.StatusPaymentRequired)
		default:
			_, _ = w.Write([]byte(`{"ok":true}`))
		}
	}))
	defer srv.Close()

	job := Job{Rate: 500, Tokens: []string{"tok-0", "tok-1"}, Pacing: PacingSleep}
	for i := range 40 {
		path := "/ok"
		if i%10 == 0 {
			path = "/refuse"
		}
		job.URLs = append(job.URLs, srv.URL+path+"?t="+string(rune('0'+i%2)))
		job.TokenOf = append(job.TokenOf, i%2)
	}
	r, err := Run(t.Context(), job)
	if err != nil {
		t.Fatal(err)
	}
	if got.Load() != 40 || len(r.Latencies) != 40 || len(r.Service) != 40 || len(r.Late) != 40 {
		t.Fatalf("server saw %d requests, result has %d/%d/%d durations, want 40 each", got.Load(), len(r.Latencies), len(r.Service), len(r.Late))
	}
	if r.Errors != 4 || r.Refused != 4 || !strings.Contains(r.FirstError, "status 402") {
		t.Errorf("errors %d, refused %d, first %q; want 4, 4 and a 402", r.Errors, r.Refused, r.FirstError)
	}
	if !slices.IsSorted(r.Latencies) || !slices.IsSorted(r.Service) || r.Pct(100) < Percentile(r.Service, 0) {
		t.Errorf("durations not sorted or latency below service time: %v / %v", r.Latencies, r.Service)
	}

	job.Bodies = make([]string, len(job.URLs))
	for i := range job.Bodies {
		job.Bodies[i] = `{"n":1}`
	}
	if r, err = Run(t.Context(), job); err != nil || r.Errors != 4 || r.Refused != 4 {
		t.Errorf("POST job: %v, errors %d, refused %d; want 4 refused", err, r.Errors, r.Refused)
	}
}

// TestRunBadJob checks that a job the generator cannot run is an error, not
// an empty result.
func TestRunBadJob(t *testing.T) {
	for name, job := range map[string]Job{
		"no rate":        {URLs: []string{"http://127.0.0.1:1/"}, TokenOf: []int{0}, Tokens: []string{""}, Pacing: PacingSleep},
		"tokens missing": {Rate: 10, URLs: []string{"http://127.0.0.1:1/"}, Pacing: PacingSleep},
		"bad pacing":     {Rate: 10, URLs: []string{"http://127.0.0.1:1/"}, TokenOf: []int{0}, Tokens: []string{""}, Pacing: "spin"},
	} {
		if _, err := Run(t.Context(), job); err == nil {
			t.Errorf("%s: Run succeeded", name)
		}
	}
}
