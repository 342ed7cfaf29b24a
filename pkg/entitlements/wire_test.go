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

package entitlements

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
)

// TestTypesCoverTheServersAnswers decodes the real server's answers strictly:
// a field the API sends that these types do not declare fails here, so the
// client package cannot silently fall behind the server.
func TestTypesCoverTheServersAnswers(t *testing.T) {
	ctx := context.Background()
	if err := rdb.Set(ctx, "usage_daily:bakery-starter:api_calls:"+today, 1000, 0).Err(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rdb.Del(ctx, "usage_daily:bakery-starter:api_calls:"+today) })
	raw := func(t *testing.T, method, path, body string) []byte {
		t.Helper()
		req, err := http.NewRequestWithContext(ctx, method, apiURL+path, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Accept-Language", "es")
		if body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer func() { _ = resp.Body.Close() }()
		data, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("%s %s: %d %s", method, path, resp.StatusCode, data)
		}
		return data
	}
	strict := func(t *testing.T, data []byte, into any) {
		t.Helper()
		dec := json.NewDecoder(bytes.NewReader(data))
		dec.DisallowUnknownFields()
		if err := dec.Decode(into); err != nil {
			t.Fatalf("%T does not cover the answer: %v\n%s", into, err, data)
		}
	}

	t.Run("entitlements of a tenant denied a feature and at its daily limit", func(t *testing.T) {
		data := raw(t, http.MethodGet, PathEntitlements+"?tenant_id=bakery-starter", "")
		var e Entitlements
		strict(t, data, &e)
		a := e.Feature("analytics")
		if a.UpgradeOffer == nil || a.UpgradeOffer.Pricing == nil || len(a.UpgradeOffer.Benefits) == 0 {
			t.Fatalf("the denial carries no full offer, so its fields went unchecked: %s", data)
		}
		m, _ := e.Metric("api_calls")
		if m.UpgradeOffer == nil || m.UpgradeOffer.Pricing == nil {
			t.Fatalf("the exhausted metric carries no offer, so its fields went unchecked: %s", data)
		}
	})
	t.Run("check of a feature", func(t *testing.T) {
		data := raw(t, http.MethodPost, PathCheck, `{"tenant_id":"bakery-starter","feature":"analytics"}`)
		var r CheckResult
		strict(t, data, &r)
		if r.Allowed || len(r.UpgradeOffer) == 0 {
			t.Fatalf("%s", data)
		}
		strict(t, r.UpgradeOffer, &Offer{})
	})
	t.Run("check of an amount", func(t *testing.T) {
		data := raw(t, http.MethodPost, PathCheck, `{"tenant_id":"bakery-starter","metric":"api_calls","amount":5}`)
		var r CheckResult
		strict(t, data, &r)
		if r.Allowed || len(r.UpgradeOffer) == 0 {
			t.Fatalf("%s", data)
		}
		strict(t, r.UpgradeOffer, &LimitOffer{})
	})
}
