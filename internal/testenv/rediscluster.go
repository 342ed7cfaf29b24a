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
	"errors"
	"fmt"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/redis/go-redis/v9"
)

// RedisCluster is a private Redis Cluster: masters, optionally with replicas,
// each node a redis-server like StartRedis's on its own free port.
type RedisCluster struct {
	// Addrs are the nodes' host:port, masters first (in slot order), then the
	// replicas (the replicas of master i at len(masters)+i*replicas+j). Roles
	// change on a failover; Masters tells the current ones.
	Addrs []string
	// URL is redis+cluster://<node 1>?addr=<node 2>&addr=..., the REDIS_URL
	// form that redisurl.NewClient turns into a cluster client. It names
	// every node, so a client can start while any one of them is down.
	URL string
	// NodeTimeout is the nodes' cluster-node-timeout: how long a master must
	// be unreachable before its replica takes over.
	NodeTimeout time.Duration

	masters, replicas int
	nodes             []*Redis
	ids               []string // node IDs, per nodes
	// killedSlot is, per master ended by Kill, the first slot it served.
	killedSlot map[string]int
}

// ClusterOptions shape a cluster.
type ClusterOptions struct {
	// Masters is the number of masters (at least 1); the 16384 slots are
	// spread evenly over them.
	Masters int
	// ReplicasPerMaster is the number of replicas of each master (default 0).
	ReplicasPerMaster int
	// NodeTimeout is cluster-node-timeout. The default is 5 s without
	// replicas (nothing can fail over, so a slow machine must not mark a
	// node failed) and 2 s with them: a killed master's replica is promoted
	// about 3 s later, while a node starved by a busy 2-core machine for a
	// second is not failed over by mistake.
	NodeTimeout time.Duration
}

// StartRedisCluster starts masters nodes without replicas, spreads the 16384
// slots evenly over them and returns once every node reports
// cluster_state:ok. Call Close when done.
func StartRedisCluster(masters int) (*RedisCluster, error) {
	return StartRedisClusterWith(ClusterOptions{Masters: masters})
}

// StartRedisClusterWithReplicas starts masters masters with replicasPerMaster
// replicas each and returns once the cluster is ok and every replica is in
// sync with its master. Call Close when done.
func StartRedisClusterWithReplicas(masters, replicasPerMaster int) (*RedisCluster, error) {
	return StartRedisClusterWith(ClusterOptions{Masters: masters, ReplicasPerMaster: replicasPerMaster})
}

// StartRedisClusterWith starts a cluster shaped by o. It fails (never skips)
// when redis-server is missing, saying how to install it.
func StartRedisClusterWith(o ClusterOptions) (*RedisCluster, error) {
	if o.Masters < 1 {
		return nil, fmt.Errorf("redis cluster: need at least one master, got %d", o.Masters)
	}
	if o.ReplicasPerMaster < 0 {
		return nil, fmt.Errorf("redis cluster: replicas per master must not be negative, got %d", o.ReplicasPerMaster)
	}
	if o.NodeTimeout == 0 {
		o.NodeTimeout = 5 * time.Second
		if o.ReplicasPerMaster > 0 {
			o.NodeTimeout = 2 * time.Second
		}
	}
	c := &RedisCluster{masters: o.Masters, replicas: o.ReplicasPerMaster, NodeTimeout: o.NodeTimeout}
	timeout := strconv.FormatInt(o.NodeTimeout.Milliseconds(), 10)
	for range o.Masters * (1 + o.ReplicasPerMaster) {
		// cluster-replica-validity-factor 0: a replica always takes over, however
		// long it was cut off (the test kills masters on purpose; real
		// deployments keep the default and its data-age check).
		n, err := startRedis("--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf",
			"--cluster-node-timeout", timeout, "--cluster-replica-validity-factor", "0")
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

// formTimeout bounds forming the cluster and each wait of the helpers below.
const formTimeout = 60 * time.Second

func (c *RedisCluster) form() error {
	ctx, cancel := context.WithTimeout(context.Background(), formTimeout)
	defer cancel()
	clients := c.clients()
	defer closeAll(clients)
	for i, cl := range clients {
		id, err := cl.Do(ctx, "CLUSTER", "MYID").Text()
		if err != nil {
			return fmt.Errorf("%s: CLUSTER MYID: %w", c.Addrs[i], err)
		}
		c.ids = append(c.ids, id)
	}
	const slots = 16384
	for i, cl := range clients[:c.masters] {
		from, to := i*slots/c.masters, (i+1)*slots/c.masters
		if err := cl.ClusterAddSlotsRange(ctx, from, to-1).Err(); err != nil {
			return fmt.Errorf("%s: CLUSTER ADDSLOTSRANGE %d %d: %w", c.Addrs[i], from, to-1, err)
		}
	}
	for _, n := range c.nodes[1:] {
		if err := clients[0].ClusterMeet(ctx, "127.0.0.1", strconv.Itoa(n.port)).Err(); err != nil {
			return fmt.Errorf("CLUSTER MEET %s: %w", n.Addr, err)
		}
	}
	want := fmt.Sprintf("cluster_known_nodes:%d", len(c.nodes))
	if err := c.poll(ctx, "every node knows every other", func() (bool, string) {
		for i, cl := range clients {
			info, err := cl.ClusterInfo(ctx).Result()
			if err != nil {
				return false, fmt.Sprintf("%s: %v", c.Addrs[i], err)
			}
			if !strings.Contains(info, want) {
				return false, fmt.Sprintf("%s: %s", c.Addrs[i], info)
			}
		}
		return true, ""
	}); err != nil {
		return err
	}
	for m := range c.masters {
		for r := range c.replicas {
			i := c.masters + m*c.replicas + r
			// A node learns of the master through gossip; until it has, CLUSTER
			// REPLICATE answers "Unknown node", so retry until the wait ends.
			if err := c.poll(ctx, "CLUSTER REPLICATE on "+c.Addrs[i], func() (bool, string) {
				err := clients[i].ClusterReplicate(ctx, c.ids[m]).Err()
				return err == nil, fmt.Sprint(err)
			}); err != nil {
				return err
			}
		}
	}
	return c.waitHealthy(ctx, clients, nil)
}

// waitHealthy waits until every live node (all but down) says cluster_state:ok,
// agrees which nodes serve all 16384 slots, and every live replica is in sync
// with its master (link up, no sync under way, same replication offset).
func (c *RedisCluster) waitHealthy(ctx context.Context, clients []*redis.Client, down map[int]bool) error {
	return c.poll(ctx, "cluster ok with replicas in sync", func() (bool, string) {
		var masterOffsets = map[string]int64{}
		var replicaOffsets = map[string][]int64{} // master host:port -> offsets
		for i, cl := range clients {
			if down[i] {
				continue
			}
			info, err := cl.ClusterInfo(ctx).Result()
			if err != nil {
				return false, fmt.Sprintf("%s: %v", c.Addrs[i], err)
			}
			if !strings.Contains(info, "cluster_state:ok") || !strings.Contains(info, "cluster_slots_ok:16384") {
				return false, fmt.Sprintf("%s: %s", c.Addrs[i], info)
			}
			repl, err := cl.Info(ctx, "replication").Result()
			if err != nil {
				return false, fmt.Sprintf("%s: %v", c.Addrs[i], err)
			}
			f := infoFields(repl)
			switch f["role"] {
			case "master":
				off, _ := strconv.ParseInt(f["master_repl_offset"], 10, 64)
				masterOffsets[c.Addrs[i]] = off
			case "slave":
				if f["master_link_status"] != "up" || f["master_sync_in_progress"] != "0" {
					return false, fmt.Sprintf("replica %s: link %s, sync in progress %s", c.Addrs[i], f["master_link_status"], f["master_sync_in_progress"])
				}
				off, _ := strconv.ParseInt(f["slave_repl_offset"], 10, 64)
				m := f["master_host"] + ":" + f["master_port"]
				replicaOffsets[m] = append(replicaOffsets[m], off)
			}
		}
		masters := 0
		for m, off := range masterOffsets {
			if c.replicas > 0 && len(replicaOffsets[m]) == 0 && len(down) == 0 {
				return false, fmt.Sprintf("master %s has no replica yet", m)
			}
			for _, r := range replicaOffsets[m] {
				if r != off {
					return false, fmt.Sprintf("a replica of %s is at offset %d, the master at %d", m, r, off)
				}
			}
			masters++
		}
		if masters < c.masters {
			return false, fmt.Sprintf("%d masters, want %d", masters, c.masters)
		}
		return true, ""
	})
}

// poll calls check every 50 ms until it says done or ctx ends; the error
// names what was awaited and the last state check described.
func (c *RedisCluster) poll(ctx context.Context, what string, check func() (bool, string)) error {
	var last string
	for {
		var done bool
		if done, last = check(); done {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for %s: %w (last: %s)", what, ctx.Err(), last)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// clients returns one plain client per node (not a cluster client: the
// helpers ask each node about itself). Retries are off: a dead node answers
// at once with an error.
func (c *RedisCluster) clients() []*redis.Client {
	out := make([]*redis.Client, len(c.nodes))
	for i, n := range c.nodes {
		out[i] = redis.NewClient(&redis.Options{Addr: n.Addr, MaxRetries: -1,
			DialTimeout: time.Second, ReadTimeout: 2 * time.Second, WriteTimeout: 2 * time.Second})
	}
	return out
}

func closeAll(clients []*redis.Client) {
	for _, cl := range clients {
		_ = cl.Close()
	}
}

// infoFields parses INFO output (name:value lines).
func infoFields(info string) map[string]string {
	f := map[string]string{}
	for _, line := range strings.Split(info, "\n") {
		if k, v, ok := strings.Cut(strings.TrimSpace(line), ":"); ok {
			f[k] = v
		}
	}
	return f
}

// index returns the position of addr in Addrs.
func (c *RedisCluster) index(addr string) (int, error) {
	for i, a := range c.Addrs {
		if a == addr {
			return i, nil
		}
	}
	return 0, fmt.Errorf("redis cluster: %s is not a node of this cluster (%v)", addr, c.Addrs)
}

// Masters returns the current masters' host:port, sorted by their first
// slot, as a live node sees them (CLUSTER SHARDS). A killed master stays
// listed until its replica is promoted.
func (c *RedisCluster) Masters(ctx context.Context) ([]string, error) {
	slots, err := c.slots(ctx)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, s := range slots {
		out = append(out, s.Nodes[0].Addr)
	}
	return out, nil
}

// MasterOf returns the host:port of the master that serves key now.
func (c *RedisCluster) MasterOf(ctx context.Context, key string) (string, error) {
	slot, err := c.do(func(cl *redis.Client) (any, error) { return cl.ClusterKeySlot(ctx, key).Result() })
	if err != nil {
		return "", err
	}
	slots, err := c.slots(ctx)
	if err != nil {
		return "", err
	}
	for _, s := range slots {
		if int64(s.Start) <= slot.(int64) && slot.(int64) <= int64(s.End) {
			return s.Nodes[0].Addr, nil
		}
	}
	return "", fmt.Errorf("redis cluster: no node serves slot %d of %q", slot, key)
}

func (c *RedisCluster) slots(ctx context.Context) ([]redis.ClusterSlot, error) {
	v, err := c.do(func(cl *redis.Client) (any, error) { return cl.ClusterSlots(ctx).Result() })
	if err != nil {
		return nil, err
	}
	slots := v.([]redis.ClusterSlot)
	for i := 1; i < len(slots); i++ { // insertion sort by first slot: a handful of ranges
		for j := i; j > 0 && slots[j].Start < slots[j-1].Start; j-- {
			slots[j], slots[j-1] = slots[j-1], slots[j]
		}
	}
	return slots, nil
}

// do runs f against the first node that answers.
func (c *RedisCluster) do(f func(*redis.Client) (any, error)) (any, error) {
	clients := c.clients()
	defer closeAll(clients)
	var errs []error
	for i, cl := range clients {
		v, err := f(cl)
		if err == nil {
			return v, nil
		}
		errs = append(errs, fmt.Errorf("%s: %w", c.Addrs[i], err))
	}
	return nil, fmt.Errorf("redis cluster: no node answered: %w", errors.Join(errs...))
}

// Kill ends the node at addr with SIGKILL, as a crash would: no shutdown, no
// last write to disk, clients see their connections reset. Its directory (and
// nodes.conf) stays, so Restart brings it back into the cluster.
func (c *RedisCluster) Kill(ctx context.Context, addr string) error {
	i, err := c.index(addr)
	if err != nil {
		return err
	}
	// Remember a slot it serves (if it is a master) for WaitFailover, which
	// may be called after the failover is over.
	if slots, err := c.slots(ctx); err == nil {
		for _, s := range slots {
			if s.Nodes[0].Addr == addr {
				if c.killedSlot == nil {
					c.killedSlot = map[string]int{}
				}
				c.killedSlot[addr] = s.Start
				break
			}
		}
	}
	r := c.nodes[i]
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.proc == nil {
		return fmt.Errorf("redis cluster: %s was never started", addr)
	}
	if err := r.proc.stop(syscall.SIGKILL, 10*time.Second); err != nil {
		return fmt.Errorf("redis cluster: kill %s: %w", addr, err)
	}
	return nil
}

// WaitFailover waits until the nodes other than the killed one agree that
// another node serves every slot killed served and the cluster is ok again,
// and returns that node: the promoted replica. Call it after Kill(killed),
// where killed was a master.
func (c *RedisCluster) WaitFailover(ctx context.Context, killed string) (string, error) {
	k, err := c.index(killed)
	if err != nil {
		return "", err
	}
	ctx, cancel := context.WithTimeout(ctx, formTimeout)
	defer cancel()
	clients := c.clients()
	defer closeAll(clients)
	// The slot to watch: the first slot killed served when it was killed.
	watch, ok := c.killedSlot[killed]
	if !ok {
		return "", fmt.Errorf("redis cluster: %s was not a master when Kill ended it", killed)
	}
	var promoted string
	err = c.poll(ctx, "the failover of "+killed, func() (bool, string) {
		promoted = ""
		for i, cl := range clients {
			if i == k {
				continue
			}
			slots, err := cl.ClusterSlots(ctx).Result()
			if err != nil {
				return false, fmt.Sprintf("%s: %v", c.Addrs[i], err)
			}
			for _, s := range slots {
				if s.Nodes[0].Addr == killed {
					return false, fmt.Sprintf("%s still sees %s serving slots %d-%d", c.Addrs[i], killed, s.Start, s.End)
				}
				if s.Start <= watch && watch <= s.End {
					promoted = s.Nodes[0].Addr
				}
			}
		}
		return promoted != "", fmt.Sprintf("nobody serves slot %d", watch)
	})
	if err != nil {
		return "", fmt.Errorf("redis cluster: %w", err)
	}
	if err := c.waitHealthy(ctx, clients, map[int]bool{k: true}); err != nil {
		return "", fmt.Errorf("redis cluster: after the failover of %s: %w", killed, err)
	}
	return promoted, nil
}

// Restart starts a killed node again on its port with its nodes.conf: it
// rejoins as a replica of the master that took over its slots. It returns
// once the cluster is healthy with every replica in sync.
func (c *RedisCluster) Restart(ctx context.Context, addr string) error {
	i, err := c.index(addr)
	if err != nil {
		return err
	}
	if err := c.nodes[i].Start(); err != nil {
		return fmt.Errorf("redis cluster: restart %s: %w", addr, err)
	}
	ctx, cancel := context.WithTimeout(ctx, formTimeout)
	defer cancel()
	clients := c.clients()
	defer closeAll(clients)
	if err := c.waitHealthy(ctx, clients, nil); err != nil {
		return fmt.Errorf("redis cluster: after restarting %s: %w", addr, err)
	}
	return nil
}

// WaitReplicated waits until every live replica has every write its master
// acknowledged (same replication offset), e.g. before a test kills a master
// whose data it wants to survive.
func (c *RedisCluster) WaitReplicated(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, formTimeout)
	defer cancel()
	clients := c.clients()
	defer closeAll(clients)
	down := map[int]bool{}
	for i, n := range c.nodes {
		n.mu.Lock()
		if n.proc == nil || n.proc.exited() {
			down[i] = true
		}
		n.mu.Unlock()
	}
	if err := c.waitHealthy(ctx, clients, down); err != nil {
		return fmt.Errorf("redis cluster: %w", err)
	}
	return nil
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
