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
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/bakery-ia/subscription-operator/internal/entitlement"
	"github.com/bakery-ia/subscription-operator/internal/policy"
)

// Response bodies. The 402 bodies are rendered once per (feature, tier,
// language) when a policy is compiled; a request only picks one and writes
// it. The 429 body is rendered per (tier, language) into fixed parts with the
// counts, Retry-After and reset time spliced in per request.

// upgradeBody is the seed's enhanced 402 body (field order is the contract).
type upgradeBody struct {
	Error      string            `json:"error"`
	Code       string            `json:"code"`
	StatusCode int               `json:"status_code"`
	Message    string            `json:"message"`
	Details    entitlement.Offer `json:"details"`
}

type benefit struct {
	Text string `json:"text"`
	Icon string `json:"icon"`
}

type pricing struct {
	MonthlyPrice json.Number `json:"monthly_price"`
	PerDayCost   json.Number `json:"per_day_cost"`
	Currency     string      `json:"currency"`
}

// quotaBody is the 429 body: the same shape of upgrade offer, for the next
// tier with a higher (or no) api_calls limit, plus the usage and reset time.
type quotaBody struct {
	Error      string       `json:"error"`
	Code       string       `json:"code"`
	StatusCode int          `json:"status_code"`
	Message    string       `json:"message"`
	Details    quotaDetails `json:"details"`
}

type quotaDetails struct {
	Metric            string    `json:"metric"`
	CurrentUsage      int64     `json:"current_usage"`
	Limit             int64     `json:"limit"`
	CurrentTier       string    `json:"current_tier"`
	MinimumTier       *string   `json:"minimum_tier"`
	Title             string    `json:"title"`
	Description       string    `json:"description"`
	Benefits          []benefit `json:"benefits"`
	UpgradeURL        *string   `json:"upgrade_url"`
	Pricing           *pricing  `json:"pricing"`
	RetryAfterSeconds int64     `json:"retry_after_seconds"`
	ResetsAt          string    `json:"resets_at"`
}

// errorBody is the 401 and 503 body.
type errorBody struct {
	Error      string `json:"error"`
	Code       string `json:"code"`
	StatusCode int    `json:"status_code"`
	Message    string `json:"message"`
}

// Codes of the bodies, also sent as X-Error-Code by the nginx adapter.
const (
	CodeUpgradeRequired  = "SUBSCRIPTION_UPGRADE_REQUIRED"
	CodeQuotaExceeded    = "USAGE_LIMIT_EXCEEDED"
	CodeIdentityRequired = "TENANT_IDENTITY_REQUIRED"
	CodeRulesUnavailable = "SUBSCRIPTION_RULES_UNAVAILABLE"
)

// builtin holds the gateway's own texts (the policy only carries feature
// offers). Languages missing here fall back to English.
type builtin struct {
	quotaTitle, quotaDescription   string // description: %s = time zone
	benefitLimit, benefitUnlimited string // benefitLimit: %s = limit
	unauthenticated, unavailable   string
}

var builtins = map[string]builtin{
	"en": {
		quotaTitle:       "Daily API call limit reached",
		quotaDescription: "Your plan's API calls for today are used up. The counter resets at midnight (%s).",
		benefitLimit:     "Up to %s API calls per day",
		benefitUnlimited: "Unlimited API calls",
		unauthenticated:  "This route needs a valid tenant identity.",
		unavailable:      "Subscription rules are not loaded yet; try again shortly.",
	},
	"es": {
		quotaTitle:       "Has alcanzado el límite diario de llamadas a la API",
		quotaDescription: "Has agotado las llamadas a la API que tu plan incluye para hoy. El contador se reinicia a medianoche (%s).",
		benefitLimit:     "Hasta %s llamadas a la API al día",
		benefitUnlimited: "Llamadas a la API ilimitadas",
		unauthenticated:  "Esta ruta necesita una identidad de cliente válida.",
		unavailable:      "Las reglas de suscripción aún no se han cargado; inténtalo de nuevo en unos instantes.",
	},
	"eu": {
		quotaTitle:       "API deien eguneko mugara iritsi zara",
		quotaDescription: "Zure planak gaurko eskaintzen dituen API deiak agortu dituzu. Kontagailua gauerdian berrabiarazten da (%s).",
		benefitLimit:     "Egunean %s API dei arte",
		benefitUnlimited: "API dei mugagabeak",
		unauthenticated:  "Bide honek bezero-identitate baliozko bat behar du.",
		unavailable:      "Harpidetza-arauak ez dira oraindik kargatu; saiatu berriro laster.",
	},
}

func builtinFor(lang string) (builtin, string) {
	if b, ok := builtins[lang]; ok {
		return b, lang
	}
	return builtins[policy.FallbackLanguage], policy.FallbackLanguage
}

// builtinLangs are the languages of the 401/503 bodies, which exist before
// (and without) any policy.
var builtinLangs = []string{"en", "es", "eu"}

// response is a pre-rendered answer.
type response struct {
	status        int
	code          string
	body          []byte
	contentLength []string
	language      []string
	// upgradeURL is the 402 offer's URL as a header value (the nginx adapter's X-Upgrade-Url).
	upgradeURL []string
}

func newResponse(status int, code string, body []byte, lang string) *response {
	return &response{status: status, code: code, body: body,
		contentLength: []string{strconv.Itoa(len(body))}, language: []string{lang}}
}

func marshal(v any) []byte {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false) // keep & in upgrade_url and € as they are
	if err := enc.Encode(v); err != nil {
		panic(fmt.Sprintf("gateway: rendering body: %v", err)) // only plain structs of strings and numbers
	}
	return buf.Bytes()
}

// pricingOf renders an offer's price (nil for a free or custom-priced tier).
func pricingOf(o policy.Offer) *pricing {
	if o.Price == nil {
		return nil
	}
	return &pricing{
		MonthlyPrice: json.Number(o.Price.Monthly),
		PerDayCost:   json.Number(o.Price.PerDay),
		Currency:     o.Price.Currency,
	}
}

// renderUpgrade renders the 402 body for a tenant on tier current calling f,
// in lang. The offer (tier, price, URL) is the compiled policy's; this only
// renders it.
func renderUpgrade(r *policy.Rules, f *policy.Feature, current policy.Tier, lang string) *response {
	// The details are the entitlement API's offer, field for field: one
	// builder for both answers.
	d := entitlement.FeatureOffer(r.Spec, f, current, lang)
	_, used, _ := f.Message(lang)
	body := marshal(upgradeBody{
		Error: "subscription_tier_insufficient", Code: CodeUpgradeRequired, StatusCode: 402,
		Message: d.Title, Details: d,
	})
	resp := newResponse(402, CodeUpgradeRequired, body, used)
	resp.upgradeURL = []string{d.UpgradeURL}
	return resp
}

// Sentinels marking the per-request values of the 429 body.
const (
	sentUsage  int64 = 7_000_000_000_000_000_001
	sentLimit  int64 = 7_000_000_000_000_000_002
	sentRetry  int64 = 7_000_000_000_000_000_003
	sentResets       = "@@resets_at@@"
)

// quotaTemplate is the 429 body cut at the per-request values.
type quotaTemplate struct {
	parts    [][]byte // len(slots)+1
	slots    []int    // which value goes after parts[i]: 0 usage, 1 limit, 2 retry, 3 resets
	language []string
	// upgradeTier and upgradeURL are the offer's header values for the nginx
	// adapter (nil when no tier offers more).
	upgradeTier, upgradeURL []string
}

func renderQuota(r *policy.Rules, current policy.Tier, lang string) *quotaTemplate {
	b, used := builtinFor(lang)
	d := quotaDetails{
		Metric: policy.APICallsMetric, CurrentUsage: sentUsage, Limit: sentLimit,
		CurrentTier: current.Name, Title: b.quotaTitle,
		Description: fmt.Sprintf(b.quotaDescription, r.TimeZone), Benefits: []benefit{},
		RetryAfterSeconds: sentRetry, ResetsAt: sentResets,
	}
	t := &quotaTemplate{language: []string{used}}
	// The policy decides the offer (LimitOffer, against the tier's own limit:
	// a tenant with an override gets its tier's offer); this only renders it.
	if offer, ok := r.LimitOffer(current, policy.APICallsMetric); ok {
		name, url := offer.Tier.Name, offer.URL
		d.MinimumTier, d.UpgradeURL, d.Pricing = &name, &url, pricingOf(offer)
		if v, limited := offer.Tier.EffectiveLimit(policy.APICallsMetric, nil); limited {
			d.Benefits = append(d.Benefits, benefit{Text: fmt.Sprintf(b.benefitLimit, strconv.FormatInt(v, 10)), Icon: "zap"})
		} else {
			d.Benefits = append(d.Benefits, benefit{Text: b.benefitUnlimited, Icon: "zap"})
		}
		t.upgradeTier, t.upgradeURL = []string{name}, []string{url}
	}
	body := marshal(quotaBody{Error: "usage_limit_exceeded", Code: CodeQuotaExceeded, StatusCode: 429,
		Message: b.quotaTitle, Details: d})
	marks := []struct {
		text []byte
		slot int
	}{
		{[]byte(strconv.FormatInt(sentUsage, 10)), 0},
		{[]byte(strconv.FormatInt(sentLimit, 10)), 1},
		{[]byte(strconv.FormatInt(sentRetry, 10)), 2},
		{[]byte(strconv.Quote(sentResets)), 3},
	}
	rest := body
	for {
		at, which := -1, -1
		for k, m := range marks {
			if i := bytes.Index(rest, m.text); i >= 0 && (at < 0 || i < at) {
				at, which = i, k
			}
		}
		if at < 0 {
			break
		}
		t.parts = append(t.parts, rest[:at])
		t.slots = append(t.slots, marks[which].slot)
		rest = rest[at+len(marks[which].text):]
	}
	t.parts = append(t.parts, rest)
	return t
}

// render appends the 429 body for the given values to dst.
func (t *quotaTemplate) render(dst []byte, usage, limit, retry int64, resets string) []byte {
	for i, p := range t.parts {
		dst = append(dst, p...)
		if i == len(t.slots) {
			break
		}
		switch t.slots[i] {
		case 0:
			dst = strconv.AppendInt(dst, usage, 10)
		case 1:
			dst = strconv.AppendInt(dst, limit, 10)
		case 2:
			dst = strconv.AppendInt(dst, retry, 10)
		case 3:
			dst = strconv.AppendQuote(dst, resets)
		}
	}
	return dst
}

// errorResponses are the 401 and 503 bodies per builtin language.
type errorResponses struct {
	unauthenticated, unavailable []*response
	neg                          *negotiator
}

func newErrorResponses() *errorResponses {
	e := &errorResponses{neg: newNegotiator(builtinLangs)}
	for _, l := range builtinLangs {
		b, _ := builtinFor(l)
		e.unauthenticated = append(e.unauthenticated, newResponse(401, CodeIdentityRequired, marshal(errorBody{
			Error: "tenant_identity_required", Code: CodeIdentityRequired, StatusCode: 401, Message: b.unauthenticated}), l))
		e.unavailable = append(e.unavailable, newResponse(503, CodeRulesUnavailable, marshal(errorBody{
			Error: "subscription_rules_unavailable", Code: CodeRulesUnavailable, StatusCode: 503, Message: b.unavailable}), l))
	}
	return e
}
