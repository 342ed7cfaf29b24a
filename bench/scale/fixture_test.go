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

package scale

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	subv1 "github.com/bakery-ia/subscription-operator/api/v1alpha1"
	"github.com/bakery-ia/subscription-operator/internal/history"
	"github.com/bakery-ia/subscription-operator/internal/policy/policytest"
	"github.com/bakery-ia/subscription-operator/internal/usage"
)

const (
	ns            = "bench"
	retentionDays = 60
	workers       = 16
)

// metrics are nine Redis daily counters, the measuring setup.
var metrics = []struct{ name, label, unit string }{
	{"api_calls", "API calls", ""}, {"products", "Products", ""}, {"users", "Users", ""},
	{"locations", "Locations", ""}, {"recipes", "Recipes", ""}, {"suppliers", "Suppliers", ""},
	{"forecasts", "Forecasts", ""}, {"training_jobs", "Training jobs", ""}, {"storage_mb", "Storage", "MB"},
}

func tenantID(i int) string { return fmt.Sprintf("00000000-0000-4000-8000-%012x", i) }

var tiers = []string{"starter", "professional", "enterprise"}

// benchPolicy is the test policy with the nine counters and a schedule that
// does not fire during the fixture (the benchmark sets "* * * * *" to run).
func benchPolicy() *subv1.SubscriptionPolicy {
	p := policytest.Policy()
	p.ObjectMeta = metav1.ObjectMeta{Name: "default", Namespace: ns}
	p.Spec.Metrics = nil
	for _, m := range metrics {
		p.Spec.Metrics = append(p.Spec.Metrics, subv1.Metric{Name: m.name, Label: m.label, Unit: m.unit, RedisCounter: &subv1.RedisCounterSource{}})
	}
	p.Spec.Snapshot.Schedule = "0 2 * * *"
	p.Spec.Snapshot.StartingDeadlineSeconds = ptr.To[int64](60)
	return p
}

// realisticStatus is a nine-metric status as the manager writes it (~3 KB
// of JSON), dated the day before the run.
func realisticStatus(i int, tier, yesterday string, at time.Time) subv1.TenantUsageStatus {
	st := subv1.TenantUsageStatus{
		ObservedGeneration: 1, Tier: tier, LastSnapshotDate: yesterday, ForecastedAt: &metav1.Time{Time: at},
		Conditions: []metav1.Condition{{Type: "Ready", Status: metav1.ConditionTrue, Reason: "Forecasted",
			Message: "forecast computed from 60 days of history", LastTransitionTime: metav1.Time{Time: at}, ObservedGeneration: 1}},
		Summary: &subv1.ForecastSummary{Status: subv1.UsageWarning, DaysUntilBreach: ptr.To[int32](23), Metric: "products"},
	}
	for k, m := range metrics {
		cur := int64((i*31 + k*7) % 700)
		st.Metrics = append(st.Metrics, subv1.MetricForecast{
			Metric: m.name, Label: m.label, Unit: m.unit, Current: cur, Limit: ptr.To[int64](1000),
			DailyGrowthRate: ptr.To("1.37"), PredictedBreachDate: ptr.To("2027-01-24"), DaysUntilBreach: ptr.To[int32](53),
			UsagePercentage: ptr.To(fmt.Sprintf("%d.0", cur/10)), Status: subv1.UsageSafe,
		})
	}
	return st
}

// parallel runs f(i) for i in [0, n) on workers goroutines; the first error wins.
func parallel(n int, f func(i int) error) error {
	var (
		wg    sync.WaitGroup
		once  sync.Once
		first error
		next  = make(chan int)
	)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				if err := f(i); err != nil {
					once.Do(func() { first = err })
				}
			}
		}()
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
	return first
}

// createObjects creates the namespace, the JWT Secret, the policy and n
// TenantUsage objects with realistic statuses.
func createObjects(ctx context.Context, c client.Client, n int, yesterday string, at time.Time) error {
	for _, o := range []client.Object{
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}},
		&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "gateway-jwt", Namespace: ns},
			Data: map[string][]byte{"hs256-key": []byte("bench-signing-key-0123456789abcdef")}},
		benchPolicy(),
	} {
		if err := c.Create(ctx, o); err != nil {
			return fmt.Errorf("creating %T: %w", o, err)
		}
	}
	return parallel(n, func(i int) error {
		id, tier := tenantID(i), tiers[i%3]
		tu := &subv1.TenantUsage{
			ObjectMeta: metav1.ObjectMeta{Name: id, Namespace: ns,
				Labels: map[string]string{subv1.LabelManagedBy: "subscription-operator", subv1.LabelPolicy: "default"}},
			Spec: subv1.TenantUsageSpec{TenantID: id, Tier: tier},
		}
		if err := c.Create(ctx, tu); err != nil {
			return fmt.Errorf("creating TenantUsage %s: %w", id, err)
		}
		tu.Status = realisticStatus(i, tier, yesterday, at)
		if err := c.Status().Update(ctx, tu); err != nil {
			return fmt.Errorf("status of TenantUsage %s: %w", id, err)
		}
		return nil
	})
}

// seedRedis writes 60 days of history up to yesterday and today's counters.
func seedRedis(ctx context.Context, rdb redis.UniversalClient, n int, today time.Time) error {
	fields := []any{"oldest", today.AddDate(0, 0, -retentionDays-1).Format("20060102")}
	for d := retentionDays; d >= 1; d-- {
		fields = append(fields, today.AddDate(0, 0, -d).Format("20060102"), 0)
	}
	date := today.Format(time.DateOnly)
	pipe := rdb.Pipeline()
	for i := range n {
		t := tenantID(i)
		for k, m := range metrics {
			base := (i*31 + k*7) % 700
			for j := 3; j < len(fields); j += 2 {
				fields[j] = base + j/4 // a slow climb: every tenant gets a forecast
			}
			key := history.Key(t, m.name)
			pipe.HSet(ctx, key, fields...)
			pipe.Expire(ctx, key, (retentionDays+1)*24*time.Hour)
			pipe.Set(ctx, usage.CounterKey(usage.DefaultKeyPattern(m.name), t, date), base+20, 48*time.Hour)
		}
		if pipe.Len() >= 3000 {
			if _, err := pipe.Exec(ctx); err != nil {
				return fmt.Errorf("seeding Redis: %w", err)
			}
		}
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return fmt.Errorf("seeding Redis: %w", err)
	}
	return nil
}

// historyBytes is the mean MEMORY USAGE of a sample of history keys.
func historyBytes(ctx context.Context, rdb redis.UniversalClient, n int) (float64, error) {
	var total, keys int64
	for i := 0; i < n; i += max(1, n/200) {
		for _, m := range []string{"products", "api_calls"} {
			size, err := rdb.MemoryUsage(ctx, history.Key(tenantID(i), m)).Result()
			if err != nil {
				return 0, fmt.Errorf("MEMORY USAGE: %w", err)
			}
			total, keys = total+size, keys+1
		}
	}
	return float64(total) / float64(keys), nil
}
