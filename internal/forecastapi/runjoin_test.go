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
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/time/rate"
	"k8s.io/apimachinery/pkg/types"

	"github.com/bakery-ia/subscription-operator/internal/snapshot"
)

func TestRunJoinerStartsAtMostTwoRunsForConcurrentRequests(t *testing.T) {
	var runs atomic.Int64
	gate := make(chan struct{})
	j := newRunJoiner(func(runScope) (snapshot.Result, error) {
		n := runs.Add(1)
		<-gate
		return snapshot.Result{Tenants: int(n)}, nil
	})
	sc := runScope{policy: types.NamespacedName{Namespace: "ns", Name: "p"}, tenantID: "t"}
	first := j.join(sc)
	for runs.Load() == 0 {
		time.Sleep(time.Millisecond) // the first run is running
	}
	var wg sync.WaitGroup
	results := make([]int, 200)
	for i := range results {
		wg.Go(func() {
			r := j.join(sc)
			<-r.done
			results[i] = r.res.Tenants
		})
	}
	for j.joined.Load() < 201 {
		time.Sleep(time.Millisecond)
	}
	close(gate)
	wg.Wait()
	<-first.done
	if got := runs.Load(); got != 2 {
		t.Fatalf("201 requests started %d runs, want 2 (the running one and one queued)", got)
	}
	if first.res.Tenants != 1 {
		t.Errorf("the first request got run %d, want 1", first.res.Tenants)
	}
	for i, r := range results {
		if r != 2 {
			t.Fatalf("request %d got the result of run %d, want the queued run 2", i, r)
		}
	}
	if j.busy() != 0 {
		t.Errorf("%d scopes still marked running after every run ended", j.busy())
	}
}

func TestRunJoinerKeepsScopesApart(t *testing.T) {
	var mu sync.Mutex
	seen := map[runScope]int{}
	j := newRunJoiner(func(sc runScope) (snapshot.Result, error) {
		mu.Lock()
		seen[sc]++
		mu.Unlock()
		return snapshot.Result{}, nil
	})
	p := types.NamespacedName{Namespace: "ns", Name: "p"}
	a, b, all := runScope{p, "a"}, runScope{p, "b"}, runScope{policy: p}
	for _, sc := range []runScope{a, b, all} {
		<-j.join(sc).done
	}
	// Sequential requests each get a run of their own scope.
	<-j.join(a).done
	mu.Lock()
	defer mu.Unlock()
	if seen[a] != 2 || seen[b] != 1 || seen[all] != 1 {
		t.Errorf("runs per scope = %v, want a:2 b:1 all:1", seen)
	}
}

func TestCallerLimits(t *testing.T) {
	now := time.Date(2025, 1, 19, 10, 0, 0, 0, time.UTC)
	l := newCallerLimits(rate.Every(6*time.Second), 5, 2)
	for i := range 5 {
		if ok, _ := l.allow("alice", now); !ok {
			t.Fatalf("request %d of a burst of 5 refused", i+1)
		}
	}
	ok, wait := l.allow("alice", now)
	if ok || wait <= 0 || wait > 6*time.Second {
		t.Fatalf("6th request: allowed %v, wait %v; want refused with a wait in (0, 6s]", ok, wait)
	}
	if got := retryAfter(wait); got < 1 || got > 6 {
		t.Errorf("Retry-After %d, want 1..6", got)
	}
	if ok, _ := l.allow("bob", now); !ok {
		t.Error("another caller is limited by alice's flood")
	}
	if ok, _ := l.allow("alice", now.Add(6*time.Second)); !ok {
		t.Error("alice is still refused after a token was refilled")
	}
	// At most 2 callers are remembered: a third pushes out the least recent.
	l.allow("carol", now)
	if l.limiters.Len() != 2 {
		t.Errorf("%d limiters kept, want at most 2", l.limiters.Len())
	}
	if ok, _ := newCallerLimits(rate.Inf, 0, 1).allow("x", now); !ok {
		t.Error("rate.Inf refused a request")
	}
}
