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

package redisretry

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// replyErr is an error reply as go-redis parses it (proto.RedisError).
type replyErr string

func (e replyErr) Error() string { return string(e) }
func (replyErr) RedisError()     {}

func TestTransient(t *testing.T) {
	cluster := redis.NewClusterClient(&redis.ClusterOptions{Addrs: []string{"127.0.0.1:1"}})
	defer func() { _ = cluster.Close() }()
	single := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1"})
	defer func() { _ = single.Close() }()
	sentinel := redis.NewFailoverClient(&redis.FailoverOptions{MasterName: "m", SentinelAddrs: []string{"127.0.0.1:1"}})
	defer func() { _ = sentinel.Close() }()

	refused := &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}
	for _, tc := range []struct {
		name            string
		err             error
		cluster, single bool
	}{
		{"nil", nil, false, false},
		{"redis.Nil", redis.Nil, false, false},
		{"context canceled", context.Canceled, false, false},
		{"deadline", fmt.Errorf("x: %w", context.DeadlineExceeded), false, false},
		{"client closed", redis.ErrClosed, false, false},
		{"WRONGTYPE", replyErr("WRONGTYPE Operation against a key holding the wrong kind of value"), false, false},
		{"script error", replyErr("HISTORY usage_history:{t}:m: legacy value is not a JSON array"), false, false},
		{"NOSCRIPT", replyErr("NOSCRIPT No matching script."), false, false},
		{"CLUSTERDOWN", replyErr("CLUSTERDOWN The cluster is down"), true, true},
		{"TRYAGAIN", replyErr("TRYAGAIN Multiple keys request during rehashing of slot"), true, true},
		{"MOVED", replyErr("MOVED 3999 127.0.0.1:6381"), true, true},
		{"ASK", replyErr("ASK 3999 127.0.0.1:6381"), true, true},
		{"LOADING", replyErr("LOADING Redis is loading the dataset in memory"), true, true},
		{"READONLY", replyErr("READONLY You can't write against a read only replica."), true, true},
		{"MASTERDOWN", replyErr("MASTERDOWN Link with MASTER is down"), true, true},
		{"connection refused", refused, true, false},
		{"reset", fmt.Errorf("read: %w", syscall.ECONNRESET), true, false},
		{"EOF", io.EOF, true, false},
		{"pool timeout", redis.ErrPoolTimeout, true, false},
		{"i/o timeout", &net.OpError{Op: "read", Net: "tcp", Err: timeoutErr{}}, true, false},
		{"other", errors.New("boom"), false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := Transient(cluster, tc.err); got != tc.cluster {
				t.Errorf("Transient(cluster, %v) = %v, want %v", tc.err, got, tc.cluster)
			}
			if got := Transient(sentinel, tc.err); got != tc.cluster {
				t.Errorf("Transient(sentinel, %v) = %v, want %v", tc.err, got, tc.cluster)
			}
			if got := Transient(single, tc.err); got != tc.single {
				t.Errorf("Transient(standalone, %v) = %v, want %v", tc.err, got, tc.single)
			}
		})
	}
}

type timeoutErr struct{}

func (timeoutErr) Error() string   { return "i/o timeout" }
func (timeoutErr) Timeout() bool   { return true }
func (timeoutErr) Temporary() bool { return true }

func TestRetrierRecordsAndGivesUp(t *testing.T) {
	f := &Faults{}
	ctx := WithFaults(context.Background(), f)
	r := New(Policy{For: 120 * time.Millisecond, Min: 10 * time.Millisecond, Max: 40 * time.Millisecond})
	fault := errors.New("dial tcp: connection refused")
	var err error
	waits := 0
	for err == nil {
		if err = r.Wait(ctx, fault); err == nil {
			waits++
		}
		if waits > 100 {
			t.Fatal("the retrier never gave up")
		}
	}
	if !errors.Is(err, fault) || !strings.HasPrefix(err.Error(), "gave up after ") {
		t.Errorf("err = %v, want it to give up and wrap the fault", err)
	}
	if n, last := f.Retries(); n != waits || !errors.Is(last, fault) {
		t.Errorf("Faults = %d, %v; want %d, %v", n, last, waits, fault)
	}
}

func TestRetrierStopsWithContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	fault := errors.New("CLUSTERDOWN")
	err := New(Policy{For: time.Hour, Min: time.Hour}).Wait(ctx, fault)
	if !errors.Is(err, context.Canceled) || !errors.Is(err, fault) {
		t.Errorf("err = %v, want the context's end and the fault", err)
	}
	// No Faults in the context: nothing recorded, nothing panics.
	var f *Faults
	if n, last := f.Retries(); n != 0 || last != nil {
		t.Errorf("nil Faults = %d, %v", n, last)
	}
}

func TestMessage(t *testing.T) {
	if got := Message(nil); got != "" {
		t.Errorf("Message(nil) = %q", got)
	}
	long := errors.New(strings.Repeat("x", 300) + "\nsecond line")
	if got := Message(long); len(got) != 203 || strings.Contains(got, "second") {
		t.Errorf("Message(long) = %q", got)
	}
}
