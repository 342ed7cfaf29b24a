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

package usagepage

import (
	_ "embed"
	"io"
	"slices"
	"strings"

	subv1 "github.com/bakery-ia/subscription-operator/api/v1alpha1"
	"github.com/bakery-ia/subscription-operator/internal/policy"
)

// List is the operators' page: the tenants of one namespace, closest to a
// limit first.
type List struct {
	Lang      string
	Namespace string
	// Status and Tier are the filters applied ("" = all).
	Status, Tier string
	// Tiers are the tier filter's options (name, display name), rank order.
	Tiers []policy.Tier
	Rows  []Row
}

// Row is one tenant: its summary and the metric closest to its limit.
type Row struct {
	TenantID, Tier, TierName string
	Status                   string
	DaysLeft                 *int32
	// Metric (label) is the summary's metric, with its numbers and breach date.
	Metric         string
	Current, Limit int64
	BreachDate     string
}

// Statuses are the forecast statuses, most severe first.
var Statuses = []string{string(subv1.UsageCritical), string(subv1.UsageWarning), string(subv1.UsageSafe), string(subv1.UsageUnlimited)}

// RowOf summarises a TenantUsage for the list; the tier is resolved as the
// gateway does (a tier the policy lacks counts as the lowest). spec may be
// nil (the tenant's policy is missing or invalid): the tier is then shown as
// the TenantUsage names it.
func RowOf(spec *policy.Spec, tu *subv1.TenantUsage) Row {
	r := Row{TenantID: tu.Spec.TenantID, Tier: tu.Spec.Tier, TierName: tu.Spec.Tier, Status: string(subv1.UsageSafe), Limit: policy.Unlimited}
	if spec != nil {
		rank, ok := spec.TierRank(tu.Spec.Tier)
		if !ok {
			rank = 0
		}
		r.Tier, r.TierName = spec.Tiers[rank].DisplayName, spec.Tiers[rank].Name
	}
	s := tu.Status.Summary
	if s == nil {
		if len(tu.Status.Metrics) == 0 {
			r.Status = ""
		}
		return r
	}
	r.Status, r.DaysLeft = string(s.Status), s.DaysUntilBreach
	for i := range tu.Status.Metrics {
		m := &tu.Status.Metrics[i]
		if m.Metric != s.Metric {
			continue
		}
		r.Metric, r.Current = m.Label, m.Current
		if r.Metric == "" {
			r.Metric = metricLabel(spec, m.Metric)
		}
		r.Metric = strings.TrimSpace(r.Metric)
		if m.Limit != nil {
			r.Limit = *m.Limit
		}
		if m.PredictedBreachDate != nil {
			r.BreachDate = *m.PredictedBreachDate
		}
	}
	return r
}

// SortRows orders rows by days left (tenants without a breach date last),
// then by status severity, then by tenant ID: a stable, total order.
func SortRows(rows []Row) {
	severity := func(s string) int {
		if i := slices.Index(Statuses, s); i >= 0 {
			return i
		}
		return len(Statuses)
	}
	slices.SortFunc(rows, func(a, b Row) int {
		switch {
		case a.DaysLeft != nil && b.DaysLeft == nil:
			return -1
		case a.DaysLeft == nil && b.DaysLeft != nil:
			return 1
		case a.DaysLeft != nil && *a.DaysLeft != *b.DaysLeft:
			return int(*a.DaysLeft) - int(*b.DaysLeft)
		}
		if d := severity(a.Status) - severity(b.Status); d != 0 {
			return d
		}
		return strings.Compare(a.TenantID, b.TenantID)
	})
}

//go:embed list.html.tmpl
var listSource string

var listTemplate = parse("list", listSource)

type option struct {
	Value, Text string
	Selected    bool
}

type listView struct {
	Lang, Namespace            string
	T                          *texts
	StatusOptions, TierOptions []option
	Rows                       []rowView
}

type rowView struct {
	TenantID, Tier, TierName, Status, Metric, BreachDate string
	DaysLeft                                             *int32
	Current, Limit                                       int64
	StatusText                                           string
	Limited                                              bool
}

// RenderList writes the operators' page.
func RenderList(w io.Writer, l *List) error {
	t := textsFor(l.Lang)
	v := listView{Lang: l.Lang, Namespace: l.Namespace, T: t, Rows: make([]rowView, len(l.Rows))}
	for _, s := range Statuses {
		v.StatusOptions = append(v.StatusOptions, option{Value: s, Text: t.Statuses[s], Selected: s == l.Status})
	}
	for _, tier := range l.Tiers {
		v.TierOptions = append(v.TierOptions, option{Value: tier.Name, Text: tier.DisplayName, Selected: tier.Name == l.Tier})
	}
	for i := range l.Rows {
		r := &l.Rows[i]
		v.Rows[i] = rowView{TenantID: r.TenantID, Tier: r.Tier, TierName: r.TierName, Status: r.Status, Metric: r.Metric,
			BreachDate: r.BreachDate, DaysLeft: r.DaysLeft, Current: r.Current, Limit: r.Limit,
			StatusText: t.Statuses[r.Status], Limited: r.Limit >= 0}
		if v.Rows[i].StatusText == "" {
			v.Rows[i].StatusText = r.Status
		}
	}
	return execute(w, listTemplate, &v)
}
