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
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation"
	toolscache "k8s.io/client-go/tools/cache"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/bakery-ia/subscription-operator/internal/history"
	"github.com/bakery-ia/subscription-operator/internal/kube"
)

// The Fuzz* targets here run their seed corpus with plain go test; run one
// for longer with, for example,
//   go test ./internal/forecastapi -run '^$' -fuzz '^FuzzParseForecastQuery$' -fuzztime 30s

// checkRejection fails unless err is a 4xx apiError with a JSON-able message.
func checkRejection(t *testing.T, err error, statuses ...int) {
	t.Helper()
	var ae *apiError
	if !errors.As(err, &ae) {
		t.Fatalf("error %v (%T) is not an apiError", err, err)
	}
	ok := false
	for _, s := range statuses {
		ok = ok || ae.status == s
	}
	if !ok || ae.code == "" || ae.msg == "" {
		t.Fatalf("rejection %d %s %q, want one of %v with a code and a message", ae.status, ae.code, ae.msg, statuses)
	}
}

func FuzzParseForecastQuery(f *testing.F) {
	for _, s := range []string{
		"tenant_id=test-tenant", "tenant_id=test-tenant&namespace=bakery-ia", "", "tenant_id=",
		"tenant_id=a&tenant_id=b", "tenant_id=%zz", "tenant_id=a;namespace=b", "tenant_id=a%00",
		"tenant_id=..%2Fother", "tenant_id=A", "namespace=x&tenant_id=y", "tenant_id=a&namespace=a.b",
		"tenant_id=" + strings.Repeat("a", 64), "tenant_id=a+b", "tenant_id=%E2%82%AC", "&&&=&tenant_id=x",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		id, ns, err := parseForecastQuery(raw)
		if err != nil {
			checkRejection(t, err, http.StatusBadRequest)
			return
		}
		if len(validation.IsDNS1123Label(id)) > 0 {
			t.Fatalf("accepted tenant_id %q from %q", id, raw)
		}
		if ns != "" && len(validation.IsDNS1123Label(ns)) > 0 {
			t.Fatalf("accepted namespace %q from %q", ns, raw)
		}
		// What was accepted is what a plain encoding of it means.
		q := url.Values{"tenant_id": {id}}
		if ns != "" {
			q.Set("namespace", ns)
		}
		id2, ns2, err := parseForecastQuery(q.Encode())
		if err != nil || id2 != id || ns2 != ns {
			t.Fatalf("%q -> (%q, %q) does not round-trip: (%q, %q, %v)", raw, id, ns, id2, ns2, err)
		}
	})
}

func FuzzParsePlansQuery(f *testing.F) {
	for _, s := range []string{
		"", "policy=default", "namespace=bakery-ia&policy=solo", "policy=UPPER", "policy=a.b.c",
		"policy=%2e%2e", "namespace=a.b", "policy=a&policy=b", "policy=a;b", "policy=" + strings.Repeat("p", 254),
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		ns, name, err := parsePlansQuery(raw)
		if err != nil {
			checkRejection(t, err, http.StatusBadRequest)
			return
		}
		if len(validation.IsDNS1123Subdomain(name)) > 0 {
			t.Fatalf("accepted policy %q from %q", name, raw)
		}
		if ns != "" && len(validation.IsDNS1123Label(ns)) > 0 {
			t.Fatalf("accepted namespace %q from %q", ns, raw)
		}
	})
}

func FuzzParseTrackBody(f *testing.F) {
	for _, s := range []string{
		`{"tenant_id":"track-me"}`, `{"tenant_id":"twin","namespace":"twin-b"}`, `{"policy":"default","namespace":"bakery-ia"}`,
		"", "{}", "[]", `{"tenant_id": `, `{"tenant_id":"a"}{}`, `{"tenant":"a"}`, `{"tenant_id":"a","policy":"b","namespace":"c"}`,
		`{"policy":"p"}`, `{"tenant_id":"No Spaces"}`, `{"tenant_id":"a","namespace":"-x"}`, `{"tenant_id":"\u0000"}`,
		`{"tenant_id":"a","tenant_id":"b"}`, `{"TENANT_ID":"a"}`, "null", `"a"`, `{"tenant_id":null}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		req, err := parseTrackBody(bytes.NewReader(body))
		if err != nil {
			checkRejection(t, err, http.StatusBadRequest)
			return
		}
		switch {
		case (req.TenantID == "") == (req.Policy == ""):
			t.Fatalf("accepted %q with tenant_id %q and policy %q: want exactly one", body, req.TenantID, req.Policy)
		case req.TenantID != "" && len(validation.IsDNS1123Label(req.TenantID)) > 0:
			t.Fatalf("accepted tenant_id %q", req.TenantID)
		case req.Policy != "" && (req.Namespace == "" || len(validation.IsDNS1123Subdomain(req.Policy)) > 0):
			t.Fatalf("accepted policy %q in namespace %q", req.Policy, req.Namespace)
		case req.Namespace != "" && len(validation.IsDNS1123Label(req.Namespace)) > 0:
			t.Fatalf("accepted namespace %q", req.Namespace)
		}
	})
}

// emptyCache is a cache with nothing in it: every lookup finds nothing.
type emptyCache struct{ cache.Cache }

func (emptyCache) List(context.Context, client.ObjectList, ...client.ListOption) error { return nil }

func (emptyCache) Get(_ context.Context, key client.ObjectKey, _ client.Object, _ ...client.GetOption) error {
	return apierrors.NewNotFound(schema.GroupResource{}, key.Name)
}

// GetInformer hands out an informer whose indexer is empty: kube.TenantsByID
// finds nothing.
func (emptyCache) GetInformer(context.Context, client.Object, ...cache.InformerGetOption) (cache.Informer, error) {
	return emptyInformer{}, nil
}

type emptyInformer struct{ cache.Informer }

func (emptyInformer) GetIndexer() toolscache.Indexer {
	return toolscache.NewIndexer(toolscache.MetaNamespaceKeyFunc, toolscache.Indexers{
		kube.IndexTenantID: func(any) ([]string, error) { return nil, nil },
	})
}

type noHistory struct{}

func (noHistory) Read(context.Context, string, []string, string, int) (map[string][]history.Point, error) {
	return nil, nil
}

// FuzzRequest sends arbitrary request lines and targets through the whole
// handler: whatever arrives, the answer is never a redirect, always JSON with
// nosniff, and only the exact spelling of an endpoint reaches it.
func FuzzRequest(f *testing.F) {
	for _, s := range []string{
		"GET /api/v1/usage-forecast?tenant_id=test-tenant", "GET //api/v1/usage-forecast?tenant_id=a",
		"GET /api/v1/./usage-forecast?tenant_id=a", "GET /api/v1/x/../usage-forecast?tenant_id=a",
		"GET /api/v1/%2e%2e/v1/plans", "GET /api%2Fv1%2Fplans", "GET /api/v1/usage%2Dforecast?tenant_id=a",
		"GET /api/v1/plans/", "POST /api/v1/usage-forecast/track-usage", "OPTIONS *", "GET http://evil/api/v1/plans",
		"GET /api/v1/usage-forecast?tenant_id=a%00", "DELETE /api/v1/plans", "GET /api/v1/usage-forecast?tenant_id=a;b",
		"GET /%00", "G\x00T /", "GET /api/v1/plans?policy=" + strings.Repeat("a", 300),
	} {
		f.Add(s, "")
	}
	f.Add("POST /api/v1/usage-forecast/track-usage", `{"tenant_id":"x"}`)
	srv, err := New(emptyCache{}, nil, noHistory{}, WithoutAuth(), WithTrackUsageRateLimit(1e9, 1e9))
	if err != nil {
		f.Fatal(err)
	}
	endpoints := map[string]bool{PathForecast: true, PathTrackUsage: true, PathPlans: true}
	f.Fuzz(func(t *testing.T, line, body string) {
		raw := line + " HTTP/1.1\r\nHost: api\r\nContent-Length: " + strconv.Itoa(len(body)) + "\r\n\r\n" + body
		req, err := http.ReadRequest(bufio.NewReader(strings.NewReader(raw)))
		if err != nil {
			return // net/http's server answers 400 before any handler
		}
		req.RemoteAddr = "192.0.2.1:1234"
		rec := httptest.NewRecorder()
		srv.Handler().ServeHTTP(rec, req)
		if rec.Code >= 300 && rec.Code < 400 {
			t.Fatalf("%q answered %d", line, rec.Code)
		}
		if rec.Header().Get("X-Content-Type-Options") != "nosniff" || rec.Header().Get("Content-Type") != "application/json" {
			t.Fatalf("%q answered without JSON and nosniff: %v", line, rec.Header())
		}
		var e struct{ Error, Code string }
		if err := json.Unmarshal(rec.Body.Bytes(), &e); err != nil {
			t.Fatalf("%q answered a body that is not JSON: %q", line, rec.Body.String())
		}
		if rec.Code == http.StatusOK {
			t.Fatalf("%q answered 200 from an empty cache: %s", line, rec.Body.String())
		}
		if e.Code != CodeNotFound && !endpoints[req.URL.EscapedPath()] {
			t.Fatalf("%q reached an endpoint (%d %s) through the path %q", line, rec.Code, e.Code, req.URL.EscapedPath())
		}
	})
}
