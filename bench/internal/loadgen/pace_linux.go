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
	"runtime"
	"syscall"
	"time"
)

// prSetTimerSlack is prctl's PR_SET_TIMERSLACK.
const prSetTimerSlack = 29

// precisePacer returns a function that returns at due, give or take the
// kernel's wake-up latency. time.Sleep cannot pace sends 200 µs apart: when
// the process is otherwise idle the Go runtime waits for timers in
// epoll_wait, whose timeout is in whole milliseconds, so a 200 µs sleep lasts
// about 1 ms and five requests leave together, the first already up to 1 ms
// late. That lateness is the generator's, not the server's, but it is counted
// in every latency measured from the scheduled send time.
//
// Here the calling goroutine keeps its OS thread and sleeps in nanosleep(2)
// (a high-resolution timer), with the thread's timer slack lowered from the
// default 50 µs to 1 µs. The caller must call it from one goroutine and call
// the returned release when done.
func precisePacer() (pace func(due time.Time), release func()) {
	runtime.LockOSThread()
	_, _, _ = syscall.RawSyscall(syscall.SYS_PRCTL, prSetTimerSlack, 1000, 0)
	return func(due time.Time) {
		for d := time.Until(due); d > 0; d = time.Until(due) {
			ts := syscall.NsecToTimespec(int64(d))
			_ = syscall.Nanosleep(&ts, nil) // EINTR: sleep the rest
		}
	}, runtime.UnlockOSThread
}
