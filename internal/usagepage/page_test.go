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

package usagepage_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	subv1 "github.com/bakery-ia/subscription-operator/api/v1alpha1"
	"github.com/bakery-ia/subscription-operator/internal/history"
	"github.com/bakery-ia/subscription-operator/internal/policy"
	"github.com/bakery-ia/subscription-operator/internal/policy/policytest"
	"github.com/bakery-ia/subscription-operator/internal/testenv/cputime"
	"github.com/bakery-ia/subscription-operator/internal/testenv/golden"
	"github.com/bakery-ia/subscription-operator/internal/usagepage"
)

const today = "2026-12-02"

func spec(t testing.TB) *policy.Spec {
	t.Helper()
	s, err := policy.CompileSpec(policytest.Policy())
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func ptr[T any](v T) *T { return &v }

// tenant is a starter tenant with n metrics: products (warning, breach in 9
// days), api_calls (critical), and n-2 more of every status.
func tenant(n int) *subv1.TenantUsage {
	tu := &subv1.TenantUsage{
		ObjectMeta: metav1.ObjectMeta{Name: "panaderia-san-pablo", Namespace: "bakery-ia"},
		Spec:       subv1.TenantUsageSpec{TenantID: "panaderia-san-pablo", Tier: "starter"},
	}
	tu.Status.ForecastedAt = &metav1.Time{Time: time.Date(2026, 12, 2, 2, 0, 5, 0, time.UTC)}
	tu.Status.Metrics = []subv1.MetricForecast{
		{Metric: "products", Label: "Products", Current: 42, Limit: ptr(int64(50)), DailyGrowthRate: ptr("0.9"),
			PredictedBreachDate: ptr("2026-12-11"), EarliestBreachDate: ptr("2026-12-09"), LatestBreachDate: ptr("2026-12-14"), DaysUntilBreach: ptr(int32(9)), UsagePercentage: ptr("84"), Status: subv1.UsageWarning},
		{Metric: "api_calls", Label: "API calls", Unit: "per day", Current: 950, Limit: ptr(int64(1000)), DailyGrowthRate: ptr("12.5"),
			PredictedBreachDate: ptr("2026-12-06"), EarliestBreachDate: ptr("2026-12-05"), DaysUntilBreach: ptr(int32(4)), UsagePercentage: ptr("95"), Status: subv1.UsageCritical},
	}
	statuses := []subv1.UsageStatus{subv1.UsageSafe, subv1.UsageUnlimited, subv1.UsageWarning, subv1.UsageCritical}
	for i := 2; i < n; i++ {
		m := subv1.MetricForecast{Metric: fmt.Sprintf("metric_%d", i), Label: fmt.Sprintf("Metric number %d", i),
			Current: int64(1000 * i), Status: statuses[i%4]}
		if m.Status != subv1.UsageUnlimited {
			m.Limit = ptr(int64(5000 * i))
			m.UsagePercentage = ptr("20")
			m.PredictedBreachDate, m.DaysUntilBreach = ptr("2027-03-01"), ptr(int32(89))
		}
		tu.Status.Metrics = append(tu.Status.Metrics, m)
	}
	tu.Status.Summary = &subv1.ForecastSummary{Status: subv1.UsageCritical, DaysUntilBreach: ptr(int32(4)), Metric: "api_calls"}
	return tu
}

// trend is 30 days of growing values per metric, with a gap on day 10.
func trend(tu *subv1.TenantUsage) map[string][]history.Point {
	out := map[string][]history.Point{}
	end, _ := time.Parse(time.DateOnly, today)
	for _, m := range tu.Status.Metrics {
		var pts []history.Point
		for back := usagepage.TrendDays - 1; back >= 0; back-- {
			if back == 10 {
				continue
			}
			v := m.Current - int64(back)*m.Current/60
			pts = append(pts, history.Point{Date: end.AddDate(0, 0, -back).Format(time.DateOnly), Value: v})
		}
		out[m.Metric] = pts
	}
	return out
}

func render(t testing.TB, lang string, n int) []byte {
	t.Helper()
	tu := tenant(n)
	p := usagepage.Build(usagepage.Input{Spec: spec(t), Tenant: tu, Trend: trend(tu), Today: today, Lang: lang})
	var b bytes.Buffer
	if err := usagepage.Render(&b, p); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// The breach window comes from the status (earliest/latestBreachDate), an
// open-ended one (no latest) as "not before".
func TestWindowFromStatus(t *testing.T) {
	tu := tenant(2)
	p := usagepage.Build(usagepage.Input{Spec: spec(t), Tenant: tu, Today: today, Lang: "en"})
	if got := [2]string{p.Metrics[0].Earliest, p.Metrics[0].Latest}; got != [2]string{"2026-12-09", "2026-12-14"} {
		t.Errorf("products window = %v", got)
	}
	if got := [2]string{p.Metrics[1].Earliest, p.Metrics[1].Latest}; got != [2]string{"2026-12-05", ""} {
		t.Errorf("api_calls window = %v", got)
	}
}

func TestPageGolden(t *testing.T) {
	for _, lang := range usagepage.Languages {
		t.Run(lang, func(t *testing.T) {
			golden.Assert(t, "page_"+lang+".html", render(t, lang, 3))
		})
	}
}

// spec.suspend pauses snapshots, not service: the page says the figures are
// as of the last snapshot (else the forecast), never that the account is
// suspended, and its features are the unsuspended page's.
func TestSnapshotsPausedGolden(t *testing.T) {
	for _, lang := range usagepage.Languages {
		t.Run(lang, func(t *testing.T) {
			tu := tenant(3)
			tu.Spec.Suspend, tu.Status.LastSnapshotDate = true, "2026-11-28"
			p := usagepage.Build(usagepage.Input{Spec: spec(t), Tenant: tu, Trend: trend(tu), Today: today, Lang: lang})
			tu.Spec.Suspend = false
			awake := usagepage.Build(usagepage.Input{Spec: spec(t), Tenant: tu, Trend: trend(tu), Today: today, Lang: lang})
			if !reflect.DeepEqual(p.Features, awake.Features) {
				t.Fatalf("features differ when suspended:\n%+v\n%+v", p.Features, awake.Features)
			}
			var b bytes.Buffer
			if err := usagepage.Render(&b, p); err != nil {
				t.Fatal(err)
			}
			if strings.Contains(strings.ToLower(b.String()), "suspend") {
				t.Error("the page says suspended")
			}
			golden.Assert(t, "page_paused_"+lang+".html", b.Bytes())
		})
	}
}

func TestSnapshotsPausedDate(t *testing.T) {
	for _, tc := range []struct{ last, want string }{
		{"2026-11-28", "Usage snapshots are paused for this account; figures are from 2026-11-28."},
		{"", "Usage snapshots are paused for this account; figures are from 2026-12-02."}, // the forecast's date
	} {
		tu := tenant(2)
		tu.Spec.Suspend, tu.Status.LastSnapshotDate = true, tc.last
		var b bytes.Buffer
		if err := usagepage.Render(&b, usagepage.Build(usagepage.Input{Spec: spec(t), Tenant: tu, Today: today, Lang: "en"})); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(b.String(), tc.want) {
			t.Errorf("last %q: no %q", tc.last, tc.want)
		}
	}
	tu := tenant(2)
	tu.Spec.Suspend, tu.Status.ForecastedAt = true, nil
	var b bytes.Buffer
	if err := usagepage.Render(&b, usagepage.Build(usagepage.Input{Spec: spec(t), Tenant: tu, Today: today, Lang: "eu"})); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), ">Kontu honen erabilera-argazkiak etenda daude.<") {
		t.Errorf("no date: %s", b.String())
	}
}

func TestListGolden(t *testing.T) {
	s := spec(t)
	var rows []usagepage.Row
	for _, tu := range []*subv1.TenantUsage{tenant(3), tenant(0)} {
		rows = append(rows, usagepage.RowOf(s, tu))
	}
	other := tenant(2)
	other.Spec.TenantID, other.Spec.Tier = "obrador-donostia", "professional"
	other.Status.Summary = &subv1.ForecastSummary{Status: subv1.UsageSafe}
	rows = append(rows, usagepage.RowOf(s, other))
	rows[1].TenantID = "horno-central"
	usagepage.SortRows(rows)
	for _, lang := range usagepage.Languages {
		var b bytes.Buffer
		if err := usagepage.RenderList(&b, &usagepage.List{Lang: lang, Namespace: "bakery-ia", Status: "critical", Tiers: s.Tiers, Rows: rows}); err != nil {
			t.Fatal(err)
		}
		golden.Assert(t, "list_"+lang+".html", b.Bytes())
	}
}

// TestNineMetricsUnder30KB: the size budget.
func TestNineMetricsUnder30KB(t *testing.T) {
	for _, lang := range usagepage.Languages {
		if n := len(render(t, lang, 9)); n >= 30<<10 {
			t.Errorf("%s: %d bytes for nine metrics, want < 30 KiB", lang, n)
		}
	}
}

var styleRE = regexp.MustCompile(`(?s)<style>(.*?)</style>`)

// TestCSPAllowsExactlyTheStyle: the style element's hash is the one in the
// policy, there is one style element, and no script, style attribute,
// event handler or external reference anywhere.
func TestCSPAllowsExactlyTheStyle(t *testing.T) {
	page := string(render(t, "en", 9))
	styles := styleRE.FindAllStringSubmatch(page, -1)
	if len(styles) != 1 {
		t.Fatalf("%d style elements, want 1", len(styles))
	}
	sum := sha256.Sum256([]byte(styles[0][1]))
	want := "style-src 'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'"
	if !strings.Contains(usagepage.ContentSecurityPolicy, want) {
		t.Errorf("CSP %q lacks %q", usagepage.ContentSecurityPolicy, want)
	}
	for _, bad := range []string{"<script", " style=", "http://", "https://", "src="} {
		if strings.Contains(strings.ToLower(page), bad) {
			t.Errorf("page contains %q", bad)
		}
	}
	if h := regexp.MustCompile(`(?i)\son[a-z]+=`).FindString(page); h != "" {
		t.Errorf("page has an event handler attribute %q", h)
	}
	if !strings.Contains(usagepage.ContentSecurityPolicy, "default-src 'none'") {
		t.Error("CSP does not default to none")
	}
}

// TestHostileTexts: policy and status texts are data, never markup, and a
// javascript: URL never becomes a link.
func TestHostileTexts(t *testing.T) {
	tu := tenant(2)
	tu.Spec.TenantID = "x"
	tu.Status.Metrics[0].Label = `</title><script>alert(1)</script>`
	tu.Status.Metrics[0].Unit = `"><svg onload=alert(1)>`
	tu.Status.Metrics[0].PredictedBreachDate = ptr(`2026-12-11"><b>`)
	pol := policytest.Policy()
	pol.Spec.Features[0].PreviewURL = "javascript:alert(1)"
	pol.Spec.Gateway.UpgradeURL = "javascript:alert(2)//"
	m := pol.Spec.Features[0].Messages["en"]
	m.Title = `<img src=x onerror=alert(1)>`
	pol.Spec.Features[0].Messages["en"] = m
	s, err := policy.CompileSpec(pol)
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := usagepage.Render(&b, usagepage.Build(usagepage.Input{Spec: s, Tenant: tu, Today: today, Lang: "en"})); err != nil {
		t.Fatal(err)
	}
	page := b.String()
	for _, bad := range []string{"<script", "<img", "<svg onload", "javascript:", `"><b>`} {
		if strings.Contains(page, bad) {
			t.Errorf("page contains %q:\n%s", bad, page)
		}
	}
}

func TestNegotiator(t *testing.T) {
	n := usagepage.NewNegotiator()
	for accept, want := range map[string]string{
		"": "en", "es-ES,es;q=0.9": "es", "eu": "eu", "eu-ES;q=0.8,en;q=0.5": "eu", "fr": "en",
		"de, es;q=0.1": "es", ";;;q=x": "en", strings.Repeat("es,", 300): "es", "en-GB": "en", "ca, es;q=0.5": "es",
	} {
		if got := n.Pick(accept); got != want {
			t.Errorf("Pick(%.40q) = %q, want %q", accept, got, want)
		}
		if got := n.Pick(accept); got != want { // cached
			t.Errorf("second Pick(%.40q) = %q, want %q", accept, got, want)
		}
	}
}

func TestSortRows(t *testing.T) {
	rows := []usagepage.Row{
		{TenantID: "c", Status: "safe"},
		{TenantID: "b", Status: "critical"},
		{TenantID: "a", Status: "warning", DaysLeft: ptr(int32(20))},
		{TenantID: "d", Status: "critical", DaysLeft: ptr(int32(3))},
		{TenantID: "e", Status: "warning", DaysLeft: ptr(int32(3))},
	}
	usagepage.SortRows(rows)
	var got []string
	for _, r := range rows {
		got = append(got, r.TenantID)
	}
	if strings.Join(got, ",") != "d,e,a,b,c" {
		t.Errorf("order %v, want d,e,a,b,c", got)
	}
}

func FuzzRender(f *testing.F) {
	f.Add("Products", "2026-12-11", "/app/x", int64(42), int64(50), "es")
	f.Add(`</style><script>`, `"'><`, "javascript:alert(1)", int64(-5), int64(0), "eu")
	f.Fuzz(func(t *testing.T, label, date, url string, cur, limit int64, accept string) {
		p := &usagepage.Page{Lang: usagepage.NewNegotiator().Pick(accept), TenantID: label,
			Metrics:  []usagepage.Metric{{Name: label, Label: label, Unit: label, Current: cur, Limit: limit, Status: label, BreachDate: date, Earliest: date, Latest: date, Trend: []usagepage.TrendPoint{{Day: int(cur % 40), Value: cur}, {Day: int(limit % 40), Value: limit}}}},
			Features: []usagepage.Feature{{Name: label, Title: label, RequiredTier: label, Price: label, UpgradeURL: url, PreviewURL: url}}}
		var b bytes.Buffer
		if err := usagepage.Render(&b, p); err != nil {
			t.Fatal(err)
		}
		page := b.String()
		if strings.Count(page, "<script") != 0 || strings.Count(page, "<style>") != 1 {
			t.Fatalf("markup injected:\n%s", page)
		}
	})
}

// BenchmarkRender is the render budget (≤ 1 ms for a page): nine
// metrics with 30-day sparklines and every feature.
func BenchmarkRender(b *testing.B) {
	tu := tenant(9)
	in := usagepage.Input{Spec: spec(b), Tenant: tu, Trend: trend(tu), Today: today, Lang: "es"}
	var buf bytes.Buffer
	b.ReportAllocs()
	cpu0 := cputime.Process()
	for b.Loop() {
		buf.Reset()
		if err := usagepage.Render(&buf, usagepage.Build(in)); err != nil {
			b.Fatal(err)
		}
	}
	// CPU time per page beside ns/op: on a shared machine wall time also
	// counts the time other processes held the core.
	b.ReportMetric(float64(cputime.Process()-cpu0)/float64(b.N)/1e3, "cpu-µs/op")
	b.ReportMetric(float64(buf.Len()), "bytes/page")
}
