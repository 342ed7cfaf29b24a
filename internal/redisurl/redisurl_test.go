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

package redisurl

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/bakery-ia/subscription-operator/internal/testenv"
)

func TestNewClient(t *testing.T) {
	tests := []struct {
		url  string
		kind string // "client", "failover", "cluster", or "" for an error
		want string // substring of the address(es) or of the error
	}{
		{"redis://127.0.0.1:6380/2", "client", "127.0.0.1:6380"},
		{"rediss://user:pw@cache.example:6380/0", "client", "cache.example:6380"},
		{"unix:///run/redis.sock?db=1", "client", "/run/redis.sock"},
		{"redis+sentinel://s1:26379/0?master_name=mymaster&addr=s2:26379", "failover", "s1:26379 s2:26379"},
		{"redis-sentinel://s1:26379?master_name=mymaster", "failover", "s1:26379"},
		{"rediss+sentinel://s1:26379?master_name=m&password=pw", "failover", "s1:26379"},
		{"redis+cluster://n1:7000?addr=n2:7001&addr=n3:7002", "cluster", "n1:7000 n2:7001 n3:7002"},
		{"redis-cluster://n1:7000", "cluster", "n1:7000"},
		{"rediss+cluster://n1:7000", "cluster", "n1:7000"},
		{"localhost:6379", "", "want redis://host:port/db"},
		{"http://x:1", "", `unknown scheme "http"`},
		{"redis+ring://x:1", "", `unknown scheme "redis+ring"`},
		{"unix+cluster:///s", "", "unknown scheme"},
		{"redis+sentinel://:pw@s1:26379", "", "needs ?master_name="},
		{"redis://:s3cret@h:1/0?bogus=1", "", "unexpected option: bogus"},
		{"redis://:s3cret@h:1/x", "", "invalid database number"},
	}
	for _, tt := range tests {
		t.Run(tt.url, func(t *testing.T) {
			rdb, err := NewClient(tt.url)
			if tt.kind == "" {
				if err == nil {
					t.Fatalf("no error")
				}
				if !strings.Contains(err.Error(), tt.want) || strings.Contains(err.Error(), "s3cret") {
					t.Errorf("err = %q, want it to contain %q and no password", err, tt.want)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			_ = rdb.Close()
			opt, _ := parseRedisURL(tt.url)
			var kind, addrs string
			tls := false
			switch o := opt.(type) {
			case *redis.Options:
				kind, addrs, tls = "client", o.Addr, o.TLSConfig != nil
			case *redis.FailoverOptions:
				kind, addrs, tls = "failover", strings.Join(o.SentinelAddrs, " "), o.TLSConfig != nil
			case *redis.ClusterOptions:
				kind, addrs, tls = "cluster", strings.Join(o.Addrs, " "), o.TLSConfig != nil
			}
			if kind != tt.kind || addrs != tt.want {
				t.Errorf("got %s %q, want %s %q", kind, addrs, tt.kind, tt.want)
			}
			if wantTLS := strings.HasPrefix(tt.url, "rediss"); tls != wantTLS {
				t.Errorf("TLS = %v, want %v", tls, wantTLS)
			}
		})
	}
	// And a real one.
	srv, err := testenv.StartRedis()
	if err != nil {
		t.Fatalf("these tests need redis-server: %v", err)
	}
	defer srv.Close()
	rdb, err := NewClient(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = rdb.Close() }()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := rdb.Ping(ctx).Err(); err != nil {
		t.Errorf("PING %s: %v", srv.URL, err)
	}
}

// TestNewClientTuned applies the gateway's short timeouts to every kind
// of REDIS_URL, keeps the URL's other settings, and fails as NewClient.
func TestNewClientTuned(t *testing.T) {
	tune := Tuning{DialTimeout: 500 * time.Millisecond, ReadTimeout: 400 * time.Millisecond,
		WriteTimeout: 300 * time.Millisecond, PoolTimeout: 200 * time.Millisecond, MaxRetries: -1, PoolSize: 4}
	type got struct {
		dial, read, write, pool time.Duration
		retries, size           int
	}
	want := got{500 * time.Millisecond, 400 * time.Millisecond, 300 * time.Millisecond, 200 * time.Millisecond, -1, 4}
	for _, url := range []string{
		"redis://127.0.0.1:6380/2",
		"redis+sentinel://s1:26379/0?master_name=mymaster",
		"redis+cluster://n1:7000?addr=n2:7001",
	} {
		t.Run(url, func(t *testing.T) {
			rdb, err := NewClientTuned(url, tune)
			if err != nil {
				t.Fatal(err)
			}
			defer func() { _ = rdb.Close() }()
			var g got
			switch c := rdb.(type) {
			case *redis.Client:
				o := c.Options()
				g = got{o.DialTimeout, o.ReadTimeout, o.WriteTimeout, o.PoolTimeout, o.MaxRetries, o.PoolSize}
			case *redis.ClusterClient:
				o := c.Options()
				g = got{o.DialTimeout, o.ReadTimeout, o.WriteTimeout, o.PoolTimeout, o.MaxRetries, o.PoolSize}
				if len(o.Addrs) != 2 {
					t.Errorf("cluster addresses %v", o.Addrs)
				}
				// No re-sends of a pipeline either (go-redis keeps -1 as 0).
				if o.MaxRedirects != 0 {
					t.Errorf("MaxRedirects = %d, want none: a re-sent INCRBY counts twice", o.MaxRedirects)
				}
			default:
				t.Fatalf("client type %T", rdb)
			}
			// go-redis keeps "no retries" (-1) as 0 once a client is made.
			if g.retries == 0 {
				g.retries = -1
			}
			if g != want {
				t.Errorf("options %+v, want %+v", g, want)
			}
		})
	}
	rdb, err := NewClientTuned("redis://127.0.0.1:6380/0", Tuning{})
	if err != nil {
		t.Fatal(err)
	}
	if o := rdb.(*redis.Client).Options(); o.ReadTimeout != 3*time.Second || o.MaxRetries != 3 {
		t.Errorf("zero tuning changed the defaults: read %v, retries %d", o.ReadTimeout, o.MaxRetries)
	}
	_ = rdb.Close()
	if _, err := NewClientTuned("redis://:s3cret@h:1/x", tune); err == nil || strings.Contains(err.Error(), "s3cret") {
		t.Errorf("bad URL: err %v, want an error without the password", err)
	}
}
