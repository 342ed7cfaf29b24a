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

// Command ceiling is a reference for bench/gateway.sh, not part of the
// product: the least work a Go HTTP server can do per request, so that the
// gateway's proxied throughput can be compared with what its HTTP stack
// allows at all, beside nginx. It lives in its own module so that its
// fasthttp dependency never reaches the operator's go.mod.
//
//	-mode fixed     net/http answering a fixed 200 without any upstream (the
//	                net/http server's own cost per request)
//	-mode nethttp   net/http with the leanest possible proxy handler: no
//	                httputil, no decision, no JWT, no counter; request and
//	                response headers copied straight between two keep-alive
//	                connections (the ceiling of any net/http-based proxy)
//	-mode httputil  a plain httputil.NewSingleHostReverseProxy with Go's default
//	                transport (what the gateway started from, untuned)
//	-mode fasthttp  github.com/valyala/fasthttp server and HostClient, the
//	                fastest well-kept Go HTTP/1.1 stack (the ceiling of a Go
//	                proxy that gives up net/http)
//
// None of these check anything; they answer only what the benchmark sends.
package main

import (
	"bufio"
	"flag"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strconv"
	"sync"

	"github.com/valyala/fasthttp"
)

func main() {
	mode := flag.String("mode", "fixed", "fixed, nethttp, httputil or fasthttp")
	listen := flag.String("listen", "127.0.0.1:0", "address to serve on")
	upstream := flag.String("upstream", "", "upstream host:port (nethttp, fasthttp)")
	flag.Parse()

	switch *mode {
	case "fixed":
		body := []byte("upstream ok\n")
		log.Fatal(http.ListenAndServe(*listen, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			w.Header()["Content-Type"] = []string{"text/plain"}
			_, _ = w.Write(body)
		})))
	case "nethttp":
		p := &leanProxy{upstream: *upstream}
		log.Fatal(http.ListenAndServe(*listen, p))
	case "httputil":
		log.Fatal(http.ListenAndServe(*listen, httputil.NewSingleHostReverseProxy(&url.URL{Scheme: "http", Host: *upstream})))
	case "fasthttp":
		hc := &fasthttp.HostClient{Addr: *upstream, MaxConns: 1024}
		log.Fatal(fasthttp.ListenAndServe(*listen, func(ctx *fasthttp.RequestCtx) {
			ctx.Request.Header.Set("X-Forwarded-For", ctx.RemoteIP().String())
			if err := hc.Do(&ctx.Request, &ctx.Response); err != nil {
				ctx.Error(err.Error(), fasthttp.StatusBadGateway)
			}
		}))
	default:
		log.Fatalf("unknown -mode %q", *mode)
	}
}

type upConn struct {
	br *bufio.Reader
	bw *bufio.Writer
}

// leanProxy forwards GET-style requests over pooled keep-alive connections.
type leanProxy struct {
	upstream string
	pool     sync.Pool
}

var hopByHop = map[string]bool{"Connection": true, "Keep-Alive": true, "Te": true, "Trailer": true,
	"Transfer-Encoding": true, "Upgrade": true, "Proxy-Connection": true}

func (p *leanProxy) conn() (*upConn, error) {
	if v := p.pool.Get(); v != nil {
		return v.(*upConn), nil
	}
	c, err := net.Dial("tcp", p.upstream)
	if err != nil {
		return nil, err
	}
	return &upConn{br: bufio.NewReaderSize(c, 16<<10), bw: bufio.NewWriterSize(c, 8<<10)}, nil
}

func (p *leanProxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	pc, err := p.conn()
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	bw := pc.bw
	_, _ = bw.WriteString(r.Method + " " + r.RequestURI + " HTTP/1.1\r\nHost: " + r.Host + "\r\n")
	for k, vs := range r.Header {
		if hopByHop[k] {
			continue
		}
		for _, v := range vs {
			_, _ = bw.WriteString(k + ": " + v + "\r\n")
		}
	}
	_, _ = bw.WriteString("X-Forwarded-For: 127.0.0.1\r\n\r\n")
	if err := bw.Flush(); err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	resp, err := http.ReadResponse(pc.br, r)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	h := w.Header()
	for k, vs := range resp.Header {
		if !hopByHop[k] {
			h[k] = vs
		}
	}
	if resp.ContentLength >= 0 {
		h["Content-Length"] = []string{strconv.FormatInt(resp.ContentLength, 10)}
	}
	w.WriteHeader(resp.StatusCode)
	_, _ = io.Copy(w, resp.Body)
	_ = resp.Body.Close()
	p.pool.Put(pc)
}
