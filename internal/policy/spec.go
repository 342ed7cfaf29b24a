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

package policy

import (
	"fmt"
	"strings"
	"time"

	subv1 "github.com/bakery-ia/subscription-operator/api/v1alpha1"
	"github.com/bakery-ia/subscription-operator/internal/schedule"
)

// Defaults of spec.snapshot, spec.forecast and spec.thresholds. They equal the
// CRD's +kubebuilder:default markers (TestCRDDefaultsMatchCompiled).
const (
	DefaultSchedule         = "0 2 * * *"
	DefaultTimeZone         = "UTC"
	DefaultRetentionDays    = 60
	DefaultMinHistoryDays   = 7
	DefaultStartingDeadline = 86400 * time.Second
	DefaultMethod           = subv1.ForecastLinear
	DefaultWarningPercent   = 80
	DefaultCriticalPercent  = 90
	DefaultWarningDays      = 14
	DefaultCriticalDays     = 7

	// MinMinHistoryDays is the fewest points a slope can be fitted to (the
	// CRD's minimum of minHistoryDays).
	MinMinHistoryDays = 2
)

// Spec is the compiled, defaulted view of a SubscriptionPolicy that every
// program reads: the controllers, the forecast API, usage-tracker and (through
// Rules) the gateway.
type Spec struct {
	// Policy is the policy's namespace/name; Generation its metadata.generation.
	Namespace, Name string
	UID             string
	Generation      int64

	// Tiers in rank order (index == rank).
	Tiers    []Tier
	tierRank map[string]int

	// Metrics in declaration order, with their sources defaulted.
	Metrics []Metric

	// Features in declaration order.
	Features []*Feature
	routes   *router

	// Languages offered by the policy: "en" first, then the others sorted.
	Languages []string

	// Schedule is spec.snapshot.schedule in TimeZone. "Local" is rejected: the
	// zone of whatever node a pod lands on is not a setting, and the manager,
	// the gateway and usage-tracker may run on nodes in different zones.
	Schedule *schedule.Schedule
	// Location is the policy's time zone, TimeZone its name. History dates,
	// "today" of a forecast and the gateway's counter day are in this zone.
	Location *time.Location
	TimeZone string
	// StartingDeadline is how late a missed run may start; 0 means no limit.
	StartingDeadline time.Duration
	// RetentionDays of history kept and read; MinHistoryDays a forecast needs.
	RetentionDays  int
	MinHistoryDays int

	Method     subv1.ForecastMethod
	Thresholds Thresholds
	// Confidence is the breach window's level, 0.5 to 0.99.
	Confidence float64

	// Sinks are spec.notifications' webhooks; nil when there are none.
	Sinks []Sink

	// DiscoveryQuery is spec.tenantDiscovery.postgres.query; "" when discovery is off.
	DiscoveryQuery string

	// UpgradeURL is spec.gateway.upgradeURL (defaulted), the base of every offer's URL.
	UpgradeURL string
}

// Thresholds decide a metric's status colour.
type Thresholds struct {
	WarningPercent, CriticalPercent int
	WarningDays, CriticalDays       int
	// Basis is the breach date the days thresholds compare.
	Basis subv1.ThresholdBasis
}

// Metric is one usage metric; exactly one of PostgresQuery and RedisKeyPattern is set.
type Metric struct {
	Name string
	// Label is the human-readable name (the metric name when the policy gives none).
	Label string
	Unit  string
	// PostgresQuery returns (tenant_id, value) rows for all tenants.
	PostgresQuery string
	// RedisKeyPattern is the daily counter's key with {tenant} and {date}.
	RedisKeyPattern string
}

// DefaultKeyPattern is the counter key of a Redis metric whose policy names none:
// the key the gateway INCRs for api_calls, usage_daily:<tenant>:api_calls:<date>.
func DefaultKeyPattern(metric string) string {
	return "usage_daily:{tenant}:" + metric + ":{date}"
}

// CounterKey fills a counter key pattern: every "{tenant}" becomes tenant and
// every "{date}" becomes date. The gateway writes and the snapshot reads
// (usage.CounterKey) with it, so both use the same key for any pattern.
func CounterKey(pattern, tenant, date string) string {
	return strings.ReplaceAll(strings.ReplaceAll(pattern, "{tenant}", tenant), "{date}", date)
}

// CheckKeyPattern reports a key pattern that CounterKey cannot fill: one
// without {tenant} (every tenant would share one counter: the gateway would
// count all tenants' calls against each tenant's limit) or with any other
// "{...}" or a stray brace, which would be used literally. The CRD rejects
// such patterns at admission; CompileSpec checks again for objects stored
// before that rule.
func CheckKeyPattern(pattern string) error {
	if !strings.Contains(pattern, "{tenant}") {
		return fmt.Errorf("key pattern %q has no {tenant} placeholder", pattern)
	}
	for i := 0; i < len(pattern); i++ {
		switch rest := pattern[i:]; {
		case strings.HasPrefix(rest, "{tenant}"):
			i += len("{tenant}") - 1
		case strings.HasPrefix(rest, "{date}"):
			i += len("{date}") - 1
		case rest[0] == '{':
			if j := strings.IndexAny(rest[1:], "{}"); j >= 0 && rest[1+j] == '}' {
				return fmt.Errorf("key pattern %q has the unknown placeholder %s: only {tenant} and {date} are replaced", pattern, rest[:j+2])
			}
			return fmt.Errorf("key pattern %q has an unmatched \"{\": only {tenant} and {date} are replaced", pattern)
		case rest[0] == '}':
			return fmt.Errorf("key pattern %q has an unmatched \"}\": only {tenant} and {date} are replaced", pattern)
		}
	}
	return nil
}

// APICallsKeyPattern is the key pattern of the daily counter the gateway
// increments: the api_calls metric's redisCounter.keyPattern (defaulted) when
// the policy reads api_calls from Redis, so the snapshot reads what the
// gateway wrote; otherwise DefaultKeyPattern(api_calls), the seed's key.
func (r *Spec) APICallsKeyPattern() string {
	for _, m := range r.Metrics {
		if m.Name == APICallsMetric && m.RedisKeyPattern != "" {
			return m.RedisKeyPattern
		}
	}
	return DefaultKeyPattern(APICallsMetric)
}

// NameOf is the name of the policy a TenantUsage belongs to
// (spec.policyRef.name, "default" when unset). Its namespace is the tenant's.
func NameOf(tu *subv1.TenantUsage) string {
	if tu.Spec.PolicyRef.Name == "" {
		return DefaultPolicyName
	}
	return tu.Spec.PolicyRef.Name
}

// CompileSpec compiles everything but the gateway's tenant identity. Errors
// name the offending field; a policy that fails here is stalled until edited.
func CompileSpec(pol *subv1.SubscriptionPolicy) (*Spec, error) {
	if pol == nil {
		return nil, fmt.Errorf("policy is nil")
	}
	spec := &pol.Spec
	r := &Spec{
		Namespace:  pol.Namespace,
		Name:       pol.Name,
		UID:        string(pol.UID),
		Generation: pol.Generation,
		tierRank:   make(map[string]int, len(spec.Tiers)),
		routes:     newRouter(),
		UpgradeURL: DefaultUpgradeURL,
	}
	if err := r.compileTiers(spec.Tiers); err != nil {
		return nil, err
	}
	if err := r.compileSnapshot(&spec.Snapshot); err != nil {
		return nil, err
	}
	r.compileForecast(spec)
	if err := r.compileWindow(spec); err != nil {
		return nil, err
	}
	if err := r.compileNotifications(spec.Notifications); err != nil {
		return nil, err
	}
	if err := r.compileMetrics(spec.Metrics); err != nil {
		return nil, err
	}
	if err := r.compileFeatures(spec.Features); err != nil {
		return nil, err
	}
	if d := spec.TenantDiscovery; d != nil {
		r.DiscoveryQuery = d.Postgres.Query
	}
	if gw := spec.Gateway; gw != nil && gw.UpgradeURL != "" {
		r.UpgradeURL = gw.UpgradeURL
	}
	return r, nil
}

func (r *Spec) compileSnapshot(s *subv1.SnapshotSpec) error {
	r.TimeZone = orDefault(s.TimeZone, DefaultTimeZone)
	sched, err := schedule.Parse(orDefault(s.Schedule, DefaultSchedule), r.TimeZone)
	if err != nil {
		// schedule's errors start with "schedule: " or "timeZone: ".
		return fmt.Errorf("spec.snapshot.%w", err)
	}
	r.Schedule = sched
	r.Location = sched.Location()
	r.StartingDeadline = DefaultStartingDeadline
	if d := s.StartingDeadlineSeconds; d != nil {
		if *d < 0 {
			return fmt.Errorf("spec.snapshot.startingDeadlineSeconds: %d is negative", *d)
		}
		r.StartingDeadline = time.Duration(*d) * time.Second
	}
	r.RetentionDays = DefaultRetentionDays
	if s.RetentionDays > 0 {
		r.RetentionDays = int(s.RetentionDays)
	}
	r.MinHistoryDays = DefaultMinHistoryDays
	if s.MinHistoryDays > 0 {
		r.MinHistoryDays = max(int(s.MinHistoryDays), MinMinHistoryDays)
	}
	if r.RetentionDays < r.MinHistoryDays {
		return fmt.Errorf("spec.snapshot.retentionDays: %d is less than minHistoryDays (%d)", r.RetentionDays, r.MinHistoryDays)
	}
	return nil
}

func (r *Spec) compileForecast(spec *subv1.SubscriptionPolicySpec) {
	r.Method = spec.Forecast.Method
	if r.Method == "" {
		r.Method = DefaultMethod
	}
	th := spec.Thresholds
	r.Thresholds = Thresholds{
		WarningPercent:  orDefaultInt(th.WarningPercent, DefaultWarningPercent),
		CriticalPercent: orDefaultInt(th.CriticalPercent, DefaultCriticalPercent),
		// warningDays is omitempty: 0 never reaches the API, so 0 here means unset.
		WarningDays:  orDefaultInt(th.WarningDays, DefaultWarningDays),
		CriticalDays: DefaultCriticalDays,
	}
	if th.CriticalDays != nil {
		r.Thresholds.CriticalDays = int(*th.CriticalDays)
	}
}

func (r *Spec) compileMetrics(metrics []subv1.Metric) error {
	seen := make(map[string]bool, len(metrics))
	r.Metrics = make([]Metric, 0, len(metrics))
	for i, m := range metrics {
		if seen[m.Name] {
			return fmt.Errorf("spec.metrics[%d].name: duplicate metric %q", i, m.Name)
		}
		seen[m.Name] = true
		cm := Metric{Name: m.Name, Label: orDefault(m.Label, m.Name), Unit: m.Unit}
		switch {
		case m.Postgres != nil && m.RedisCounter == nil:
			cm.PostgresQuery = m.Postgres.Query
		case m.RedisCounter != nil && m.Postgres == nil:
			cm.RedisKeyPattern = orDefault(m.RedisCounter.KeyPattern, DefaultKeyPattern(m.Name))
			if err := CheckKeyPattern(cm.RedisKeyPattern); err != nil {
				return fmt.Errorf("spec.metrics[%d].redisCounter.keyPattern: %w", i, err)
			}
		default:
			return fmt.Errorf("spec.metrics[%d]: exactly one of postgres or redisCounter must be set", i)
		}
		r.Metrics = append(r.Metrics, cm)
	}
	for i, t := range r.Tiers {
		for name := range t.Limits {
			if !seen[name] {
				return fmt.Errorf("spec.tiers[%d].limits: %q is not a metric of spec.metrics", i, name)
			}
		}
	}
	return nil
}

// MetricNames are the metrics' names in declaration order.
func (r *Spec) MetricNames() []string {
	names := make([]string, len(r.Metrics))
	for i, m := range r.Metrics {
		names[i] = m.Name
	}
	return names
}

// Tier returns the tier named name.
func (r *Spec) Tier(name string) (Tier, bool) {
	rank, ok := r.tierRank[name]
	if !ok {
		return Tier{}, false
	}
	return r.Tiers[rank], true
}

// TierNames lists the tier names in rank order, comma-separated (status.tierNames).
func (r *Spec) TierNames() string {
	var b []byte
	for i, t := range r.Tiers {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, t.Name...)
	}
	return string(b)
}

// Features returns the names of the features a tier unlocks, in declaration order.
func (r *Spec) FeaturesOf(t Tier) []string {
	out := []string{}
	for _, f := range r.Features {
		if f.MinRank <= t.Rank {
			out = append(out, f.Name)
		}
	}
	return out
}

// EffectiveLimit is the tenant's override of metric, else the tier's limit;
// ok is false when the metric is unlimited.
func (t Tier) EffectiveLimit(metric string, overrides map[string]int64) (int64, bool) {
	if v, ok := overrides[metric]; ok {
		return v, true
	}
	v, ok := t.Limits[metric]
	return v, ok
}

// Today is the calendar date (YYYY-MM-DD) of now in the policy's zone: the
// date a snapshot taken now is stored under and the "today" of a forecast.
func (r *Spec) Today(now time.Time) string { return r.Schedule.DateOf(now) }

func orDefault(v, def string) string {
	if v == "" {
		return def
	}
	return v
}

func orDefaultInt(v int32, def int) int {
	if v == 0 {
		return def
	}
	return int(v)
}
