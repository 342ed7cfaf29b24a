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
	"testing"
	"time"

	"github.com/go-logr/logr"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"

	subv1 "github.com/bakery-ia/subscription-operator/api/v1alpha1"
	"github.com/bakery-ia/subscription-operator/internal/testenv"
)

// BenchmarkStatusWrite is the cost of one realistic nine-metric status write
// on the API server, by method: the CPU the API server and etcd spend per
// write, and the writes per second eight concurrent writers reach. It says
// what a day's status writes cost the control plane, apart from the rest of
// the run. Run with -benchtime Nx (N writes per method).
func BenchmarkStatusWrite(b *testing.B) {
	ctrllog.SetLogger(logr.Discard())
	const objects, workers = 2000, 8 // objects: a multiple of workers
	ctx := context.Background()
	kube, err := testenv.StartEnvtest()
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = kube.Stop() })
	fast := rest.CopyConfig(kube.Config)
	fast.QPS, fast.Burst = -1, 1000
	c, err := client.New(fast, client.Options{Scheme: kube.Scheme})
	if err != nil {
		b.Fatal(err)
	}
	day := time.Now().UTC().Truncate(24 * time.Hour)
	if err := createObjects(ctx, c, objects, day.AddDate(0, 0, -1).Format(time.DateOnly), day); err != nil {
		b.Fatal(err)
	}
	var list subv1.TenantUsageList
	if err := c.List(ctx, &list, client.InNamespace(ns)); err != nil {
		b.Fatal(err)
	}
	objs := list.Items
	if len(objs) != objects {
		b.Fatalf("listed %d objects, created %d", len(objs), objects)
	}
	// Each write moves every object one day on: the status changes as a
	// run's does (date, values, forecast time, condition message).
	write := map[string]func(before, after *subv1.TenantUsage) error{
		"merge-patch-optimistic-lock": func(before, after *subv1.TenantUsage) error {
			return c.Status().Patch(ctx, after, client.MergeFromWithOptions(before, client.MergeFromWithOptimisticLock{}))
		},
		"update": func(_, after *subv1.TenantUsage) error {
			return c.Status().Update(ctx, after)
		},
	}
	// The last run writes statuses without metrics (after an untimed pass
	// that removes them): the part of a write's cost that does not depend
	// on the status's size.
	write["update-no-metrics"] = write["update"]
	for _, method := range []string{"merge-patch-optimistic-lock", "update", "update-no-metrics"} {
		if method == "update-no-metrics" {
			for i := range objs {
				objs[i].Status.Metrics = nil
				if err := c.Status().Update(ctx, &objs[i]); err != nil {
					b.Fatal(err)
				}
			}
		}
		b.Run(method, func(b *testing.B) {
			errs := make(chan error, workers)
			cpu0 := cpuTimes()
			b.ResetTimer()
			start := time.Now()
			// Worker w makes writes w, w+workers, ...; as objects is a multiple
			// of workers, write k's object (k mod objects) is always worker
			// k mod workers's, so no two workers write one object at once
			// (which would measure conflicts, not writes) however large b.N.
			for w := range workers {
				go func() {
					var first error
					for k := w; k < b.N; k += workers {
						o := &objs[k%len(objs)]
						before := o.DeepCopy()
						d, _ := time.Parse(time.DateOnly, o.Status.LastSnapshotDate)
						o.Status.LastSnapshotDate = d.AddDate(0, 0, 1).Format(time.DateOnly)
						o.Status.ForecastedAt = &metav1.Time{Time: d.AddDate(0, 0, 1)}
						o.Status.Conditions[0].Message = "forecast from history up to " + o.Status.LastSnapshotDate
						for m := range o.Status.Metrics {
							o.Status.Metrics[m].Current++
						}
						if err := write[method](before, o); err != nil && first == nil {
							first = fmt.Errorf("%s of %s: %w", method, o.Name, err)
						}
					}
					errs <- first
				}()
			}
			for range workers {
				if err := <-errs; err != nil {
					b.Fatal(err)
				}
			}
			elapsed := time.Since(start)
			b.StopTimer()
			cpu1 := cpuTimes()
			per := func(name string) float64 {
				return float64(cpu1[name]-cpu0[name]) / float64(time.Millisecond) / float64(b.N)
			}
			b.ReportMetric(float64(b.N)/elapsed.Seconds(), "writes/s")
			b.ReportMetric(per("kube-apiserver"), "apiserver-cpu-ms/write")
			b.ReportMetric(per("etcd"), "etcd-cpu-ms/write")
			b.ReportMetric(per("benchmark"), "client-cpu-ms/write")
		})
	}
}
