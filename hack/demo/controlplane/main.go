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

// Command controlplane is the local "cluster" of `make demo`: a kube-apiserver
// and etcd (the envtest binaries) with the CRDs installed, redis-server and
// PostgreSQL, each on a free loopback port (internal/testenv). It seeds the
// bakery data set (test/scenario: 30 days of history for 50 tenants), writes
//
//	<dir>/kubeconfig    admin kubeconfig
//	<dir>/env           KUBECONFIG, KUBECTL, REDIS_URL, DATABASE_URL, TODAY, the demo
//	                    tenants and free loopback ports for the demo's processes (shell syntax)
//	<dir>/tenants.yaml  the 50 TenantUsage objects
//	<dir>/ready         written last: everything above is in place
//
// and runs until SIGINT or SIGTERM, then stops everything it started.
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/bakery-ia/subscription-operator/internal/testenv"
	"github.com/bakery-ia/subscription-operator/test/scenario"
)

func main() {
	dir := flag.String("dir", "", "directory for kubeconfig, env and tenants.yaml (required)")
	policy := flag.String("policy", "", "SubscriptionPolicy YAML the data set is generated for (default: config/samples)")
	flag.Parse()
	log.SetFlags(0)
	log.SetPrefix("controlplane: ")
	if *dir == "" {
		log.Fatal("--dir is required")
	}
	if err := run(*dir, *policy); err != nil {
		log.Fatal(err)
	}
}

func run(dir, policyPath string) (err error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	_ = os.Remove(filepath.Join(dir, "ready"))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	// Started in parallel: the API server takes the longest.
	type result struct {
		name string
		err  error
	}
	var (
		kube  *testenv.Kube
		rdb   *testenv.Redis
		pg    *testenv.Postgres
		start = time.Now()
		done  = make(chan result, 3)
	)
	go func() {
		var err error
		kube, err = testenv.StartEnvtest()
		done <- result{"kube-apiserver", err}
	}()
	go func() {
		var err error
		rdb, err = testenv.StartRedis()
		done <- result{"redis-server", err}
	}()
	go func() {
		var err error
		pg, err = testenv.StartPostgres()
		done <- result{"postgres", err}
	}()
	defer func() {
		log.Print("stopping")
		if kube != nil {
			_ = kube.Stop()
		}
		rdb.Close()
		pg.Close()
	}()
	var errs []error
	for range 3 {
		r := <-done
		if r.err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", r.name, r.err))
		} else {
			log.Printf("%s up (%.1fs)", r.name, time.Since(start).Seconds())
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("starting services: %v", errs)
	}

	var p = policyPath
	if p == "" {
		p = filepath.Join(testenv.RepoRoot(), "config", "samples", "subscriptions_v1alpha1_subscriptionpolicy.yaml")
	}
	pol, err := scenario.LoadPolicy(p)
	if err != nil {
		return err
	}
	data, err := scenario.Generate(pol, time.Now())
	if err != nil {
		return err
	}
	seedStart := time.Now()
	if err := data.Seed(ctx, rdb.URL, pg.DSN); err != nil {
		return fmt.Errorf("seeding: %w", err)
	}
	log.Printf("seeded %d tenants x %d metrics x %d days of history, catalogue for %s (%.1fs)",
		len(data.Tenants), len(pol.Spec.Metrics), scenario.HistoryDays, data.Today, time.Since(seedStart).Seconds())

	kubeconfig := filepath.Join(dir, "kubeconfig")
	raw, err := os.ReadFile(kube.Kubeconfig)
	if err != nil {
		return err
	}
	tenants, err := data.TenantUsagesYAML()
	if err != nil {
		return err
	}
	used := map[int]bool{}
	env := fmt.Sprintf("KUBECONFIG=%q\nKUBECTL=%q\nREDIS_URL=%q\nDATABASE_URL=%q\nTODAY=%q\nSTARTER_TENANT=%q\nPROFESSIONAL_TENANT=%q\n",
		kubeconfig, filepath.Join(kube.Env.BinaryAssetsDirectory, "kubectl"), rdb.URL, pg.DSN, data.Today,
		scenario.StarterTenant, scenario.ProfessionalTenant)
	for _, name := range []string{"MANAGER_METRICS_PORT", "MANAGER_PROBE_PORT", "FORECAST_API_PORT",
		"GATEWAY_PORT", "GATEWAY_FORWARD_AUTH_PORT", "GATEWAY_METRICS_PORT", "UPSTREAM_PORT"} {
		port, err := testenv.FreePort()
		for err == nil && used[port] {
			port, err = testenv.FreePort()
		}
		if err != nil {
			return err
		}
		used[port] = true
		env += fmt.Sprintf("%s=%d\n", name, port)
	}
	for name, content := range map[string][]byte{"kubeconfig": raw, "env": []byte(env), "tenants.yaml": tenants} {
		if err := os.WriteFile(filepath.Join(dir, name), content, 0o600); err != nil {
			return err
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "ready"), []byte(time.Now().Format(time.RFC3339)+"\n"), 0o600); err != nil {
		return err
	}
	log.Printf("ready in %.1fs: %s (API server %s)", time.Since(start).Seconds(), kubeconfig, kube.Config.Host)
	<-ctx.Done()
	return nil
}
