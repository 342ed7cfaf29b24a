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
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"k8s.io/utils/clock"

	"github.com/bakery-ia/subscription-operator/internal/testenv/cputime"
)

// benchTenants is the number of tenants crossing a threshold in one run.
const benchTenants = 10000

// BenchmarkObserve10kCrossings: one forecast run in which 10,000 tenants
// cross a usage threshold: read their condition states, step them, build
// and enqueue 10,000 events for one sink, save the states (real Redis on
// loopback). Target: <= 2 s per op.
func BenchmarkObserve10kCrossings(b *testing.B) {
	rdb := newClient(b)
	o := NewOutbox(rdb, clock.RealClock{})
	n := NewNotifier(rdb, o)
	p := 85.0
	run := 0
	cpu0, redis0 := cputime.Process(), redisCPU(b)
	for b.Loop() {
		b.StopTimer()
		run++
		sink := SinkWants{Sink: fmt.Sprintf("bench/observe/run%d", run), Conditions: []Condition{{Kind: KindUsageThreshold, Percentages: []int{80}}}}
		subjects := make([]Subject, benchTenants)
		for i := range subjects {
			s := sampleSubject()
			s.Tenant = fmt.Sprintf("bench-%d-%05d", run, i)
			s.Percentage = &p
			subjects[i] = s
		}
		b.StartTimer()
		added, err := n.Observe(b.Context(), []SinkWants{sink}, subjects, time.Now())
		if err != nil || added != benchTenants {
			b.Fatalf("added %d, %v", added, err)
		}
	}
	b.ReportMetric(float64(benchTenants), "events/op")
	reportCPU(b, cpu0, redis0, b.N)
}

// redisCPU is the test Redis server's CPU time so far.
func redisCPU(b *testing.B) time.Duration {
	d, err := srv.CPUTime()
	if err != nil {
		b.Fatal(err)
	}
	return d
}

// reportCPU adds the CPU time per op of this process and of redis-server:
// on a loaded, shared machine the wall time mostly measures waiting for a
// core, the CPU times what the work costs.
func reportCPU(b *testing.B, cpu0, redis0 time.Duration, ops int) {
	b.ReportMetric(float64(cputime.Process()-cpu0)/float64(ops)/1e6, "cpu-ms/op")
	b.ReportMetric(float64(redisCPU(b)-redis0)/float64(ops)/1e6, "redis-cpu-ms/op")
}

// BenchmarkDeliver10k: 10,000 pending events delivered by one worker to a
// local receiver that answers 204 (loopback HTTP/1.1, keep-alive, 16 in
// flight). Reports events/s; target >= 1,000.
func BenchmarkDeliver10k(b *testing.B) {
	var got atomic.Int64
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got.Add(1)
		w.WriteHeader(http.StatusNoContent)
	}))
	defer ts.Close()
	signer, err := NewSigner(testSecret)
	if err != nil {
		b.Fatal(err)
	}
	events := make([]Event, benchTenants)
	for i := range events {
		events[i] = event(i)
	}
	var total time.Duration
	run := 0
	var cpu, redisT time.Duration
	for b.Loop() {
		b.StopTimer()
		run++
		sink := Sink{ID: fmt.Sprintf("bench/deliver/run%d", run), URL: ts.URL, Signer: signer}
		o, w, _ := setup(b, clock.RealClock{}, sink)
		ds := make([]Delivery, len(events))
		for i, ev := range events {
			ds[i] = Delivery{Sink: sink.ID, Event: ev}
		}
		mustEnqueue(b, o, ds...)
		got.Store(0)
		b.StartTimer()
		start, cpu0, redis0 := time.Now(), cputime.Process(), redisCPU(b)
		for got.Load() < benchTenants {
			if _, err := w.RunOnce(b.Context()); err != nil {
				b.Fatal(err)
			}
		}
		total += time.Since(start)
		cpu += cputime.Process() - cpu0
		redisT += redisCPU(b) - redis0
	}
	b.ReportMetric(float64(benchTenants*run)/total.Seconds(), "events/s")
	// The receiver runs in this process, so cpu includes its share.
	b.ReportMetric(float64(cpu)/float64(run)/1e6, "cpu-ms/op")
	b.ReportMetric(float64(redisT)/float64(run)/1e6, "redis-cpu-ms/op")
}
