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
	"context"
	"encoding/json"
	"net/http"
	"strconv"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

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
	q := r.URL.Query()
	ns, err := param(q, "namespace")
	if err != nil {
		return err
	}
	if err := checkNamespace(ns); err != nil {
		return err
	}
	name, err := param(q, "policy")
	if err != nil {
		return err
	}
	if name == "" {
		name = "default"
	}
	if err := checkPolicyName(name); err != nil {
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

// findPolicy finds a policy by name, in ns or (ns "") in the one namespace
// that has it, and checks that the caller may get it. The result shares
// memory with the cache: read only.
func (s *Server) findPolicy(ctx context.Context, c *caller, ns, name string) (*subv1.SubscriptionPolicy, error) {
	need := access{verb: "get", resource: resourcePolicies, namespace: ns, name: name}
	if ns != "" {
		if err := s.authorize(ctx, c, need); err != nil {
			return nil, err
		}
		var p subv1.SubscriptionPolicy
		if err := s.cache.Get(ctx, types.NamespacedName{Namespace: ns, Name: name}, &p, client.UnsafeDisableDeepCopy); err != nil {
			if apierrors.IsNotFound(err) {
				return nil, newError(http.StatusNotFound, CodePolicyNotFound, "no SubscriptionPolicy %q in namespace %q", name, ns)
			}
			return nil, internalError(CodeInternal, "reading the policy from the cache", err)
		}
		return &p, nil
	}
	// Policies are few (one per namespace, typically): a scan is cheap.
	var list subv1.SubscriptionPolicyList
	if err := s.cache.List(ctx, &list, client.UnsafeDisableDeepCopy); err != nil {
		return nil, internalError(CodeInternal, "listing policies in the cache", err)
	}
	var found []*subv1.SubscriptionPolicy
	for i := range list.Items {
		if list.Items[i].Name == name {
			found = append(found, &list.Items[i])
		}
	}
	switch len(found) {
	case 0:
		need.name = ""
		if err := s.authorize(ctx, c, need); err != nil {
			return nil, withNamespaceHint(err, ns)
		}
		return nil, newError(http.StatusNotFound, CodePolicyNotFound, "no SubscriptionPolicy %q in any namespace", name)
	case 1:
		need.namespace = found[0].Namespace
		if err := s.authorize(ctx, c, need); err != nil {
			return nil, err
		}
		return found[0], nil
	default:
		return nil, newError(http.StatusBadRequest, CodeAmbiguousPolicy,
			"SubscriptionPolicy %q exists in %d namespaces; pass namespace to choose one", name, len(found))
	}
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
