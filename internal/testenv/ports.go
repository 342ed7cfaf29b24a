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

package testenv

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/bakery-ia/subscription-operator/internal/testenv/cputime"
)

// FreePort returns a TCP port on 127.0.0.1 that nothing listens on right now.
// It is chosen below the kernel's ephemeral range (ip_local_port_range) when
// there is room: the kernel hands ephemeral ports to every outgoing
// connection, and a port from :0 was taken by one between FreePort and the
// bind during a 100,000-tenant bench-scale run (thousands of client
// connections). Below the range only another listener can take it, so
// starters still retry with a new port when the service reports the
// address in use.
func FreePort() (int, error) {
	if high := min(ephemeralLow(), maxFixedPort); high-minFixedPort >= 1024 {
		for range 64 {
			port := minFixedPort + rand.IntN(high-minFixedPort)
			if l, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(port)); err == nil {
				_ = l.Close()
				return port, nil
			}
		}
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port on 127.0.0.1: %w", err)
	}
	defer func() { _ = l.Close() }()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// FreePort picks its own ports from [minFixedPort, maxFixedPort): above the
// well-known and the common service ports of a development machine, below
// Kubernetes' NodePort range (30000-32767), which the local cluster's
// kube-proxy may hold.
const (
	minFixedPort = 10000
	maxFixedPort = 30000
)

// ephemeralLow is the first port of the kernel's ephemeral range, 0 when it
// cannot be read (not Linux).
func ephemeralLow() int {
	b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range")
	if err != nil {
		return 0
	}
	fields := strings.Fields(string(b))
	if len(fields) != 2 {
		return 0
	}
	low, err := strconv.Atoi(fields[0])
	if err != nil {
		return 0
	}
	return low
}

// startAttempts is how often a starter tries a new free port when the chosen
// one was taken between FreePort and the service binding it.
const startAttempts = 4

// errAddrInUse marks a start that failed because the port was taken.
var errAddrInUse = errors.New("address already in use")

// process is a service child process in its own process group. It dies with
// the test binary (Pdeathsig), so a killed `go test` leaves nothing behind.
type process struct {
	cmd  *exec.Cmd
	done chan struct{} // closed when the process has exited and been reaped
}

// startProcess starts cmd in a new process group, with stdout and stderr
// appended to logPath.
func startProcess(cmd *exec.Cmd, logPath string) (*process, error) {
	logFile, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("open log %s: %w", logPath, err)
	}
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Setpgid = true
	cmd.SysProcAttr.Pdeathsig = syscall.SIGKILL
	if err := cmd.Start(); err != nil {
		_ = logFile.Close()
		return nil, fmt.Errorf("start %s: %w", cmd.Path, err)
	}
	p := &process{cmd: cmd, done: make(chan struct{})}
	go func() {
		_ = cmd.Wait()
		_ = logFile.Close()
		close(p.done)
	}()
	return p, nil
}

// exited reports whether the process has already exited.
func (p *process) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// stop sends sig to the process and waits up to grace for it to exit; then it
// kills the whole process group. It returns an error only when even SIGKILL
// did not end the process: a process that had to be killed is still stopped.
func (p *process) stop(sig syscall.Signal, grace time.Duration) error {
	if p.exited() {
		return nil
	}
	_ = p.cmd.Process.Signal(sig)
	select {
	case <-p.done:
		return nil
	case <-time.After(grace):
	}
	// The group id is the child's pid (Setpgid); a negative pid signals the group.
	_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
	select {
	case <-p.done:
		return nil
	case <-time.After(10 * time.Second):
		return fmt.Errorf("%s (pid %d) survived SIGKILL", p.cmd.Path, p.cmd.Process.Pid)
	}
}

// tailFile returns the last lines of a log file, for error messages.
func tailFile(path string, lines int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	all := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(all) > lines {
		all = all[len(all)-lines:]
	}
	return strings.Join(all, "\n")
}

// cpuTime returns the CPU time (user + system) used so far by the process,
// its live children and members of its process group (postgres backends are
// children that lead their own groups), and the children it has reaped.
// Benchmarks use it to report a service's work per op whatever the load.
func (p *process) cpuTime() (time.Duration, error) {
	if p == nil {
		return 0, errors.New("not started")
	}
	leader := p.cmd.Process.Pid
	procs := cputime.Processes()
	if procs == nil {
		return 0, errors.New("cannot read /proc")
	}
	var total time.Duration
	for _, s := range procs {
		switch {
		case s.PID == leader:
			total += s.CPU + s.Reaped
		case s.PPID == leader || s.PGRP == leader:
			total += s.CPU
		}
	}
	return total, nil
}
