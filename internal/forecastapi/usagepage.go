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
	"bytes"
	"net/http"
	"slices"
	"strconv"

	"sigs.k8s.io/controller-runtime/pkg/client"

	subv1 "github.com/bakery-ia/subscription-operator/api/v1alpha1"
	"github.com/bakery-ia/subscription-operator/internal/history"
	"github.com/bakery-ia/subscription-operator/internal/kube"
	"github.com/bakery-ia/subscription-operator/internal/policy"
	"github.com/bakery-ia/subscription-operator/internal/usagepage"
)

// The usage page for operators (docs/usage-page.md): GET /usage?namespace=NS
// lists every tenant of a namespace, closest to a limit first, filtered by
// status and tier; with tenant_id it shows that tenant's page, the one the
// gateway shows the tenant itself. Same authentication as the JSON API, and
// authorised before anything is looked up: listing needs "list tenantusages"
// in the namespace, one tenant "get tenantusages" (see findTenant).

// PathUsagePage is the operators' usage page.
const PathUsagePage = "/usage"

const endpointUsagePage = "/usage"

const verbGet = "get"

var pageLangs = usagepage.NewNegotiator()

// usageQuery is the parsed query of GET /usage.
type usageQuery struct {
	namespace, tenantID, status, tier string
}

func parseUsageQuery(raw string) (usageQuery, error) {
	var u usageQuery
	q, err := parseQuery(raw)
	if err != nil {
		return u, err
	}
	for name, into := range map[string]*string{"namespace": &u.namespace, "tenant_id": &u.tenantID, "status": &u.status, "tier": &u.tier} {
		if *into, err = param(q, name); err != nil {
			return u, err
		}
	}
	if u.namespace == "" {
		return u, newError(http.StatusBadRequest, CodeInvalidParameter, "namespace is required: the page lists the tenants of one namespace")
	}
	if err := checkNamespace(u.namespace); err != nil {
		return u, err
	}
	if u.tenantID != "" {
		if err := checkTenantID(u.tenantID); err != nil {
			return u, err
		}
	}
	if u.status != "" && !slices.Contains(usagepage.Statuses, u.status) {
		return u, newError(http.StatusBadRequest, CodeInvalidParameter, "status %q is not one of %v", truncate(u.status, 40), usagepage.Statuses)
	}
	if len(u.tier) > 63 {
		return u, newError(http.StatusBadRequest, CodeInvalidParameter, "tier is longer than 63 characters")
	}
	return u, nil
}

// serveUsagePage answers GET /usage.
func (s *Server) serveUsagePage(w http.ResponseWriter, r *http.Request, c *caller) error {
	q, err := parseUsageQuery(r.URL.RawQuery)
	if err != nil {
		return err
	}
	lang := pageLangs.Pick(r.Header.Get("Accept-Language"))
	var buf bytes.Buffer
	if q.tenantID != "" {
		err = s.renderTenantPage(r, c, q, lang, &buf)
	} else {
		err = s.renderTenantList(r, c, q, lang, &buf)
	}
	if err != nil {
		return err
	}
	h := w.Header()
	usagepage.SetHeaders(h)
	h.Set("Content-Language", lang)
	h.Set("Vary", "Accept-Language, Authorization")
	h.Set("Content-Length", strconv.Itoa(buf.Len()))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(buf.Bytes())
	return nil
}

// specOf returns the compiled policy of a tenant, or nil when it is missing
// or invalid (the policy controller reports that; the page still shows the
// status).
func (s *Server) specOf(r *http.Request, tu *subv1.TenantUsage, seen map[client.ObjectKey]*policy.Spec) *policy.Spec {
	key := kube.PolicyKey(tu)
	if spec, ok := seen[key]; ok {
		return spec
	}
	var spec *policy.Spec
	var pol subv1.SubscriptionPolicy
	if err := s.cache.Get(r.Context(), key, &pol, client.UnsafeDisableDeepCopy); err == nil {
		if compiled, err := s.compiled(&pol); err == nil {
			spec = compiled
		}
	}
	if seen != nil {
		seen[key] = spec
	}
	return spec
}

func (s *Server) renderTenantPage(r *http.Request, c *caller, q usageQuery, lang string, buf *bytes.Buffer) error {
	ctx := r.Context()
	tu, err := s.findTenant(ctx, c, q.tenantID, q.namespace, access{verb: verbGet, resource: resourceTenantUsages})
	if err != nil {
		return err
	}
	spec := s.specOf(r, tu, nil)
	if spec == nil {
		return newError(http.StatusConflict, CodeInvalidPolicy, "the SubscriptionPolicy %s of tenant %q is missing or invalid", kube.PolicyKey(tu), q.tenantID)
	}
	today := spec.Today(s.clock.Now())
	var trend map[string][]history.Point
	if len(tu.Status.Metrics) > 0 {
		names := make([]string, len(tu.Status.Metrics))
		for i := range tu.Status.Metrics {
			names[i] = tu.Status.Metrics[i].Metric
		}
		if trend, err = s.history.Read(ctx, tu.Spec.TenantID, names, today, usagepage.TrendDays); err != nil {
			return internalError(CodeHistoryUnavailable, "reading the usage history", err)
		}
	}
	if err := usagepage.Render(buf, usagepage.Build(usagepage.Input{Spec: spec, Tenant: tu, Trend: trend, Today: today, Lang: lang})); err != nil {
		return internalError(CodeInternal, "rendering the usage page", err)
	}
	return nil
}

func (s *Server) renderTenantList(r *http.Request, c *caller, q usageQuery, lang string, buf *bytes.Buffer) error {
	ctx := r.Context()
	if err := s.authorize(ctx, c, access{verb: "list", resource: resourceTenantUsages, namespace: q.namespace}); err != nil {
		return err
	}
	var list subv1.TenantUsageList
	if err := s.cache.List(ctx, &list, client.InNamespace(q.namespace), client.UnsafeDisableDeepCopy); err != nil {
		return internalError(CodeInternal, "listing tenants in the cache", err)
	}
	l := &usagepage.List{Lang: lang, Namespace: q.namespace, Status: q.status, Tier: q.tier}
	specs := map[client.ObjectKey]*policy.Spec{}
	tierSeen := map[string]bool{}
	for i := range list.Items {
		tu := &list.Items[i]
		spec := s.specOf(r, tu, specs)
		row := usagepage.RowOf(spec, tu)
		if spec != nil {
			for _, t := range spec.Tiers {
				if !tierSeen[t.Name] {
					tierSeen[t.Name] = true
					l.Tiers = append(l.Tiers, t)
				}
			}
		}
		if (q.status == "" || row.Status == q.status) && (q.tier == "" || row.TierName == q.tier) {
			l.Rows = append(l.Rows, row)
		}
	}
	usagepage.SortRows(l.Rows)
	if err := usagepage.RenderList(buf, l); err != nil {
		return internalError(CodeInternal, "rendering the usage page", err)
	}
	return nil
}
