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
	"fmt"
	"os"
	"runtime"
	"runtime/pprof"
	"strings"
	"time"

	"github.com/bakery-ia/subscription-operator/bench/internal/loadgen"
	"github.com/bakery-ia/subscription-operator/internal/testenv/cputime"
)

// loadAvg is the one-minute load average, or "?".
func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	if f := strings.Fields(string(b)); len(f) > 0 {
		return f[0]
	}
	return "?"
}

// runCost is what one load run cost each process, per request.
type runCost struct {
	loadBefore, loadAfter string
	server, generator     time.Duration // per request
	children              map[string]time.Duration
	requests              int
}

// measureRun runs a load run and reports the CPU each process spent on it
// (this process is the server: the manager and the API), with the optional
// profiles of the server process (flags -forecastapi.cpuprofile and
// -forecastapi.memprofile).
func measureRun(scenario string, run func() (loadgen.Result, error)) (loadgen.Result, runCost, error) {
	c := runCost{loadBefore: loadAvg()}
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile + "-" + scenario + ".pprof")
		if err != nil {
			return loadgen.Result{}, c, err
		}
		defer func() { _ = f.Close() }()
		if err := pprof.StartCPUProfile(f); err != nil {
			return loadgen.Result{}, c, err
		}
	}
	kids0, self0 := cputime.Children(), cputime.Process()
	r, err := run()
	self1, kids1 := cputime.Process(), cputime.Children()
	if *cpuProfile != "" {
		pprof.StopCPUProfile()
	}
	c.loadAfter = loadAvg()
	if err != nil {
		return r, c, err
	}
	if *memProfile != "" {
		f, err := os.Create(*memProfile + "-" + scenario + ".pprof")
		if err != nil {
			return r, c, err
		}
		defer func() { _ = f.Close() }()
		runtime.GC()
		if err := pprof.Lookup("allocs").WriteTo(f, 0); err != nil {
			return r, c, err
		}
	}
	n := max(len(r.Latencies), 1)
	c.requests = n
	c.server = (self1 - self0) / time.Duration(n)
	c.generator = r.CPU / time.Duration(n)
	c.children = map[string]time.Duration{}
	for name, t := range kids1 {
		c.children[name] = (t - kids0[name]) / time.Duration(n)
	}
	return r, c, nil
}

// costHeader and row print runCost as a table.
const costHeader = "\n| scenario | load avg before | load avg after | server CPU/req | generator CPU/req | redis-server CPU/req | kube-apiserver CPU/req | etcd CPU/req | all CPU/req | send lateness p50 / p99 |\n|---|---|---|---|---|---|---|---|---|---|\n"

func (c runCost) row(scenario string, r loadgen.Result) string {
	redis, apiserver, etcd := c.children["redis-server"], c.children["kube-apiserver"], c.children["etcd"]
	all := c.server + c.generator + redis + apiserver + etcd
	us := func(d time.Duration) string { return fmt.Sprintf("%.0f µs", float64(d)/1e3) }
	return fmt.Sprintf("| %s | %s | %s | %s | %s | %s | %s | %s | %s | %.3f / %.3f ms |\n", scenario, c.loadBefore, c.loadAfter,
		us(c.server), us(c.generator), us(redis), us(apiserver), us(etcd), us(all), ms(loadgen.Percentile(r.Late, 50)), ms(loadgen.Percentile(r.Late, 99)))
}
