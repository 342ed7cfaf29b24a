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

package gateway

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	toolscache "k8s.io/client-go/tools/cache"

	subv1 "github.com/bakery-ia/subscription-operator/api/v1alpha1"
	"github.com/bakery-ia/subscription-operator/internal/policy"
	"github.com/bakery-ia/subscription-operator/internal/policy/policytest"
)

// forecastFixture is a table of the test policy's tenants, the informer's
// store of their bindings and an API server stand-in that serves the objects
// as set with put.
type forecastFixture struct {
	table *policy.Table
	store toolscache.Store
	mu    sync.Mutex
	objs  map[string]*subv1.TenantUsage // by name: what a GET returns
	gets  atomic.Int64
	// block, when set, is waited on by every GET (a slow API server).
	block chan struct{}
	fail  error
}

func newForecastFixture(t *testing.T) (*forecastFixture, []subv1.TenantUsage) {
	t.Helper()
	pol := policytest.Policy()
	rules, err := policy.CompileRules(pol)
	if err != nil {
		t.Fatal(err)
	}
	tenants := policytest.Tenants()
	f := &forecastFixture{store: toolscache.NewStore(toolscache.MetaNamespaceKeyFunc), objs: map[string]*subv1.TenantUsage{}}
	var bs []*policy.Binding
	for i := range tenants {
		tenants[i].Namespace = pol.Namespace
		tenants[i].ResourceVersion = "1"
		bs = append(bs, f.put(t, &tenants[i], 100))
	}
	f.table = rules.BindAll(bs)
	return f, tenants
}

// put stores tu with a one-metric status of current, as the informer and the
// API server would have it, and returns its binding.
func (f *forecastFixture) put(t *testing.T, tu *subv1.TenantUsage, current int64) *policy.Binding {
	t.Helper()
	tu = tu.DeepCopy()
	tu.Status.LastSnapshotDate = "2026-12-01"
	tu.Status.Metrics = []subv1.MetricForecast{{Metric: "products", Current: current, Status: subv1.UsageStatus("green")}}
	f.mu.Lock()
	f.objs[tu.Name] = tu
	f.mu.Unlock()
	rec, err := CompactTenantBinding(tu)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.store.Update(rec); err != nil {
		t.Fatal(err)
	}
	return &rec.(*TenantRecord).Binding
}

func (f *forecastFixture) get(ctx context.Context, name string) (*subv1.TenantUsage, error) {
	f.gets.Add(1)
	if f.block != nil {
		select {
		case <-f.block:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	if f.fail != nil {
		return nil, f.fail
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	tu, ok := f.objs[name]
	if !ok {
		return nil, fmt.Errorf("tenantusages %q not found", name)
	}
	return tu.DeepCopy(), nil
}

func (f *forecastFixture) source(size int, perSecond float64, m *Metrics) recordSource {
	fr := newForecastReader(f.get, size, perSecond, m, slog.New(slog.NewTextHandler(io.Discard, nil)))
	return storeRecords(f.store, policytest.Policy().Namespace, fr)
}

func (f *forecastFixture) tenant(t *testing.T, id string) *policy.Tenant {
	t.Helper()
	tn, ok := f.table.Tenant(id)
	if !ok {
		t.Fatalf("tenant %s not bound", id)
	}
	return tn
}

func currentOf(rec *TenantRecord) int64 {
	if rec == nil {
		return -1
	}
	fc := rec.Forecast()
	if len(fc) == 0 {
		return -1
	}
	return fc[0].Current
}

// A tenant's forecast is read once per version of its object: a reload of
// the page reads nothing, a status write is shown at the next request.
func TestForecastReaderReadsEachVersionOnce(t *testing.T) {
	ctx := context.Background()
	f, tenants := newForecastFixture(t)
	m := NewMetrics(nil)
	records := f.source(16, 100, m)
	tn := f.tenant(t, tenants[0].Spec.TenantID)
	for i := range 3 {
		if got := currentOf(records(ctx, f.table, tn)); got != 100 {
			t.Fatalf("request %d: current = %d, want 100", i, got)
		}
	}
	if got := f.gets.Load(); got != 1 {
		t.Errorf("three requests for one version made %d reads, want 1", got)
	}
	tu := tenants[0].DeepCopy()
	tu.ResourceVersion = "2"
	f.put(t, tu, 250)
	if got := currentOf(records(ctx, f.table, tn)); got != 250 {
		t.Errorf("after a status write: current = %d, want 250", got)
	}
	if got := f.gets.Load(); got != 2 {
		t.Errorf("a new version made %d reads in all, want 2", got)
	}
	if got := testutil.ToFloat64(m.ForecastReads.WithLabelValues(forecastCached)); got != 2 {
		t.Errorf("cached = %v, want 2", got)
	}
	if got := testutil.ToFloat64(m.ForecastReads.WithLabelValues(forecastRead)); got != 2 {
		t.Errorf("read = %v, want 2", got)
	}
}

// What a read returns is shown only while it is still the tenant's binding:
// an object renamed to another tenant, moved to another policy or with its
// tenant id removed between the informer's copy and the read shows nothing.
func TestForecastReaderNeverShowsAnotherTenants(t *testing.T) {
	for name, edit := range map[string]func(tu *subv1.TenantUsage, other string){
		"another tenant id under the name": func(tu *subv1.TenantUsage, other string) { tu.Spec.TenantID = other },
		"moved to another policy":          func(tu *subv1.TenantUsage, _ string) { tu.Spec.PolicyRef.Name = "other" },
		"tenant id removed":                func(tu *subv1.TenantUsage, _ string) { tu.Spec.TenantID = "" },
	} {
		t.Run(name, func(t *testing.T) {
			f, tenants := newForecastFixture(t)
			records := f.source(16, 100, NewMetrics(nil))
			tn := f.tenant(t, tenants[0].Spec.TenantID)
			changed := tenants[0].DeepCopy()
			edit(changed, tenants[1].Spec.TenantID)
			changed.Status.Metrics = []subv1.MetricForecast{{Metric: "products", Current: 999}}
			f.mu.Lock()
			f.objs[changed.Name] = changed // the API server has it, the informer not yet
			f.mu.Unlock()
			rec := records(context.Background(), f.table, tn)
			if rec == nil || rec.TenantID != tn.ID {
				t.Fatalf("the tenant's binding: got %+v", rec)
			}
			if got := currentOf(rec); got != -1 {
				t.Errorf("showed the changed object's status (current %d)", got)
			}
		})
	}
}

// A failing or slow API server costs the answer its forecast, nothing more:
// the binding is returned, the failure is counted, and a caller that stops
// waiting is not held up by the read.
func TestForecastReaderFailures(t *testing.T) {
	t.Run("read fails", func(t *testing.T) {
		f, tenants := newForecastFixture(t)
		f.fail = errors.New("connection refused")
		m := NewMetrics(nil)
		rec := f.source(16, 100, m)(context.Background(), f.table, f.tenant(t, tenants[0].Spec.TenantID))
		if rec == nil || currentOf(rec) != -1 {
			t.Fatalf("want the binding without a forecast, got %+v", rec)
		}
		if got := testutil.ToFloat64(m.ForecastReads.WithLabelValues(forecastFailed)); got != 1 {
			t.Errorf("failed = %v, want 1", got)
		}
	})
	t.Run("caller goes away, the read is kept", func(t *testing.T) {
		f, tenants := newForecastFixture(t)
		f.block = make(chan struct{})
		records := f.source(16, 100, NewMetrics(nil))
		tn := f.tenant(t, tenants[0].Spec.TenantID)
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		defer cancel()
		if got := currentOf(records(ctx, f.table, tn)); got != -1 {
			t.Fatalf("a read that outlasted its caller gave current %d", got)
		}
		close(f.block)
		deadline := time.Now().Add(5 * time.Second)
		for currentOf(records(context.Background(), f.table, tn)) != 100 {
			if time.Now().After(deadline) {
				t.Fatal("the read finished after its caller left was not kept")
			}
			time.Sleep(10 * time.Millisecond)
		}
		if got := f.gets.Load(); got != 1 {
			t.Errorf("%d reads, want 1 (the first read finished and was kept)", got)
		}
	})
}

// Many requests at once for one tenant make one read.
func TestForecastReaderOneReadForManyWaiters(t *testing.T) {
	f, tenants := newForecastFixture(t)
	f.block = make(chan struct{})
	records := f.source(16, 100, NewMetrics(nil))
	tn := f.tenant(t, tenants[0].Spec.TenantID)
	var wg sync.WaitGroup
	got := make([]int64, 64)
	for i := range got {
		wg.Go(func() { got[i] = currentOf(records(context.Background(), f.table, tn)) })
	}
	time.Sleep(100 * time.Millisecond) // every waiter has joined the read
	close(f.block)
	wg.Wait()
	for i, c := range got {
		if c != 100 {
			t.Fatalf("waiter %d: current %d, want 100", i, c)
		}
	}
	if n := f.gets.Load(); n != 1 {
		t.Errorf("64 concurrent requests made %d reads, want 1", n)
	}
}

// A flood of requests for many tenants reads no faster than the limit; the
// rest are answered without the forecast. The kept reads are bounded too.
func TestForecastReaderFloodIsBounded(t *testing.T) {
	f, tenants := newForecastFixture(t)
	rules, err := policy.CompileRules(policytest.Policy())
	if err != nil {
		t.Fatal(err)
	}
	const n = 2000
	bs := make([]*policy.Binding, 0, n)
	for i := range n {
		tu := tenants[0].DeepCopy()
		tu.Name, tu.Spec.TenantID = "flood-"+strconv.Itoa(i), "flood-"+strconv.Itoa(i)
		bs = append(bs, f.put(t, tu, int64(i)))
	}
	f.table = rules.BindAll(bs)
	m := NewMetrics(nil)
	const perSecond = 10
	records := f.source(64, perSecond, m)
	start := time.Now()
	var wg sync.WaitGroup
	var nilRecords atomic.Int64
	for i := range n {
		wg.Go(func() {
			tn, ok := f.table.Tenant("flood-" + strconv.Itoa(i))
			if !ok {
				nilRecords.Add(1)
				return
			}
			if rec := records(context.Background(), f.table, tn); rec == nil || rec.TenantID != tn.ID {
				nilRecords.Add(1)
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start).Seconds()
	if k := nilRecords.Load(); k > 0 {
		t.Errorf("%d requests got no binding", k)
	}
	allowed := int64(2*perSecond + perSecond*elapsed + 1)
	if got := f.gets.Load(); got > allowed {
		t.Errorf("%d requests for different tenants made %d reads in %.2fs, want at most %d", n, got, elapsed, allowed)
	}
	limited := testutil.ToFloat64(m.ForecastReads.WithLabelValues(forecastLimited))
	read := testutil.ToFloat64(m.ForecastReads.WithLabelValues(forecastRead))
	if int(limited+read) != n {
		t.Errorf("limited %v + read %v != %d requests", limited, read, n)
	}
}

// Only the most recently asked tenants' reads are kept.
func TestForecastReaderKeepsABoundedNumber(t *testing.T) {
	ctx := context.Background()
	f, tenants := newForecastFixture(t)
	if len(tenants) < 3 {
		t.Fatalf("the test policy has %d tenants, want 3 or more", len(tenants))
	}
	records := f.source(2, 1000, NewMetrics(nil))
	ask := func(i int) { records(ctx, f.table, f.tenant(t, tenants[i].Spec.TenantID)) }
	ask(0)
	ask(1)
	ask(0) // kept
	ask(2) // evicts 1
	ask(1) // read again
	if got := f.gets.Load(); got != 4 {
		t.Errorf("%d reads, want 4 (keeping 2 of 3 tenants)", got)
	}
}
