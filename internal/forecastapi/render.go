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
	"strconv"
	"time"

	subv1 "github.com/bakery-ia/subscription-operator/api/v1alpha1"
	"github.com/bakery-ia/subscription-operator/internal/history"
)

// renderForecastJSON renders the seed's usage forecast body (a contract):
//
//	{"tenant_id", "forecasted_at", "metrics": [{"metric", "label", "current",
//	 "limit", "unit", "daily_growth_rate", "predicted_breach_date",
//	 "days_until_breach", "predicted_breach_earliest", "predicted_breach_latest",
//	 "usage_percentage", "status",
//	 "trend_data": [{"date", "value"}, ...]}, ...]}
//
// It writes the bytes encoding/json would write for the equivalent structs (a
// test and a fuzz target hold the two equal), three times faster and with one
// allocation instead of a hundred for 9 metrics x 30 points.
func renderForecastJSON(tu *subv1.TenantUsage, trends map[string][]history.Point) []byte {
	st := &tu.Status
	n := 128
	for i := range st.Metrics {
		n += 384 + 36*len(trends[st.Metrics[i].Metric])
	}
	b := make([]byte, 0, n)
	b = append(b, `{"tenant_id":`...)
	b = appendString(b, tu.Spec.TenantID)
	b = append(b, `,"forecasted_at":`...)
	if st.ForecastedAt != nil {
		b = append(b, '"')
		b = st.ForecastedAt.UTC().AppendFormat(b, time.RFC3339)
		b = append(b, '"')
	} else {
		b = append(b, "null"...)
	}
	b = append(b, `,"metrics":[`...)
	for i := range st.Metrics {
		m := &st.Metrics[i]
		if i > 0 {
			b = append(b, ',')
		}
		label := m.Label
		if label == "" {
			label = m.Metric
		}
		b = append(b, `{"metric":`...)
		b = appendString(b, m.Metric)
		b = append(b, `,"label":`...)
		b = appendString(b, label)
		b = append(b, `,"current":`...)
		b = strconv.AppendInt(b, m.Current, 10)
		b = append(b, `,"limit":`...)
		if m.Limit != nil {
			b = strconv.AppendInt(b, *m.Limit, 10)
		} else {
			b = append(b, "null"...)
		}
		b = append(b, `,"unit":`...)
		b = appendString(b, m.Unit)
		b = append(b, `,"daily_growth_rate":`...)
		b = appendPythonFloat(b, m.DailyGrowthRate)
		b = append(b, `,"predicted_breach_date":`...)
		if m.PredictedBreachDate != nil {
			b = appendString(b, *m.PredictedBreachDate)
		} else {
			b = append(b, "null"...)
		}
		b = append(b, `,"days_until_breach":`...)
		if m.DaysUntilBreach != nil {
			b = strconv.AppendInt(b, int64(*m.DaysUntilBreach), 10)
		} else {
			b = append(b, "null"...)
		}
		// The breach window (issue 14), added after the seed's fields: null
		// when there is none, like predicted_breach_date.
		b = append(b, `,"predicted_breach_earliest":`...)
		b = appendOptString(b, m.EarliestBreachDate)
		b = append(b, `,"predicted_breach_latest":`...)
		b = appendOptString(b, m.LatestBreachDate)
		b = append(b, `,"usage_percentage":`...)
		b = appendOneDecimal(b, m.UsagePercentage)
		b = append(b, `,"status":`...)
		b = appendString(b, string(m.Status))
		b = append(b, `,"trend_data":[`...)
		for j, p := range trends[m.Metric] {
			if j > 0 {
				b = append(b, ',')
			}
			b = append(b, `{"date":`...)
			b = appendString(b, p.Date)
			b = append(b, `,"value":`...)
			b = strconv.AppendInt(b, p.Value, 10)
			b = append(b, '}')
		}
		b = append(b, "]}"...)
	}
	return append(b, "]}"...)
}

// appendOptString appends *s as a JSON string, or null.
func appendOptString(b []byte, s *string) []byte {
	if s == nil {
		return append(b, "null"...)
	}
	return appendString(b, *s)
}

// appendString appends s as a JSON string exactly as encoding/json does: the
// common case (printable ASCII without ", \ or the HTML characters it
// escapes) is copied; anything else goes through encoding/json.
func appendString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			q, _ := json.Marshal(s) // a string always marshals
			return append(b, q...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}
