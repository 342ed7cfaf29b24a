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
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"sync"
	"time"

	subv1 "github.com/bakery-ia/subscription-operator/api/v1alpha1"
)

// ProxyOptions tune the reverse proxy's transport.
type ProxyOptions struct {
	// ResponseHeaderTimeout bounds the wait for the upstream's response headers
	// (not the body, so streams and WebSockets are unaffected). Default 60s.
	ResponseHeaderTimeout time.Duration
	// MaxIdleConnsPerHost keeps this many upstream connections alive. Default 1024.
	MaxIdleConnsPerHost int
}

// newTransport is tuned for one upstream on a fast network: many idle
// keep-alive connections (the default of 2 per host makes every burst dial),
// no transparent gzip (bodies pass through as they are), HTTP/1.1 only.
func newTransport(o ProxyOptions) *http.Transport {
	if o.ResponseHeaderTimeout <= 0 {
		o.ResponseHeaderTimeout = 60 * time.Second
	}
	if o.MaxIdleConnsPerHost <= 0 {
		o.MaxIdleConnsPerHost = 1024
	}
	d := &net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}
	return &http.Transport{
		Proxy:                 nil,
		DialContext:           d.DialContext,
		MaxIdleConns:          0, // no global cap; per host below
		MaxIdleConnsPerHost:   o.MaxIdleConnsPerHost,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   5 * time.Second,
		ExpectContinueTimeout: time.Second,
		ResponseHeaderTimeout: o.ResponseHeaderTimeout,
		DisableCompression:    true,
		ForceAttemptHTTP2:     false,
		WriteBufferSize:       16 << 10,
		ReadBufferSize:        16 << 10,
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
	rp *httputil.ReverseProxy
}

func newProxy(g *Gateway) *proxy {
	p := &proxy{g: g}
	p.rp = &httputil.ReverseProxy{
		Rewrite:      p.rewrite,
		Transport:    newTransport(g.opts.Proxy),
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
// ReverseProxy itself removes hop-by-hop headers and handles Upgrade
// (WebSocket) requests.
func (p *proxy) rewrite(pr *httputil.ProxyRequest) {
	t := p.target()
	if t == nil {
		return // ServeHTTP refused the request already
	}
	pr.SetURL(t)
	pr.Out.Host = pr.In.Host
	// Append to the client's X-Forwarded-For like nginx's
	// $proxy_add_x_forwarded_for; Host and Proto are set from this hop.
	if xff, ok := pr.In.Header["X-Forwarded-For"]; ok {
		pr.Out.Header["X-Forwarded-For"] = xff
	}
	pr.SetXForwarded()
}

func (p *proxy) upstreamError(w http.ResponseWriter, r *http.Request, err error) {
	if errors.Is(err, context.Canceled) {
		w.WriteHeader(499) // client went away; nothing reaches it
		return
	}
	p.g.log.Warn("upstream request failed", "method", r.Method, "path", r.URL.Path, "error", err)
	h := w.Header()
	h["Content-Type"] = hdrJSON
	w.WriteHeader(http.StatusBadGateway)
	_, _ = w.Write(badGatewayBody)
}

var badGatewayBody = []byte(`{"error":"bad_gateway","code":"UPSTREAM_UNAVAILABLE","status_code":502,"message":"The application behind the gateway did not answer."}` + "\n")

// ServeHTTP decides and then proxies or answers.
func (p *proxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	g := p.g
	start := time.Now()
	d := g.Decide(r.Method, r.URL.Path, r.Header)
	if d.Outcome != Allow {
		g.writeDenied(w, r, &d, modeFull)
		g.observe(d.Label, start)
		return
	}
	if p.target() == nil {
		h := w.Header()
		h["Content-Type"] = hdrJSON
		w.WriteHeader(http.StatusBadGateway)
		_, _ = w.Write(badGatewayBody)
		g.observe(d.Label, start)
		return
	}
	// The upstream learns the tenant from the gateway only: client-sent copies
	// are removed, unless the policy trusts the identity header.
	h := r.Header
	if d.st == nil || d.st.table.Identity.From != subv1.IdentityTrustedHeader || d.st.r.header != HeaderTenantID {
		delete(h, HeaderTenantID)
	}
	delete(h, HeaderTenantTier)
	if d.Tenant != "" {
		h[HeaderTenantID] = []string{d.Tenant}
		h[HeaderTenantTier] = []string{d.Tier}
	}
	p.rp.ServeHTTP(w, r)
	g.observe(d.Label, start)
}

func (g *Gateway) observe(label string, start time.Time) {
	g.metrics.requests[label].Inc()
	g.metrics.duration[label].Observe(time.Since(start).Seconds())
}

// Handler is the reverse proxy (the --listen port).
func (g *Gateway) Handler() http.Handler { return g.proxy }
