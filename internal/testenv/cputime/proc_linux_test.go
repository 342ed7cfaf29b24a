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
	"testing"
	"time"
)

func TestParseStat(t *testing.T) {
	tail := " S 100 200 200 0 -1 4194304 10 0 0 0 150 50 7 3 20 0 1 0 5 0 0"
	for _, tc := range []struct {
		name, line string
		want       Stat
		ok         bool
	}{
		{"plain", "42 (etcd)" + tail, Stat{PID: 42, PPID: 100, PGRP: 200, Comm: "etcd", CPU: 2 * time.Second, Reaped: 100 * time.Millisecond}, true},
		{"command with spaces and parentheses", "42 (a) (b c)" + tail, Stat{PID: 42, PPID: 100, PGRP: 200, Comm: "a) (b c", CPU: 2 * time.Second, Reaped: 100 * time.Millisecond}, true},
		{"truncated", "42 (etcd) S 100 200", Stat{}, false},
		{"no command", "42 etcd S", Stat{}, false},
		{"empty", "", Stat{}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := parseStat(42, tc.line)
			if ok != tc.ok || got != tc.want {
				t.Errorf("parseStat(%q) = %+v, %v; want %+v, %v", tc.line, got, ok, tc.want, tc.ok)
			}
		})
	}
}

func TestProcessesSeesThisProcess(t *testing.T) {
	for _, p := range Processes() {
		if p.PID == os.Getpid() {
			if p.PPID != os.Getppid() {
				t.Errorf("ppid %d, want %d", p.PPID, os.Getppid())
			}
			return
		}
	}
	t.Fatal("this process is not among Processes(): is /proc mounted?")
}
