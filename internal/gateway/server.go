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
	"fmt"
	"net"
	"net/http"
	"time"

	"golang.org/x/net/netutil"
)

// ServerOptions bound what one client can hold of a listener. There is no
// whole-request read or write deadline: it would cut streamed responses,
// long uploads on good links and WebSockets; slow request bodies are cut by
// ProxyOptions.BodyMinRate instead.
type ServerOptions struct {
	// ReadHeaderTimeout bounds reading a request's headers. Default 10s.
	ReadHeaderTimeout time.Duration
	// IdleTimeout closes a keep-alive connection without a request. Default 120s.
	IdleTimeout time.Duration
	// MaxHeaderBytes bounds the request line and headers. Default 64 KiB.
	MaxHeaderBytes int
	// MaxConns caps the open client connections of a listener; further
	// clients wait in the kernel's accept queue. Default 10,000; negative: no cap.
	MaxConns int
}

// Defaults of ServerOptions (also the command line's).
const (
	DefaultReadHeaderTimeout = 10 * time.Second
	DefaultIdleTimeout       = 120 * time.Second
	DefaultMaxHeaderBytes    = 64 << 10
	DefaultMaxConns          = 10000
)

func (o *ServerOptions) defaults() {
	if o.ReadHeaderTimeout <= 0 {
		o.ReadHeaderTimeout = DefaultReadHeaderTimeout
	}
	if o.IdleTimeout <= 0 {
		o.IdleTimeout = DefaultIdleTimeout
	}
	if o.MaxHeaderBytes <= 0 {
		o.MaxHeaderBytes = DefaultMaxHeaderBytes
	}
	if o.MaxConns == 0 {
		o.MaxConns = DefaultMaxConns
	}
}

// NewServer returns an http.Server for h with o's limits.
func NewServer(h http.Handler, o ServerOptions) *http.Server {
	o.defaults()
	return &http.Server{Handler: h, ReadHeaderTimeout: o.ReadHeaderTimeout, IdleTimeout: o.IdleTimeout,
		MaxHeaderBytes: o.MaxHeaderBytes}
}

// Listen opens a TCP listener on addr capped at o.MaxConns connections.
func Listen(ctx context.Context, addr string, o ServerOptions) (net.Listener, error) {
	var lc net.ListenConfig
	l, err := lc.Listen(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listening on %s: %w", addr, err)
	}
	return LimitListener(l, o), nil
}

// LimitListener caps l at o.MaxConns open connections (golang.org/x/net/netutil).
func LimitListener(l net.Listener, o ServerOptions) net.Listener {
	o.defaults()
	if o.MaxConns < 0 {
		return l
	}
	return netutil.LimitListener(l, o.MaxConns)
}
