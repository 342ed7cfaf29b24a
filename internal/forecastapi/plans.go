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
	"net/http"
	"strconv"

	subv1 "github.com/bakery-ia/subscription-operator/api/v1alpha1"
)

// plansResponse is the data of a plan comparison table.
type plansResponse struct {
	Namespace string        `json:"namespace"`
	Policy    string        `json:"policy"`
	Metrics   []planMetric  `json:"metrics"`
	Features  []planFeature `json:"features"`
	Tiers     []planTier    `json:"tiers"`
}

type planMetric struct {
	Metric string `json:"metric"`
	Label  string `json:"label"`
	Unit   string `json:"unit"`
}

type planFeature struct {
	Name        string `json:"name"`
	MinimumTier string `json:"minimum_tier"`
}

type planTier struct {
	Name         string            `json:"name"`
	DisplayName  string            `json:"display_name"`
	MonthlyPrice *json.Number      `json:"monthly_price"`
	Currency     *string           `json:"currency"`
	Highlighted  bool              `json:"highlighted"`
	Limits       map[string]*int64 `json:"limits"`
	Features     []string          `json:"features"`
}

// servePlans answers GET /api/v1/plans[?namespace=NS][&policy=NAME].
func (s *Server) servePlans(w http.ResponseWriter, r *http.Request, c *caller) error {
	ns, name, err := parsePlansQuery(r.URL.RawQuery)
	if err != nil {
		return err
	}
	policy, err := s.findPolicy(r.Context(), c, ns, name)
	if err != nil {
		return err
	}
	body, err := marshal(plans(policy))
	if err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "private, no-cache")
	writeJSON(w, http.StatusOK, body)
	return nil
}

// plans lists the tiers in order. A tier unlocks every feature whose minimum
// tier is at or below it; a metric missing from a tier's limits is unlimited (null).
func plans(p *subv1.SubscriptionPolicy) plansResponse {
	rank := make(map[string]int, len(p.Spec.Tiers))
	for i, t := range p.Spec.Tiers {
		rank[t.Name] = i
	}
	resp := plansResponse{
		Namespace: p.Namespace, Policy: p.Name,
		Metrics:  make([]planMetric, 0, len(p.Spec.Metrics)),
		Features: make([]planFeature, 0, len(p.Spec.Features)),
		Tiers:    make([]planTier, 0, len(p.Spec.Tiers)),
	}
	for _, m := range p.Spec.Metrics {
		label := m.Label
		if label == "" {
			label = m.Name
		}
		resp.Metrics = append(resp.Metrics, planMetric{Metric: m.Name, Label: label, Unit: m.Unit})
	}
	for _, f := range p.Spec.Features {
		resp.Features = append(resp.Features, planFeature{Name: f.Name, MinimumTier: f.MinimumTier})
	}
	for i, t := range p.Spec.Tiers {
		pt := planTier{
			Name: t.Name, DisplayName: t.DisplayName, Highlighted: t.Highlighted,
			Limits:   make(map[string]*int64, len(p.Spec.Metrics)),
			Features: []string{},
		}
		if pt.DisplayName == "" {
			pt.DisplayName = t.Name
		}
		if t.Price != nil {
			// Re-rendered rather than passed through: "049" is valid in the
			// CRD but not as a JSON number.
			if v, err := strconv.ParseFloat(t.Price.Monthly, 64); err == nil {
				n := json.Number(strconv.FormatFloat(v, 'f', -1, 64))
				pt.MonthlyPrice = &n
			}
			cur := t.Price.Currency
			pt.Currency = &cur
		}
		for _, m := range p.Spec.Metrics {
			if v, ok := t.Limits[m.Name]; ok {
				pt.Limits[m.Name] = &v
			} else {
				pt.Limits[m.Name] = nil
			}
		}
		for _, f := range p.Spec.Features {
			if r, ok := rank[f.MinimumTier]; ok && r <= i {
				pt.Features = append(pt.Features, f.Name)
			}
		}
		resp.Tiers = append(resp.Tiers, pt)
	}
	return resp
}
