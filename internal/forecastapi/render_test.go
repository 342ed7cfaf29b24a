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

package forecastapi

import (
	"encoding/json"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	subv1 "github.com/bakery-ia/subscription-operator/api/v1alpha1"
	"github.com/bakery-ia/subscription-operator/internal/history"
)

// The reference rendering: the seed's contract as structs for encoding/json.
// renderForecastJSON must write exactly what json.Marshal writes for these.
type forecastResponse struct {
	TenantID     string           `json:"tenant_id"`
	ForecastedAt *string          `json:"forecasted_at"`
	Metrics      []metricResponse `json:"metrics"`
}

type metricResponse struct {
	Metric              string       `json:"metric"`
	Label               string       `json:"label"`
	Current             int64        `json:"current"`
	Limit               *int64       `json:"limit"`
	Unit                string       `json:"unit"`
	DailyGrowthRate     *json.Number `json:"daily_growth_rate"`
	PredictedBreachDate *string      `json:"predicted_breach_date"`
	DaysUntilBreach     *int32       `json:"days_until_breach"`
	BreachEarliest      *string      `json:"predicted_breach_earliest"`
	BreachLatest        *string      `json:"predicted_breach_latest"`
	UsagePercentage     *json.Number `json:"usage_percentage"`
	Status              string       `json:"status"`
	TrendData           []trendPoint `json:"trend_data"`
}

type trendPoint struct {
	Date  string `json:"date"`
	Value int64  `json:"value"`
}

func referenceForecast(t testing.TB, tu *subv1.TenantUsage, trends map[string][]history.Point) []byte {
	st := &tu.Status
	resp := forecastResponse{TenantID: tu.Spec.TenantID, Metrics: []metricResponse{}}
	if st.ForecastedAt != nil {
		at := st.ForecastedAt.UTC().Format(time.RFC3339)
		resp.ForecastedAt = &at
	}
	for _, m := range st.Metrics {
		mr := metricResponse{
			Metric: m.Metric, Label: m.Label, Current: m.Current, Limit: m.Limit, Unit: m.Unit,
			DailyGrowthRate: pythonFloat(m.DailyGrowthRate), PredictedBreachDate: m.PredictedBreachDate,
			DaysUntilBreach: m.DaysUntilBreach, UsagePercentage: oneDecimal(m.UsagePercentage),
			BreachEarliest: m.EarliestBreachDate, BreachLatest: m.LatestBreachDate,
			Status: string(m.Status), TrendData: []trendPoint{},
		}
		if mr.Label == "" {
			mr.Label = m.Metric
		}
		for _, p := range trends[m.Metric] {
			mr.TrendData = append(mr.TrendData, trendPoint{Date: p.Date, Value: p.Value})
		}
		resp.Metrics = append(resp.Metrics, mr)
	}
	b, err := json.Marshal(resp)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func renderFixture(tenant, label, unit, status, rate, pct, date string, current int64, limit *int64, days *int32, points int) (*subv1.TenantUsage, map[string][]history.Point) {
	tu := &subv1.TenantUsage{Spec: subv1.TenantUsageSpec{TenantID: tenant}}
	tu.Status.ForecastedAt = &metav1.Time{Time: time.Date(2025, 1, 19, 10, 30, 0, 0, time.FixedZone("CET", 3600))}
	m := subv1.MetricForecast{Metric: "products", Label: label, Unit: unit, Current: current, Limit: limit,
		DaysUntilBreach: days, Status: subv1.UsageStatus(status)}
	if rate != "" {
		m.DailyGrowthRate = &rate
	}
	if pct != "" {
		m.UsagePercentage = &pct
	}
	if date != "" {
		m.PredictedBreachDate = &date
		// A window around the date: exercises the new fields' encoding
		// with whatever the fuzzer puts in the date.
		m.EarliestBreachDate, m.LatestBreachDate = &date, &date
	}
	tu.Status.Metrics = []subv1.MetricForecast{m, {Metric: "users", Status: subv1.UsageUnlimited}}
	trends := map[string][]history.Point{}
	for i := range points {
		trends["products"] = append(trends["products"], history.Point{Date: date, Value: current - int64(i)})
	}
	return tu, trends
}

func TestRenderForecastMatchesEncodingJSON(t *testing.T) {
	for _, tc := range []struct {
		tu     *subv1.TenantUsage
		trends map[string][]history.Point
	}{
		{tu: &subv1.TenantUsage{Spec: subv1.TenantUsageSpec{TenantID: "empty"}}},
		{tu: &subv1.TenantUsage{Spec: subv1.TenantUsageSpec{TenantID: "no-metrics"}, Status: subv1.TenantUsageStatus{Metrics: []subv1.MetricForecast{}}}},
	} {
		if got, want := renderForecastJSON(tc.tu, tc.trends), referenceForecast(t, tc.tu, tc.trends); string(got) != string(want) {
			t.Errorf("got  %s\nwant %s", got, want)
		}
	}
	tu, trends := renderFixture("test-tenant", "Products <&> \"quoted\" ñ \u2028", "MB", "safe", "0.5", "70", "2025-02-18", 35, ptr.To[int64](50), ptr.To[int32](30), 30)
	if got, want := renderForecastJSON(tu, trends), referenceForecast(t, tu, trends); string(got) != string(want) {
		t.Errorf("got  %s\nwant %s", got, want)
	}
}

func FuzzRenderForecast(f *testing.F) {
	f.Add("test-tenant", "Products", "", "safe", "0.5", "70.0", "2025-02-18", int64(35), int64(50), true, int32(30), 30)
	f.Add("t", "", "MB", "unlimited", "", "", "", int64(-1), int64(0), false, int32(0), 0)
	f.Add("x", "<script>\x00\xff", "\"\\", "critical", "NaN", "1e400", "\u2028", int64(1<<62), int64(-5), true, int32(-1), 3)
	f.Fuzz(func(t *testing.T, tenant, label, unit, status, rate, pct, date string, current, limit int64, hasLimit bool, days int32, points int) {
		var lim *int64
		if hasLimit {
			lim = &limit
		}
		tu, trends := renderFixture(tenant, label, unit, status, rate, pct, date, current, lim, &days, points%64)
		got := renderForecastJSON(tu, trends)
		if want := referenceForecast(t, tu, trends); string(got) != string(want) {
			t.Fatalf("got  %s\nwant %s", got, want)
		}
		if !json.Valid(got) {
			t.Fatalf("invalid JSON: %s", got)
		}
	})
}

func BenchmarkRenderForecast(b *testing.B) {
	tu, trends := renderFixture("test-tenant", "Products", "", "safe", "0.5", "70.0", "2025-02-18", 35, ptr.To[int64](50), ptr.To[int32](30), 30)
	for range 8 { // nine metrics of 30 points, as the API serves
		tu.Status.Metrics = append(tu.Status.Metrics, tu.Status.Metrics[0])
	}
	b.Run("append", func(b *testing.B) {
		b.ReportAllocs()
		for range b.N {
			renderForecastJSON(tu, trends)
		}
	})
	b.Run("encoding-json", func(b *testing.B) {
		b.ReportAllocs()
		for range b.N {
			referenceForecast(b, tu, trends)
		}
	})
}
