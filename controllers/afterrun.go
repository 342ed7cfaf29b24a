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

package controllers

import "time"

// After a snapshot run the manager hands the run's garbage back to the OS
// (Config.AfterRunForecasts). Prefetch.Finished says every tenant's history
// has been taken, but the last reconciles' status writes, the watch events of
// those writes and the run's Events are still on their way then: released at
// that moment, the heap grew back by half the live heap before the pass
// settled (heap in use 595 MB against 445 MB live at 100,000 tenants). So the
// release waits until status writes have stopped for runWritesQuiet, and at
// most runWritesLimit (a tenant reconciled over and over must not postpone it
// for ever).
const (
	runWritesQuiet = 5 * time.Second
	runWritesLimit = 10 * time.Minute
)

// whenWritesQuiet calls fn once lastWrite is at least quiet ago, or when
// limit has passed. It keeps time with the real clock: it paces housekeeping,
// not forecasts.
func whenWritesQuiet(lastWrite func() time.Time, quiet, limit time.Duration, fn func()) {
	deadline := time.Now().Add(limit)
	for {
		now := time.Now()
		idle := now.Sub(lastWrite())
		if idle >= quiet || !now.Before(deadline) {
			fn()
			return
		}
		time.Sleep(min(quiet-idle, deadline.Sub(now)))
	}
}
