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
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/bakery-ia/subscription-operator/internal/gateway"
)

// statuses parses every response in raw (a client connection's bytes).
func statuses(raw string) []int {
	var out []int
	br := bufio.NewReader(strings.NewReader(raw))
	for {
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			return out
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		_ = resp.Body.Close()
		out = append(out, resp.StatusCode)
	}
}

// TestHostileClient sends raw requests a well-behaved client never sends.
// For each: the statuses the client gets, that no gated route reaches the
// upstream for a caller without the tier, and that a second tenant calling
// right after gets its own answer (no bytes of the hostile exchange).
func TestHostileClient(t *testing.T) {
	e := newEnv(t, envOpts{})
	addr := strings.TrimPrefix(e.proxy.URL, "http://")
	low := "Authorization: Bearer " + tokenFor(t, starter) + "\r\n"
	const gated = "/api/v1/tenants/x/forecasting/analytics/a"
	smuggled := "GET " + gated + " HTTP/1.1\r\nHost: x\r\nContent-Length: 15\r\n\r\nx=1"
	teclChunk := strconv.FormatInt(int64(len(smuggled)), 16) + "\r\n" + smuggled
	cases := []struct {
		name string
		raw  string
		want []int
	}{
		// Go's server lets Transfer-Encoding win and drops Content-Length
		// (RFC 9112 6.3): the bytes after the chunked body are the client's
		// own next request, decided like any other, never hidden in a body.
		{"CL.TE smuggling",
			"POST /api/v1/orders HTTP/1.1\r\nHost: x\r\n" + low + "Content-Length: 6\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET " + gated + " HTTP/1.1\r\nHost: x\r\n" + low + "\r\n",
			[]int{200, 402}},
		// The smuggled request is body bytes of the chunked request.
		{"TE.CL smuggling",
			"POST /api/v1/orders HTTP/1.1\r\nHost: x\r\n" + low + "Transfer-Encoding: chunked\r\nContent-Length: 4\r\n\r\n" + teclChunk + "\r\n0\r\n\r\n",
			[]int{200}},
		{"malformed chunked body",
			"POST /api/v1/orders HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n", []int{400}},
		{"Transfer-Encoding that is not chunked",
			"POST /api/v1/orders HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n", []int{501}},
		{"duplicate Content-Length, different values",
			"POST /api/v1/orders HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nContent-Length: 30\r\n\r\nabc", []int{400}},
		// Go's server unfolds obs-fold into one value (RFC 9112 5.2): the
		// folded "Authorization" is text of X-Folded, not a header.
		{"obs-fold continuation line",
			"GET " + gated + " HTTP/1.1\r\nHost: x\r\nX-Folded: a\r\n " + low + "\r\n", []int{401}},
		{"Connection names framing and identity headers",
			"POST /api/v1/orders HTTP/1.1\r\nHost: x\r\n" + low + "Connection: Content-Length, Transfer-Encoding, Host, Authorization, X-Tenant-Id\r\nContent-Length: 3\r\n\r\nabc", []int{200}},
		{"absolute-form target is decided on its path",
			"GET http://other.example" + gated + " HTTP/1.1\r\nHost: x\r\n" + low + "\r\n", []int{402}},
		{"absolute-form, ungated", "GET http://other.example/api/v1/orders HTTP/1.1\r\nHost: x\r\n\r\n", []int{200}},
		// net/http answers OPTIONS * itself (200, empty), without the handler.
		{"asterisk-form OPTIONS", "OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n", []int{200}},
		{"asterisk-form GET", "GET * HTTP/1.1\r\nHost: x\r\n\r\n", []int{400}},
		{"authority-form", "CONNECT upstream.example:443 HTTP/1.1\r\nHost: upstream.example:443\r\n\r\n", []int{400}},
		{"dot segments into a gated route", "GET /api/v1/tenants/x/orders/../forecasting/./analytics/a HTTP/1.1\r\nHost: x\r\n" + low + "\r\n", []int{402}},
		{"encoded dot segments", "GET /api/v1/tenants/x/orders/%2e%2e/forecasting/analytics/a HTTP/1.1\r\nHost: x\r\n" + low + "\r\n", []int{400}},
		{"encoded slash", "GET /api/v1/tenants/x/forecasting%2Fanalytics/a HTTP/1.1\r\nHost: x\r\n" + low + "\r\n", []int{400}},
		{"thousands of headers", "GET /api/v1/orders HTTP/1.1\r\nHost: x\r\n" + strings.Repeat("X-A: b\r\n", 10000) + "\r\n", []int{431}},
		{"pipelined requests of two tenants on one connection",
			"GET /api/v1/orders HTTP/1.1\r\nHost: x\r\n" + low + "\r\nGET " + gated + " HTTP/1.1\r\nHost: x\r\n" + low + "\r\nGET /api/v1/tenants/horno-central/orders HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + tokenFor(t, enterprise) + "\r\n\r\n",
			[]int{200, 402, 200}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := statuses(rawExchange(t, addr, c.raw, 500*time.Millisecond))
			if len(got) < len(c.want) || !equalInts(got[:len(c.want)], c.want) || len(got) > len(c.want) && got[len(c.want)] == 200 {
				t.Errorf("statuses %v, want %v", got, c.want)
			}
			// Another tenant right after gets its own answer.
			r := e.get(t, "/api/v1/tenants/obrador-donostia/orders", professional)
			if r.status != 200 || string(r.body) != "upstream ok" || e.lastSeen().Tenant != professional {
				t.Errorf("next tenant: %d %q", r.status, r.body)
			}
		})
	}
	for _, u := range e.received() {
		if strings.Contains(u, "analytics") || strings.Contains(u, "..") || strings.Contains(strings.ToLower(u), "%2e") {
			t.Errorf("the upstream received %q", u)
		}
	}
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestSlowHeadersCut: a client that sends its headers slowly is disconnected
// after ReadHeaderTimeout.
func TestSlowHeadersCut(t *testing.T) {
	e := newEnv(t, envOpts{server: gateway.ServerOptions{ReadHeaderTimeout: 500 * time.Millisecond}})
	c, err := net.Dial("tcp", strings.TrimPrefix(e.proxy.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = c.Close() }()
	_, _ = c.Write([]byte("GET / HTTP/1.1\r\nHost: x\r\n"))
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	start := time.Now()
	buf := make([]byte, 1)
	_, err = c.Read(buf)
	if err == nil || time.Since(start) > 5*time.Second {
		t.Fatalf("slow headers: read %v after %v", err, time.Since(start))
	}
}
