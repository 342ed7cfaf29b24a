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
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// RedisCluster is a private Redis Cluster of masters without replicas, each
// a redis-server like StartRedis's on its own free port.
type RedisCluster struct {
	// Addrs are the nodes' host:port.
	Addrs []string
	// URL is redis+cluster://<node 1>?addr=<node 2>&addr=..., the REDIS_URL
	// form that usage.NewRedisClient turns into a cluster client.
	URL string

	nodes []*Redis
}

// StartRedisCluster starts masters nodes, spreads the 16384 slots evenly over
// them and returns once every node reports cluster_state:ok. Call Close when
// done.
func StartRedisCluster(masters int) (*RedisCluster, error) {
	if masters < 1 {
		return nil, fmt.Errorf("redis cluster: need at least one master, got %d", masters)
	}
	c := &RedisCluster{}
	for range masters {
		n, err := startRedis("--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf", "--cluster-node-timeout", "5000")
		if err != nil {
			c.Close()
			return nil, fmt.Errorf("redis cluster: %w", err)
		}
		c.nodes = append(c.nodes, n)
		c.Addrs = append(c.Addrs, n.Addr)
	}
	c.URL = "redis+cluster://" + c.Addrs[0]
	sep := "?"
	for _, a := range c.Addrs[1:] {
		c.URL += sep + "addr=" + a
		sep = "&"
	}
	if err := c.form(); err != nil {
		c.Close()
		return nil, fmt.Errorf("redis cluster: %w", err)
	}
	return c, nil
}

func (c *RedisCluster) form() error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	clients := make([]*redis.Client, len(c.nodes))
	for i, n := range c.nodes {
		clients[i] = redis.NewClient(&redis.Options{Addr: n.Addr, MaxRetries: -1})
		defer func() { _ = clients[i].Close() }()
	}
	const slots = 16384
	for i, cl := range clients {
		from, to := i*slots/len(clients), (i+1)*slots/len(clients)
		list := make([]int, 0, to-from)
		for s := from; s < to; s++ {
			list = append(list, s)
		}
		if err := cl.ClusterAddSlots(ctx, list...).Err(); err != nil {
			return fmt.Errorf("%s: CLUSTER ADDSLOTS %d-%d: %w", c.Addrs[i], from, to-1, err)
		}
	}
	for _, n := range c.nodes[1:] {
		if err := clients[0].ClusterMeet(ctx, "127.0.0.1", strconv.Itoa(n.port)).Err(); err != nil {
			return fmt.Errorf("CLUSTER MEET %s: %w", n.Addr, err)
		}
	}
	want := fmt.Sprintf("cluster_known_nodes:%d", len(c.nodes))
	for {
		ready := true
		var last string
		for _, cl := range clients {
			info, err := cl.ClusterInfo(ctx).Result()
			if err != nil || !strings.Contains(info, "cluster_state:ok") || !strings.Contains(info, want) {
				ready, last = false, info
				if err != nil {
					last = err.Error()
				}
				break
			}
		}
		if ready {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("cluster not ready after 30s: %s", last)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// Close stops all nodes and removes their directories. It is safe to call
// more than once and on a nil *RedisCluster.
func (c *RedisCluster) Close() {
	if c == nil {
		return
	}
	for _, n := range c.nodes {
		n.Close()
	}
}
