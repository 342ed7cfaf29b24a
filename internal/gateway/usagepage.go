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
	"bytes"
	"context"
	"net/http"
	"strconv"
	"strings"
	"time"

	subv1 "github.com/bakery-ia/subscription-operator/api/v1alpha1"
	"github.com/bakery-ia/subscription-operator/internal/history"
	"github.com/bakery-ia/subscription-operator/internal/usagepage"
)

// The usage page: the calling tenant's own usage, forecast and features,
// served by the gateway itself (never forwarded, never counted) at
// UsagePageOptions.Path. The tenant is identified exactly as for gated
// routes (verified JWT claim, trusted header, or with path identity the
// segment after the page's path); nothing in the request can name another
// tenant. The numbers are the TenantUsage status the watcher already holds
// (its compact record, cachetransform.go); the 30-day sparklines come from
// the history store in one round trip.

// DefaultUsagePagePath is where the page is served unless configured.
const DefaultUsagePagePath = "/_subscription/usage"

// usagePageHistoryTimeout bounds the history read; the page is served
// without sparklines when it runs out.
const usagePageHistoryTimeout = 300 * time.Millisecond

// UsageHistory reads a tenant's daily values (*history.Store).
type UsageHistory interface {
	Read(ctx context.Context, tenantID string, metrics []string, today string, days int) (map[string][]history.Point, error)
}

// UsagePageOptions configure the usage page.
type UsagePageOptions struct {
	// Path is the page's path (default DefaultUsagePagePath).
	Path string
	// Disabled turns the page off: its path is proxied like any other.
	Disabled bool
	// History gives the sparklines; nil: none.
	History UsageHistory
}

// pageLangs negotiates the page's language with the 402's negotiator over
// the languages the page is written in.
var pageLangs = newNegotiator(usagepage.Languages)

// path is the page's path without a trailing slash; "" when the page is off.
func (o UsagePageOptions) path() string {
	if o.Disabled {
		return ""
	}
	path := o.Path
	if path == "" {
		path = DefaultUsagePagePath
	}
	return "/" + strings.Trim(path, "/")
}

// usagePageRest reports whether the normalised path (the one the proxy
// decides on) is the usage page's, and what follows the page's path. Matching
// the decided path means no spelling of the page's path reaches the upstream
// and no other path is taken for it.
func (g *Gateway) usagePageRest(decoded string) (string, bool) {
	path := g.usagePage
	if path == "" || (decoded != path && !strings.HasPrefix(decoded, path+"/")) {
		return "", false
	}
	return strings.TrimPrefix(decoded[len(path):], "/"), true
}

// serveUsagePage answers the page; rest is the path after the page's path.
func (g *Gateway) serveUsagePage(w http.ResponseWriter, r *http.Request, rest string) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	st := g.cur.Load()
	if st == nil {
		g.writeDenied(w, r, &Decision{Outcome: Unavailable}, modeFull)
		return
	}
	d := Decision{st: st}
	var tenant string
	switch {
	case st.table.Identity.From == subv1.IdentityPath:
		// Path identity: <path>/<tenant>, one segment, nothing after it.
		if validTenantID(rest) {
			tenant = rest
		}
	case rest != "":
		http.NotFound(w, r)
		return
	case st.table.Identity.From == subv1.IdentityJWTClaim && st.verifier == nil:
		g.writeDenied(w, r, &Decision{Outcome: Unavailable, st: st}, modeFull)
		return
	default:
		tenant, d.authErr = g.identify(st, "", r.Header)
	}
	if tenant == "" {
		d.Outcome = Unauthenticated
		g.writeDenied(w, r, &d, modeFull)
		return
	}
	// The page reads what the entitlements endpoint reads: the bound tenant
	// of the table in force and its record's status. No TenantUsage: the
	// tenant is treated as the lowest tier, as Decide does.
	tu := &subv1.TenantUsage{Spec: subv1.TenantUsageSpec{TenantID: tenant, Tier: st.r.lowest.Tier}}
	if tn, ok := st.table.Tenant(tenant); ok {
		tu.Spec.Tier, tu.Spec.Suspend = tn.DeclaredTier, tn.Suspended
		if rec := st.record(r.Context(), tn); rec != nil {
			tu.Status = rec.Status()
		}
	}
	spec := st.table.Spec
	today := spec.Today(g.clock.Now())
	lang := usagepage.Languages[pageLangs.pick(r.Header.Get("Accept-Language"))]
	in := usagepage.Input{Spec: spec, Tenant: tu, Today: today, Lang: lang}
	if h := g.opts.UsagePage.History; h != nil && len(tu.Status.Metrics) > 0 {
		names := make([]string, len(tu.Status.Metrics))
		for i := range tu.Status.Metrics {
			names[i] = tu.Status.Metrics[i].Metric
		}
		ctx, cancel := context.WithTimeout(r.Context(), usagePageHistoryTimeout)
		trend, err := h.Read(ctx, tenant, names, today, usagepage.TrendDays)
		cancel()
		if err != nil {
			// The numbers and offers do not depend on history: serve them.
			g.log.Warn("usage page without sparklines: reading the history failed", "tenant", tenant, "error", err)
		}
		in.Trend = trend
	}
	var buf bytes.Buffer
	if err := usagepage.Render(&buf, usagepage.Build(in)); err != nil {
		g.log.Error("rendering the usage page", "tenant", tenant, "error", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	usagepage.SetHeaders(h)
	h.Set("Content-Language", lang)
	h.Set("Vary", "Accept-Language, Authorization, "+st.r.header)
	h.Set("Content-Length", strconv.Itoa(buf.Len()))
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		_, _ = w.Write(buf.Bytes())
	}
}
