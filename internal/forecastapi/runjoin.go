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

	"k8s.io/apimachinery/pkg/types"

	"github.com/bakery-ia/subscription-operator/internal/snapshot"
)

// runScope is what one track-usage run covers: every tenant of a policy
// (tenantID "") or one tenant of it.
type runScope struct {
	policy   types.NamespacedName
	tenantID string
}

// joinedRun is one run and, once done is closed, its outcome, shared by
// every request that joined it.
type joinedRun struct {
	done chan struct{}
	res  snapshot.Result
	err  error
}

// runJoiner bounds the snapshot runs that track-usage requests start. Per
// scope at most one run is running and at most one is queued: a request that
// arrives while nothing runs starts a run; one that arrives while a run is
// running joins the queued run (queuing it if there is none), which starts
// when the running one ends, so every caller's run reads usage after the
// caller asked. Any number of concurrent requests for a scope thus start at
// most two runs, and each caller gets the result of the run it joined.
//
// Scopes are not merged into a whole-policy run: a caller allowed to update
// one TenantUsage (a Role with resourceNames) must neither start a run over
// the policy's other tenants nor see their count in the answer. Runs of one
// policy still run one at a time (the scheduler's per-policy lock).
type runJoiner struct {
	run func(runScope) (snapshot.Result, error)

	mu     sync.Mutex
	queued map[runScope]*joinedRun // key present: a run of the scope is running

	joined atomic.Int64 // requests that joined a run (tests)
}

func newRunJoiner(run func(runScope) (snapshot.Result, error)) *runJoiner {
	return &runJoiner{run: run, queued: map[runScope]*joinedRun{}}
}

// join returns the run that will answer a request for sc, starting one if
// none is running.
func (j *runJoiner) join(sc runScope) *joinedRun {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.joined.Add(1)
	q, running := j.queued[sc]
	if !running {
		r := &joinedRun{done: make(chan struct{})}
		j.queued[sc] = nil
		go j.loop(sc, r)
		return r
	}
	if q == nil {
		q = &joinedRun{done: make(chan struct{})}
		j.queued[sc] = q
	}
	return q
}

// loop runs r, then the run queued meanwhile, until none is queued.
func (j *runJoiner) loop(sc runScope, r *joinedRun) {
	for r != nil {
		r.res, r.err = j.run(sc)
		close(r.done)
		j.mu.Lock()
		r = j.queued[sc]
		if r == nil {
			delete(j.queued, sc)
		} else {
			j.queued[sc] = nil
		}
		j.mu.Unlock()
	}
}

// busy is the number of scopes with a run running (tests).
func (j *runJoiner) busy() int {
	j.mu.Lock()
	defer j.mu.Unlock()
	return len(j.queued)
}
