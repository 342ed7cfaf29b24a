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
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	subv1 "github.com/bakery-ia/subscription-operator/api/v1alpha1"
	"github.com/bakery-ia/subscription-operator/internal/gateway"
)

func countingUpstream(t *testing.T) *httptest.Server {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n, err := io.Copy(io.Discard, r.Body)
		if err != nil {
			return
		}
		_, _ = fmt.Fprintf(w, "%d", n)
	}))
	t.Cleanup(up.Close)
	return up
}

// sendSlowly writes a request with a Content-Length body of size bytes in
// pieces, one piece every pause, and returns the response.
func sendSlowly(t *testing.T, addr string, size, pieces int, pause time.Duration) (int, string, error) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	_ = c.SetDeadline(time.Now().Add(30 * time.Second))
	_, _ = fmt.Fprintf(c, "POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n", size)
	go func() {
		piece := strings.Repeat("x", size/pieces)
		for i := 0; i < pieces; i++ {
			time.Sleep(pause)
			if _, err := io.WriteString(c, piece); err != nil {
				return
			}
		}
	}()
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		return 0, "", err
	}
	b, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	return resp.StatusCode, string(b), nil
}

// TestSlowUploadLongerThanHeaderTimeout is row 2 of issue 10: the response
// header timeout counts from the end of the request body, so an upload that
// takes longer than it still gets the upstream's answer.
func TestSlowUploadLongerThanHeaderTimeout(t *testing.T) {
	up := countingUpstream(t)
	e := newEnv(t, envOpts{
		mutate:  func(p *subv1.SubscriptionPolicy) { p.Spec.Gateway.Upstream = up.URL },
		options: func(o *gateway.Options) { o.Proxy.ResponseHeaderTimeout = 300 * time.Millisecond },
	})
	status, body, err := sendSlowly(t, strings.TrimPrefix(e.proxy.URL, "http://"), 3000, 4, 300*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	if status != 200 || body != "3000" {
		t.Fatalf("slow upload: %d %q, want 200 \"3000\"", status, body)
	}
}

// TestSlowBodyIsCut is row 9: a body trickling at 1 byte/s is cut with 408
// once the grace period is over and the rate is below the minimum.
func TestSlowBodyIsCut(t *testing.T) {
	up := countingUpstream(t)
	e := newEnv(t, envOpts{
		mutate:  func(p *subv1.SubscriptionPolicy) { p.Spec.Gateway.Upstream = up.URL },
		options: func(o *gateway.Options) { o.Proxy.BodyMinRate, o.Proxy.BodyGrace = 100, 500*time.Millisecond },
	})
	start := time.Now()
	status, body, err := sendSlowly(t, strings.TrimPrefix(e.proxy.URL, "http://"), 60, 60, time.Second)
	if err != nil {
		t.Fatalf("after %v: %v", time.Since(start), err)
	}
	if status != http.StatusRequestTimeout || !strings.Contains(body, "REQUEST_BODY_TOO_SLOW") {
		t.Fatalf("1 byte/s body: %d %q after %v", status, body, time.Since(start))
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("cut after %v", d)
	}
	// A body at a good rate still passes, and the connection after it is usable.
	if r := do(t, "GET", e.proxy.URL+"/x"); r.status != 200 {
		t.Fatalf("after a cut body: %d", r.status)
	}
}

// TestConnectionCap is row 9: beyond MaxConns a client is not served until
// a connection closes.
func TestConnectionCap(t *testing.T) {
	e := newEnv(t, envOpts{server: gateway.ServerOptions{MaxConns: 2}})
	addr := strings.TrimPrefix(e.proxy.URL, "http://")
	open := func() (net.Conn, *bufio.Reader) {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = c.Close() })
		_, _ = io.WriteString(c, "GET /x HTTP/1.1\r\nHost: x\r\n\r\n")
		return c, bufio.NewReader(c)
	}
	answered := func(c net.Conn, br *bufio.Reader, within time.Duration) bool {
		_ = c.SetReadDeadline(time.Now().Add(within))
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			return false
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		_ = resp.Body.Close()
		return resp.StatusCode == 200
	}
	c1, b1 := open()
	c2, b2 := open()
	if !answered(c1, b1, 5*time.Second) || !answered(c2, b2, 5*time.Second) {
		t.Fatal("the first two connections were not served")
	}
	c3, b3 := open()
	if answered(c3, b3, 500*time.Millisecond) {
		t.Fatal("a third connection was served although the cap is 2")
	}
	_ = c1.Close()
	if !answered(c3, b3, 5*time.Second) {
		t.Fatal("the third connection was not served after one closed")
	}
	_ = c2
}
