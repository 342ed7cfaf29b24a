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

package gateway

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/net/http/httpguts"

	subv1 "github.com/bakery-ia/subscription-operator/api/v1alpha1"
	"github.com/bakery-ia/subscription-operator/internal/httppath"
)

// ProxyOptions tune the reverse proxy's transport.
type ProxyOptions struct {
	// ResponseHeaderTimeout bounds the wait for the upstream's response headers
	// (not the body, so streams and WebSockets are unaffected). Default 60s.
	ResponseHeaderTimeout time.Duration
	// MaxIdleConnsPerHost keeps this many upstream connections alive. Default 1024.
	MaxIdleConnsPerHost int
	// BodyMinRate and BodyGrace cut a request body that arrives slower than
	// BodyMinRate bytes per second once BodyGrace has passed (408). Defaults
	// 1024 B/s and 10s; a negative BodyMinRate turns the check off.
	BodyMinRate int64
	BodyGrace   time.Duration
}

// Defaults of ProxyOptions (also the command line's).
const (
	DefaultResponseHeaderTimeout = 60 * time.Second
	DefaultMaxIdleConnsPerHost   = 1024
	DefaultBodyMinRate           = 1024
	DefaultBodyGrace             = 10 * time.Second
)

func (o *ProxyOptions) defaults() {
	if o.ResponseHeaderTimeout <= 0 {
		o.ResponseHeaderTimeout = DefaultResponseHeaderTimeout
	}
	if o.MaxIdleConnsPerHost <= 0 {
		o.MaxIdleConnsPerHost = DefaultMaxIdleConnsPerHost
	}
	if o.BodyMinRate == 0 {
		o.BodyMinRate = DefaultBodyMinRate
	}
	if o.BodyGrace <= 0 {
		o.BodyGrace = DefaultBodyGrace
	}
}

// newTransport is net/http's Transport tuned for one upstream on a fast
// network: many idle keep-alive connections (the default of 2 per host makes
// every burst dial), no transparent gzip (bodies pass through as they are),
// HTTP/1.1 only. It owns the protocol: it drops a connection on which the
// upstream sent bytes nobody asked for, handles 1xx, trailers, early answers
// and reuse, and counts ResponseHeaderTimeout from the end of the request body.
func newTransport(o ProxyOptions) *http.Transport {
	d := &net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}
	return &http.Transport{
		Proxy:                  nil,
		DialContext:            d.DialContext,
		MaxIdleConns:           0, // no global cap; per host below
		MaxIdleConnsPerHost:    o.MaxIdleConnsPerHost,
		IdleConnTimeout:        90 * time.Second,
		TLSHandshakeTimeout:    5 * time.Second,
		ExpectContinueTimeout:  time.Second,
		ResponseHeaderTimeout:  o.ResponseHeaderTimeout,
		MaxResponseHeaderBytes: 1 << 20, // an upstream's headers beyond 1 MiB are a 502
		DisableCompression:     true,
		ForceAttemptHTTP2:      false,
		WriteBufferSize:        16 << 10,
		ReadBufferSize:         16 << 10,
	}
}

// bufferPool lends ReverseProxy its 32 KiB copy buffers.
type bufferPool struct{ p sync.Pool }

func (b *bufferPool) Get() []byte {
	if v := b.p.Get(); v != nil {
		return *(v.(*[]byte))
	}
	return make([]byte, 32<<10)
}

func (b *bufferPool) Put(buf []byte) { b.p.Put(&buf) }

type proxy struct {
	g  *Gateway
	o  ProxyOptions
	rp *httputil.ReverseProxy
}

func newProxy(g *Gateway) *proxy {
	o := g.opts.Proxy
	o.defaults()
	p := &proxy{g: g, o: o}
	p.rp = &httputil.ReverseProxy{
		Rewrite:      p.rewrite,
		Transport:    newTransport(o),
		BufferPool:   &bufferPool{},
		ErrorHandler: p.upstreamError,
	}
	return p
}

func (p *proxy) target() *url.URL {
	if st := p.g.cur.Load(); st != nil && st.upstream != nil {
		return st.upstream
	}
	return p.g.opts.Upstream
}

// rewrite points the request at the upstream, keeps the client's Host (as
// NewSingleHostReverseProxy does) and sets X-Forwarded-For/-Host/-Proto.
// ReverseProxy itself removes hop-by-hop headers (those named by the client's
// Connection header too) before rewrite runs, and handles Upgrade requests.
func (p *proxy) rewrite(pr *httputil.ProxyRequest) {
	t := p.target()
	if t == nil {
		return // ServeHTTP refused the request already
	}
	// The path is the normalised one ServeHTTP decided on (In.URL.Path and
	// RawPath were set from it), joined to the upstream URL's own path.
	pr.SetURL(t)
	pr.Out.Host = pr.In.Host
	// Append to the client's X-Forwarded-For like nginx's
	// $proxy_add_x_forwarded_for; Host and Proto are set from this hop.
	if xff, ok := pr.In.Header["X-Forwarded-For"]; ok {
		pr.Out.Header["X-Forwarded-For"] = xff
	}
	pr.SetXForwarded()
	// The identity headers are the gateway's: ServeHTTP left only its own
	// values on In; they are set on Out after the hop-by-hop removal, so a
	// "Connection: X-Tenant-Id" cannot take them away.
	out := pr.Out.Header
	for _, k := range identityHeaders {
		if v, ok := pr.In.Header[k]; ok {
			out[k] = v
		} else {
			delete(out, k)
		}
	}
}

var identityHeaders = [...]string{HeaderTenantID, HeaderTenantTier}

// stripTenantHeaders removes every client-sent X-Tenant-* header but keep
// (the trusted identity header, "" for none).
func stripTenantHeaders(h http.Header, keep string) {
	for k := range h {
		if len(k) > 9 && strings.EqualFold(k[:9], "X-Tenant-") && k != keep {
			delete(h, k)
		}
	}
}

func (p *proxy) upstreamError(w http.ResponseWriter, r *http.Request, err error) {
	// ReverseProxy hands the outbound request here, whose Body is wrapped:
	// the client's body is found through the context.
	if b, ok := r.Context().Value(bodyKey{}).(*slowBody); ok {
		switch {
		case b.expired():
			p.g.log.Info("request body too slow", "method", r.Method, "path", r.URL.Path, "bytes", b.n.Load())
			writeError(w, http.StatusRequestTimeout, bodyTooSlowBody)
			return
		case b.malformed.Load() && r.Context().Err() == nil:
			writeError(w, http.StatusBadRequest, badBodyBody)
			return
		}
	}
	if errors.Is(err, context.Canceled) {
		w.WriteHeader(499) // client went away; nothing reaches it
		return
	}
	p.g.log.Warn("upstream request failed", "method", r.Method, "path", r.URL.Path, "error", err)
	writeError(w, http.StatusBadGateway, badGatewayBody)
}

var (
	badGatewayBody  = []byte(`{"error":"bad_gateway","code":"UPSTREAM_UNAVAILABLE","status_code":502,"message":"The application behind the gateway did not answer."}` + "\n")
	badBodyBody     = []byte(`{"error":"bad_request","code":"REQUEST_BODY_MALFORMED","status_code":400,"message":"The request body could not be read (malformed chunked encoding or cut short)."}` + "\n")
	bodyTooSlowBody = []byte(`{"error":"request_timeout","code":"REQUEST_BODY_TOO_SLOW","status_code":408,"message":"The request body arrived too slowly."}` + "\n")
	badPathBody     = []byte(`{"error":"bad_request","code":"AMBIGUOUS_REQUEST_TARGET","status_code":400,"message":"The request path is not accepted: encoded slashes or backslashes, encoded dot segments, control characters and malformed escapes are refused."}` + "\n")
)

// writeError writes a fixed JSON error body.
func writeError(w http.ResponseWriter, status int, body []byte) {
	h := w.Header()
	h["Content-Type"] = hdrJSON
	h["X-Content-Type-Options"] = hdrNosniff
	h["Cache-Control"] = hdrNoStore
	if status == http.StatusRequestTimeout {
		h["Connection"] = hdrClose
	}
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// ServeHTTP normalises the request target, decides on it, and proxies exactly
// that path or answers.
func (p *proxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	g := p.g
	start := g.clock.Now()
	np, err := httppath.Normalize(r.RequestURI)
	// An absolute-form target ("GET http://host/path") replaces the Host
	// header with its authority (RFC 9112, 3.2.2), which net/http does not
	// check: an invalid one is the client's error, not the upstream's (found
	// by FuzzDecisionMatchesForwardedPath: "http://\x80" was answered 502).
	if err != nil || !httpguts.ValidHostHeader(r.Host) {
		writeError(w, http.StatusBadRequest, badPathBody)
		g.observe(LabelBadRequest, start)
		return
	}
	if isWellKnown(np.Decoded) { // the gateway's own endpoints (entitlements.go)
		g.serveWellKnown(w, r, np.Decoded)
		return
	}
	if rest, ok := g.usagePageRest(np.Decoded); ok { // usagepage.go
		g.serveUsagePage(w, r, rest)
		return
	}
	d := g.Decide(r.Method, np.Decoded, r.Header)
	if d.Outcome != Allow {
		g.writeDenied(w, r, &d, modeFull)
		g.observe(d.Label, start)
		return
	}
	if p.target() == nil {
		writeError(w, http.StatusBadGateway, badGatewayBody)
		g.observe(d.Label, start)
		return
	}
	// Forward exactly the path decided on. RawPath is always set: without it
	// net/url re-escapes Path its own way ("!" becomes "%21").
	r.URL.Path, r.URL.RawPath = np.Decoded, np.Escaped
	// The upstream learns the tenant from the gateway only: client-sent
	// X-Tenant-* headers are removed, unless the policy trusts one of them.
	keep := ""
	if d.st != nil && d.st.table.Identity.From == subv1.IdentityTrustedHeader {
		keep = d.st.r.header
	}
	h := r.Header
	stripTenantHeaders(h, keep)
	if d.Tenant != "" {
		h[HeaderTenantID] = []string{d.Tenant}
		h[HeaderTenantTier] = []string{d.Tier}
	}
	if r.ContentLength != 0 {
		// Read deadlines of a connection are wall-clock instants (the
		// netpoller's), so the body watchdog starts from the wall clock, not
		// the injected one: a fake clock would cut every body at once.
		b := &slowBody{rc: r.Body, ctl: http.NewResponseController(w), start: time.Now(),
			grace: p.o.BodyGrace, minRate: p.o.BodyMinRate}
		r.Body = b
		r = r.WithContext(context.WithValue(r.Context(), bodyKey{}, b))
	}
	p.rp.ServeHTTP(w, r)
	g.observe(d.Label, start)
}

// slowBody watches the client's request body. It cuts a body that arrives slower than minRate bytes per
// second after grace: before each read the connection's read deadline moves
// to start + grace + bytes so far / minRate. net/http's server has only a
// whole-request ReadTimeout, which would also cut large uploads on good
// links and the WebSockets that ReverseProxy hijacks.
//
// Read runs on the Transport's writer goroutine while the error handler may
// ask expired() on the handler's: the shared state is atomic.
type bodyKey struct{}

type slowBody struct {
	rc       io.ReadCloser
	ctl      *http.ResponseController
	start    time.Time
	grace    time.Duration
	minRate  int64
	n        atomic.Int64
	deadline atomic.Int64 // UnixNano of the read deadline in force
	done     atomic.Bool  // read to the end or closed: no deadline any more
	// malformed: reading failed for another reason than the deadline (bad
	// chunked encoding, the client closed early).
	malformed atomic.Bool
}

func (b *slowBody) Read(p []byte) (int, error) {
	if b.minRate > 0 && !b.done.Load() {
		d := b.start.Add(b.grace + time.Duration(b.n.Load()*int64(time.Second)/b.minRate))
		if d.UnixNano()-b.deadline.Load() > int64(50*time.Millisecond) {
			if err := b.ctl.SetReadDeadline(d); err == nil {
				b.deadline.Store(d.UnixNano())
			}
		}
	}
	n, err := b.rc.Read(p)
	b.n.Add(int64(n))
	if err == io.EOF {
		b.finish()
	} else if err != nil && !b.expired() {
		b.malformed.Store(true)
	}
	return n, err
}

// expired reports whether the body was cut by its deadline.
func (b *slowBody) expired() bool {
	d := b.deadline.Load()
	return !b.done.Load() && d != 0 && time.Now().UnixNano() >= d // wall clock, like the deadline
}

// finish clears the deadline once the body is read (the server sets its own
// for the next request; a deadline left behind would cancel the request while
// the upstream answers). A body cut by its deadline keeps it: the server then
// closes the connection instead of waiting for the rest.
func (b *slowBody) finish() {
	if b.expired() {
		return
	}
	if b.done.CompareAndSwap(false, true) {
		_ = b.ctl.SetReadDeadline(time.Time{})
	}
}

func (b *slowBody) Close() error {
	b.finish()
	return b.rc.Close()
}

func (g *Gateway) observe(label string, start time.Time) {
	g.metrics.requests[label].Inc()
	g.metrics.duration[label].Observe(g.clock.Since(start).Seconds())
}

// Handler is the reverse proxy (the --listen port).
func (g *Gateway) Handler() http.Handler { return g.proxy }
