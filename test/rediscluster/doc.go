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

// Package rediscluster tests the snapshot and the gateway's counters against
// a real Redis Cluster of three masters with one replica each (internal/testenv
// starts six redis-server processes on loopback ports): where the
// keys land, how pipelines are split per node, and what a master that dies
// during a run (SIGKILL, then its replica's promotion) does to the run and to
// the counters. The package has tests only.
package rediscluster
