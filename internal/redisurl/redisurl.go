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

// Package redisurl turns a REDIS_URL into a go-redis client: one server,
// Sentinel or Cluster, with or without TLS. It is the one place every binary
// reads REDIS_URL, and it depends on go-redis alone, so the gateway links no
// more than it needs.
package redisurl

import (
	"fmt"
	neturl "net/url"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// NewClient connects to REDIS_URL. Accepted forms:
//
//	redis://[[user]:password@]host[:port][/db][?options]      one server
//	rediss://...                                              the same over TLS
//	unix://[[user]:password@]/path/to/redis.sock[?db=N]       a unix socket
//	redis+sentinel://[[user]:password@]sentinel:26379[/db]?master_name=mymaster[&addr=sentinel2:26379...][&password=...]
//	rediss+sentinel://...                                     Sentinel, TLS
//	redis+cluster://[[user]:password@]node:6379[?addr=node2:6379...]
//	rediss+cluster://...                                      Cluster, TLS
//
// "redis-sentinel://" and "redis-cluster://" are accepted as aliases of the
// "+" forms. In the Sentinel form the userinfo authenticates to the sentinels
// and password= (and username=) to the master, as in go-redis'
// ParseFailoverURL. options are go-redis' (dial_timeout=3s, pool_size=20,
// skip_verify=true, ...); an unknown option is an error. The client is not
// contacted here; the first command connects.
func NewClient(url string) (redis.UniversalClient, error) {
	opt, err := parseRedisURL(url)
	if err != nil {
		return nil, fmt.Errorf("REDIS_URL %q: %w", redactURL(url), err)
	}
	switch opt := opt.(type) {
	case *redis.FailoverOptions:
		return redis.NewFailoverClient(opt), nil
	case *redis.ClusterOptions:
		return redis.NewClusterClient(opt), nil
	default:
		return redis.NewClient(opt.(*redis.Options)), nil
	}
}

// Tuning overrides connection settings of a REDIS_URL client, whatever
// its kind; zero fields keep the URL's (or go-redis') values.
type Tuning struct {
	DialTimeout, ReadTimeout, WriteTimeout, PoolTimeout time.Duration
	// MaxRetries: -1 disables retries (for Cluster, redirects and pipeline
	// re-sends too); 0 keeps the default.
	MaxRetries, PoolSize int
}

// NewClientTuned is NewClient with t applied: the gateway's counter
// flushes want short timeouts and no retries on every kind of deployment,
// Redis Cluster included.
func NewClientTuned(url string, t Tuning) (redis.UniversalClient, error) {
	opt, err := parseRedisURL(url)
	if err != nil {
		return nil, fmt.Errorf("REDIS_URL %q: %w", redactURL(url), err)
	}
	set := func(dial, read, write, pool *time.Duration, retries, size *int) {
		for _, f := range []struct {
			dst *time.Duration
			v   time.Duration
		}{{dial, t.DialTimeout}, {read, t.ReadTimeout}, {write, t.WriteTimeout}, {pool, t.PoolTimeout}} {
			if f.v != 0 {
				*f.dst = f.v
			}
		}
		if t.MaxRetries != 0 {
			*retries = t.MaxRetries
		}
		if t.PoolSize != 0 {
			*size = t.PoolSize
		}
	}
	switch o := opt.(type) {
	case *redis.FailoverOptions:
		set(&o.DialTimeout, &o.ReadTimeout, &o.WriteTimeout, &o.PoolTimeout, &o.MaxRetries, &o.PoolSize)
		return redis.NewFailoverClient(o), nil
	case *redis.ClusterOptions:
		set(&o.DialTimeout, &o.ReadTimeout, &o.WriteTimeout, &o.PoolTimeout, &o.MaxRetries, &o.PoolSize)
		if t.MaxRetries < 0 {
			// The cluster client re-sends a pipeline's commands up to
			// MaxRedirects times, also after a read timeout or a reset
			// connection, when the node may already have run them: an INCRBY
			// counted twice. "No retries" must mean none at all; a MOVED then
			// fails the command too, and go-redis reloads the slot map for the
			// next round trip.
			o.MaxRedirects = -1
		}
		return redis.NewClusterClient(o), nil
	default:
		ro := opt.(*redis.Options)
		set(&ro.DialTimeout, &ro.ReadTimeout, &ro.WriteTimeout, &ro.PoolTimeout, &ro.MaxRetries, &ro.PoolSize)
		return redis.NewClient(ro), nil
	}
}

// parseRedisURL returns *redis.Options, *redis.FailoverOptions or
// *redis.ClusterOptions.
func parseRedisURL(url string) (any, error) {
	const want = "want redis, rediss, unix, redis+sentinel, rediss+sentinel, redis+cluster or rediss+cluster"
	scheme, rest, ok := strings.Cut(url, "://")
	if !ok {
		return nil, fmt.Errorf("want redis://host:port/db (or rediss://, unix://, redis+sentinel://, redis+cluster://)")
	}
	base, kind, _ := strings.Cut(strings.Replace(scheme, "-", "+", 1), "+")
	if base != "redis" && base != "rediss" && (base != "unix" || kind != "") {
		return nil, fmt.Errorf("unknown scheme %q: %s", scheme, want)
	}
	plain := base + "://" + rest
	switch kind {
	case "":
		return redis.ParseURL(plain)
	case "sentinel":
		opt, err := redis.ParseFailoverURL(plain)
		if err == nil && opt.MasterName == "" {
			err = fmt.Errorf("a sentinel URL needs ?master_name=<name>")
		}
		return opt, err
	case "cluster":
		return redis.ParseClusterURL(plain)
	default:
		return nil, fmt.Errorf("unknown scheme %q: %s", scheme, want)
	}
}

// redactURL hides passwords (userinfo, password= and sentinel_password=)
// for error messages.
func redactURL(raw string) string {
	u, err := neturl.Parse(raw)
	if err != nil {
		return "(unparsable URL)"
	}
	q := u.Query()
	for _, k := range []string{"password", "sentinel_password"} {
		if q.Has(k) {
			q.Set(k, "xxxxx")
		}
	}
	u.RawQuery = q.Encode()
	return u.Redacted()
}
