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
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// rawUpstream is an upstream that writes its answers byte by byte as the test
// says, on real sockets: the misbehaving upstream of the hostile-peer suite.
type rawUpstream struct {
	ln    net.Listener
	URL   string
	conns atomic.Int64
	mu    sync.Mutex
	paths []string // request targets received, in order
}

// answerFunc writes the raw answer to req on conn; false closes the connection.
type answerFunc func(conn net.Conn, br *bufio.Reader, req *http.Request) bool

// newRawUpstream serves every connection with answer; a request's body is
// read before answer unless readBody is false.
func newRawUpstream(t testing.TB, readBody bool, answer answerFunc) *rawUpstream {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	u := &rawUpstream{ln: ln, URL: "http://" + ln.Addr().String()}
	var wg sync.WaitGroup
	var open []net.Conn
	t.Cleanup(func() {
		_ = ln.Close()
		u.mu.Lock()
		for _, c := range open {
			_ = c.Close()
		}
		u.mu.Unlock()
		wg.Wait()
	})
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			u.conns.Add(1)
			u.mu.Lock()
			open = append(open, c)
			u.mu.Unlock()
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer func() { _ = c.Close() }()
				_ = c.SetDeadline(time.Now().Add(20 * time.Second))
				br := bufio.NewReader(c)
				for {
					req, err := http.ReadRequest(br)
					if err != nil {
						return
					}
					u.mu.Lock()
					u.paths = append(u.paths, req.RequestURI)
					u.mu.Unlock()
					if readBody {
						_, _ = io.Copy(io.Discard, req.Body)
					}
					if !answer(c, br, req) {
						return
					}
				}
			}()
		}
	}()
	return u
}

// rawResponse is a complete 200 answer with body.
func rawResponse(body string) string {
	return "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: " + strconv.Itoa(len(body)) + "\r\n\r\n" + body
}

// rawExchange sends raw request bytes on a fresh connection to addr and
// returns the responses read until the server closes or goes quiet.
func rawExchange(t testing.TB, addr, raw string, quiet time.Duration) string {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = c.Close() }()
	if _, err := io.WriteString(c, raw); err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	buf := make([]byte, 32<<10)
	for {
		_ = c.SetReadDeadline(time.Now().Add(quiet))
		n, err := c.Read(buf)
		out.Write(buf[:n])
		if err != nil {
			return out.String()
		}
	}
}
