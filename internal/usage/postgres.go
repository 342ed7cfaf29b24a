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

// Package usage reads the current value of each usage metric for all tenants
// at once: one read-only Postgres query per metric returning (tenant_id, value)
// rows, or one pipelined read of the Redis daily counters per metric.
package usage

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"
)

// PostgresSource runs metric and tenant-discovery queries.
type PostgresSource struct {
	pool    *pgxpool.Pool
	timeout time.Duration
}

// NewPostgres returns a source running queries on pool, each limited to
// statementTimeout (0: the server's setting).
func NewPostgres(pool *pgxpool.Pool, statementTimeout time.Duration) *PostgresSource {
	return &PostgresSource{pool: pool, timeout: statementTimeout}
}

// NewPostgresPool connects to dsn (DATABASE_URL: postgres://user:pass@host:5432/db?sslmode=...,
// or key=value form; pool_max_conns and the other pgxpool options are
// accepted) and checks the connection with a ping.
func NewPostgresPool(ctx context.Context, dsn string) (*pgxpool.Pool, error) {
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		// pgx's message may quote the DSN, password included.
		return nil, fmt.Errorf("parse DATABASE_URL: %s", redactDSNError(err))
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("connect to Postgres %s:%d/%s: %w", cfg.ConnConfig.Host, cfg.ConnConfig.Port, cfg.ConnConfig.Database, err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("connect to Postgres %s:%d/%s: %w", cfg.ConnConfig.Host, cfg.ConnConfig.Port, cfg.ConnConfig.Database, err)
	}
	return pool, nil
}

func redactDSNError(err error) string {
	msg := err.Error()
	if i := strings.Index(msg, "cannot parse `"); i >= 0 {
		if j := strings.Index(msg[i+len("cannot parse `"):], "`"); j >= 0 {
			msg = msg[:i] + "cannot parse the DSN" + msg[i+len("cannot parse `")+j+1:]
		}
	}
	return msg
}

// TenantRow is one row of the tenant discovery query.
type TenantRow struct{ TenantID, Tier string }

// QueryAll runs query, which must return (tenant_id text, value integer)
// rows, e.g.
//
//	SELECT tenant_id, count(*) FROM products GROUP BY tenant_id
//
// in a READ ONLY transaction with SET LOCAL statement_timeout, and returns
// the value of every tenant in tenants: 0 for tenants without a row (and for
// a NULL value); rows of other tenants are ignored. tenant_id may be text,
// varchar, char or uuid; value smallint, integer, bigint or an integral
// numeric (sum(bigint) is numeric). A tenant returned twice is an error:
// the query lacks GROUP BY tenant_id.
//
// Round trips: BEGIN READ ONLY, one batch (SET LOCAL + query), COMMIT; plus
// one to prepare the query the first time a pooled connection sees it.
//
// Errors start with "postgres: metric <name>: ", so a snapshot's failed
// metric says which service and which query failed.
func (p *PostgresSource) QueryAll(ctx context.Context, metric, query string, tenants []string) (map[string]int64, error) {
	out := make(map[string]int64, len(tenants))
	for _, t := range tenants {
		out[t] = 0
	}
	err := p.readOnly(ctx, query, func(rows pgx.Rows) error {
		if err := checkColumns(rows.FieldDescriptions(), valueTypes); err != nil {
			return fmt.Errorf("query must return (tenant_id text, value integer) columns, got %w", err)
		}
		// Integer columns scan into Int8; numeric (e.g. sum(bigint)) needs Numeric.
		var tenant pgtype.Text
		var integer pgtype.Int8
		var numeric pgtype.Numeric
		valueDst := any(&integer)
		if rows.FieldDescriptions()[1].DataTypeOID == pgtype.NumericOID {
			valueDst = &numeric
		}
		seen := make(map[string]bool, len(tenants))
		for rows.Next() {
			if err := rows.Scan(&tenant, valueDst); err != nil {
				return err
			}
			if !tenant.Valid {
				continue
			}
			if seen[tenant.String] {
				return fmt.Errorf("tenant %q is returned twice: the query must return one row per tenant (GROUP BY tenant_id)", tenant.String)
			}
			seen[tenant.String] = true
			if _, wanted := out[tenant.String]; !wanted {
				continue
			}
			if valueDst == &numeric {
				v, err := numeric.Int64Value()
				if err != nil {
					return fmt.Errorf("tenant %q: value %v is not an integer that fits int64", tenant.String, numeric)
				}
				integer = v
			}
			out[tenant.String] = integer.Int64 // NULL (Valid false) is 0
		}
		return rows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("postgres: metric %s: %w", metric, err)
	}
	return out, nil
}

// Tenants runs the discovery query, which must return (tenant_id text, tier
// text) rows, under the same read-only rules as QueryAll. A NULL tier is "".
// Errors start with "postgres: tenant discovery: ".
func (p *PostgresSource) Tenants(ctx context.Context, query string) ([]TenantRow, error) {
	var out []TenantRow
	err := p.readOnly(ctx, query, func(rows pgx.Rows) error {
		if err := checkColumns(rows.FieldDescriptions(), textTypes); err != nil {
			return fmt.Errorf("query must return (tenant_id text, tier text) columns, got %w", err)
		}
		var tenant, tier pgtype.Text
		for rows.Next() {
			if err := rows.Scan(&tenant, &tier); err != nil {
				return err
			}
			if tenant.Valid && tenant.String != "" {
				out = append(out, TenantRow{TenantID: tenant.String, Tier: tier.String})
			}
		}
		return rows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("postgres: tenant discovery: %w", err)
	}
	return out, nil
}

// readOnly runs query in a read-only transaction with the statement timeout
// and hands its rows to scan. BEGIN READ ONLY, SET LOCAL statement_timeout, the
// query and COMMIT go to the server as one pipelined batch: one network round
// trip per metric, whatever the tenant count. If the query fails, the server
// skips the COMMIT and the connection is left in a failed transaction; the pool
// discards such connections on release, so nothing leaks into the next query.
func (p *PostgresSource) readOnly(ctx context.Context, query string, scan func(pgx.Rows) error) error {
	batch := &pgx.Batch{}
	batch.Queue("BEGIN READ ONLY")
	if p.timeout > 0 {
		batch.Queue(fmt.Sprintf("SET LOCAL statement_timeout = %d", max(1, p.timeout.Milliseconds())))
	}
	batch.Queue(query)
	batch.Queue("COMMIT")
	br := p.pool.SendBatch(ctx, batch)
	err := func() error {
		if _, err := br.Exec(); err != nil {
			return fmt.Errorf("begin read-only transaction: %w", err)
		}
		if p.timeout > 0 {
			if _, err := br.Exec(); err != nil {
				return fmt.Errorf("set statement_timeout: %w", err)
			}
		}
		rows, err := br.Query()
		if err != nil {
			return err
		}
		err = scan(rows)
		rows.Close()
		if err != nil {
			return err
		}
		if err := rows.Err(); err != nil {
			return err
		}
		if _, err := br.Exec(); err != nil {
			return fmt.Errorf("commit: %w", err)
		}
		return nil
	}()
	if cerr := br.Close(); err == nil && cerr != nil {
		err = cerr
	}
	if err != nil {
		return describe(err)
	}
	return nil
}

// describe adds what a Postgres error code means for a metric query.
func describe(err error) error {
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) {
		return err
	}
	switch pgErr.Code {
	case "57014":
		return fmt.Errorf("canceled by the statement timeout (or the context): %w", err)
	case "25006":
		return fmt.Errorf("queries run read-only and must not change data: %w", err)
	}
	return err
}

var (
	textTypes  = map[uint32]bool{pgtype.TextOID: true, pgtype.VarcharOID: true, pgtype.BPCharOID: true, pgtype.NameOID: true, pgtype.UUIDOID: true}
	valueTypes = map[uint32]bool{pgtype.Int2OID: true, pgtype.Int4OID: true, pgtype.Int8OID: true, pgtype.NumericOID: true}
)

// checkColumns checks that there are two columns, the first of a text type
// and the second of one of second.
func checkColumns(fields []pgconn.FieldDescription, second map[uint32]bool) error {
	ok := len(fields) == 2 && textTypes[fields[0].DataTypeOID] && second[fields[1].DataTypeOID]
	if ok {
		return nil
	}
	m := pgtype.NewMap()
	cols := make([]string, len(fields))
	for i, f := range fields {
		typ := fmt.Sprintf("oid %d", f.DataTypeOID)
		if t, found := m.TypeForOID(f.DataTypeOID); found {
			typ = t.Name
		}
		cols[i] = f.Name + " " + typ
	}
	return fmt.Errorf("(%s)", strings.Join(cols, ", "))
}
