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

package forecastapi

import (
	"context"
	"net"
	"testing"

	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/config"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	"github.com/bakery-ia/subscription-operator/internal/forecastapi"
	opkube "github.com/bakery-ia/subscription-operator/internal/kube"
	"github.com/bakery-ia/subscription-operator/internal/testenv"
)

// startAPI runs the forecast API server the way the manager does (its cache
// options and field indexes) on a loopback port. It returns the server, its
// address, and stop, which cancels ctx and waits for the manager to end.
func startAPI(b *testing.B, ctx context.Context, cancel context.CancelFunc, kube *testenv.Kube,
	h forecastapi.History, opts ...forecastapi.Option) (srv *forecastapi.Server, addr string, stop func()) {
	b.Helper()
	mgr, err := ctrl.NewManager(kube.Config, ctrl.Options{
		Scheme: kube.Scheme, Cache: opkube.CacheOptions(),
		Metrics: metricsserver.Options{BindAddress: "0"}, HealthProbeBindAddress: "0",
		Controller: config.Controller{SkipNameValidation: ptr.To(true)},
	})
	if err != nil {
		b.Fatal(err)
	}
	if err := opkube.SetupIndexes(ctx, mgr.GetCache()); err != nil {
		b.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	srv, err = forecastapi.New(mgr.GetCache(), kube.Config, h, append(opts, forecastapi.WithListener(l))...)
	if err != nil {
		b.Fatal(err)
	}
	if err := mgr.Add(srv); err != nil {
		b.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- mgr.Start(ctx) }()
	return srv, l.Addr().String(), func() {
		cancel()
		if err := <-done; err != nil {
			b.Errorf("manager: %v", err)
		}
	}
}
