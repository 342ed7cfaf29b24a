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

// Package memlimit sets a Go program's soft memory limit from its
// container's memory limit.
package memlimit

import (
	"os"
	"runtime/debug"
	"strconv"
	"strings"
)

// CgroupMemoryMax is the container's memory limit under cgroup v2.
const CgroupMemoryMax = "/sys/fs/cgroup/memory.max"

// Soft is 3/4 of the cgroup memory limit in file, or 0 when there
// is none (no file, "max", unreadable). The heap may grow to twice what is
// live (GOGC 100) and further under a burst of requests or events; without a
// soft limit every pod of a large namespace would reach its container limit
// together, and a GOMEMLIMIT equal to the limit leaves nothing for what is
// not heap. The quarter left is for goroutine stacks, the binary and what the
// runtime has not returned yet.
func Soft(file string) int64 {
	data, err := os.ReadFile(file)
	if err != nil {
		return 0
	}
	v, err := strconv.ParseInt(strings.TrimSpace(string(data)), 10, 64)
	if err != nil || v <= 0 {
		return 0
	}
	return v / 4 * 3
}

// FromContainer sets the soft memory limit to Soft(CgroupMemoryMax) unless
// GOMEMLIMIT is set, and returns the limit it set (0: none).
func FromContainer() int64 {
	if os.Getenv("GOMEMLIMIT") != "" {
		return 0
	}
	limit := Soft(CgroupMemoryMax)
	if limit > 0 {
		debug.SetMemoryLimit(limit)
	}
	return limit
}
