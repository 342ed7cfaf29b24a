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

// Package redisretry decides which Redis errors are transient (a failover, a
// resharding, a dropped connection) and retries idempotent work through them
// with a capped exponential backoff. The snapshot's history writes and
// counter reads use it so that a master failing over during a run costs a few
// seconds instead of the run; the gateway's counter flushes do not (an
// INCRBY is not idempotent).
package redisretry

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/redis/go-redis/v9"
)

// Transient reports whether err is a fault that a later attempt of the same
// idempotent command can get past on rdb:
//   - the cluster is reconfiguring: CLUSTERDOWN, TRYAGAIN, a MOVED or ASK the
//     client did not follow, LOADING, READONLY (a master just demoted),
//     MASTERDOWN;
//   - a connection failed, was refused or reset, or timed out, but only on a
//     client that can fail over (Redis Cluster, Sentinel): there a dead node
//     is replaced within seconds. A standalone server that refuses
//     connections is down, and retrying would only delay the report.
//
// Context errors, nil replies and every other server reply (WRONGTYPE, a
// script's own error) are not transient: retrying cannot change them.
func Transient(rdb redis.UniversalClient, err error) bool {
	switch {
	case err == nil, errors.Is(err, redis.Nil),
		errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded),
		errors.Is(err, redis.ErrClosed): // our own client was closed
		return false
	case ClusterFault(err):
		return true
	}
	return ConnFault(err) && CanFailOver(rdb)
}

// ClusterFault reports a reply that a cluster (or a replica set) gives while
// it reconfigures.
func ClusterFault(err error) bool {
	if redis.IsClusterDownError(err) || redis.IsTryAgainError(err) || redis.IsLoadingError(err) ||
		redis.IsReadOnlyError(err) || redis.IsMasterDownError(err) {
		return true
	}
	if _, ok := redis.IsMovedError(err); ok {
		return true
	}
	_, ok := redis.IsAskError(err)
	return ok
}

// ConnFault reports a failed connection: refused, reset, closed mid-reply,
// timed out, or no free connection in the pool in time.
func ConnFault(err error) bool {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, redis.ErrPoolTimeout) ||
		errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) {
		return true
	}
	var nerr net.Error
	return errors.As(err, &nerr)
}

// CanFailOver reports whether rdb is a Redis Cluster or a Sentinel client,
// whose dead master a replica replaces.
func CanFailOver(rdb redis.UniversalClient) bool {
	switch c := rdb.(type) {
	case *redis.ClusterClient:
		return true
	case *redis.Client:
		// go-redis' Sentinel client is a *Client whose address is this marker.
		return c.Options().Addr == "FailoverClient"
	}
	return false
}

// Policy is how long and how often to retry.
type Policy struct {
	// For is how long after the first fault retries continue (default 60 s):
	// longer than a failover with Redis' default cluster-node-timeout of 15 s
	// takes, short enough that a lasting outage fails the run and the
	// scheduler's own backoff and reporting take over.
	For time.Duration
	// Min and Max bound the pause between attempts (defaults 50 ms and 2 s);
	// it doubles from Min.
	Min, Max time.Duration
}

// DefaultPolicy is what the history store and the counter source use.
var DefaultPolicy = Policy{For: 60 * time.Second, Min: 50 * time.Millisecond, Max: 2 * time.Second}

func (p Policy) withDefaults() Policy {
	if p.For <= 0 {
		p.For = DefaultPolicy.For
	}
	if p.Min <= 0 {
		p.Min = DefaultPolicy.Min
	}
	if p.Max < p.Min {
		p.Max = max(DefaultPolicy.Max, p.Min)
	}
	return p
}

// Retrier paces the retries of one operation: Wait after each transient
// fault. It is not safe for concurrent use.
type Retrier struct {
	p        Policy
	first    time.Time
	attempts int
}

// New returns a Retrier with p (zero fields take DefaultPolicy's).
func New(p Policy) *Retrier { return &Retrier{p: p.withDefaults()} }

// Wait records fault (in ctx's Faults, see WithFaults) and sleeps before the
// next attempt. It returns an error, wrapping fault, when the policy's time
// is spent or ctx ends first; then the caller stops.
func (r *Retrier) Wait(ctx context.Context, fault error) error {
	now := time.Now()
	if r.first.IsZero() {
		r.first = now
	}
	if spent := now.Sub(r.first); spent >= r.p.For {
		return fmt.Errorf("gave up after %d retries in %s: %w", r.attempts, spent.Round(time.Millisecond), fault)
	}
	record(ctx, fault)
	pause := r.p.Min << min(r.attempts, 20)
	if pause > r.p.Max || pause <= 0 {
		pause = r.p.Max
	}
	r.attempts++
	t := time.NewTimer(pause)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return fmt.Errorf("stopped retrying after %d retries: %w (last fault: %w)", r.attempts, context.Cause(ctx), fault)
	case <-t.C:
		return nil
	}
}

// Refresh asks a cluster client to reload the slot map before the next
// attempt, so commands go to the promoted master instead of the dead one
// (go-redis otherwise reloads it only on MOVED or every 10 s). Other
// clients need nothing.
func Refresh(ctx context.Context, rdb redis.UniversalClient) {
	if cc, ok := rdb.(*redis.ClusterClient); ok {
		cc.ReloadState(ctx)
	}
}

// Faults collects the transient faults retried during a run, so the run can
// report them (a condition message, an Event, a metric) even when every
// retry succeeded. Safe for concurrent use; a nil *Faults ignores records.
type Faults struct {
	mu      sync.Mutex
	retries int
	last    error
}

type faultsKey struct{}

// WithFaults returns a context whose retries are recorded in f.
func WithFaults(ctx context.Context, f *Faults) context.Context {
	return context.WithValue(ctx, faultsKey{}, f)
}

func record(ctx context.Context, err error) {
	f, _ := ctx.Value(faultsKey{}).(*Faults)
	if f == nil {
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.retries++
	f.last = err
}

// Retries returns how many retries were made and the last fault retried.
func (f *Faults) Retries() (int, error) {
	if f == nil {
		return 0, nil
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.retries, f.last
}

// Message is a short description of the last fault for humans: the first
// line, without go-redis' "dial tcp ..." noise beyond 200 bytes.
func Message(err error) string {
	if err == nil {
		return ""
	}
	s, _, _ := strings.Cut(err.Error(), "\n")
	if len(s) > 200 {
		s = s[:200] + "..."
	}
	return s
}

// CmdErr is the outcome of one command of a pipeline whose Exec returned
// execErr. go-redis' cluster client sets the error of every command a failed
// node held, so its other commands' replies are good; a standalone or
// Sentinel client may fail the round trip without setting the commands'
// errors (a refused dial), so there a command without an error of its own
// shares the round trip's error unless that was a reply of the server.
func CmdErr(rdb redis.UniversalClient, cmd redis.Cmder, execErr error) error {
	if err := cmd.Err(); err != nil {
		return err
	}
	if execErr == nil || errors.Is(execErr, redis.Nil) {
		return nil
	}
	if _, ok := rdb.(*redis.ClusterClient); ok {
		return nil
	}
	var rerr redis.Error
	if errors.As(execErr, &rerr) && !strings.HasPrefix(execErr.Error(), "redis: ") {
		return nil // one command's error reply; this one's was fine
	}
	return execErr
}
