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
	"bufio"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// redisInstallHint is part of every error about a missing redis-server.
const redisInstallHint = "install it with: apt-get install -y redis-server (or run hack/install-services.sh)"

// redisReadyTimeout bounds the wait for the first PONG.
const redisReadyTimeout = 15 * time.Second

// Redis is a private redis-server on 127.0.0.1 without persistence
// (--save "" --appendonly no): its data lives until Stop or Close.
type Redis struct {
	// Addr is host:port, e.g. 127.0.0.1:40123.
	Addr string
	// URL is redis://127.0.0.1:<port>/0, the REDIS_URL form.
	URL string

	port  int
	dir   string
	bin   string
	extra []string // more redis-server arguments (cluster mode)

	mu   sync.Mutex
	proc *process
}

// StartRedis starts redis-server on a free 127.0.0.1 port in a new temporary
// directory and returns once it answers PING. Call Close when done.
func StartRedis() (*Redis, error) {
	return startRedis()
}

func startRedis(extra ...string) (*Redis, error) {
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		return nil, fmt.Errorf("redis-server not found on PATH: %s", redisInstallHint)
	}
	dir, err := os.MkdirTemp("", "testenv-redis-")
	if err != nil {
		return nil, fmt.Errorf("create redis temp dir: %w", err)
	}
	r := &Redis{dir: dir, bin: bin, extra: extra}
	for attempt := 1; ; attempt++ {
		if r.port, err = FreePort(); err != nil {
			break
		}
		r.Addr = net.JoinHostPort("127.0.0.1", strconv.Itoa(r.port))
		r.URL = "redis://" + r.Addr + "/0"
		if err = r.Start(); err == nil {
			return r, nil
		}
		if !errors.Is(err, errAddrInUse) || attempt == startAttempts {
			break
		}
	}
	_ = os.RemoveAll(dir)
	return nil, err
}

// Start starts the server again on the same port after Stop. The data set is
// empty: the server keeps nothing on disk. Start on a running server is a no-op.
func (r *Redis) Start() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.proc != nil && !r.proc.exited() {
		return nil
	}
	logPath := filepath.Join(r.dir, "redis.log")
	args := make([]string, 0, 14+len(r.extra))
	args = append(args,
		"--port", strconv.Itoa(r.port),
		"--bind", "127.0.0.1",
		"--dir", r.dir,
		"--save", "",
		"--appendonly", "no",
		"--daemonize", "no",
		"--logfile", logPath,
	)
	cmd := exec.Command(r.bin, append(args, r.extra...)...)
	cmd.Dir = r.dir
	proc, err := startProcess(cmd, filepath.Join(r.dir, "redis.out"))
	if err != nil {
		return fmt.Errorf("redis on %s: %w", r.Addr, err)
	}
	r.proc = proc
	if err := waitRedis(r.Addr, proc); err != nil {
		_ = proc.stop(syscall.SIGKILL, time.Second)
		log := tailFile(logPath, 20)
		if strings.Contains(log, "Address already in use") {
			err = errors.Join(err, errAddrInUse)
		}
		return fmt.Errorf("redis on %s: %w\nredis.log:\n%s", r.Addr, err, log)
	}
	return nil
}

// Stop stops the server (SIGTERM, then SIGKILL after 10 s); the port and the
// temporary directory stay reserved for Start. Clients see connection errors,
// which is what fault tests want.
func (r *Redis) Stop() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.proc == nil {
		return nil
	}
	if err := r.proc.stop(syscall.SIGTERM, 10*time.Second); err != nil {
		return fmt.Errorf("stop redis on %s: %w", r.Addr, err)
	}
	return nil
}

// Close stops the server and removes its temporary directory. It is safe to
// call more than once and on a nil *Redis.
func (r *Redis) Close() {
	if r == nil {
		return
	}
	_ = r.Stop()
	_ = os.RemoveAll(r.dir)
}

// waitRedis polls addr with an inline PING until it answers +PONG, the process
// exits, or redisReadyTimeout passes.
func waitRedis(addr string, proc *process) error {
	deadline := time.Now().Add(redisReadyTimeout)
	var last error
	for time.Now().Before(deadline) {
		if proc.exited() {
			return fmt.Errorf("redis-server exited during start-up")
		}
		if last = pingRedis(addr); last == nil {
			return nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	return fmt.Errorf("no PONG within %v: %w", redisReadyTimeout, last)
}

func pingRedis(addr string) error {
	conn, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
	if err != nil {
		return err
	}
	defer func() { _ = conn.Close() }()
	_ = conn.SetDeadline(time.Now().Add(time.Second))
	if _, err := conn.Write([]byte("PING\r\n")); err != nil {
		return err
	}
	line, err := bufio.NewReader(conn).ReadString('\n')
	if err != nil {
		return err
	}
	if strings.TrimSpace(line) != "+PONG" {
		return fmt.Errorf("PING answered %q", strings.TrimSpace(line))
	}
	return nil
}

// CPUTime returns the CPU time the server has used since it was last started
// (all its processes), for benchmarks that report work per op.
func (r *Redis) CPUTime() (time.Duration, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.proc.cpuTime()
}
