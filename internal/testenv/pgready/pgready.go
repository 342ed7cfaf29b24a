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

// Package pgready tells whether a PostgreSQL server answers queries. An open
// port is not enough: Postgres accepts connections while it is still starting
// up and refuses their queries (57P03). It depends on pgx alone, so the
// cluster end-to-end suite can use it without linking envtest.
package pgready

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"
)

// Ping connects to dsn and runs SELECT 1, within one second.
func Ping(dsn string) error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return err
	}
	defer func() { _ = conn.Close(context.Background()) }()
	var one int
	return conn.QueryRow(ctx, "SELECT 1").Scan(&one)
}
