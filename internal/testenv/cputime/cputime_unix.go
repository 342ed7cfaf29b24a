//go:build unix

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

// Package cputime reports the CPU time this process has used, for benchmarks
// that print CPU per op beside ns/op: on a shared, loaded machine wall time
// counts the time other processes held the core, CPU time does not. It has
// no dependencies, so pure packages can use it in their benchmarks.
package cputime

import (
	"syscall"
	"time"
)

// Process is the CPU time (user + system) the process has used, or 0 when it
// cannot be read.
func Process() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
