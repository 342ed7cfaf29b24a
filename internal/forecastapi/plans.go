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

	"github.com/bakery-ia/subscription-operator/internal/policy"
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
	pol, err := s.findPolicy(r.Context(), c, ns, name)
	if err != nil {
		return err
	}
	spec, err := s.compiled(pol)
	if err != nil {
		return newError(http.StatusConflict, CodeInvalidPolicy, "SubscriptionPolicy %s/%s is invalid: %v", pol.Namespace, pol.Name, err)
	}
	body, err := marshal(plans(spec))
	if err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "private, no-cache")
	writeJSON(w, http.StatusOK, body)
	return nil
}

// plans lists the tiers of the compiled policy in order. A tier unlocks every
// feature whose minimum tier is at or below it; a metric missing from a tier's
// limits is unlimited (null). Prices come from the compiled integer cents,
// rendered without trailing zeros ("049.50" is 49.5).
func plans(spec *policy.Spec) plansResponse {
	resp := plansResponse{
		Namespace: spec.Namespace, Policy: spec.Name,
		Metrics:  make([]planMetric, 0, len(spec.Metrics)),
		Features: make([]planFeature, 0, len(spec.Features)),
		Tiers:    make([]planTier, 0, len(spec.Tiers)),
	}
	for _, m := range spec.Metrics {
		resp.Metrics = append(resp.Metrics, planMetric{Metric: m.Name, Label: m.Label, Unit: m.Unit})
	}
	for _, f := range spec.Features {
		resp.Features = append(resp.Features, planFeature{Name: f.Name, MinimumTier: f.MinimumTier})
	}
	for _, t := range spec.Tiers {
		pt := planTier{
			Name: t.Name, DisplayName: t.DisplayName, Highlighted: t.Highlighted,
			Limits:   make(map[string]*int64, len(spec.Metrics)),
			Features: spec.FeaturesOf(t),
		}
		if t.Price != nil {
			n := json.Number(policy.FormatCents(t.Price.Cents))
			cur := t.Price.Currency
			pt.MonthlyPrice, pt.Currency = &n, &cur
		}
		for _, m := range spec.Metrics {
			if v, ok := t.Limits[m.Name]; ok {
				pt.Limits[m.Name] = &v
			} else {
				pt.Limits[m.Name] = nil
			}
		}
		resp.Tiers = append(resp.Tiers, pt)
	}
	return resp
}
