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
	"bufio"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"

	subv1 "github.com/bakery-ia/subscription-operator/api/v1alpha1"
)

const tenantAData = `{"data-of-tenant":"A"}`

// TestStrayBytesNeverReachAnotherTenant is row 1 of issue 10: an upstream
// that sends a second response after a 204 must not have it delivered to the
// next request (another tenant's) on the same pooled connection.
func TestStrayBytesNeverReachAnotherTenant(t *testing.T) {
	up := newRawUpstream(t, true, func(c net.Conn, _ *bufio.Reader, req *http.Request) bool {
		if strings.HasSuffix(req.URL.Path, "/a") {
			_, _ = io.WriteString(c, "HTTP/1.1 204 No Content\r\n\r\n"+rawResponse(tenantAData))
			return true
		}
		_, _ = io.WriteString(c, rawResponse("clean"))
		return true
	})
	e := newEnv(t, envOpts{mutate: func(p *subv1.SubscriptionPolicy) { p.Spec.Gateway.Upstream = up.URL }})
	for i := 0; i < 5; i++ {
		if r := e.get(t, "/api/v1/tenants/horno-central/a", enterprise); r.status != 204 || len(r.body) != 0 {
			t.Fatalf("tenant A: %d %q", r.status, r.body)
		}
		r := e.get(t, "/api/v1/tenants/obrador-donostia/b", professional)
		if strings.Contains(string(r.body), "data-of-tenant") {
			t.Fatalf("round %d: tenant B received tenant A's bytes: %d %q", i, r.status, r.body)
		}
		if r.status != 200 || string(r.body) != "clean" {
			t.Fatalf("round %d: tenant B: %d %q", i, r.status, r.body)
		}
	}
}
