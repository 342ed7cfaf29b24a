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

package scale

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	promdto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/bakery-ia/subscription-operator/internal/testenv"
	"github.com/bakery-ia/subscription-operator/internal/testenv/cputime"
)

// binary returns $env or builds ./cmd/<prog> into dir.
func binary(b *testing.B, env, prog, dir string) string {
	if p := os.Getenv(env); p != "" {
		return p
	}
	out := filepath.Join(dir, prog)
	cmd := exec.Command("go", "build", "-trimpath", "-o", out, "./cmd/"+prog)
	cmd.Dir = testenv.RepoRoot()
	if msg, err := cmd.CombinedOutput(); err != nil {
		b.Fatalf("go build ./cmd/%s: %v\n%s", prog, err, msg)
	}
	return out
}

type lockedBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuf) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuf) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// process is a running program whose output is kept for failures.
type process struct {
	name string
	cmd  *exec.Cmd
	out  *lockedBuf
	done chan struct{}
}

func start(b *testing.B, name, bin, kubeconfig string, env []string, args ...string) *process {
	p := &process{name: name, cmd: exec.Command(bin, args...), out: &lockedBuf{}, done: make(chan struct{})}
	p.cmd.Env = append(append(os.Environ(), "KUBECONFIG="+kubeconfig), env...)
	p.cmd.Stdout, p.cmd.Stderr = p.out, p.out
	if err := p.cmd.Start(); err != nil {
		b.Fatalf("starting %s: %v", name, err)
	}
	go func() { _ = p.cmd.Wait(); close(p.done) }()
	b.Cleanup(p.stop)
	return p
}

func (p *process) stop() {
	select {
	case <-p.done:
		return
	default:
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(15 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.done
	}
}

func (p *process) tail() string {
	s := p.out.String()
	if len(s) > 3000 {
		s = s[len(s)-3000:]
	}
	return s
}

// rssMB is the process's resident set (VmRSS) in MB.
func (p *process) rssMB(b *testing.B) float64 { return p.statusMB(b, "VmRSS") }

// peakMB is the process's largest resident set (VmHWM) since it started or
// since resetPeak, in MB.
func (p *process) peakMB(b *testing.B) float64 { return p.statusMB(b, "VmHWM") }

// resetPeak starts a new VmHWM reading (Linux: "5" to clear_refs).
func (p *process) resetPeak(b *testing.B) {
	if err := os.WriteFile(fmt.Sprintf("/proc/%d/clear_refs", p.cmd.Process.Pid), []byte("5"), 0); err != nil {
		b.Fatalf("%s: resetting the peak RSS: %v", p.name, err)
	}
}

// statusMB reads a "<field>: N kB" line of /proc/<pid>/status, in MB.
func (p *process) statusMB(b *testing.B, field string) float64 {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", p.cmd.Process.Pid))
	if err != nil {
		b.Fatalf("%s: %v\n%s", p.name, err, p.tail())
	}
	defer func() { _ = f.Close() }()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), field+":"); ok {
			kb, err := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 64)
			if err != nil {
				b.Fatal(err)
			}
			return kb / 1024
		}
	}
	b.Fatalf("%s: no %s", p.name, field)
	return 0
}

// waitFor polls cond every interval until it holds or timeout passes.
func waitFor(b *testing.B, p *process, timeout, interval time.Duration, what string, cond func() bool) {
	deadline := time.Now().Add(timeout)
	for !cond() {
		if p != nil {
			select {
			case <-p.done:
				b.Fatalf("%s exited while waiting for %s:\n%s", p.name, what, p.tail())
			default:
			}
		}
		if time.Now().After(deadline) {
			msg := ""
			if p != nil {
				msg = p.tail()
			}
			b.Fatalf("timed out after %v waiting for %s\n%s", timeout, what, msg)
		}
		time.Sleep(interval)
	}
}

func httpOK(url string) bool {
	resp, err := http.Get(url) //nolint:gosec,noctx // loopback URL built by the benchmark
	if err != nil {
		return false
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

// promText parses a Prometheus text exposition.
func promText(r io.Reader) (map[string]*dto, error) {
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(r)
	if err != nil {
		return nil, fmt.Errorf("parsing metrics: %w", err)
	}
	return fams, nil
}

// scrape reads url's metrics.
func scrape(ctx context.Context, url string) (map[string]*dto, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("scraping %s: %w", url, err)
	}
	defer func() { _ = resp.Body.Close() }()
	return promText(resp.Body)
}

// sum adds the samples of family name whose labels include match.
func sum(fams map[string]*dto, name string, match map[string]string) float64 {
	f := fams[name]
	if f == nil {
		return 0
	}
	var total float64
next:
	for _, m := range f.GetMetric() {
		for k, v := range match {
			found := false
			for _, l := range m.GetLabel() {
				if l.GetName() == k && l.GetValue() == v {
					found = true
				}
			}
			if !found {
				continue next
			}
		}
		switch {
		case m.GetCounter() != nil:
			total += m.GetCounter().GetValue()
		case m.GetGauge() != nil:
			total += m.GetGauge().GetValue()
		}
	}
	return total
}

// byLabel sums family name's samples by the value of label, keeping only
// samples whose labels include match.
func byLabel(fams map[string]*dto, name, label string, match map[string]string) map[string]float64 {
	out := map[string]float64{}
	f := fams[name]
	if f == nil {
		return out
	}
next:
	for _, m := range f.GetMetric() {
		key := ""
		for k, v := range match {
			found := false
			for _, l := range m.GetLabel() {
				if l.GetName() == k && l.GetValue() == v {
					found = true
				}
			}
			if !found {
				continue next
			}
		}
		for _, l := range m.GetLabel() {
			if l.GetName() == label {
				key = l.GetValue()
			}
		}
		out[key] += m.GetCounter().GetValue()
	}
	return out
}

type dto = promdto.MetricFamily

// heapMB reads a Go program's heap in use and the heap the runtime holds but
// does not use (idle, not yet returned to the kernel) from its metrics, in
// MB: what separates its RSS from its live heap.
func heapMB(fams map[string]*dto) (inUse, idleKept float64) {
	inUse = sum(fams, "go_memstats_heap_inuse_bytes", nil) / 1e6
	idleKept = (sum(fams, "go_memstats_heap_idle_bytes", nil) - sum(fams, "go_memstats_heap_released_bytes", nil)) / 1e6
	return inUse, idleKept
}

// cpuTimes is the CPU time (user + system) of this benchmark's own process
// and of every process it started (the API server, etcd, Redis, the manager
// and the gateway), keyed by command name.
func cpuTimes() map[string]time.Duration {
	out := cputime.Children()
	out["benchmark"] = cputime.Process()
	return out
}

// cpuDelta formats the CPU each process used between two readings, largest first.
func cpuDelta(from, to map[string]time.Duration) string {
	type row struct {
		name string
		d    time.Duration
	}
	var rows []row
	for name, t := range to {
		if d := t - from[name]; d > 0 {
			rows = append(rows, row{name, d})
		}
	}
	sort.Slice(rows, func(i, j int) bool { return rows[i].d > rows[j].d })
	parts := make([]string, 0, len(rows))
	for _, r := range rows {
		parts = append(parts, fmt.Sprintf("%s %.1f s", r.name, r.d.Seconds()))
	}
	return strings.Join(parts, ", ")
}
