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
	"time"

	subv1 "github.com/bakery-ia/subscription-operator/api/v1alpha1"
	"github.com/bakery-ia/subscription-operator/internal/gateway"
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

// TestMisbehavingUpstream: for each way an upstream can break HTTP, what the
// client of tenant A gets, and that tenant B calling next on the same
// upstream gets its own clean answer, never a byte of A's.
func TestMisbehavingUpstream(t *testing.T) {
	answers := map[string]string{
		"/stray":     "HTTP/1.1 204 No Content\r\n\r\n" + rawResponse(tenantAData),
		"/304body":   "HTTP/1.1 304 Not Modified\r\nContent-Length: 22\r\n\r\n" + tenantAData,
		"/204body":   "HTTP/1.1 204 No Content\r\nContent-Length: 22\r\n\r\n" + tenantAData,
		"/1xx":       "HTTP/1.1 103 Early Hints\r\nLink: </a.css>\r\n\r\n" + rawResponse("final"),
		"/trailers":  "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTrailer: X-Sum\r\n\r\n5\r\nhello\r\n0\r\nX-Sum: 42\r\n\r\n",
		"/clte":      "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n" + tenantAData,
		"/dupcl":     "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 22\r\n\r\n" + tenantAData,
		"/bighdr":    "HTTP/1.1 200 OK\r\n" + strings.Repeat("X-Big: "+strings.Repeat("a", 1000)+"\r\n", 2000) + "Content-Length: 2\r\n\r\nok",
		"/midclose":  "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n" + tenantAData,
		"/early":     rawResponse("early"), // before reading the request body (see below)
		"/earlyrst":  rawResponse("early"), // the same, then closed at once
		"/slowhdr":   "",                   // status line, then nothing
		"/garbage":   "SSH-2.0-OpenSSH_9.2\r\n" + tenantAData,
		"/keepalive": rawResponse("clean"),
	}
	up := newRawUpstream(t, false, func(c net.Conn, br *bufio.Reader, req *http.Request) bool {
		p := req.URL.Path[strings.LastIndexByte(req.URL.Path, '/'):]
		switch p {
		case "/early":
			// An answer before the request body is read, then the close
			// RFC 9112 section 9.6 asks for (and Go's and nginx's servers
			// make): half-close, then drain what is still arriving, so the
			// peer is not sent a reset that can destroy the answer in its
			// receive buffer before it is read.
			_, _ = io.WriteString(c, answers[p])
			if tc, ok := c.(*net.TCPConn); ok {
				_ = tc.CloseWrite()
			}
			_ = c.SetReadDeadline(time.Now().Add(2 * time.Second))
			_, _ = io.Copy(io.Discard, br)
			return false
		case "/earlyrst":
			// The same answer, then a close with the body unread: the
			// kernel resets the connection, and whether the answer was read
			// before the reset arrived is a race the gateway cannot win
			// every time.
			_, _ = io.WriteString(c, answers[p])
			return false
		case "/slowhdr":
			_, _ = io.WriteString(c, "HTTP/1.1 200 OK\r\n")
			time.Sleep(1500 * time.Millisecond)
			return false
		case "/midclose", "/garbage":
			_, _ = io.WriteString(c, answers[p])
			return false
		}
		_, _ = io.Copy(io.Discard, req.Body)
		a, ok := answers[p]
		if !ok {
			a = rawResponse("clean")
		}
		_, _ = io.WriteString(c, a)
		return true
	})
	e := newEnv(t, envOpts{
		mutate:  func(p *subv1.SubscriptionPolicy) { p.Spec.Gateway.Upstream = up.URL },
		options: func(o *gateway.Options) { o.Proxy.ResponseHeaderTimeout = time.Second },
	})
	cases := []struct {
		path   string
		status int
		body   string // "" : not checked
		post   bool
		or502  bool // 502 (and no body check) is an acceptable answer too
	}{
		{"/stray", 204, "", false, false},
		{"/304body", 304, "", false, false},
		{"/204body", 204, "", false, false},
		{"/1xx", 200, "final", false, false},
		{"/trailers", 200, "hello", false, false},
		{"/clte", 200, "hello", false, false},
		{"/dupcl", 502, "", false, false},
		{"/bighdr", 502, "", false, false},
		{"/midclose", -1, "", false, false}, // headers sent, body cut: the client connection is aborted
		{"/early", 200, "early", true, false},
		{"/earlyrst", 200, "early", true, true},
		{"/slowhdr", 502, "", false, false},
		{"/garbage", 502, "", false, false},
	}
	entTok, proTok := tokenFor(t, enterprise), tokenFor(t, professional)
	for _, c := range cases {
		t.Run(c.path, func(t *testing.T) {
			method, body := "GET", io.Reader(nil)
			if c.post {
				method, body = "POST", strings.NewReader(strings.Repeat("b", 256<<10))
			}
			req, _ := http.NewRequest(method, e.proxy.URL+"/api/v1/tenants/horno-central"+c.path, body)
			req.Header.Set("Authorization", "Bearer "+entTok)
			resp, err := http.DefaultClient.Do(req)
			if c.status == -1 {
				if err == nil {
					_, err = io.ReadAll(resp.Body)
					_ = resp.Body.Close()
				}
				if err == nil {
					t.Fatalf("a response cut by the upstream reached the client as complete")
				}
			} else {
				if err != nil {
					t.Fatal(err)
				}
				got, _ := io.ReadAll(resp.Body)
				_ = resp.Body.Close()
				if c.or502 && resp.StatusCode == http.StatusBadGateway {
					t.Logf("tenant A: the reset arrived before the answer was read: 502")
				} else if resp.StatusCode != c.status || c.body != "" && string(got) != c.body {
					t.Fatalf("tenant A: %d %q, want %d %q", resp.StatusCode, got, c.status, c.body)
				}
				if c.path == "/trailers" && resp.Trailer.Get("X-Sum") != "42" {
					t.Errorf("trailer %v", resp.Trailer)
				}
			}
			for i := 0; i < 3; i++ {
				r := do(t, "GET", e.proxy.URL+"/api/v1/tenants/obrador-donostia/keepalive", "Authorization", "Bearer "+proTok)
				if r.status != 200 || string(r.body) != "clean" {
					t.Fatalf("tenant B after %s: %d %q", c.path, r.status, r.body)
				}
			}
		})
	}
}
