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

// Package scenario is the bakery data set of `make demo` and `make e2e`: 50
// tenants on the sample policy's tiers with 30 days of usage history that is
// growing, flat, declining, about to breach a limit or already over it. It
// writes the history straight into Redis (internal/history), today's catalogue
// rows into Postgres and yesterday's daily counters into Redis, so that one
// snapshot run completes the picture.
package scenario

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/redis/go-redis/v9"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"

	subv1 "github.com/bakery-ia/subscription-operator/api/v1alpha1"
	"github.com/bakery-ia/subscription-operator/internal/history"
	"github.com/bakery-ia/subscription-operator/internal/redisurl"
	"github.com/bakery-ia/subscription-operator/internal/usage"
)

// Namespace of the demo objects (the samples' namespace).
const Namespace = "bakery-ia"

// HistoryDays of history before today.
const HistoryDays = 30

// Profile is the shape of a tenant's main metric over the 30 days.
type Profile string

// Profiles, assigned round-robin.
const (
	Growing       Profile = "growing"
	Flat          Profile = "flat"
	Declining     Profile = "declining"
	AboutToBreach Profile = "about-to-breach"
	OverLimit     Profile = "over-limit"
)

var profiles = []Profile{Growing, Flat, Declining, AboutToBreach, OverLimit}

// Tenant is one bakery of the data set.
type Tenant struct {
	ID      string
	Tier    string
	Profile Profile
	// Driver is the metric that follows Profile; the others stay calm.
	Driver string
	// LimitOverrides as in TenantUsage.spec.
	LimitOverrides map[string]int64
}

// StarterTenant is a starter tenant (one of the samples): calling a
// professional feature through the gateway gets 402.
const StarterTenant = "panaderia-san-pablo"

// ProfessionalTenant may call the professional feature.
const ProfessionalTenant = "obrador-donostia"

// Tenants returns the 50 tenants. Indexes 0, 5 and 9 are the three tenants of
// config/samples (same IDs and tiers), so applying the samples and then these
// is consistent. Tiers: 25 starter, 20 professional, 5 enterprise.
func Tenants(metrics []string) []Tenant {
	kinds := []string{"panaderia", "obrador", "horno", "pasteleria", "forn"}
	towns := []string{"bilbao", "tolosa", "gasteiz", "iruna", "madrid", "sevilla", "valencia", "zaragoza", "malaga", "granada"}
	out := make([]Tenant, 0, 50)
	for i := range 50 {
		t := Tenant{
			ID:      kinds[i/10] + "-" + towns[i%10],
			Tier:    "starter",
			Profile: profiles[i%len(profiles)],
			Driver:  metrics[(i*7+i/5)%len(metrics)],
		}
		switch {
		case i%10 == 9:
			t.Tier = "enterprise"
		case i%10 >= 5:
			t.Tier = "professional"
		}
		switch i {
		case 0:
			t.ID, t.Profile, t.Driver = StarterTenant, AboutToBreach, "products"
		case 5:
			t.ID, t.LimitOverrides = ProfessionalTenant, map[string]int64{"locations": 5}
		case 9:
			t.ID = "horno-central"
		}
		out = append(out, t)
	}
	return out
}

// LoadPolicy reads a SubscriptionPolicy from a YAML file.
func LoadPolicy(path string) (*subv1.SubscriptionPolicy, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	p := &subv1.SubscriptionPolicy{}
	if err := yaml.UnmarshalStrict(data, p); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return p, nil
}

// SamplePolicy is config/samples' SubscriptionPolicy, below repoRoot.
func SamplePolicy(repoRoot string) (*subv1.SubscriptionPolicy, error) {
	return LoadPolicy(filepath.Join(repoRoot, "config", "samples", "subscriptions_v1alpha1_subscriptionpolicy.yaml"))
}

// MetricNames lists the policy's metrics in order.
func MetricNames(p *subv1.SubscriptionPolicy) []string {
	out := make([]string, 0, len(p.Spec.Metrics))
	for _, m := range p.Spec.Metrics {
		out = append(out, m.Name)
	}
	return out
}

// Data is the generated usage: Values[tenant][metric][d] for d = 0 (30 days
// ago) .. HistoryDays (today).
type Data struct {
	Policy  *subv1.SubscriptionPolicy
	Tenants []Tenant
	Today   string // YYYY-MM-DD in the policy's time zone
	Values  map[string]map[string][]int64
}

// Generate computes the data set for the policy's "today" at now.
func Generate(p *subv1.SubscriptionPolicy, now time.Time) (*Data, error) {
	tz := p.Spec.Snapshot.TimeZone
	if tz == "" {
		tz = "UTC"
	}
	loc, err := time.LoadLocation(tz)
	if err != nil {
		return nil, fmt.Errorf("spec.snapshot.timeZone: %w", err)
	}
	metrics := MetricNames(p)
	d := &Data{Policy: p, Tenants: Tenants(metrics), Today: now.In(loc).Format(time.DateOnly),
		Values: map[string]map[string][]int64{}}
	for ti, t := range d.Tenants {
		d.Values[t.ID] = map[string][]int64{}
		for mi, m := range metrics {
			scale := float64(d.scale(t.Tier, m))
			rng := rand.New(rand.NewPCG(uint64(ti), uint64(mi)))
			profile := Profile("calm")
			if m == t.Driver {
				profile = t.Profile
			}
			start, end := shape(profile, rng)
			series := make([]int64, HistoryDays+1)
			for day := range series {
				x := float64(day) / HistoryDays
				v := scale * (start + (end-start)*x)
				if day < HistoryDays { // today is exact, so the status is predictable
					v += scale * 0.015 * rng.NormFloat64()
				}
				series[day] = max(0, int64(math.Round(v)))
			}
			d.Values[t.ID][m] = series
		}
	}
	return d, nil
}

// shape returns the start and end level (fractions of the limit).
func shape(p Profile, rng *rand.Rand) (start, end float64) {
	j := rng.Float64() * 0.05
	switch p {
	case Growing: // ends at 82-87 %: warning
		return 0.45 + j, 0.82 + j
	case Flat:
		return 0.5 + j, 0.5 + j
	case Declining:
		return 0.75 + j, 0.4 + j
	case AboutToBreach:
		return 0.55 + j, 0.92 + j
	case OverLimit:
		return 0.85 + j, 1.2 + j
	default: // calm: low and slowly growing
		level := 0.15 + rng.Float64()*0.35
		return level, level + 0.05
	}
}

// scale is the limit a tenant's values are relative to; enterprise is
// unlimited, so it uses twice the highest tier limit of the metric.
func (d *Data) scale(tier, metric string) int64 {
	var highest int64 = 10
	for _, t := range d.Policy.Spec.Tiers {
		if l, ok := t.Limits[metric]; ok {
			if t.Name == tier {
				return max(l, 1)
			}
			highest = max(highest, l)
		}
	}
	return 2 * highest
}

// Date returns the date of day index i (0 = 30 days ago).
func (d *Data) Date(i int) string {
	today, _ := time.Parse(time.DateOnly, d.Today)
	return today.AddDate(0, 0, i-HistoryDays).Format(time.DateOnly)
}

// WriteHistory writes the 30 past days (not today) into the history store.
func (d *Data) WriteHistory(ctx context.Context, rdb redis.UniversalClient) error {
	store := history.New(rdb)
	retention := int(d.Policy.Spec.Snapshot.RetentionDays)
	if retention == 0 {
		retention = 60
	}
	for day := range HistoryDays {
		var values []history.Value
		for _, t := range d.Tenants {
			for m, series := range d.Values[t.ID] {
				values = append(values, history.Value{TenantID: t.ID, Metric: m, Value: series[day]})
			}
		}
		if err := store.Write(ctx, d.Date(day), retention, values); err != nil {
			return fmt.Errorf("writing history of %s: %w", d.Date(day), err)
		}
	}
	return nil
}

// WriteCounters sets yesterday's Redis daily counters (the snapshot reads the
// last complete day) of the policy's redisCounter metrics to today's values.
func (d *Data) WriteCounters(ctx context.Context, rdb redis.UniversalClient) error {
	yesterday := d.Date(HistoryDays - 1)
	pipe := rdb.Pipeline()
	for _, m := range d.Policy.Spec.Metrics {
		if m.RedisCounter == nil {
			continue
		}
		pattern := m.RedisCounter.KeyPattern
		if pattern == "" {
			pattern = usage.DefaultKeyPattern(m.Name)
		}
		for _, t := range d.Tenants {
			key := expand(pattern, t.ID, yesterday)
			pipe.Set(ctx, key, d.Values[t.ID][m.Name][HistoryDays], 3*24*time.Hour)
		}
	}
	_, err := pipe.Exec(ctx)
	return err
}

func expand(pattern, tenant, date string) string {
	out := []byte{}
	for i := 0; i < len(pattern); {
		switch {
		case len(pattern[i:]) >= 8 && pattern[i:i+8] == "{tenant}":
			out, i = append(out, tenant...), i+8
		case len(pattern[i:]) >= 6 && pattern[i:i+6] == "{date}":
			out, i = append(out, date...), i+6
		default:
			out, i = append(out, pattern[i]), i+1
		}
	}
	return string(out)
}

// Schema is the bakery catalogue the sample policy's queries read.
const Schema = `
CREATE TABLE IF NOT EXISTS tenants   (tenant_id text PRIMARY KEY, tier text NOT NULL, active boolean NOT NULL DEFAULT true);
CREATE TABLE IF NOT EXISTS products  (id bigserial PRIMARY KEY, tenant_id text NOT NULL, name text NOT NULL);
CREATE TABLE IF NOT EXISTS users     (id bigserial PRIMARY KEY, tenant_id text NOT NULL, email text NOT NULL, active boolean NOT NULL DEFAULT true);
CREATE TABLE IF NOT EXISTS locations (id bigserial PRIMARY KEY, tenant_id text NOT NULL, name text NOT NULL);
CREATE TABLE IF NOT EXISTS recipes   (id bigserial PRIMARY KEY, tenant_id text NOT NULL, name text NOT NULL);
CREATE TABLE IF NOT EXISTS suppliers (id bigserial PRIMARY KEY, tenant_id text NOT NULL, name text NOT NULL);
`

// WriteCatalogue creates the schema and today's rows: as many products,
// users, ... per tenant as today's value of the metric. It replaces earlier rows.
func (d *Data) WriteCatalogue(ctx context.Context, dsn string) error {
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return fmt.Errorf("connecting to Postgres: %w", err)
	}
	defer func() { _ = conn.Close(ctx) }()
	if _, err := conn.Exec(ctx, Schema); err != nil {
		return fmt.Errorf("creating the schema: %w", err)
	}
	tables := map[string]string{ // metric -> INSERT of $2 rows for tenant $1
		"products":  `INSERT INTO products (tenant_id, name) SELECT $1, 'product ' || g FROM generate_series(1, $2::int) g`,
		"users":     `INSERT INTO users (tenant_id, email) SELECT $1, 'user' || g || '@' || $1 || '.example' FROM generate_series(1, $2::int) g`,
		"locations": `INSERT INTO locations (tenant_id, name) SELECT $1, 'shop ' || g FROM generate_series(1, $2::int) g`,
		"recipes":   `INSERT INTO recipes (tenant_id, name) SELECT $1, 'recipe ' || g FROM generate_series(1, $2::int) g`,
		"suppliers": `INSERT INTO suppliers (tenant_id, name) SELECT $1, 'supplier ' || g FROM generate_series(1, $2::int) g`,
	}
	batch := &pgx.Batch{}
	batch.Queue(`TRUNCATE tenants, products, users, locations, recipes, suppliers`)
	for _, t := range d.Tenants {
		batch.Queue(`INSERT INTO tenants (tenant_id, tier) VALUES ($1, $2)`, t.ID, t.Tier)
		for metric, insert := range tables {
			if series, ok := d.Values[t.ID][metric]; ok {
				batch.Queue(insert, t.ID, series[HistoryDays])
			}
		}
		// One inactive user that the users query must not count.
		batch.Queue(`INSERT INTO users (tenant_id, email, active) VALUES ($1, 'former@' || $1 || '.example', false)`, t.ID)
	}
	if err := conn.SendBatch(ctx, batch).Close(); err != nil {
		return fmt.Errorf("writing the catalogue: %w", err)
	}
	return nil
}

// TenantUsages are the TenantUsage objects of the tenants.
func (d *Data) TenantUsages() []*subv1.TenantUsage {
	out := make([]*subv1.TenantUsage, 0, len(d.Tenants))
	for _, t := range d.Tenants {
		out = append(out, &subv1.TenantUsage{
			TypeMeta:   metav1.TypeMeta{APIVersion: subv1.GroupVersion.String(), Kind: "TenantUsage"},
			ObjectMeta: metav1.ObjectMeta{Name: t.ID, Namespace: d.Policy.Namespace},
			Spec: subv1.TenantUsageSpec{
				TenantID: t.ID, Tier: t.Tier, LimitOverrides: t.LimitOverrides,
				PolicyRef: subv1.PolicyReference{Name: d.Policy.Name},
			},
		})
	}
	return out
}

// TenantUsagesYAML renders TenantUsages as a multi-document YAML for kubectl.
func (d *Data) TenantUsagesYAML() ([]byte, error) {
	var out []byte
	for _, tu := range d.TenantUsages() {
		b, err := yaml.Marshal(tu)
		if err != nil {
			return nil, err
		}
		out = append(out, "---\n"...)
		out = append(out, b...)
	}
	return out, nil
}

// Seed writes everything but the Kubernetes objects: history, counters and the catalogue.
func (d *Data) Seed(ctx context.Context, redisURL, dsn string) error {
	rdb, err := redisurl.NewClient(redisURL)
	if err != nil {
		return err
	}
	defer func() { _ = rdb.Close() }()
	if err := d.WriteHistory(ctx, rdb); err != nil {
		return err
	}
	if err := d.WriteCounters(ctx, rdb); err != nil {
		return fmt.Errorf("writing daily counters: %w", err)
	}
	return d.WriteCatalogue(ctx, dsn)
}
