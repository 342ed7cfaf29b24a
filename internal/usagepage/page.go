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

// Package usagepage renders the usage page of a tenant (and the operators'
// list of tenants) as one self-contained HTML document: html/template, no
// JavaScript, no external assets, inline SVG bars and sparklines with a
// title and an aria-label, the status as text and colour, and one style
// element allowed by its hash in a strict Content-Security-Policy.
//
// It is pure: the caller builds a Page (see Build) from what it already
// holds (the compiled policy, the TenantUsage status, 30 days of history)
// and the package only renders it.
package usagepage

import (
	"bytes"
	"crypto/sha256"
	_ "embed"
	"encoding/base64"
	"fmt"
	"html/template"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
)

// TrendDays is the sparkline's window: day 0 is TrendDays-1 days before today.
const TrendDays = 30

// Page is what the tenant page shows.
type Page struct {
	Lang     string // one of Languages
	TenantID string
	Tier     string // display name
	TierName string
	// ForecastDate is the date of the forecast shown ("" when none ran yet).
	ForecastDate string
	// SnapshotsPaused is spec.suspend: snapshots stop, service does not (the
	// gateway does not deny a suspended tenant), so the page says the figures
	// are as of FiguresDate rather than that the account is suspended.
	SnapshotsPaused bool
	// FiguresDate is the last snapshot's date, else the forecast's ("" when
	// neither is known).
	FiguresDate string
	Metrics     []Metric
	Features    []Feature
}

// Metric is one metric's row.
type Metric struct {
	Name, Label, Unit string
	Current           int64
	// Limit is the effective limit; negative means unlimited.
	Limit int64
	// Percent is the usage percentage as the status has it ("" when unknown).
	Percent string
	Status  string // unlimited, safe, warning or critical
	// BreachDate is the predicted breach date (YYYY-MM-DD, "" when none);
	// Earliest and Latest the window around it, when the forecast has one
	// (status earliestBreachDate/latestBreachDate; Latest is "" when the
	// window has no far end).
	BreachDate, Earliest, Latest string
	DaysLeft                     *int32
	Trend                        []TrendPoint
}

// TrendPoint is one day of history; Day 0 is the oldest day of the window.
type TrendPoint struct {
	Day   int
	Value int64
}

// Feature is one gated feature.
type Feature struct {
	Name, Title string
	Included    bool
	// For a feature not included: the tier that unlocks it (display name),
	// its price, and where to upgrade or preview.
	// Price is the monthly price of RequiredTier ("" when free or custom).
	RequiredTier, Price, Currency, UpgradeURL, PreviewURL string
}

//go:embed style.css
var css string

//go:embed page.html.tmpl
var pageSource string

// cssHash is the CSP source of the one style element.
var cssHash = func() string {
	sum := sha256.Sum256([]byte(css))
	return "'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'"
}()

// ContentSecurityPolicy allows nothing but the page's own style element (by
// its hash), a data: favicon (so the browser asks for no /favicon.ico) and
// forms posted back to the same origin.
var ContentSecurityPolicy = "default-src 'none'; style-src " + cssHash +
	"; img-src data:; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"

func parse(name, src string) *template.Template {
	// The CSS is spliced in as template text, not as a value: a value in a
	// style element would be escaped as CSS, and its hash must be the text's.
	return template.Must(template.New(name).Parse(strings.Replace(src, "@@CSS@@", css, 1)))
}

var pageTemplate = parse("page", pageSource)

// SetHeaders sets the headers of a rendered page: HTML, the CSP, no caching
// by shared caches (the page is one tenant's), no framing, no referrer.
func SetHeaders(h http.Header) {
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Security-Policy", ContentSecurityPolicy)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cache-Control", "private, no-store")
}

// pageView is Page with every text decided, so the template only places
// them. Views have no embedded structs: text/template finds a promoted field
// with reflect's FieldByNameFunc, which was the largest cost of a render.
type pageView struct {
	Lang, TenantID, Tier, TierName, Generated string
	Paused                                    string
	T                                         *texts
	Metrics                                   []metricView
	Features                                  []featureView
}

type metricView struct {
	Name, Label, Unit, Status, Percent, BreachDate string
	Current, Limit                                 int64
	Limited                                        bool
	StatusText, BarLabel, TrendLabel, Window       string
	BarWidth, Spark, DaysLeft                      string
}

type featureView struct {
	Name, Title, UpgradeURL, PreviewURL string
	Included                            bool
	Needs, UpgradeText, PriceText       string
}

var bufs = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// Render writes the page.
func Render(w io.Writer, p *Page) error {
	t := textsFor(p.Lang)
	v := pageView{Lang: p.Lang, TenantID: p.TenantID, Tier: p.Tier, TierName: p.TierName,
		T: t, Metrics: make([]metricView, len(p.Metrics)), Features: make([]featureView, len(p.Features))}
	if p.ForecastDate != "" {
		v.Generated = fmt.Sprintf(t.Generated, p.ForecastDate)
	}
	if p.SnapshotsPaused {
		v.Paused = t.PausedNoDate
		if p.FiguresDate != "" {
			v.Paused = fmt.Sprintf(t.Paused, p.FiguresDate)
		}
	}
	for i := range p.Metrics {
		v.Metrics[i] = viewMetric(&p.Metrics[i], t)
	}
	for i := range p.Features {
		f := &p.Features[i]
		fv := featureView{Name: f.Name, Title: f.Title, Included: f.Included, UpgradeURL: f.UpgradeURL, PreviewURL: f.PreviewURL}
		if !f.Included {
			fv.Needs = fmt.Sprintf(t.Needs, f.RequiredTier)
			fv.UpgradeText = fmt.Sprintf(t.Upgrade, f.RequiredTier)
			if f.Price != "" {
				fv.PriceText = fmt.Sprintf(t.PerMonth, f.Price, f.Currency)
			}
		}
		v.Features[i] = fv
	}
	return execute(w, pageTemplate, &v)
}

func execute(w io.Writer, t *template.Template, v any) error {
	buf := bufs.Get().(*bytes.Buffer)
	buf.Reset()
	defer bufs.Put(buf)
	// Rendered whole before writing: a template error never leaves half a page.
	if err := t.Execute(buf, v); err != nil {
		return fmt.Errorf("rendering the usage page: %w", err)
	}
	if _, err := w.Write(buf.Bytes()); err != nil {
		return fmt.Errorf("writing the usage page: %w", err)
	}
	return nil
}

func viewMetric(m *Metric, t *texts) metricView {
	v := metricView{Name: m.Name, Label: m.Label, Unit: m.Unit, Status: m.Status, Percent: m.Percent,
		BreachDate: m.BreachDate, Current: m.Current, Limit: m.Limit, Limited: m.Limit >= 0}
	v.StatusText = t.Statuses[m.Status]
	if v.StatusText == "" {
		v.StatusText = m.Status
	}
	label := m.Label
	if label == "" {
		label = m.Name
	}
	cur := strconv.FormatInt(m.Current, 10)
	if v.Limited {
		v.BarLabel = fmt.Sprintf(t.BarLabel, label, cur, strconv.FormatInt(m.Limit, 10))
	} else {
		v.BarLabel = fmt.Sprintf(t.BarLabel, label, cur, t.Unlimited)
	}
	v.BarWidth = barWidth(m.Current, m.Limit)
	v.TrendLabel = fmt.Sprintf(t.TrendLabel, label)
	v.Spark = sparkline(m.Trend)
	switch {
	case m.Earliest != "" && m.Latest != "":
		v.Window = fmt.Sprintf(t.Between, m.Earliest, m.Latest)
	case m.Earliest != "":
		// The window's far end is beyond the forecast's horizon.
		v.Window = fmt.Sprintf(t.NotBefore, m.Earliest)
	}
	if m.BreachDate != "" && m.DaysLeft != nil {
		if *m.DaysLeft == 1 {
			v.DaysLeft = t.DayLeft
		} else {
			v.DaysLeft = fmt.Sprintf(t.DaysLeft, *m.DaysLeft)
		}
	}
	return v
}
