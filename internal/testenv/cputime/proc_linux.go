//go:build linux

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

package cputime

import (
	"os"
	"strconv"
	"strings"
	"time"
)

// clockTicks is USER_HZ, the unit of utime and stime in /proc/<pid>/stat
// (100 on every Linux architecture Go supports).
const clockTicks = 100

// Stat is what benchmarks read of one process's /proc/<pid>/stat.
type Stat struct {
	PID, PPID, PGRP int
	Comm            string
	// CPU is the process's own user + system time; Reaped is that of the
	// children it has waited for (cutime + cstime).
	CPU, Reaped time.Duration
}

// Processes reads the stat of every process /proc shows (nil where /proc
// cannot be read); processes that exit meanwhile are left out.
func Processes() []Stat {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	var out []Stat
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if s, ok := readStat(pid); ok {
			out = append(out, s)
		}
	}
	return out
}

// Children is the CPU time used so far by this process's running direct
// children (kube-apiserver, etcd, redis-server, programs a benchmark
// started), summed per command name. A phase's figure is the difference of
// two readings: it says which process the cores went to.
func Children() map[string]time.Duration {
	out := map[string]time.Duration{}
	self := os.Getpid()
	for _, p := range Processes() {
		if p.PPID == self {
			out[p.Comm] += p.CPU
		}
	}
	return out
}

// readStat parses /proc/<pid>/stat. The command is inside the outermost
// parentheses (it may hold spaces and parentheses itself); after it come
// field 3 (state), 4 (ppid), 5 (pgrp), ... 14-17 (utime, stime, cutime,
// cstime).
func readStat(pid int) (Stat, bool) {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return Stat{}, false // exited meanwhile
	}
	return parseStat(pid, string(data))
}

func parseStat(pid int, s string) (Stat, bool) {
	open, closing := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')')
	if open < 0 || closing < open {
		return Stat{}, false
	}
	f := strings.Fields(s[closing+1:]) // f[0] is field 3
	if len(f) < 15 {
		return Stat{}, false
	}
	n := func(i int) int64 { v, _ := strconv.ParseInt(f[i], 10, 64); return v }
	ticks := func(a, b int) time.Duration { return time.Duration(n(a)+n(b)) * time.Second / clockTicks }
	return Stat{PID: pid, PPID: int(n(1)), PGRP: int(n(2)), Comm: s[open+1 : closing],
		CPU: ticks(11, 12), Reaped: ticks(13, 14)}, true
}
