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

package v1alpha1

import (
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Validation that CEL cannot do is done by the SubscriptionPolicy controller and
// reported in the Ready condition with reason InvalidSpec (Stalled=True):
//   - spec.snapshot.timeZone must name a zone in the IANA time zone database;
//   - spec.snapshot.schedule must parse as a cron expression (CEL only checks its shape);
//   - Postgres queries are checked when they run (column count and types), and a
//     failing query is named in the SnapshotSucceeded condition.

// Cross-field rules sit on the object that holds every field they compare:
// CEL sees only self. Their fieldPath names the field to fix; it cannot hold a
// list index, so the messageExpression names the item (feature, tier, metric)
// and the offending value. Message expressions may not print numbers:
// string(int) has no size bound, and the API server refuses a CRD whose
// estimated message cost is unbounded; numeric rules name the field instead.
// Each rule keeps a static message, used if its expression fails.

// SubscriptionPolicySpec declares plan tiers, usage metrics, gated features,
// forecast thresholds, the snapshot schedule and the bundled gateway.
// +kubebuilder:validation:XValidation:rule="!has(self.features) || self.features.all(f, self.tiers.exists(t, t.name == f.minimumTier))",fieldPath=".features",message="spec.features[].minimumTier must name a tier declared in spec.tiers",messageExpression=`'spec.features[].minimumTier: feature ' + self.features[self.features.map(f, self.tiers.exists(t, t.name == f.minimumTier)).indexOf(false)].name + ' needs tier ' + self.features[self.features.map(f, self.tiers.exists(t, t.name == f.minimumTier)).indexOf(false)].minimumTier + ', which spec.tiers does not declare'`
// +kubebuilder:validation:XValidation:rule="self.tiers.all(t, !has(t.limits) || t.limits.all(k, self.metrics.exists(m, m.name == k)))",fieldPath=".tiers",message="spec.tiers[].limits keys must name metrics declared in spec.metrics",messageExpression=`'spec.tiers[].limits: tier ' + self.tiers[self.tiers.map(t, !has(t.limits) || t.limits.all(k, self.metrics.exists(m, m.name == k))).indexOf(false)].name + ' has a limit for ' + self.tiers[self.tiers.map(t, !has(t.limits) || t.limits.all(k, self.metrics.exists(m, m.name == k))).indexOf(false)].limits.filter(k, !self.metrics.exists(m, m.name == k))[0] + ', which spec.metrics does not declare'`
type SubscriptionPolicySpec struct {
	// Tiers are the plans, ordered from lowest to highest. A tenant on a tier
	// may use every feature whose minimumTier is at or below its own tier.
	// +required
	// +listType=map
	// +listMapKey=name
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=10
	Tiers []Tier `json:"tiers"`

	// Metrics are the usage metrics measured daily for every tenant.
	// +required
	// +listType=map
	// +listMapKey=name
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=32
	Metrics []Metric `json:"metrics"`

	// Features are the paid features that need a minimum tier; the gateway
	// answers 402 with an upgrade offer when a lower tier calls one of their routes.
	// +optional
	// +listType=map
	// +listMapKey=name
	// +kubebuilder:validation:MaxItems=64
	Features []Feature `json:"features,omitempty"`

	// Thresholds decide each metric's status colour.
	// +optional
	// +kubebuilder:default={}
	Thresholds Thresholds `json:"thresholds,omitempty"`

	// Forecast selects how the daily growth rate is fitted.
	// +optional
	// +kubebuilder:default={}
	Forecast ForecastSpec `json:"forecast,omitempty"`

	// Snapshot says when usage is recorded and how long history is kept.
	// +optional
	// +kubebuilder:default={}
	Snapshot SnapshotSpec `json:"snapshot,omitempty"`

	// TenantDiscovery, when set, creates and updates a TenantUsage for every
	// active tenant found in the database.
	// +optional
	TenantDiscovery *TenantDiscovery `json:"tenantDiscovery,omitempty"`

	// Gateway configures the bundled gateway that enforces tiers at the edge.
	// +optional
	Gateway *GatewaySpec `json:"gateway,omitempty"`

	// Notifications sends signed CloudEvents to webhooks when a tenant's
	// forecast crosses a threshold or predicts a breach (docs/notifications.md).
	// +optional
	Notifications *NotificationsSpec `json:"notifications,omitempty"`
}

// Tier is one subscription plan.
type Tier struct {
	// Name identifies the tier (for example "starter"); TenantUsage.spec.tier refers to it.
	// +required
	// +kubebuilder:validation:Pattern=`^[a-z][a-z0-9-]{0,62}$`
	// +kubebuilder:validation:MaxLength=63
	Name string `json:"name"`

	// DisplayName is the name shown to users (for example "Professional").
	// +optional
	// +kubebuilder:validation:MaxLength=64
	DisplayName string `json:"displayName,omitempty"`

	// Price is the monthly list price; absent for a free or custom-priced tier.
	// +optional
	Price *Price `json:"price,omitempty"`

	// Highlighted marks the tier to feature in a plan comparison table.
	// +optional
	Highlighted bool `json:"highlighted,omitempty"`

	// Limits maps a metric name to the tier's limit for it. A metric that is
	// absent is unlimited on this tier.
	// +optional
	// +kubebuilder:validation:MaxProperties=32
	// +kubebuilder:validation:XValidation:rule="self.all(k, self[k] >= 0)",message="spec.tiers[].limits values must be non-negative",messageExpression=`'spec.tiers[].limits values must be non-negative: the limit for ' + self.filter(k, self[k] < 0)[0] + ' is negative'`
	Limits map[string]int64 `json:"limits,omitempty"`
}

// Price is an amount of money without floating point.
type Price struct {
	// Monthly is the monthly price as a decimal string with at most two
	// fractional digits, for example "49" or "49.99".
	// +required
	// +kubebuilder:validation:Pattern=`^[0-9]{1,9}(\.[0-9]{1,2})?$`
	Monthly string `json:"monthly"`

	// Currency is shown as written: an ISO 4217 code ("EUR") or a symbol ("€").
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=8
	Currency string `json:"currency"`
}

// Metric is one usage metric and where its daily value comes from.
// +kubebuilder:validation:XValidation:rule="has(self.postgres) != has(self.redisCounter)",message="spec.metrics[]: exactly one of postgres or redisCounter must be set",messageExpression=`'spec.metrics[]: metric ' + self.name + (has(self.postgres) ? ' sets both postgres and redisCounter; keep one' : ' needs a source: set postgres or redisCounter')`
// +kubebuilder:validation:XValidation:rule="!has(self.redisCounter) || !has(self.redisCounter.keyPattern) || self.redisCounter.keyPattern.matches('^([^{}]|[{]tenant[}]|[{]date[}])*$')",fieldPath=".redisCounter.keyPattern",message="spec.metrics[].redisCounter.keyPattern may only use the placeholders {tenant} and {date}",messageExpression=`'spec.metrics[].redisCounter.keyPattern of metric ' + self.name + ': ' + (self.redisCounter.keyPattern.findAll('[{][^{}]*[}]').exists(p, p != '{tenant}' && p != '{date}') ? 'unknown placeholder ' + self.redisCounter.keyPattern.findAll('[{][^{}]*[}]').filter(p, p != '{tenant}' && p != '{date}')[0] : 'unmatched { or }') + ' in ' + self.redisCounter.keyPattern + '; only {tenant} and {date} are replaced'`
type Metric struct {
	// Name identifies the metric in limits, history keys and forecasts (for example "products").
	// +required
	// +kubebuilder:validation:Pattern=`^[a-z][a-z0-9_]{0,62}$`
	// +kubebuilder:validation:MaxLength=63
	Name string `json:"name"`

	// Label is the human-readable name (for example "Products").
	// +optional
	// +kubebuilder:validation:MaxLength=64
	Label string `json:"label,omitempty"`

	// Unit is appended to values when shown (for example "MB"); empty for counts.
	// +optional
	// +kubebuilder:validation:MaxLength=16
	Unit string `json:"unit,omitempty"`

	// Postgres reads the metric with one SQL query for all tenants.
	// +optional
	Postgres *PostgresSource `json:"postgres,omitempty"`

	// RedisCounter reads the metric from a daily counter per tenant in Redis.
	// +optional
	RedisCounter *RedisCounterSource `json:"redisCounter,omitempty"`
}

// PostgresSource is a SQL query that returns one (tenant_id, value) row per tenant.
type PostgresSource struct {
	// Query must return two columns: the tenant ID (text) and the value (an
	// integer type), one row per tenant, for all tenants at once, for example
	// "SELECT tenant_id, count(*) FROM products GROUP BY tenant_id". It runs in a
	// read-only transaction with a statement timeout. Tenants without a row get 0.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=4096
	Query string `json:"query"`
}

// RedisCounterSource reads one Redis string counter per tenant and day.
type RedisCounterSource struct {
	// KeyPattern is the counter's key with the placeholders {tenant} and {date};
	// no other placeholder is allowed. Defaults to
	// "usage_daily:{tenant}:<metric name>:{date}", the key the gateway increments
	// for api_calls. The snapshot reads the counter of the PREVIOUS day, the last
	// complete one: the run at 02:00 on 2025-01-20 reads {date} = 2025-01-19 and
	// stores the value under 2025-01-20. {date} is YYYY-MM-DD in
	// spec.snapshot.timeZone (default UTC), the zone the gateway counts in.
	// +optional
	// +kubebuilder:validation:MaxLength=256
	// +kubebuilder:validation:XValidation:rule="self.contains('{tenant}') && self.contains('{date}')",message="spec.metrics[].redisCounter.keyPattern must contain {tenant} and {date}"
	KeyPattern string `json:"keyPattern,omitempty"`
}

// Feature is a paid capability gated at the gateway.
type Feature struct {
	// Name identifies the feature (for example "analytics"); it is reported as
	// details.required_feature in the 402 body.
	// +required
	// +kubebuilder:validation:Pattern=`^[a-z][a-z0-9_-]{0,62}$`
	// +kubebuilder:validation:MaxLength=63
	Name string `json:"name"`

	// MinimumTier is the lowest tier that may use the feature.
	// +required
	// +kubebuilder:validation:Pattern=`^[a-z][a-z0-9-]{0,62}$`
	// +kubebuilder:validation:MaxLength=63
	MinimumTier string `json:"minimumTier"`

	// Routes are the requests that belong to this feature.
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=32
	Routes []Route `json:"routes,omitempty"`

	// PreviewURL lets a user preview the feature before upgrading.
	// +optional
	// +kubebuilder:validation:MaxLength=512
	PreviewURL string `json:"previewURL,omitempty"`

	// ROIEstimate is the return on investment shown in the upgrade offer.
	// +optional
	ROIEstimate *ROIEstimate `json:"roiEstimate,omitempty"`

	// Messages are the upgrade offer texts keyed by language code (for example
	// "en", "es", "eu"). "en" is required: it is the fallback language.
	// +optional
	// +kubebuilder:validation:MaxProperties=16
	// +kubebuilder:validation:XValidation:rule="self.all(k, k.matches('^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$'))",message="spec.features[].messages keys must be language codes such as en, es or eu",messageExpression=`'spec.features[].messages keys must be language codes such as en, es or eu, not ' + self.filter(k, !k.matches('^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$'))[0]`
	// +kubebuilder:validation:XValidation:rule="size(self) == 0 || 'en' in self",message="spec.features[].messages must include en, the fallback language"
	Messages map[string]FeatureMessage `json:"messages,omitempty"`
}

// HTTPMethod is an HTTP request method, or "*" for any.
// +kubebuilder:validation:Enum="*";GET;HEAD;POST;PUT;PATCH;DELETE;OPTIONS
type HTTPMethod string

// Route matches requests by method and path pattern.
type Route struct {
	// Method is the HTTP method; "*" matches any.
	// +optional
	// +kubebuilder:default="*"
	Method HTTPMethod `json:"method,omitempty"`

	// Path is a pattern of "/"-separated segments: a literal, "{tenant}" (one
	// segment that is the tenant ID), "*" (any one segment) or, last only, "**"
	// (the rest of the path). Example: "/api/v1/tenants/{tenant}/analytics/**".
	// +required
	// +kubebuilder:validation:MaxLength=512
	// +kubebuilder:validation:Pattern=`^/[A-Za-z0-9._~%!$&'()*+,;=:@{}/-]*$`
	Path string `json:"path"`
}

// ROIEstimate is an estimated monthly saving, in whole currency units.
// +kubebuilder:validation:XValidation:rule="self.monthlySavingsMax >= self.monthlySavingsMin",fieldPath=".monthlySavingsMax",message="spec.features[].roiEstimate.monthlySavingsMax must be >= monthlySavingsMin"
type ROIEstimate struct {
	// MonthlySavingsMin is the low end of the estimated monthly saving, in
	// whole units of currency; shown as roi_estimate.monthly_savings_min.
	// +required
	// +kubebuilder:validation:Minimum=0
	MonthlySavingsMin int64 `json:"monthlySavingsMin"`

	// MonthlySavingsMax is the high end of the estimated monthly saving, in
	// whole units of currency; at least monthlySavingsMin.
	// +required
	// +kubebuilder:validation:Minimum=0
	MonthlySavingsMax int64 `json:"monthlySavingsMax"`

	// PaybackPeriodDays is how many days the upgrade takes to pay for itself;
	// omitted (or 0) leaves it out of the offer.
	// +optional
	// +kubebuilder:validation:Minimum=0
	PaybackPeriodDays int32 `json:"paybackPeriodDays,omitempty"`

	// Currency of the savings, shown as written: an ISO 4217 code ("EUR") or a
	// symbol ("€").
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=8
	Currency string `json:"currency"`
}

// FeatureMessage is the localised upgrade offer for one feature.
type FeatureMessage struct {
	// Title is the offer's headline (the 402 body's title), for example
	// "Unlock advanced analytics".
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=200
	Title string `json:"title"`

	// Description is one or two sentences on what the feature does for the user.
	// +optional
	// +kubebuilder:validation:MaxLength=2000
	Description string `json:"description,omitempty"`

	// Benefits are the bullet points of the offer, in the order shown.
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=16
	Benefits []Benefit `json:"benefits,omitempty"`

	// SocialProof is a short line such as "Used by 500+ bakeries".
	// +optional
	// +kubebuilder:validation:MaxLength=500
	SocialProof string `json:"socialProof,omitempty"`
}

// Benefit is one line of an upgrade offer.
type Benefit struct {
	// Text is the benefit as shown to the user.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=300
	Text string `json:"text"`

	// Icon is a name the front end maps to an icon (for example "chart");
	// passed through unchanged.
	// +optional
	// +kubebuilder:validation:MaxLength=64
	Icon string `json:"icon,omitempty"`
}

// The has() guards in the rules below only matter when the API server checks
// the "{}" default itself: on real objects the field defaults are applied first.

// Thresholds decide a metric's status: critical when usage reaches
// criticalPercent or the breach is at most criticalDays away; warning when usage
// reaches warningPercent or the breach is at most warningDays away; else safe.
// +kubebuilder:validation:XValidation:rule="!has(self.warningPercent) || !has(self.criticalPercent) || self.warningPercent < self.criticalPercent",fieldPath=".warningPercent",message="spec.thresholds.warningPercent must be less than criticalPercent"
// +kubebuilder:validation:XValidation:rule="!has(self.warningDays) || !has(self.criticalDays) || self.warningDays > self.criticalDays",fieldPath=".warningDays",message="spec.thresholds.warningDays must be greater than criticalDays"
type Thresholds struct {
	// WarningPercent: a metric whose usage is at least this percentage of its
	// limit is warning. Must be less than criticalPercent.
	// +optional
	// +kubebuilder:default=80
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=100
	WarningPercent int32 `json:"warningPercent,omitempty"`

	// CriticalPercent: a metric whose usage is at least this percentage of its
	// limit is critical.
	// +optional
	// +kubebuilder:default=90
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=100
	CriticalPercent int32 `json:"criticalPercent,omitempty"`

	// WarningDays: a metric predicted to reach its limit within this many days
	// is warning; 0 turns this rule off. Must be greater than criticalDays.
	// +optional
	// +kubebuilder:default=14
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=3650
	WarningDays int32 `json:"warningDays,omitempty"`

	// CriticalDays: a metric predicted to reach its limit within this many days
	// is critical. 0 turns this rule off (a metric is still critical once its
	// limit is reached); omitting the field gives the default.
	// +optional
	// +kubebuilder:default=7
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=3650
	CriticalDays *int32 `json:"criticalDays,omitempty"`

	// Basis is the breach date the days thresholds compare: expected (the
	// predicted date, today's colours) or earliest (the earliest date of the
	// breach window at spec.forecast.confidence, the pessimistic end).
	// +optional
	// +kubebuilder:default=expected
	Basis ThresholdBasis `json:"basis,omitempty"`
}

// ThresholdBasis is which breach date a days threshold compares.
// +kubebuilder:validation:Enum=expected;earliest
type ThresholdBasis string

const (
	// BasisExpected compares the predicted (point estimate) breach date.
	BasisExpected ThresholdBasis = "expected"
	// BasisEarliest compares the earliest date of the breach window.
	BasisEarliest ThresholdBasis = "earliest"
)

// ForecastMethod is how the daily growth rate is fitted.
// +kubebuilder:validation:Enum=linear;theilSen
type ForecastMethod string

const (
	// ForecastLinear is an ordinary least-squares fit, like Prometheus predict_linear.
	ForecastLinear ForecastMethod = "linear"
	// ForecastTheilSen is the median of pairwise slopes, robust to one-day spikes.
	ForecastTheilSen ForecastMethod = "theilSen"
)

// ForecastSpec selects the trend model.
type ForecastSpec struct {
	// Method is linear (least squares) or theilSen (robust to outliers).
	// +optional
	// +kubebuilder:default=linear
	Method ForecastMethod `json:"method,omitempty"`

	// Confidence is the level of the breach window (earliestBreachDate to
	// latestBreachDate in TenantUsage status), a decimal from 0.5 to 0.99:
	// higher is wider. A string because Kubernetes APIs avoid floats.
	// +optional
	// +kubebuilder:default="0.8"
	// +kubebuilder:validation:MaxLength=4
	// +kubebuilder:validation:Pattern=`^0\.[0-9]{1,2}$`
	// +kubebuilder:validation:XValidation:rule="double(self) >= 0.5 && double(self) <= 0.99",message="spec.forecast.confidence must be a decimal from 0.5 to 0.99",messageExpression=`'spec.forecast.confidence must be a decimal from 0.5 to 0.99, not ' + self`
	Confidence string `json:"confidence,omitempty"`
}

// SnapshotSpec schedules the daily usage snapshot.
// +kubebuilder:validation:XValidation:rule="!has(self.retentionDays) || !has(self.minHistoryDays) || self.retentionDays >= self.minHistoryDays",fieldPath=".retentionDays",message="spec.snapshot.retentionDays must be at least minHistoryDays"
type SnapshotSpec struct {
	// Schedule is a 5-field cron expression or a macro such as @daily. Only its
	// shape is checked at admission; the controller parses it and reports an
	// invalid one in the Ready condition.
	// +optional
	// +kubebuilder:default="0 2 * * *"
	// +kubebuilder:validation:MaxLength=128
	// +kubebuilder:validation:Pattern=`^(@(yearly|annually|monthly|weekly|daily|midnight|hourly)|[0-9*/,-]+ +[0-9*/,-]+ +[0-9*/,?LW-]+ +[0-9A-Za-z*/,-]+ +[0-9A-Za-z*/,?L#-]+)$`
	Schedule string `json:"schedule,omitempty"`

	// TimeZone is the IANA time zone (for example "Europe/Madrid") of the
	// schedule, of the date a snapshot is stored under, of the {date} of Redis
	// counters and of the gateway's daily quota. "Local" is refused: the
	// operator and the gateway would each use the zone of whatever node they
	// run on. A name missing from the time zone database stalls the policy
	// (Ready=False, reason InvalidSpec).
	// +optional
	// +kubebuilder:default=UTC
	// +kubebuilder:validation:MaxLength=64
	// +kubebuilder:validation:Pattern=`^[A-Za-z0-9_+/-]+$`
	// +kubebuilder:validation:XValidation:rule="self != 'Local'",message="spec.snapshot.timeZone must name an IANA zone such as UTC or Europe/Madrid, not Local (the zone of whichever node the operator runs on)"
	TimeZone string `json:"timeZone,omitempty"`

	// RetentionDays is how many days of history are kept.
	// +optional
	// +kubebuilder:default=60
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=400
	RetentionDays int32 `json:"retentionDays,omitempty"`

	// MinHistoryDays is how many daily points a forecast needs; with fewer,
	// growth rate, breach date and days left are null.
	// +optional
	// +kubebuilder:default=7
	// +kubebuilder:validation:Minimum=2
	// +kubebuilder:validation:Maximum=400
	MinHistoryDays int32 `json:"minHistoryDays,omitempty"`

	// StartingDeadlineSeconds is how late a missed run may still be caught up
	// (for example after the operator was down at the scheduled time). Older
	// missed runs are skipped and reported.
	// +optional
	// +kubebuilder:default=86400
	// +kubebuilder:validation:Minimum=0
	StartingDeadlineSeconds *int64 `json:"startingDeadlineSeconds,omitempty"`
}

// TenantDiscovery finds active tenants in the database.
type TenantDiscovery struct {
	// Postgres is the query that lists the active tenants and their tiers.
	// +required
	Postgres DiscoveryQuery `json:"postgres"`
}

// DiscoveryQuery is a SQL query that returns one (tenant_id, tier) row per active tenant.
type DiscoveryQuery struct {
	// Query must return two text columns, the tenant ID and the tenant's tier
	// (a tier name of this policy), one row per active tenant, for example
	// "SELECT id, plan FROM bakeries WHERE active". It runs in a read-only
	// transaction with a statement timeout. Each row creates or updates the
	// TenantUsage named after the tenant ID, so IDs must be valid
	// spec.tenantID values (lowercase DNS labels); a row with a tier the policy
	// does not declare is skipped with an UnknownTier Event. A tenant no longer
	// returned keeps its TenantUsage and history, with Discovered=False.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=4096
	Query string `json:"query"`
}

// IdentitySource says where the gateway reads the tenant ID from.
// +kubebuilder:validation:Enum=jwtClaim;path;trustedHeader
type IdentitySource string

const (
	// IdentityJWTClaim reads the tenant ID from a claim of a verified JWT bearer token.
	IdentityJWTClaim IdentitySource = "jwtClaim"
	// IdentityPath reads the tenant ID from the {tenant} segment of the matched route.
	IdentityPath IdentitySource = "path"
	// IdentityTrustedHeader reads the tenant ID from a header set by an
	// authenticating proxy in front of the gateway. Only safe behind such a proxy.
	IdentityTrustedHeader IdentitySource = "trustedHeader"
)

// enabled: false is omitted from the object (omitempty), so the rule below
// must guard self.enabled with has().

// GatewaySpec configures the bundled gateway.
// +kubebuilder:validation:XValidation:rule="!has(self.enabled) || !self.enabled || has(self.upstream)",fieldPath=".upstream",message="spec.gateway.upstream is required when the gateway is enabled"
type GatewaySpec struct {
	// Enabled deploys the gateway; false removes it.
	// +optional
	Enabled bool `json:"enabled,omitempty"`

	// Replicas of the gateway Deployment. A PodDisruptionBudget is created when above 1.
	// +optional
	// +kubebuilder:default=1
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=50
	Replicas *int32 `json:"replicas,omitempty"`

	// Upstream is the URL of the application behind the gateway.
	// +optional
	// +kubebuilder:validation:MaxLength=512
	// +kubebuilder:validation:Pattern=`^https?://[^\s]+$`
	Upstream string `json:"upstream,omitempty"`

	// Image overrides the gateway image (defaults to the operator's own image).
	// +optional
	// +kubebuilder:validation:MaxLength=512
	Image string `json:"image,omitempty"`

	// TenantIdentity says how the gateway learns which tenant is calling.
	// +optional
	// +kubebuilder:default={}
	TenantIdentity TenantIdentity `json:"tenantIdentity,omitempty"`

	// FailOpen lets gated routes through before any policy has been loaded.
	// By default they fail closed with 503.
	// +optional
	FailOpen bool `json:"failOpen,omitempty"`

	// UpgradeURL is the path of the upgrade page; the 402 body's upgrade_url adds
	// ?upgrade=<tier>&from=<tier>&feature=<feature> to it.
	// +optional
	// +kubebuilder:default="/app/settings/subscription"
	// +kubebuilder:validation:MaxLength=512
	UpgradeURL string `json:"upgradeURL,omitempty"`

	// Resources of the gateway container.
	// +optional
	Resources *corev1.ResourceRequirements `json:"resources,omitempty"`
}

// TenantIdentity configures tenant identification at the gateway.
// +kubebuilder:validation:XValidation:rule="!has(self.from) || self.from != 'jwtClaim' || has(self.jwt)",fieldPath=".jwt",message="spec.gateway.tenantIdentity.jwt is required when from is jwtClaim"
type TenantIdentity struct {
	// From is jwtClaim (verified bearer token), path ({tenant} in the route) or
	// trustedHeader (a header set by an authenticating proxy).
	// +optional
	// +kubebuilder:default=jwtClaim
	From IdentitySource `json:"from,omitempty"`

	// Claim is the JWT claim that holds the tenant ID.
	// +optional
	// +kubebuilder:default=tenant_id
	// +kubebuilder:validation:MaxLength=128
	Claim string `json:"claim,omitempty"`

	// Header is the header that holds the tenant ID when from is trustedHeader.
	// In other modes the header is ignored, so clients cannot spoof it.
	// +optional
	// +kubebuilder:default=X-Tenant-ID
	// +kubebuilder:validation:Pattern=`^[A-Za-z0-9-]{1,64}$`
	Header string `json:"header,omitempty"`

	// JWT says how bearer tokens are verified.
	// +optional
	JWT *JWTVerification `json:"jwt,omitempty"`
}

// JWTVerification verifies bearer tokens with a shared secret (HS256) or a JWKS (RS256/ES256).
// +kubebuilder:validation:XValidation:rule="has(self.secretRef) != has(self.jwksURL)",message="spec.gateway.tenantIdentity.jwt: exactly one of secretRef or jwksURL must be set",messageExpression=`'spec.gateway.tenantIdentity.jwt: ' + (has(self.secretRef) ? 'set secretRef (HS256) or jwksURL (RS256/ES256), not both' : 'set secretRef (HS256) or jwksURL (RS256/ES256)')`
type JWTVerification struct {
	// SecretRef names a Secret in the policy's namespace holding the HS256 key.
	// +optional
	SecretRef *SecretKeyReference `json:"secretRef,omitempty"`

	// JWKSURL is fetched for RS256/ES256 public keys.
	// +optional
	// +kubebuilder:validation:MaxLength=512
	// +kubebuilder:validation:Pattern=`^https?://[^\s]+$`
	JWKSURL string `json:"jwksURL,omitempty"`

	// Issuer, when set, must match the token's iss claim.
	// +optional
	// +kubebuilder:validation:MaxLength=256
	Issuer string `json:"issuer,omitempty"`

	// Audience, when set, must be in the token's aud claim.
	// +optional
	// +kubebuilder:validation:MaxLength=256
	Audience string `json:"audience,omitempty"`
}

// SecretKeyReference names one key of a Secret in the same namespace.
type SecretKeyReference struct {
	// Name of the Secret, in the policy's namespace.
	// +required
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$`
	// +kubebuilder:validation:MaxLength=253
	Name string `json:"name"`

	// Key of the Secret's data that holds the value.
	// +optional
	// +kubebuilder:default=key
	// +kubebuilder:validation:Pattern=`^[-._a-zA-Z0-9]+$`
	// +kubebuilder:validation:MaxLength=253
	Key string `json:"key,omitempty"`
}

// SubscriptionPolicyStatus is the observed state of a SubscriptionPolicy.
type SubscriptionPolicyStatus struct {
	// ObservedGeneration is the generation the status was computed for.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`

	// Conditions: Ready (summary, kstatus), Reconciling, Stalled,
	// SnapshotSucceeded, GatewayReady and NotificationsHealthy.
	// +optional
	// +listType=map
	// +listMapKey=type
	Conditions []metav1.Condition `json:"conditions,omitempty"`

	// TierNames lists the tiers in order, for printing.
	// +optional
	TierNames string `json:"tierNames,omitempty"`

	// Tenants is the number of TenantUsage objects that use this policy.
	// +optional
	Tenants int32 `json:"tenants,omitempty"`

	// LastScheduleTime is the scheduled time of the last snapshot run that was
	// started (or skipped as too late); it identifies the run.
	// +optional
	LastScheduleTime *metav1.Time `json:"lastScheduleTime,omitempty"`

	// LastSnapshot summarises the last completed snapshot run.
	// +optional
	LastSnapshot *SnapshotRun `json:"lastSnapshot,omitempty"`

	// NextSnapshotTime is when the next run is due.
	// +optional
	NextSnapshotTime *metav1.Time `json:"nextSnapshotTime,omitempty"`

	// Gateway reports the bundled gateway.
	// +optional
	Gateway *GatewayStatus `json:"gateway,omitempty"`

	// Notifications reports each webhook sink's delivery health.
	// +optional
	Notifications *NotificationsStatus `json:"notifications,omitempty"`
}

// SnapshotRun summarises one snapshot run.
type SnapshotRun struct {
	// Time the run finished.
	Time metav1.Time `json:"time"`
	// Date (YYYY-MM-DD, in the policy's time zone) the values were stored under.
	Date string `json:"date"`
	// Tenants is how many tenants the run covered.
	Tenants int32 `json:"tenants"`
	// Succeeded is how many tenants had every metric recorded.
	Succeeded int32 `json:"succeeded"`
	// Failed is how many tenants missed at least one metric.
	Failed int32 `json:"failed"`
	// DurationMillis is how long the run took.
	DurationMillis int64 `json:"durationMillis"`
	// FailedMetrics names the metrics that could not be read.
	// +optional
	// +listType=atomic
	FailedMetrics []string `json:"failedMetrics,omitempty"`
}

// GatewayStatus reports the bundled gateway.
type GatewayStatus struct {
	// ReadyReplicas of the gateway Deployment.
	ReadyReplicas int32 `json:"readyReplicas"`
}

// Condition types and reasons of SubscriptionPolicy and TenantUsage. Polarity:
// Ready, SnapshotSucceeded and GatewayReady are True when all is well;
// Reconciling and Stalled are True only while something is wrong or pending.
const (
	ConditionReady             = "Ready"
	ConditionReconciling       = "Reconciling"
	ConditionStalled           = "Stalled"
	ConditionSnapshotSucceeded = "SnapshotSucceeded"
	ConditionGatewayReady      = "GatewayReady"
	ConditionDiscovered        = "Discovered"
)

// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:shortName=subpol,categories=subscriptions
// +kubebuilder:printcolumn:name="Tiers",type=string,JSONPath=`.status.tierNames`
// +kubebuilder:printcolumn:name="Tenants",type=integer,JSONPath=`.status.tenants`
// +kubebuilder:printcolumn:name="Next-Snapshot",type=string,JSONPath=`.status.nextSnapshotTime`
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Status",type=string,priority=1,JSONPath=`.status.conditions[?(@.type=="Ready")].message`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`

// SubscriptionPolicy declares plan tiers, usage metrics, paid features, forecast
// thresholds, the daily snapshot schedule and the bundled gateway.
type SubscriptionPolicy struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// +required
	Spec SubscriptionPolicySpec `json:"spec"`
	// +optional
	Status SubscriptionPolicyStatus `json:"status,omitempty"`
}

// +kubebuilder:object:root=true

// SubscriptionPolicyList contains a list of SubscriptionPolicy.
type SubscriptionPolicyList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []SubscriptionPolicy `json:"items"`
}
