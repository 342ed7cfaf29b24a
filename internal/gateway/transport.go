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
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"sync"
	"syscall"
	"time"
)

// syncTransport does plain-HTTP/1.1 round trips on the calling goroutine over
// a pool of keep-alive connections. http.Transport hands every request to two
// goroutines per connection (a writer and a reader) and back, which costs more
// than the proxying itself on a small machine; here the handler goroutine
// writes the request and reads the response directly. Everything that needs
// the full transport (TLS upstreams, Upgrade/WebSocket, Expect: 100-continue,
// request bodies of unknown length) goes to the fallback http.Transport.
type syncTransport struct {
	fallback      *http.Transport
	dialer        *net.Dialer
	headerTimeout time.Duration
	idleTimeout   time.Duration
	maxIdle       int

	mu   sync.Mutex
	idle map[string][]*upConn
}

type upConn struct {
	c    net.Conn
	br   *bufio.Reader
	bw   *bufio.Writer
	host string
	used time.Time
}

func newSyncTransport(fallback *http.Transport) *syncTransport {
	return &syncTransport{
		fallback:      fallback,
		dialer:        &net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second},
		headerTimeout: fallback.ResponseHeaderTimeout,
		idleTimeout:   fallback.IdleConnTimeout,
		maxIdle:       fallback.MaxIdleConnsPerHost,
		idle:          map[string][]*upConn{},
	}
}

func (t *syncTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.URL.Scheme != "http" || req.Header["Upgrade"] != nil || req.Header["Expect"] != nil ||
		(req.Body != nil && req.Body != http.NoBody && req.ContentLength <= 0) {
		return t.fallback.RoundTrip(req)
	}
	host := req.URL.Host
	if _, _, err := net.SplitHostPort(host); err != nil {
		host = net.JoinHostPort(host, "80")
	}
	for attempt := 0; ; attempt++ {
		pc, reused, err := t.get(req.Context(), host)
		if err != nil {
			return nil, err
		}
		resp, err := t.exchange(pc, req)
		if err == nil {
			return resp, nil
		}
		_ = pc.c.Close()
		// An idle connection the upstream closed fails before any reply; a
		// request without a body can be sent again on a fresh connection.
		if reused && attempt == 0 && req.Body == nil && staleConn(err) && req.Context().Err() == nil {
			continue
		}
		return nil, err
	}
}

func staleConn(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE)
}

var longAgo = time.Unix(1, 0)

func (t *syncTransport) exchange(pc *upConn, req *http.Request) (*http.Response, error) {
	ctx := req.Context()
	stop := context.AfterFunc(ctx, func() { _ = pc.c.SetDeadline(longAgo) })
	if t.headerTimeout > 0 {
		_ = pc.c.SetReadDeadline(time.Now().Add(t.headerTimeout))
	}
	if err := req.Write(pc.bw); err != nil {
		stop()
		return nil, err
	}
	if err := pc.bw.Flush(); err != nil {
		stop()
		return nil, err
	}
	var resp *http.Response
	for {
		var err error
		resp, err = http.ReadResponse(pc.br, req)
		if err != nil {
			stop()
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			return nil, err
		}
		// Skip interim responses (103 Early Hints); 101 never happens here.
		if resp.StatusCode >= 200 || resp.StatusCode < 100 {
			break
		}
		_ = resp.Body.Close()
	}
	_ = pc.c.SetReadDeadline(time.Time{}) // the body may stream for long
	keep := !resp.Close && !req.Close
	if resp.Body == http.NoBody || resp.Body == nil {
		t.release(pc, stop, keep)
		return resp, nil
	}
	resp.Body = &upBody{rc: resp.Body, pc: pc, t: t, stop: stop, keep: keep}
	return resp, nil
}

// release returns pc to the pool when it is clean, or closes it.
func (t *syncTransport) release(pc *upConn, stop func() bool, keep bool) {
	if !stop() { // the request was cancelled: the deadline poisoned pc
		keep = false
	}
	if keep {
		t.put(pc)
	} else {
		_ = pc.c.Close()
	}
}

func (t *syncTransport) get(ctx context.Context, host string) (*upConn, bool, error) {
	now := time.Now()
	t.mu.Lock()
	for list := t.idle[host]; len(list) > 0; list = t.idle[host] {
		pc := list[len(list)-1]
		t.idle[host] = list[:len(list)-1]
		if t.idleTimeout > 0 && now.Sub(pc.used) > t.idleTimeout {
			_ = pc.c.Close()
			continue
		}
		t.mu.Unlock()
		return pc, true, nil
	}
	t.mu.Unlock()
	c, err := t.dialer.DialContext(ctx, "tcp", host)
	if err != nil {
		return nil, false, err
	}
	return &upConn{c: c, br: bufio.NewReaderSize(c, 16<<10), bw: bufio.NewWriterSize(c, 8<<10), host: host}, false, nil
}

func (t *syncTransport) put(pc *upConn) {
	pc.used = time.Now()
	t.mu.Lock()
	if len(t.idle[pc.host]) < t.maxIdle {
		t.idle[pc.host] = append(t.idle[pc.host], pc)
		pc = nil
	}
	t.mu.Unlock()
	if pc != nil {
		_ = pc.c.Close()
	}
}

// upBody returns the connection to the pool once the body was read to the end.
type upBody struct {
	rc   io.ReadCloser
	pc   *upConn
	t    *syncTransport
	stop func() bool
	keep bool
	eof  bool
	done bool
}

func (b *upBody) Read(p []byte) (int, error) {
	n, err := b.rc.Read(p)
	if err == io.EOF {
		b.eof = true
	}
	return n, err
}

func (b *upBody) Close() error {
	if b.done {
		return nil
	}
	b.done = true
	if !b.eof {
		// Not read to the end (client gone, or an error): the connection is
		// mid-response. Close it before the body, whose Close would drain.
		_ = b.pc.c.Close()
		_ = b.rc.Close()
		b.stop()
		return nil
	}
	_ = b.rc.Close()
	b.t.release(b.pc, b.stop, b.keep)
	return nil
}
