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
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/bakery-ia/subscription-operator/internal/testenv/pgready"
)

// postgresInstallHint is part of every error about missing PostgreSQL binaries.
const postgresInstallHint = "install it with: apt-get install -y postgresql (or run hack/install-services.sh)"

// postgresReadyTimeout bounds the wait for the first successful SELECT 1.
const postgresReadyTimeout = 30 * time.Second

// postgresLibDir holds Debian's versioned PostgreSQL installs
// (<dir>/<version>/bin); a variable so tests can point it elsewhere.
var postgresLibDir = "/usr/lib/postgresql"

// Postgres is a private PostgreSQL cluster on 127.0.0.1 with trust
// authentication for the superuser "postgres", tuned for tests
// (fsync=off, full_page_writes=off, synchronous_commit=off).
type Postgres struct {
	// Port is the TCP port on 127.0.0.1.
	Port int
	// DSN is postgres://postgres@127.0.0.1:<port>/postgres?sslmode=disable.
	DSN string

	dir    string // temporary directory: data/, the unix socket, logs
	binDir string
	cred   *syscall.Credential // set when running as root: run as user postgres

	mu   sync.Mutex
	proc *process
}

// StartPostgres creates a cluster with initdb in a new temporary directory and
// starts postgres on a free 127.0.0.1 port; it returns once SELECT 1 succeeds
// (about 1-2 s). PostgreSQL refuses to run as root, so as root both programs
// run as the system user "postgres" (created by the postgresql package), and
// the temporary directory is owned by it. Call Close when done.
func StartPostgres() (*Postgres, error) {
	binDir, err := findPostgresBinDir()
	if err != nil {
		return nil, err
	}
	p := &Postgres{binDir: binDir}
	uid, gid := -1, -1
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			return nil, fmt.Errorf("running as root, PostgreSQL must run as the user \"postgres\", which does not exist: %s: %w", postgresInstallHint, err)
		}
		uid, _ = strconv.Atoi(u.Uid)
		gid, _ = strconv.Atoi(u.Gid)
		p.cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid), Groups: []uint32{}}
	}
	if p.dir, err = os.MkdirTemp("", "testenv-postgres-"); err != nil {
		return nil, fmt.Errorf("create postgres temp dir: %w", err)
	}
	if p.cred != nil {
		if err := os.Chown(p.dir, uid, gid); err != nil {
			_ = os.RemoveAll(p.dir)
			return nil, fmt.Errorf("chown %s to postgres: %w", p.dir, err)
		}
	}
	if err := p.initdb(); err != nil {
		_ = os.RemoveAll(p.dir)
		return nil, err
	}
	for attempt := 1; ; attempt++ {
		if p.Port, err = FreePort(); err != nil {
			break
		}
		p.DSN = fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", p.Port)
		if err = p.Start(); err == nil {
			return p, nil
		}
		if !errors.Is(err, errAddrInUse) || attempt == startAttempts {
			break
		}
	}
	_ = os.RemoveAll(p.dir)
	return nil, err
}

// findPostgresBinDir returns the directory holding initdb and postgres: the
// one of initdb on PATH, else the highest version under postgresLibDir.
func findPostgresBinDir() (string, error) {
	if initdb, err := exec.LookPath("initdb"); err == nil {
		dir := filepath.Dir(initdb)
		if resolved, err := filepath.EvalSymlinks(initdb); err == nil {
			dir = filepath.Dir(resolved)
		}
		if isExecutable(filepath.Join(dir, "postgres")) {
			return dir, nil
		}
	}
	matches, _ := filepath.Glob(filepath.Join(postgresLibDir, "*", "bin", "initdb"))
	type install struct {
		dir     string
		version []int
	}
	var found []install
	for _, m := range matches {
		dir := filepath.Dir(m)
		if !isExecutable(m) || !isExecutable(filepath.Join(dir, "postgres")) {
			continue
		}
		var version []int
		for _, part := range strings.Split(filepath.Base(filepath.Dir(dir)), ".") {
			n, err := strconv.Atoi(part)
			if err != nil {
				version = nil
				break
			}
			version = append(version, n)
		}
		if version != nil {
			found = append(found, install{dir, version})
		}
	}
	if len(found) == 0 {
		return "", fmt.Errorf("PostgreSQL server binaries (initdb, postgres) not found on PATH or under %s/<version>/bin: %s", postgresLibDir, postgresInstallHint)
	}
	sort.Slice(found, func(i, j int) bool {
		a, b := found[i].version, found[j].version
		for k := 0; k < len(a) && k < len(b); k++ {
			if a[k] != b[k] {
				return a[k] > b[k]
			}
		}
		return len(a) > len(b)
	})
	return found[0].dir, nil
}

func isExecutable(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && fi.Mode().IsRegular() && fi.Mode().Perm()&0o111 != 0
}

func (p *Postgres) command(name string, args ...string) *exec.Cmd {
	cmd := exec.Command(filepath.Join(p.binDir, name), args...)
	cmd.Dir = p.dir // the postgres user must be able to enter its working directory
	cmd.Env = append(os.Environ(), "LC_ALL=C", "TZ=UTC")
	if p.cred != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: p.cred}
	}
	return cmd
}

func (p *Postgres) initdb() error {
	cmd := p.command("initdb",
		"-D", filepath.Join(p.dir, "data"),
		"-A", "trust", "-U", "postgres",
		"-E", "UTF8", "--locale=C", "--no-sync")
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("initdb in %s: %w\n%s", p.dir, err, out)
	}
	return nil
}

// Start starts postgres on the same port (after Stop the data is still
// there). Start on a running server is a no-op.
func (p *Postgres) Start() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.proc != nil && !p.proc.exited() {
		return nil
	}
	// postgres runs in the foreground as our child (rather than detached by
	// pg_ctl) so that it dies with the test binary and Close can kill it.
	cmd := p.command("postgres",
		"-D", filepath.Join(p.dir, "data"),
		"-p", strconv.Itoa(p.Port),
		"-k", p.dir,
		"-c", "listen_addresses=127.0.0.1",
		"-c", "fsync=off",
		"-c", "full_page_writes=off",
		"-c", "synchronous_commit=off",
	)
	logPath := filepath.Join(p.dir, "postgres.log")
	proc, err := startProcess(cmd, logPath)
	if err != nil {
		return fmt.Errorf("postgres on port %d: %w", p.Port, err)
	}
	p.proc = proc
	if err := waitPostgres(p.DSN, proc); err != nil {
		_ = proc.stop(syscall.SIGQUIT, 5*time.Second)
		log := tailFile(logPath, 20)
		if strings.Contains(log, "Address already in use") {
			err = errors.Join(err, errAddrInUse)
		}
		return fmt.Errorf("postgres on port %d: %w\npostgres.log:\n%s", p.Port, err, log)
	}
	return nil
}

// Stop shuts the server down (fast shutdown: SIGINT; immediate shutdown
// after 10 s; then SIGKILL to the process group). The data directory and the
// port stay for Start.
func (p *Postgres) Stop() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.proc == nil || p.proc.exited() {
		return nil
	}
	_ = p.proc.cmd.Process.Signal(syscall.SIGINT)
	select {
	case <-p.proc.done:
		return nil
	case <-time.After(10 * time.Second):
	}
	if err := p.proc.stop(syscall.SIGQUIT, 5*time.Second); err != nil {
		return fmt.Errorf("stop postgres on port %d: %w", p.Port, err)
	}
	return nil
}

// Close stops the server and removes its temporary directory. It is safe to
// call more than once and on a nil *Postgres.
func (p *Postgres) Close() {
	if p == nil {
		return
	}
	_ = p.Stop()
	_ = os.RemoveAll(p.dir)
}

// waitPostgres polls dsn with SELECT 1 until it succeeds, the process exits,
// or postgresReadyTimeout passes.
func waitPostgres(dsn string, proc *process) error {
	deadline := time.Now().Add(postgresReadyTimeout)
	var last error
	for time.Now().Before(deadline) {
		if proc.exited() {
			return errors.New("postgres exited during start-up")
		}
		if last = pgready.Ping(dsn); last == nil {
			return nil
		}
		time.Sleep(25 * time.Millisecond)
	}
	return fmt.Errorf("no answer to SELECT 1 within %v: %w", postgresReadyTimeout, last)
}

// CPUTime returns the CPU time the server has used since it was last started
// (all its processes), for benchmarks that report work per op.
func (p *Postgres) CPUTime() (time.Duration, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.proc.cpuTime()
}
