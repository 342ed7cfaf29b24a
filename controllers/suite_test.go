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

package controllers_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	dto "github.com/prometheus/client_model/go"
	"github.com/redis/go-redis/v9"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	fakeclock "k8s.io/utils/clock/testing"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/config"
	"sigs.k8s.io/controller-runtime/pkg/metrics"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	subv1 "github.com/bakery-ia/subscription-operator/api/v1alpha1"
	"github.com/bakery-ia/subscription-operator/controllers"
	"github.com/bakery-ia/subscription-operator/internal/history"
	opkube "github.com/bakery-ia/subscription-operator/internal/kube"
	"github.com/bakery-ia/subscription-operator/internal/redisurl"
	"github.com/bakery-ia/subscription-operator/internal/testenv"
	"github.com/bakery-ia/subscription-operator/internal/testenv/suite"
	"github.com/bakery-ia/subscription-operator/internal/usage"
)

// One real kube-apiserver, Redis and Postgres for the suite; every test starts
// its own manager with its own fake clock (see startOperator), because policy
// creation times come from the API server's real clock.
var (
	kube  *testenv.Kube
	rsrv  *testenv.Redis
	pgsrv *testenv.Postgres
	rdb   redis.UniversalClient
	pool  *pgxpool.Pool
	store *history.Store
)

func TestControllers(t *testing.T) {
	suite.Run(t, "Controllers suite (envtest, Redis, Postgres)")
}

var _ = BeforeSuite(func() {
	var err error
	kube, err = testenv.StartEnvtest()
	Expect(err).NotTo(HaveOccurred())
	rsrv, err = testenv.StartRedis()
	Expect(err).NotTo(HaveOccurred())
	pgsrv, err = testenv.StartPostgres()
	Expect(err).NotTo(HaveOccurred())
	rdb, err = redisurl.NewClient(rsrv.URL)
	Expect(err).NotTo(HaveOccurred())
	pool, err = usage.NewPostgresPool(context.Background(), pgsrv.DSN)
	Expect(err).NotTo(HaveOccurred())
	store = history.New(rdb)
	_, err = pool.Exec(context.Background(), bakerySchema)
	Expect(err).NotTo(HaveOccurred())
})

var _ = AfterSuite(func() {
	if pool != nil {
		pool.Close()
	}
	if rdb != nil {
		_ = rdb.Close()
	}
	if rsrv != nil {
		rsrv.Close()
	}
	if pgsrv != nil {
		pgsrv.Close()
	}
	if kube != nil {
		Expect(kube.Stop()).To(Succeed())
	}
})

// bakerySchema is a small bakery database: five catalogue tables keyed by tenant.
const bakerySchema = `
CREATE TABLE products  (id serial PRIMARY KEY, tenant_id text NOT NULL, name text);
CREATE TABLE users     (id serial PRIMARY KEY, tenant_id text NOT NULL, active boolean NOT NULL DEFAULT true);
CREATE TABLE locations (id serial PRIMARY KEY, tenant_id text NOT NULL);
CREATE TABLE recipes   (id serial PRIMARY KEY, tenant_id text NOT NULL);
CREATE TABLE suppliers (id serial PRIMARY KEY, tenant_id text NOT NULL);
CREATE TABLE tenants   (tenant_id text PRIMARY KEY, tier text NOT NULL, active boolean NOT NULL DEFAULT true);
`

// operator is one running manager with a fake clock.
type operator struct {
	clock      *fakeclock.FakeClock
	components *controllers.Components
	cancel     context.CancelFunc
	done       chan struct{}

	mu      sync.Mutex
	written []string // tenant IDs passed to SnapshotScheduler.HistoryWritten, in order
}

// historyWritten returns the tenant IDs the snapshot runs reported so far.
func (o *operator) historyWritten() []string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return slices.Clone(o.written)
}

// startOperator runs the real controllers against the suite's services. The
// fake clock starts at the API server's "now", so creation timestamps and the
// clock agree; tests then move the clock.
func startOperator() *operator {
	GinkgoHelper()
	clk := fakeclock.NewFakeClock(time.Now())
	skip := true
	mgr, err := ctrl.NewManager(kube.Config, ctrl.Options{
		Scheme:                 kube.Scheme,
		Cache:                  opkube.CacheOptions(),
		Metrics:                metricsserver.Options{BindAddress: "0"},
		HealthProbeBindAddress: "0",
		Controller:             config.Controller{SkipNameValidation: &skip},
	})
	Expect(err).NotTo(HaveOccurred())
	ctx, cancel := context.WithCancel(context.Background())
	Expect(opkube.SetupIndexes(ctx, mgr.GetCache())).To(Succeed())
	comps, err := controllers.Setup(mgr, controllers.Config{Clock: clk, Redis: rdb, Postgres: pool})
	Expect(err).NotTo(HaveOccurred())
	op := &operator{clock: clk, components: comps, cancel: cancel, done: make(chan struct{})}
	comps.Snapshots.HistoryWritten = func(ids []string) {
		op.mu.Lock()
		defer op.mu.Unlock()
		op.written = append(op.written, ids...)
	}
	go func() {
		defer GinkgoRecover()
		defer close(op.done)
		Expect(mgr.Start(ctx)).To(Succeed())
	}()
	DeferCleanup(op.stop)
	return op
}

func (o *operator) stop() {
	o.cancel()
	<-o.done
}

// setTime moves the fake clock to t (never backwards).
func (o *operator) setTime(t time.Time) {
	GinkgoHelper()
	Expect(t.Before(o.clock.Now())).To(BeFalse(), "the clock only moves forward")
	o.clock.SetTime(t)
}

// nextLocal returns the first time after o's clock whose wall clock in loc is hh:mm.
func (o *operator) nextLocal(loc *time.Location, hh, mm int) time.Time {
	now := o.clock.Now().In(loc)
	t := time.Date(now.Year(), now.Month(), now.Day(), hh, mm, 0, 0, loc)
	if !t.After(now) {
		t = time.Date(now.Year(), now.Month(), now.Day()+1, hh, mm, 0, 0, loc)
	}
	return t
}

var nsSeq int

// newNamespace creates a namespace for one spec and, when the spec ends,
// deletes the policies and tenants in it. envtest runs no namespace controller,
// and every operator watches all namespaces: without this, a later spec's
// operator would also run the snapshots of earlier specs' policies when its
// fake clock reaches 02:00, and their tenants would show up in its counters
// and HistoryWritten calls. Nothing carries finalizers, so deletion is
// immediate.
func newNamespace(prefix string) string {
	GinkgoHelper()
	nsSeq++
	name := fmt.Sprintf("%s-%d-%d", prefix, nsSeq, time.Now().UnixNano()%100000)
	Expect(kube.Client.Create(context.Background(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}})).To(Succeed())
	DeferCleanup(func() {
		in := client.InNamespace(name)
		Expect(kube.Client.DeleteAllOf(context.Background(), &subv1.SubscriptionPolicy{}, in)).To(Succeed())
		Expect(kube.Client.DeleteAllOf(context.Background(), &subv1.TenantUsage{}, in)).To(Succeed())
	})
	return name
}

// counter reads a counter from the controller-runtime registry (0 if absent).
func counter(name string, labels map[string]string) float64 {
	families, err := metrics.Registry.Gather()
	Expect(err).NotTo(HaveOccurred())
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
		for _, m := range f.GetMetric() {
			if labelsMatch(m, labels) {
				if m.Counter != nil {
					return m.Counter.GetValue()
				}
				if m.Gauge != nil {
					return m.Gauge.GetValue()
				}
			}
		}
	}
	return 0
}

func labelsMatch(m *dto.Metric, want map[string]string) bool {
	got := map[string]string{}
	for _, l := range m.GetLabel() {
		got[l.GetName()] = l.GetValue()
	}
	for k, v := range want {
		if got[k] != v {
			return false
		}
	}
	return true
}

func runs(ns, policy, result string) float64 {
	return counter("subscription_snapshot_runs_total", map[string]string{"policy": ns + "/" + policy, "result": result})
}
