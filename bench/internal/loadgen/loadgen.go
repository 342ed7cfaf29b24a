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

// Package loadgen is the benchmarks' open-loop HTTP load generator. It runs
// in a process of its own, the benchmark's test binary started again (see
// Main), so that neither the server it measures nor the benchmark's fixtures
// (100,000 TenantUsages in bench/scale) share its heap, its collector or its
// goroutine scheduler: a collection in the benchmark process would otherwise
// delay sends and count as server latency.
//
// Requests are sent at fixed times (start + i/rate), each in its own
// goroutine, so a slow answer does not delay the next send, and latency is
// measured from the scheduled send time (no coordinated omission). Service
// time, from the actual send, and each send's lateness are reported too.
package loadgen

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// EnvVar set to "1" makes the test binary the generator (see Main).
const EnvVar = "SUBSCRIPTION_BENCH_LOADGEN"

// Pacing modes of the generator (see precisePacer).
const (
	PacingNanosleep = "nanosleep"
	PacingSleep     = "sleep"
)

// Job is what the generator sends: URLs[i] with the bearer token
// Tokens[TokenOf[i]], at Rate requests per second.
type Job struct {
	Rate    int      `json:"rate"`
	URLs    []string `json:"urls"`
	Tokens  []string `json:"tokens"`
	TokenOf []int    `json:"tokenOf"`
	// Bodies, when set, makes request i a POST of Bodies[i] (JSON).
	Bodies []string `json:"bodies,omitempty"`
	// Pacing is PacingSleep (time.Sleep, about 1 ms granularity) or
	// PacingNanosleep (a high-resolution sleep on a thread of its own).
	Pacing string `json:"pacing"`
}

// report is what the generator process writes on stdout, in request order
// (durations travel as JSON integers of nanoseconds).
type report struct {
	Latencies  []time.Duration `json:"latencies"` // from the scheduled send time to the end of the body
	Service    []time.Duration `json:"service"`   // from the actual send time
	Late       []time.Duration `json:"late"`      // actual minus scheduled send time
	Errors     int             `json:"errors"`
	Refused    int             `json:"refused"`
	FirstError string          `json:"firstError"`
}

// Result is what a run measured; the durations are sorted.
type Result struct {
	Latencies []time.Duration // from the scheduled send time to the end of the body
	Service   []time.Duration // from the actual send time
	// Late is how late each request was sent: the generator's own delay,
	// included in Latencies.
	Late []time.Duration
	// Errors are requests without a 200; Refused are those of them that got
	// an answer other than 200 (a broken server or caller, not a slow one).
	Errors, Refused int
	FirstError      string
	CPU             time.Duration // the generator process's CPU time (user + system)
}

// Pct is the p-th percentile of Latencies.
func (r Result) Pct(p float64) time.Duration { return Percentile(r.Latencies, p) }

// Percentile is the p-th percentile of sorted (0 when empty).
func Percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	return sorted[int(p/100*float64(len(sorted)-1))]
}

// Main makes this process the generator when EnvVar is "1": it reads a Job
// as JSON on stdin, runs it, writes the report on stdout and exits. Call it
// first in the benchmark package's TestMain; otherwise it returns.
func Main() {
	if os.Getenv(EnvVar) != "1" {
		return
	}
	if err := generate(os.Stdin, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "load generator:", err)
		os.Exit(1)
	}
	os.Exit(0)
}

// Run runs job in a new process of this test binary and waits for it; ending
// ctx kills the process.
func Run(ctx context.Context, job Job) (Result, error) {
	in, err := json.Marshal(job)
	if err != nil {
		return Result{}, err
	}
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^$", "-test.bench=^$")
	cmd.Env = append(os.Environ(), EnvVar+"=1")
	cmd.Stdin = bytes.NewReader(in)
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		return Result{}, fmt.Errorf("load generator process: %w", err)
	}
	var rep report
	if err := json.Unmarshal(out, &rep); err != nil {
		return Result{}, fmt.Errorf("load generator report: %w", err)
	}
	r := Result{Latencies: rep.Latencies, Service: rep.Service, Late: rep.Late,
		Errors: rep.Errors, Refused: rep.Refused, FirstError: rep.FirstError}
	if st := cmd.ProcessState; st != nil {
		r.CPU = st.UserTime() + st.SystemTime()
	}
	slices.Sort(r.Latencies)
	slices.Sort(r.Service)
	slices.Sort(r.Late)
	return r, nil
}

// generate is the generator process: it sends URLs[i] at start + i/rate,
// each in its own goroutine, waits for all and reports.
func generate(stdin io.Reader, stdout io.Writer) error {
	var job Job
	if err := json.NewDecoder(stdin).Decode(&job); err != nil {
		return fmt.Errorf("reading the job: %w", err)
	}
	if job.Rate <= 0 || len(job.URLs) != len(job.TokenOf) || (job.Bodies != nil && len(job.Bodies) != len(job.URLs)) {
		return fmt.Errorf("bad job: rate %d, %d URLs, %d token indexes, %d bodies", job.Rate, len(job.URLs), len(job.TokenOf), len(job.Bodies))
	}
	pace, release := sleepUntil, func() {}
	switch job.Pacing {
	case PacingNanosleep:
		pace, release = precisePacer()
	case PacingSleep:
	default:
		return fmt.Errorf("bad job: pacing %q, want %s or %s", job.Pacing, PacingNanosleep, PacingSleep)
	}
	defer release()
	c := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 512, DisableCompression: true}, Timeout: 10 * time.Second}
	defer c.CloseIdleConnections()
	n := len(job.URLs)
	rep := report{Latencies: make([]time.Duration, n), Service: make([]time.Duration, n), Late: make([]time.Duration, n)}
	var errCount, refused atomic.Int64
	var firstErr atomic.Value
	var wg sync.WaitGroup
	interval := time.Second / time.Duration(job.Rate)
	start := time.Now()
	for i := range n {
		due := start.Add(time.Duration(i) * interval)
		pace(due)
		wg.Go(func() {
			sent := time.Now()
			var body string
			if job.Bodies != nil {
				body = job.Bodies[i]
			}
			code, err := Do(c, job.URLs[i], job.Tokens[job.TokenOf[i]], body)
			rep.Latencies[i], rep.Service[i], rep.Late[i] = time.Since(due), time.Since(sent), sent.Sub(due)
			if err == nil && code != http.StatusOK {
				refused.Add(1)
			}
			if err != nil || code != http.StatusOK {
				errCount.Add(1)
				firstErr.CompareAndSwap(nil, fmt.Sprintf("status %d, %v", code, err))
			}
		})
	}
	wg.Wait()
	rep.Errors, rep.Refused = int(errCount.Load()), int(refused.Load())
	if e, ok := firstErr.Load().(string); ok {
		rep.FirstError = e
	}
	return json.NewEncoder(stdout).Encode(rep)
}

// sleepUntil is time.Sleep pacing (see precisePacer for why it is not the default).
func sleepUntil(due time.Time) {
	if d := time.Until(due); d > 0 {
		time.Sleep(d)
	}
}

// Do sends GET url, or a POST of body as JSON when body is not empty, with
// the bearer token, drains the answer and returns its status.
func Do(c *http.Client, url, token, body string) (int, error) {
	method, rd := http.MethodGet, io.Reader(nil)
	if body != "" {
		method, rd = http.MethodPost, strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(context.Background(), method, url, rd)
	if err != nil {
		return 0, err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.Do(req)
	if err != nil {
		return 0, err
	}
	defer func() { _ = resp.Body.Close() }()
	if _, err := io.Copy(io.Discard, resp.Body); err != nil {
		return 0, err
	}
	return resp.StatusCode, nil
}
