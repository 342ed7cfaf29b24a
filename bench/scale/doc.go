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

// Package scale is the end-to-end scale benchmark of issue #13 (make
// bench-scale): N TenantUsage objects with realistic nine-metric statuses in
// envtest, 60 days of history and today's counters in a real Redis (or the
// harness's three-master Redis Cluster), bin/manager and bin/gateway as
// processes, one snapshot run, and the figures: run time, run start -> every
// status fresh, status writes vs changed statuses, both programs' RSS (after
// the run and their peak from the run on, with their Go heap), how many forecasts used the run's batched history
// reads, Redis bytes per history key, API server requests by verb, and the
// forecast API's latency at a fixed rate (FORECAST_RATE, default 1000 req/s,
// for FORECAST_SECONDS, default 10, uniform over the tenants, with a
// service account token checked by TokenReview and SubjectAccessReview),
// sent by a generator process of its own (bench/internal/loadgen, as in
// bench/forecastapi) and measured from each request's scheduled send time;
// the p99 from the actual send and the generator's lateness are printed too.
//
//	N=10000 go test ./bench/scale -run '^$' -bench Scale -benchtime 1x -timeout 60m
//	N=10000 REDIS_CLUSTER=1 go test ./bench/scale ...
//	N=100000 ... (documented target; about 15 minutes of fixture building on 2 cores)
//
// SETTLE_SECONDS (default 30) is the wait before a second reading of the
// manager's RSS after the run. MANAGER_BIN and GATEWAY_BIN run prebuilt
// binaries instead of building ./cmd/manager and ./cmd/gateway
// (before/after comparisons); MANAGER_ARGS
// adds flags (e.g. "--max-concurrent-reconciles=16 --kube-api-qps=400"), and
// MANAGER_ENV and GATEWAY_ENV add environment variables (e.g.
// "GOMEMLIMIT=144MiB", what a pod with a 192 Mi limit sets itself).
// RUN_LEAD_SECONDS (default 40) is the least time between setting the run's
// schedule and the run, for the reconciles the change causes to settle.
// PROFILE_DIR=dir saves CPU profiles of the API server and the manager taken
// while the statuses are written (PROFILE_SECONDS, default 15), the
// manager's CPU while it serves the forecast API load (manager.load.cpu.pprof)
// and the manager's and the gateway's heaps after the run:
// go tool pprof -top dir/apiserver.cpu.pprof.
package scale
