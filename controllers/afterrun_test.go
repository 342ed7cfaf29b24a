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

import (
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
)

// TestWhenWritesQuiet: the release waits for the writes to stop, and for no
// longer than its limit while they go on.
func TestWhenWritesQuiet(t *testing.T) {
	for _, c := range []struct {
		name       string
		writeEvery time.Duration // 0: no writes after the start
		writeFor   time.Duration
		want       time.Duration // when fn runs, from the start
	}{
		{"no write since long ago", 0, 0, 0},
		{"writes for 20 s, then quiet", time.Second, 20 * time.Second, 25 * time.Second},
		{"writes that never stop", time.Second, time.Hour, 10 * time.Minute},
	} {
		t.Run(c.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				start := time.Now()
				var last atomic.Int64
				last.Store(start.Add(-time.Hour).UnixNano())
				if c.writeEvery > 0 {
					last.Store(start.UnixNano())
					go func() {
						for time.Since(start) < c.writeFor {
							time.Sleep(c.writeEvery)
							last.Store(time.Now().UnixNano())
						}
					}()
				}
				var ran atomic.Int32
				var at atomic.Int64
				go whenWritesQuiet(func() time.Time { return time.Unix(0, last.Load()) }, 5*time.Second, 10*time.Minute, func() {
					ran.Add(1)
					at.Store(int64(time.Since(start)))
				})
				time.Sleep(2 * time.Hour)
				synctest.Wait()
				if got := time.Duration(at.Load()); ran.Load() != 1 || got != c.want {
					t.Fatalf("fn ran %d times, at %v; want once at %v", ran.Load(), got, c.want)
				}
			})
		})
	}
}
