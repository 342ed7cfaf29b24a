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

package browser

import (
	"fmt"
)

// The usage page as the browser renders it (internal/usagepage), read
// through DevTools: what the tests compare with the APIs.

// PageDOM is what the rendered page shows.
type PageDOM struct {
	Lang     string      `json:"lang"`
	Tenant   string      `json:"tenant"`
	Metrics  []MetricDOM `json:"metrics"`
	Features []struct {
		Name     string `json:"name"`
		Included bool   `json:"included"`
		Upgrade  string `json:"upgrade"`
		Preview  string `json:"preview"`
	} `json:"features"`
	SVGs []struct {
		Role  string `json:"role"`
		Label string `json:"label"`
		Title string `json:"title"`
	} `json:"svgs"`
	// Texts are text elements with their colours and the opaque colour behind them.
	Texts   []ColouredText `json:"texts"`
	Scripts int            `json:"scripts"`
}

// MetricDOM is one metric row.
type MetricDOM struct {
	Metric     string `json:"metric"`
	Current    int64  `json:"current"`
	Limit      int64  `json:"limit"` // -1: unlimited
	Status     string `json:"status"`
	StatusText string `json:"statusText"`
	Breach     string `json:"breach"`
}

// ColouredText is a text element and its rendered colours.
type ColouredText struct {
	What string `json:"what"`
	FG   string `json:"fg"`
	BG   string `json:"bg"`
}

// readPage collects PageDOM. The background of a text is the first opaque
// background among the element and its ancestors (the page is white).
const readPage = `(() => {
  const bgOf = (el) => {
    for (let e = el; e; e = e.parentElement) {
      const c = getComputedStyle(e).backgroundColor;
      if (c && c !== 'transparent' && !/rgba\(.*,\s*0\)$/.test(c)) return c;
    }
    return 'rgb(255, 255, 255)';
  };
  const texts = [];
  const add = (what, el) => { if (el) texts.push({what, fg: getComputedStyle(el).color, bg: bgOf(el)}); };
  add('body', document.body);
  document.querySelectorAll('.status').forEach((el, i) => add('status ' + i + ' ' + el.className, el));
  document.querySelectorAll('.muted, .inc, a, th, .price, .notice').forEach((el, i) => add(el.tagName + '.' + el.className + ' ' + i, el));
  const num = (el) => el ? Number(el.value) : -1;
  return {
    lang: document.documentElement.lang,
    tenant: (document.getElementById('tenant') || {}).textContent || '',
    metrics: [...document.querySelectorAll('tr.metric')].map(tr => ({
      metric: tr.dataset.metric,
      current: num(tr.querySelector('data.current')),
      limit: num(tr.querySelector('data.limit')),
      status: tr.dataset.status,
      statusText: tr.querySelector('.status').textContent,
      breach: (tr.querySelector('time.breach') || {}).textContent || '',
    })),
    features: [...document.querySelectorAll('li.feature')].map(li => ({
      name: li.dataset.feature, included: li.dataset.included === 'true',
      upgrade: (li.querySelector('a.cta') || {}).href || '', preview: (li.querySelector('a.preview') || {}).href || '',
    })),
    svgs: [...document.querySelectorAll('svg')].map(s => ({
      role: s.getAttribute('role') || '', label: s.getAttribute('aria-label') || '',
      title: (s.querySelector('title') || {}).textContent || '',
    })),
    texts,
    scripts: document.scripts.length,
  };
})()`

// ReadPage reads the usage page open in the browser.
func (b *Browser) ReadPage() (PageDOM, error) {
	return Eval[PageDOM](b, readPage)
}

// Check returns what is wrong with a rendered page regardless of its data:
// no lang attribute, a script, an SVG without role, label and title, a text
// whose contrast is below 4.5:1 (or whose colours did not apply).
func (p PageDOM) Check() []string {
	var bad []string
	if p.Lang == "" {
		bad = append(bad, "no lang attribute")
	}
	if p.Scripts != 0 {
		bad = append(bad, fmt.Sprintf("%d scripts", p.Scripts))
	}
	if len(p.SVGs) == 0 {
		bad = append(bad, "no SVG")
	}
	for i, s := range p.SVGs {
		if s.Role != "img" || s.Label == "" || s.Title != s.Label {
			bad = append(bad, fmt.Sprintf("SVG %d not labelled: role %q, aria-label %q, title %q", i, s.Role, s.Label, s.Title))
		}
	}
	for _, t := range p.Texts {
		ratio, err := Contrast(t.FG, t.BG)
		switch {
		case err != nil:
			bad = append(bad, fmt.Sprintf("%s: %v", t.What, err))
		case ratio < 4.5:
			bad = append(bad, fmt.Sprintf("%s: contrast %.2f:1 (%s on %s), want >= 4.5:1", t.What, ratio, t.FG, t.BG))
		}
	}
	return bad
}

// StatusColours returns the rendered (foreground, background) of each status class seen.
func (p PageDOM) StatusColours() map[string][2]string {
	out := map[string][2]string{}
	for _, t := range p.Texts {
		var i int
		var class string
		if n, _ := fmt.Sscanf(t.What, "status %d status %s", &i, &class); n == 2 {
			out[class] = [2]string{t.FG, t.BG}
		}
	}
	return out
}
