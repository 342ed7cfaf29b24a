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
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	subv1 "github.com/bakery-ia/subscription-operator/api/v1alpha1"
	"github.com/bakery-ia/subscription-operator/internal/gateway"
	"github.com/bakery-ia/subscription-operator/internal/policy/policytest"
)

func TestProxyHeaders(t *testing.T) {
	e := newEnv(t, envOpts{})
	req, _ := http.NewRequest("GET", e.proxy.URL+ungated+"?q=1", nil)
	req.Host = "bakery.example"
	req.Header.Set("Connection", "X-Secret-Hop, keep-alive")
	req.Header.Set("X-Secret-Hop", "must not pass")
	req.Header.Set("Proxy-Authorization", "Basic abc")
	req.Header.Set("Te", "trailers, deflate")
	req.Header.Set("X-Forwarded-For", "203.0.113.9")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	s := e.lastSeen()
	if s.Header.Get("X-Secret-Hop") != "" || s.Header.Get("Proxy-Authorization") != "" {
		t.Errorf("hop-by-hop headers reached the upstream: %v", s.Header)
	}
	if !strings.HasPrefix(s.XFF, "203.0.113.9, 127.0.0.1") {
		t.Errorf("X-Forwarded-For %q", s.XFF)
	}
	if s.XFHost != "bakery.example" || s.Host != "bakery.example" || s.Header.Get("X-Forwarded-Proto") != "http" {
		t.Errorf("host %q, X-Forwarded-Host %q, proto %q", s.Host, s.XFHost, s.Header.Get("X-Forwarded-Proto"))
	}
}

func TestProxyStreaming(t *testing.T) {
	release := make(chan struct{})
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/upload" {
			n, _ := io.Copy(io.Discard, r.Body)
			_, _ = fmt.Fprintf(w, "%d", n)
			return
		}
		w.Header().Set("Content-Type", "text/event-stream")
		_, _ = io.WriteString(w, "data: first\n\n")
		w.(http.Flusher).Flush()
		<-release
		_, _ = io.WriteString(w, "data: second\n\n")
	}))
	defer up.Close()
	e := newEnv(t, envOpts{mutate: func(p *subv1.SubscriptionPolicy) { p.Spec.Gateway.Upstream = up.URL }})
	resp, err := http.Get(e.proxy.URL + "/events")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	br := bufio.NewReader(resp.Body)
	line, err := br.ReadString('\n')
	if err != nil || line != "data: first\n" {
		t.Fatalf("first event not streamed before the upstream finished: %q %v", line, err)
	}
	close(release)
	rest, _ := io.ReadAll(br)
	if !strings.Contains(string(rest), "data: second") {
		t.Fatalf("rest %q", rest)
	}
	// A request body is streamed to the upstream (8 MiB, chunked).
	pr, pw := io.Pipe()
	go func() {
		chunk := make([]byte, 64<<10)
		for i := 0; i < 128; i++ {
			_, _ = pw.Write(chunk)
		}
		_ = pw.Close()
	}()
	r2, err := http.Post(e.proxy.URL+"/upload", "application/octet-stream", pr)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(r2.Body)
	_ = r2.Body.Close()
	if string(body) != fmt.Sprint(128*64<<10) {
		t.Fatalf("upstream read %s bytes", body)
	}
}

func TestProxyWebSocket(t *testing.T) {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Upgrade") != "websocket" {
			http.Error(w, "want upgrade", 400)
			return
		}
		conn, brw, err := w.(http.Hijacker).Hijack()
		if err != nil {
			return
		}
		defer func() { _ = conn.Close() }()
		_, _ = brw.WriteString("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n")
		_ = brw.Flush()
		line, _ := brw.ReadString('\n')
		_, _ = brw.WriteString("echo: " + line)
		_ = brw.Flush()
	}))
	defer up.Close()
	e := newEnv(t, envOpts{mutate: func(p *subv1.SubscriptionPolicy) { p.Spec.Gateway.Upstream = up.URL }})
	conn, err := net.Dial("tcp", strings.TrimPrefix(e.proxy.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = conn.Close() }()
	_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
	_, _ = fmt.Fprintf(conn, "GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n")
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	if err != nil || resp.StatusCode != 101 {
		t.Fatalf("upgrade: %v %v", resp, err)
	}
	defer func() { _ = resp.Body.Close() }()
	_, _ = io.WriteString(conn, "hello\n")
	line, err := br.ReadString('\n')
	if err != nil || line != "echo: hello\n" {
		t.Fatalf("echo %q %v", line, err)
	}
}

func TestUpstreamDown(t *testing.T) {
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := l.Addr().String()
	_ = l.Close()
	e := newEnv(t, envOpts{mutate: func(p *subv1.SubscriptionPolicy) { p.Spec.Gateway.Upstream = "http://" + addr }})
	r := e.get(t, ungated, starter)
	if r.status != 502 || jsonField(t, r.body, "code") != "UPSTREAM_UNAVAILABLE" {
		t.Fatalf("%d %s", r.status, r.body)
	}
}

func TestBeforeAnyTable(t *testing.T) {
	closed := newEnv(t, envOpts{noTable: true})
	for _, p := range []string{analytics, ungated} {
		r := closed.get(t, p, enterprise, "Accept-Language", "eu")
		if r.status != 503 || r.header.Get("Content-Language") != "eu" || jsonField(t, r.body, "code") != gateway.CodeRulesUnavailable {
			t.Fatalf("%s before any table: %d %s", p, r.status, r.body)
		}
	}
	if closed.gw.Ready() {
		t.Fatal("ready without a table while failing closed")
	}
	up := closed.upstream.URL
	open := newEnv(t, envOpts{noTable: true, options: func(o *gateway.Options) {
		o.FailOpen = true
		o.Upstream = mustURL(up)
	}})
	if r := open.get(t, analytics, starter); r.status != 200 {
		t.Fatalf("fail-open before any table: %d", r.status)
	}
	if !open.gw.Ready() {
		t.Fatal("fail-open gateway not ready")
	}
}

func TestKeepLastGoodTable(t *testing.T) {
	e := newEnv(t, envOpts{})
	ctx := context.Background()
	// Deleted policy: keep the table.
	if err := e.gw.Update(ctx, nil, nil); err != nil {
		t.Fatal(err)
	}
	if r := e.get(t, analytics, starter); r.status != 402 {
		t.Fatalf("after delete: %d", r.status)
	}
	// A policy that does not compile: keep the table, report the error and the metric.
	bad := policytest.Policy()
	bad.Generation = 4
	bad.Spec.Snapshot.TimeZone = "Nowhere/Atlantis"
	if err := e.gw.Update(ctx, bad, fixtureTenants()); err == nil || !strings.Contains(err.Error(), "spec.snapshot.timeZone") {
		t.Fatalf("bad policy error %v", err)
	}
	if r := e.get(t, analytics, starter); r.status != 402 {
		t.Fatalf("after a bad policy: %d", r.status)
	}
	if metricValue(e.metrics.ReloadFailures) != 1 || metricValue(e.metrics.Generation) != 3 {
		t.Fatalf("metrics: failures %v generation %v", metricValue(e.metrics.ReloadFailures), metricValue(e.metrics.Generation))
	}
	if !e.gw.Ready() {
		t.Fatal("not ready")
	}
}

// TestSwapUnderLoad flips the analytics feature between professional and
// enterprise while clients hammer it: every answer is a 200 or a 402, never an
// error, and each flip is enforced by the next request.
func TestSwapUnderLoad(t *testing.T) {
	e := newEnv(t, envOpts{})
	ctx, cancel := context.WithCancel(context.Background())
	var bad atomic.Int64
	var wg sync.WaitGroup
	tok := tokenFor(t, professional)
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 8}}
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				req, _ := http.NewRequest("GET", e.proxy.URL+"/api/v1/tenants/x/forecasting/analytics/a", nil)
				req.Header.Set("Authorization", "Bearer "+tok)
				resp, err := client.Do(req)
				if err != nil {
					bad.Add(1)
					continue
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				_ = resp.Body.Close()
				if resp.StatusCode != 200 && resp.StatusCode != 402 {
					bad.Add(1)
				}
			}
		}()
	}
	for i := 0; i < 50; i++ {
		p := policytest.Policy()
		p.Spec.Gateway.Upstream = e.upstream.URL
		p.Generation = int64(10 + i)
		want := 200
		if i%2 == 0 {
			p.Spec.Features[0].MinimumTier = "enterprise"
			want = 402
		}
		if err := e.gw.Update(ctx, p, fixtureTenants()); err != nil {
			t.Fatal(err)
		}
		if r := e.get(t, "/api/v1/tenants/x/forecasting/analytics/a", professional); r.status != want {
			t.Fatalf("flip %d: %d, want %d", i, r.status, want)
		}
	}
	cancel()
	wg.Wait()
	if n := bad.Load(); n > 0 {
		t.Fatalf("%d requests failed during swaps", n)
	}
}

// TestProxyConnectionReuse covers the synchronous transport: bodies with a
// Content-Length, empty replies, HEAD, and idle connections the upstream closed.
func TestProxyConnectionReuse(t *testing.T) {
	var conns atomic.Int64
	up := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/echo":
			b, _ := io.ReadAll(r.Body)
			_, _ = w.Write(b)
		case "/empty":
			w.WriteHeader(http.StatusNoContent)
		case "/close":
			w.Header().Set("Connection", "close")
			_, _ = io.WriteString(w, "bye")
		default:
			_, _ = io.WriteString(w, "hello")
		}
	}))
	up.Config.IdleTimeout = 100 * time.Millisecond
	up.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	up.Start()
	defer up.Close()
	e := newEnv(t, envOpts{mutate: func(p *subv1.SubscriptionPolicy) { p.Spec.Gateway.Upstream = up.URL }})
	for i := 0; i < 20; i++ {
		if r := do(t, "GET", e.proxy.URL+"/x"); r.status != 200 || string(r.body) != "hello" {
			t.Fatalf("GET %d: %d %q", i, r.status, r.body)
		}
	}
	if n := conns.Load(); n != 1 {
		t.Errorf("%d upstream connections for 20 sequential requests, want 1 (keep-alive)", n)
	}
	resp, err := http.Post(e.proxy.URL+"/echo", "text/plain", strings.NewReader("payload"))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if string(b) != "payload" {
		t.Fatalf("echo %q", b)
	}
	if r := do(t, "GET", e.proxy.URL+"/empty"); r.status != 204 {
		t.Fatalf("204: %d", r.status)
	}
	if r := do(t, "HEAD", e.proxy.URL+"/x"); r.status != 200 || len(r.body) != 0 {
		t.Fatalf("HEAD: %d %q", r.status, r.body)
	}
	if r := do(t, "GET", e.proxy.URL+"/close"); r.status != 200 || string(r.body) != "bye" {
		t.Fatalf("close: %d %q", r.status, r.body)
	}
	// The upstream drops idle connections after 100ms: the next request must
	// not fail on the stale pooled one.
	time.Sleep(300 * time.Millisecond)
	for i := 0; i < 3; i++ {
		if r := do(t, "GET", e.proxy.URL+"/x"); r.status != 200 {
			t.Fatalf("after idle close %d: %d %s", i, r.status, r.body)
		}
	}
}

// TestProxyClientGone: a client that leaves mid-response does not leak the
// upstream connection into the pool half-read.
func TestProxyClientGone(t *testing.T) {
	big := strings.Repeat("x", 4<<20)
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/big" {
			_, _ = io.WriteString(w, big)
			return
		}
		_, _ = io.WriteString(w, "small")
	}))
	defer up.Close()
	e := newEnv(t, envOpts{mutate: func(p *subv1.SubscriptionPolicy) { p.Spec.Gateway.Upstream = up.URL }})
	for i := 0; i < 3; i++ {
		conn, err := net.Dial("tcp", strings.TrimPrefix(e.proxy.URL, "http://"))
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.WriteString(conn, "GET /big HTTP/1.1\r\nHost: x\r\n\r\n")
		buf := make([]byte, 1024)
		_, _ = conn.Read(buf)
		_ = conn.Close()
	}
	time.Sleep(100 * time.Millisecond)
	for i := 0; i < 5; i++ {
		if r := do(t, "GET", e.proxy.URL+"/s"); r.status != 200 || string(r.body) != "small" {
			t.Fatalf("after abandoned responses %d: %d, %d bytes", i, r.status, len(r.body))
		}
	}
}
