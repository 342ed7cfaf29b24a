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

package gateway

import (
	"unique"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"

	subv1 "github.com/bakery-ia/subscription-operator/api/v1alpha1"
	"github.com/bakery-ia/subscription-operator/internal/policy"
)

// TenantRecord is what a gateway keeps of one TenantUsage: every pod holds
// every tenant of its namespace, so its informer keeps what the gateway
// decides on (the policy.Binding: name, tenant id, tier, policy, suspend,
// limit overrides, resourceVersion) and nothing else: no status, labels,
// annotations or managedFields (CompactTenantBinding). The forecast, which
// only the tenant's own entitlements endpoint and usage page show, is read
// when the tenant asks (forecastReader) into a record with a compact copy of
// the status (NewTenantRecord).
//
// A record is never modified once made: a change of the object makes a new
// record, so readers need no lock.
type TenantRecord struct {
	policy.Binding
	status *recordStatus // nil: the binding alone
}

// recordStatus is the part of the status the gateway shows.
type recordStatus struct {
	// forecastedAt is the status's (the decoded object's own small
	// allocation, shared: the rest of the object is not kept).
	forecastedAt *metav1.Time
	lastSnapshot string
	metrics      []metricRecord
}

// metricRecord is one metric of the forecast in 64 bytes instead of about
// 300 (a MetricForecast with its pointers): strings that repeat across
// tenants (metric name, label, unit, status, dates, percentages) are
// unique.Handles shared by every tenant with the same value, absent optional
// fields are bits instead of nil pointers.
type metricRecord struct {
	meta                         unique.Handle[metricMeta]
	predicted, earliest, latest  unique.Handle[string] // zero: absent
	percent                      unique.Handle[string] // zero: absent
	current, limit               int64
	daysUntilBreach              int32
	hasLimit, hasDaysUntilBreach bool
}

type metricMeta struct {
	metric, label, unit string
	status              subv1.UsageStatus
}

// CompactTenantBinding is the gateway's informer transform for TenantUsage:
// it turns each object into a *TenantRecord of its binding alone as it
// arrives, so the decoded object is garbage at once. A record (already
// transformed) and anything that is not a TenantUsage pass unchanged, as
// client-go asks of a transform.
func CompactTenantBinding(in any) (any, error) {
	tu, ok := in.(*subv1.TenantUsage)
	if !ok {
		return in, nil
	}
	return &TenantRecord{Binding: compactBinding(tu)}, nil
}

// CompactTenantUsage is CompactTenantBinding with the status kept
// (NewTenantRecord).
func CompactTenantUsage(in any) (any, error) {
	tu, ok := in.(*subv1.TenantUsage)
	if !ok {
		return in, nil
	}
	return NewTenantRecord(tu), nil
}

// compactBinding is tu's binding with the strings many tenants share
// interned; it shares the name, tenant id, resourceVersion and the limit
// overrides with tu.
func compactBinding(tu *subv1.TenantUsage) policy.Binding {
	b := policy.BindingOf(tu)
	b.Namespace, b.Policy, b.Tier = intern(b.Namespace), intern(b.Policy), intern(b.Tier)
	if b.TenantID == b.Name {
		b.TenantID = b.Name // usually the same text: keep one copy
	}
	return b
}

// NewTenantRecord makes the record of tu with its status; it shares none of
// tu's memory but the forecastedAt timestamp, the limit overrides and the
// name.
func NewTenantRecord(tu *subv1.TenantUsage) *TenantRecord {
	st := &recordStatus{forecastedAt: tu.Status.ForecastedAt, lastSnapshot: intern(tu.Status.LastSnapshotDate)}
	if n := len(tu.Status.Metrics); n > 0 {
		st.metrics = make([]metricRecord, n)
		for i := range tu.Status.Metrics {
			st.metrics[i] = compactMetric(&tu.Status.Metrics[i])
		}
	}
	return &TenantRecord{Binding: compactBinding(tu), status: st}
}

func compactMetric(m *subv1.MetricForecast) metricRecord {
	c := metricRecord{
		meta:    unique.Make(metricMeta{metric: m.Metric, label: m.Label, unit: m.Unit, status: m.Status}),
		current: m.Current,
	}
	if m.Limit != nil {
		c.limit, c.hasLimit = *m.Limit, true
	}
	if m.DaysUntilBreach != nil {
		c.daysUntilBreach, c.hasDaysUntilBreach = *m.DaysUntilBreach, true
	}
	c.predicted, c.earliest = handle(m.PredictedBreachDate), handle(m.EarliestBreachDate)
	c.latest, c.percent = handle(m.LatestBreachDate), handle(m.UsagePercentage)
	return c
}

// boundTo reports whether r is tn's binding in t: the same tenant id, bound
// by t as it is now. A record read after the table was bound (an object
// renamed to another tenant or moved to another policy since) is not.
func (r *TenantRecord) boundTo(t *policy.Table, tn *policy.Tenant) bool {
	return r.TenantID == tn.ID && t.Binds(&r.Binding)
}

// Forecast is status.metrics as the object had it, without the growth rates
// (no answer of the gateway shows them). A new slice on every call.
func (r *TenantRecord) Forecast() []subv1.MetricForecast {
	if r.status == nil || len(r.status.metrics) == 0 {
		return nil
	}
	out := make([]subv1.MetricForecast, len(r.status.metrics))
	for i := range r.status.metrics {
		c := &r.status.metrics[i]
		meta := c.meta.Value()
		m := &out[i]
		m.Metric, m.Label, m.Unit, m.Status, m.Current = meta.metric, meta.label, meta.unit, meta.status, c.current
		// Copies, not pointers into the record: readers get their own.
		if c.hasLimit {
			v := c.limit
			m.Limit = &v
		}
		if c.hasDaysUntilBreach {
			v := c.daysUntilBreach
			m.DaysUntilBreach = &v
		}
		m.PredictedBreachDate, m.EarliestBreachDate = value(c.predicted), value(c.earliest)
		m.LatestBreachDate, m.UsagePercentage = value(c.latest), value(c.percent)
	}
	return out
}

// Status is the part of the status the usage page shows: forecastedAt,
// lastSnapshotDate and the forecast; empty for a binding alone.
func (r *TenantRecord) Status() subv1.TenantUsageStatus {
	if r.status == nil {
		return subv1.TenantUsageStatus{}
	}
	return subv1.TenantUsageStatus{ForecastedAt: r.status.forecastedAt, LastSnapshotDate: r.status.lastSnapshot, Metrics: r.Forecast()}
}

// A TenantRecord is what the informer stores: a runtime.Object whose
// metadata (name, namespace, resourceVersion: all the store's key and the
// reflector read) is made on demand.
var (
	_ runtime.Object            = (*TenantRecord)(nil)
	_ metav1.ObjectMetaAccessor = (*TenantRecord)(nil)
)

// GetObjectKind is empty: the record is never encoded.
func (r *TenantRecord) GetObjectKind() schema.ObjectKind { return schema.EmptyObjectKind }

// DeepCopyObject copies the record; its parts are never modified, so they
// are shared.
func (r *TenantRecord) DeepCopyObject() runtime.Object {
	c := *r
	return &c
}

// GetObjectMeta is the record's metadata, for the informer's key function.
func (r *TenantRecord) GetObjectMeta() metav1.Object {
	return &metav1.ObjectMeta{Name: r.Name, Namespace: r.Namespace, ResourceVersion: r.ResourceVersion}
}

// handle is the shared copy of *s; the zero Handle when s is nil.
func handle(s *string) unique.Handle[string] {
	if s == nil {
		return unique.Handle[string]{}
	}
	return unique.Make(*s)
}

// value is a new pointer to h's string; nil for the zero Handle.
func value(h unique.Handle[string]) *string {
	if h == (unique.Handle[string]{}) {
		return nil
	}
	v := h.Value()
	return &v
}

// intern returns the canonical copy of s (empty stays empty, unallocated).
func intern(s string) string {
	if s == "" {
		return ""
	}
	return unique.Make(s).Value()
}
