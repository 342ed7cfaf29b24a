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

package usagepage

import (
	"github.com/bakery-ia/subscription-operator/internal/entitlement"
)

// Languages are the languages the page is written in; the first is the
// fallback. Feature texts come from the policy and fall back to English on
// their own (policy.Feature.Message).
var Languages = []string{"en", "es", "eu"}

// texts are the page's own words in one language. Format verbs are filled
// by the template with already escaped values.
type texts struct {
	Title, Plan, Metrics, Features, Metric, Usage, Trend, Status, Breach               string
	Of, Unlimited, NoLimit, NoBreach, Between, NotBefore, DaysLeft, DayLeft, NoHistory string
	TrendLabel, BarLabel                                                               string
	Included, NotIncluded, Needs, Upgrade, Preview, PerMonth                           string
	Statuses                                                                           map[string]string
	// Operator list.
	Tenants, Tenant, Namespace, Tier, DaysLeftHead, Worst, Filter, All string
	NoTenants, Apply, Open                                             string
	Generated, Paused, PausedNoDate                                    string
}

// Translations: repeated words are words, not constants, and Spanish is not misspelt English.
//
//nolint:goconst,misspell
var allTexts = map[string]*texts{
	"en": {
		Title: "Usage", Plan: "Plan", Metrics: "Usage by metric", Features: "Features",
		Metric: "Metric", Usage: "Usage", Trend: "Last 30 days", Status: "Status", Breach: "Limit reached",
		Of: "of", Unlimited: "unlimited", NoLimit: "No limit on this plan", NoBreach: "Not expected",
		Between: "between %s and %s", NotBefore: "not before %s", DaysLeft: "%d days left", DayLeft: "1 day left", NoHistory: "No history yet",
		TrendLabel: "%s over the last 30 days", BarLabel: "%s: %s of %s used",
		Included: "Included", NotIncluded: "Not included", Needs: "Needs the %s plan",
		Upgrade: "Upgrade to %s", Preview: "Preview", PerMonth: "%s %s per month",
		Statuses: map[string]string{"safe": "Safe", "warning": "Warning", "critical": "Critical", "unlimited": "Unlimited"},
		Tenants:  "Tenants", Tenant: "Tenant", Namespace: "Namespace", Tier: "Plan", DaysLeftHead: "Days left",
		Worst: "Closest limit", Filter: "Filter", All: "All", NoTenants: "No tenant matches.", Apply: "Apply",
		Open: "Open", Generated: "Forecast of %s",
		Paused:       "Usage snapshots are paused for this account; figures are from %s.",
		PausedNoDate: "Usage snapshots are paused for this account.",
	},
	"es": {
		Title: "Consumo", Plan: "Plan", Metrics: "Consumo por métrica", Features: "Funciones",
		Metric: "Métrica", Usage: "Consumo", Trend: "Últimos 30 días", Status: "Estado", Breach: "Límite alcanzado",
		Of: "de", Unlimited: "ilimitado", NoLimit: "Sin límite en este plan", NoBreach: "No previsto",
		Between: "entre el %s y el %s", NotBefore: "no antes del %s", DaysLeft: "quedan %d días", DayLeft: "queda 1 día", NoHistory: "Aún sin historial",
		TrendLabel: "%s en los últimos 30 días", BarLabel: "%s: %s de %s usados",
		Included: "Incluida", NotIncluded: "No incluida", Needs: "Requiere el plan %s",
		Upgrade: "Cambiar a %s", Preview: "Vista previa", PerMonth: "%s %s al mes",
		Statuses: map[string]string{"safe": "Seguro", "warning": "Aviso", "critical": "Crítico", "unlimited": "Ilimitado"},
		Tenants:  "Clientes", Tenant: "Cliente", Namespace: "Espacio de nombres", Tier: "Plan", DaysLeftHead: "Días restantes",
		Worst: "Límite más cercano", Filter: "Filtrar", All: "Todos", NoTenants: "Ningún cliente coincide.", Apply: "Aplicar",
		Open: "Abrir", Generated: "Previsión del %s",
		Paused:       "Las instantáneas de uso de esta cuenta están en pausa; las cifras son del %s.",
		PausedNoDate: "Las instantáneas de uso de esta cuenta están en pausa.",
	},
	"eu": {
		Title: "Kontsumoa", Plan: "Plana", Metrics: "Kontsumoa neurriz neurri", Features: "Funtzioak",
		Metric: "Neurria", Usage: "Kontsumoa", Trend: "Azken 30 egunak", Status: "Egoera", Breach: "Mugara iristea",
		Of: "/", Unlimited: "mugagabea", NoLimit: "Plan honetan ez dago mugarik", NoBreach: "Ez da aurreikusten",
		Between: "%s eta %s artean", NotBefore: "%s baino lehen ez", DaysLeft: "%d egun falta dira", DayLeft: "egun 1 falta da", NoHistory: "Oraindik ez dago historiarik",
		TrendLabel: "%s azken 30 egunetan", BarLabel: "%s: %s / %s erabilita",
		Included: "Barne", NotIncluded: "Ez dago barne", Needs: "%s plana behar da",
		Upgrade: "Aldatu %s planera", Preview: "Aurrebista", PerMonth: "%s %s hilean",
		Statuses: map[string]string{"safe": "Segurua", "warning": "Abisua", "critical": "Kritikoa", "unlimited": "Mugagabea"},
		Tenants:  "Bezeroak", Tenant: "Bezeroa", Namespace: "Izen-espazioa", Tier: "Plana", DaysLeftHead: "Falta diren egunak",
		Worst: "Muga hurbilena", Filter: "Iragazi", All: "Denak", NoTenants: "Ez dago bat datorren bezerorik.", Apply: "Aplikatu",
		Open: "Ireki", Generated: "%s eguneko aurreikuspena",
		Paused:       "Kontu honen erabilera-argazkiak etenda daude; zifrak %s egunekoak dira.",
		PausedNoDate: "Kontu honen erabilera-argazkiak etenda daude.",
	},
}

func textsFor(lang string) *texts {
	if t, ok := allTexts[lang]; ok {
		return t
	}
	return allTexts[Languages[0]]
}

// Negotiator picks one of Languages from an Accept-Language header. It is
// the one negotiator of the project (internal/entitlement), the same that
// picks the language of the gateway's 402 bodies, over the page's languages.
type Negotiator struct{ n *entitlement.Negotiator }

// NewNegotiator returns a Negotiator over Languages.
func NewNegotiator() *Negotiator {
	return &Negotiator{n: entitlement.NewNegotiator(Languages)}
}

// Pick returns the language for an Accept-Language value; the fallback for an
// empty, malformed or unsupported header.
func (n *Negotiator) Pick(accept string) string { return n.n.Language(accept) }
