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
	"net/url"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/bakery-ia/subscription-operator/internal/entitlement"
)

func FuzzParseEntitlementsQuery(f *testing.F) {
	for _, s := range []string{
		"tenant_id=a", "tenant_id=a&feature=analytics", "tenant_id=a&namespace=b&feature=bulk-export", "",
		"tenant_id=a&feature=", "tenant_id=a&feature=A", "tenant_id=a&feature=%00", "tenant_id=a&tenant=b",
		"tenant_id=a;feature=b", "feature=x", "tenant_id=a&feature=x&feature=y", "tenant_id=a&feature=" + strings.Repeat("f", 64),
		"tenant_id=a&feature=..%2Fx", "tenant_id=a&feature=%E2%82%AC",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		q, err := parseEntitlementsQuery(raw)
		if err != nil {
			checkRejection(t, err, http.StatusBadRequest)
			return
		}
		if len(validation.IsDNS1123Label(q.tenantID)) > 0 || (q.namespace != "" && len(validation.IsDNS1123Label(q.namespace)) > 0) {
			t.Fatalf("accepted tenant %q namespace %q from %q", q.tenantID, q.namespace, raw)
		}
		if q.feature != "" && !nameRE.MatchString(q.feature) {
			t.Fatalf("accepted feature %q from %q", q.feature, raw)
		}
		v := url.Values{"tenant_id": {q.tenantID}}
		if q.namespace != "" {
			v.Set("namespace", q.namespace)
		}
		if q.feature != "" {
			v.Set("feature", q.feature)
		}
		if q2, err := parseEntitlementsQuery(v.Encode()); err != nil || q2 != q {
			t.Fatalf("%q -> %+v does not round-trip: %+v %v", raw, q, q2, err)
		}
	})
}

func FuzzParseCheckBody(f *testing.F) {
	for _, s := range []string{
		`{"tenant_id":"a","feature":"analytics"}`, `{"tenant_id":"a","metric":"products","amount":5}`,
		`{"tenant_id":"a","metric":"api_calls"}`, `{"tenant_id":"a","namespace":"b","feature":"x"}`,
		"", "{}", "[]", "null", `{"tenant_id":"a","feature":"x","metric":"y"}`, `{"tenant_id":"a","feature":"x","amount":1}`,
		`{"tenant_id":"a","metric":"m","amount":-1}`, `{"tenant_id":"a","metric":"m","amount":1e3}`, `{"tenant_id":"a","metric":"m","amount":1.5}`,
		`{"tenant_id":"a","metric":"m","amount":1099511627777}`, `{"tenant_id":"a","feature":"x"}{}`, `{"tenant_id":"A","feature":"x"}`,
		`{"tenant_id":"a","feature":"x","extra":1}`, `{"tenant_id":"a","feature":"\u0000"}`, `{"tenant_id":"a","metric":"m","amount":null}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		req, err := parseCheckBody(bytes.NewReader(body))
		if err != nil {
			checkRejection(t, err, http.StatusBadRequest)
			return
		}
		switch {
		case len(validation.IsDNS1123Label(req.TenantID)) > 0:
			t.Fatalf("accepted tenant_id %q", req.TenantID)
		case req.Namespace != "" && len(validation.IsDNS1123Label(req.Namespace)) > 0:
			t.Fatalf("accepted namespace %q", req.Namespace)
		case (req.Feature == "") == (req.Metric == ""):
			t.Fatalf("accepted %q with feature %q and metric %q: want exactly one", body, req.Feature, req.Metric)
		case req.Feature != "" && (!nameRE.MatchString(req.Feature) || req.Amount != nil):
			t.Fatalf("accepted feature %q amount %v", req.Feature, req.Amount)
		case req.Metric != "" && (!nameRE.MatchString(req.Metric) || req.Amount == nil || *req.Amount < 0 || *req.Amount > entitlement.MaxAmount):
			t.Fatalf("accepted metric %q amount %v", req.Metric, req.Amount)
		}
	})
}
