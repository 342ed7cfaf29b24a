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

package bench

import (
	"os"
	"sync"
	"testing"

	"github.com/bakery-ia/subscription-operator/internal/testenv"
)

// The services are started on first use by a benchmark and shared by all
// benchmarks of the package; TestMain stops them.
var (
	redisOnce, postgresOnce sync.Once
	redisSrv                *testenv.Redis
	postgresSrv             *testenv.Postgres
	redisErr, postgresErr   error
	// closers run before the services stop (clients, pools).
	closers []func()
)

func TestMain(m *testing.M) {
	code := m.Run()
	for _, c := range closers {
		c()
	}
	redisSrv.Close()
	postgresSrv.Close()
	os.Exit(code)
}

// sharedRedis returns the package's redis-server, failing b when it cannot start.
func sharedRedis(b testing.TB) *testenv.Redis {
	b.Helper()
	redisOnce.Do(func() { redisSrv, redisErr = testenv.StartRedis() })
	if redisErr != nil {
		b.Fatal(redisErr)
	}
	return redisSrv
}

// sharedPostgres returns the package's PostgreSQL, failing b when it cannot start.
func sharedPostgres(b testing.TB) *testenv.Postgres {
	b.Helper()
	postgresOnce.Do(func() { postgresSrv, postgresErr = testenv.StartPostgres() })
	if postgresErr != nil {
		b.Fatal(postgresErr)
	}
	return postgresSrv
}
