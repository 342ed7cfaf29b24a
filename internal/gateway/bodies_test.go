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

package gateway_test

import (
	"net"
	"strings"
	"testing"

	subv1 "github.com/bakery-ia/subscription-operator/api/v1alpha1"
	"github.com/bakery-ia/subscription-operator/internal/testenv/golden"
)

// TestErrorBodiesEncoding is row 10 of issue 10: the 429 body writes € (and
// every non-ASCII character) as it is, like the 402; every error body of the
// gateway carries X-Content-Type-Options: nosniff.
func TestErrorBodiesEncoding(t *testing.T) {
	e := newEnv(t, envOpts{tenants: withOverride(starter, 1)})
	if r := e.get(t, ungated, starter); r.status != 200 {
		t.Fatalf("first call: %d", r.status)
	}
	for _, lang := range []string{"en", "es", "eu"} {
		r := e.get(t, ungated, starter, "Accept-Language", lang)
		if r.status != 429 {
			t.Fatalf("%s: %d, want 429", lang, r.status)
		}
		if strings.Contains(string(r.body), `\u`) || !strings.Contains(string(r.body), `"currency":"€"`) {
			t.Errorf("%s: 429 body escapes characters: %s", lang, r.body)
		}
		if lang != "en" {
			golden.Assert(t, "quota_429_"+lang+".golden", r.body)
		}
	}
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	down := "http://" + l.Addr().String()
	_ = l.Close()
	downEnv := newEnv(t, envOpts{mutate: func(p *subv1.SubscriptionPolicy) { p.Spec.Gateway.Upstream = down }})
	for name, r := range map[string]reply{
		"402":              e.get(t, analytics, starter),
		"429":              e.get(t, ungated, starter),
		"401":              e.get(t, analytics, ""),
		"400":              e.get(t, "/a%2Fb", starter),
		"503":              newEnv(t, envOpts{noTable: true}).get(t, ungated, ""),
		"502":              downEnv.get(t, ungated, ""),
		"forward-auth 400": do(t, "GET", e.fa.URL+"/traefik"),
		"forward-auth 404": do(t, "GET", e.fa.URL+"/nope"),
	} {
		if r.header.Get("X-Content-Type-Options") != "nosniff" || !strings.HasPrefix(r.header.Get("Content-Type"), "application/json") {
			t.Errorf("%s (%d): headers %v", name, r.status, r.header)
		}
	}
}
