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
	"context"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/redis/go-redis/v9"
)

// service is what the self-test needs from Redis and Postgres alike.
type service interface {
	Stop() error
	Start() error
	Close()
}

func redisPing(ctx context.Context, r *Redis) error {
	opt, err := redis.ParseURL(r.URL)
	if err != nil {
		return err
	}
	rdb := redis.NewClient(opt)
	defer func() { _ = rdb.Close() }()
	return rdb.Ping(ctx).Err()
}

func postgresSelect1(ctx context.Context, p *Postgres) error {
	conn, err := pgx.Connect(ctx, p.DSN)
	if err != nil {
		return err
	}
	defer func() { _ = conn.Close(ctx) }()
	var one int
	return conn.QueryRow(ctx, "SELECT 1").Scan(&one)
}

// TestServices starts each service, checks it answers, stops it (it must
// then refuse), starts it again and checks it answers on the same port.
func TestServices(t *testing.T) {
	tests := []struct {
		name  string
		start func(t *testing.T) (svc service, port string, check func(context.Context) error)
	}{
		{"redis", func(t *testing.T) (service, string, func(context.Context) error) {
			r, err := StartRedis()
			if err != nil {
				t.Fatal(err)
			}
			if want := "redis://" + r.Addr + "/0"; r.URL != want {
				t.Errorf("URL = %q, want %q", r.URL, want)
			}
			return r, r.Addr, func(ctx context.Context) error { return redisPing(ctx, r) }
		}},
		{"postgres", func(t *testing.T) (service, string, func(context.Context) error) {
			p, err := StartPostgres()
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(p.DSN, "postgres://postgres@127.0.0.1:") {
				t.Errorf("DSN = %q", p.DSN)
			}
			return p, p.DSN, func(ctx context.Context) error { return postgresSelect1(ctx, p) }
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			began := time.Now()
			svc, addr, check := tt.start(t)
			defer svc.Close()
			t.Logf("%s ready at %s in %v", tt.name, addr, time.Since(began).Round(time.Millisecond))
			if err := check(ctx); err != nil {
				t.Fatalf("fresh server: %v", err)
			}
			if err := svc.Stop(); err != nil {
				t.Fatalf("Stop: %v", err)
			}
			if err := check(ctx); err == nil {
				t.Fatal("stopped server still answers")
			}
			if err := svc.Start(); err != nil {
				t.Fatalf("Start: %v", err)
			}
			if err := check(ctx); err != nil {
				t.Fatalf("restarted server on the same address: %v", err)
			}
		})
	}
}

// TestMissingBinaries checks that a missing server binary is an error that
// says how to install it.
func TestMissingBinaries(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	postgresLibDir = t.TempDir()
	defer func() { postgresLibDir = "/usr/lib/postgresql" }()

	_, err := StartRedis()
	if err == nil || !strings.Contains(err.Error(), "apt-get install -y redis-server") {
		t.Errorf("StartRedis without redis-server: err = %v, want the apt-get hint", err)
	}
	_, err = StartPostgres()
	if err == nil || !strings.Contains(err.Error(), "apt-get install -y postgresql") {
		t.Errorf("StartPostgres without postgres: err = %v, want the apt-get hint", err)
	}
}

func TestCloseTwice(t *testing.T) {
	r, err := StartRedis()
	if err != nil {
		t.Fatal(err)
	}
	r.Close()
	r.Close()
	var nilRedis *Redis
	nilRedis.Close()
	var nilPostgres *Postgres
	nilPostgres.Close()
}

func TestRedisCluster(t *testing.T) {
	c, err := StartRedisCluster(3)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if len(c.Addrs) != 3 || !strings.HasPrefix(c.URL, "redis+cluster://"+c.Addrs[0]+"?addr=") {
		t.Fatalf("Addrs %v, URL %q", c.Addrs, c.URL)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	rdb := redis.NewClusterClient(&redis.ClusterOptions{Addrs: c.Addrs})
	defer func() { _ = rdb.Close() }()
	// Keys spread over all three masters.
	for i := range 30 {
		if err := rdb.Set(ctx, fmt.Sprint("k", i), i, 0).Err(); err != nil {
			t.Fatal(err)
		}
	}
	masters := 0
	err = rdb.ForEachMaster(ctx, func(ctx context.Context, node *redis.Client) error {
		if n := node.DBSize(ctx).Val(); n > 0 {
			masters++
		}
		return nil
	})
	if err != nil || masters != 3 {
		t.Errorf("keys on %d masters (err %v), want 3", masters, err)
	}
}

// TestRedisClusterFailover forms 3 masters with a replica each, kills a
// master with SIGKILL, waits for its replica's promotion, and restarts the
// dead node, which rejoins as a replica of the promoted one.
func TestRedisClusterFailover(t *testing.T) {
	c, err := StartRedisClusterWithReplicas(3, 1)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if len(c.Addrs) != 6 || strings.Count(c.URL, "addr=") != 5 {
		t.Fatalf("Addrs %v, URL %q", c.Addrs, c.URL)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	masters, err := c.Masters(ctx)
	if err != nil || !reflect.DeepEqual(masters, c.Addrs[:3]) {
		t.Fatalf("Masters = %v (%v), want %v", masters, err, c.Addrs[:3])
	}
	rdb := redis.NewClusterClient(&redis.ClusterOptions{Addrs: c.Addrs})
	defer func() { _ = rdb.Close() }()
	if err := rdb.Set(ctx, "k", "v", 0).Err(); err != nil {
		t.Fatal(err)
	}
	victim, err := c.MasterOf(ctx, "k")
	if err != nil {
		t.Fatal(err)
	}
	if err := c.WaitReplicated(ctx); err != nil {
		t.Fatal(err)
	}
	if err := c.Kill(ctx, victim); err != nil {
		t.Fatal(err)
	}
	promoted, err := c.WaitFailover(ctx, victim)
	if err != nil {
		t.Fatal(err)
	}
	if promoted == victim || promoted == "" {
		t.Fatalf("promoted %q after killing %s", promoted, victim)
	}
	if got, err := c.MasterOf(ctx, "k"); err != nil || got != promoted {
		t.Errorf("MasterOf(k) = %s (%v), want the promoted %s", got, err, promoted)
	}
	// The replica had the key: nothing acknowledged before the kill is lost.
	node := redis.NewClient(&redis.Options{Addr: promoted})
	defer func() { _ = node.Close() }()
	if v, err := node.Get(ctx, "k").Result(); err != nil || v != "v" {
		t.Errorf("GET k on the promoted master = %q, %v", v, err)
	}
	if err := c.Restart(ctx, victim); err != nil {
		t.Fatal(err)
	}
	masters, err = c.Masters(ctx)
	if err != nil || slices.Contains(masters, victim) || !slices.Contains(masters, promoted) {
		t.Errorf("after the restart masters = %v (%v): %s should be a replica of %s", masters, err, victim, promoted)
	}
	if err := c.Kill(ctx, "127.0.0.1:1"); err == nil {
		t.Error("Kill of an unknown address succeeded")
	}
	if _, err := StartRedisClusterWith(ClusterOptions{Masters: 1, ReplicasPerMaster: -1}); err == nil {
		t.Error("a negative replica count was accepted")
	}
}
