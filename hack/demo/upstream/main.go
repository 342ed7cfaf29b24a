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

// Command upstream stands in for the bakery API behind the gateway in
// `make demo`: it answers every request with a small JSON body naming itself,
// the method and the path, so a proxied call is easy to recognise.
//
// In the image it is /demo-upstream, the upstream Deployment of the local-cluster
// test (make e2e-cluster); with --get it is instead a one-shot HTTP client that the
// test runs inside pods (the image has no shell or curl): it prints the status
// code on the first line and the body after it.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log"
	"net/http"
	"os"
	"strings"
	"time"
)

// headers collects repeated --header "Name: value" flags.
type headers []string

func (h *headers) String() string     { return strings.Join(*h, ", ") }
func (h *headers) Set(v string) error { *h = append(*h, v); return nil }

func main() {
	listen := flag.String("listen", "127.0.0.1:8000", "address to listen on")
	get := flag.String("get", "", "client mode: GET this URL, print the status code and the body, exit")
	bearerFile := flag.String("bearer-file", "", "client mode: send the token in this file (a projected ServiceAccount token) as a bearer token")
	var hdrs headers
	flag.Var(&hdrs, "header", `client mode: "Name: value" request header; repeatable`)
	flag.Parse()
	if *get != "" {
		if err := fetch(*get, *bearerFile, hdrs); err != nil {
			log.Fatal(err)
		}
		return
	}
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]string{
			"upstream": "bakery-api",
			"method":   r.Method,
			"path":     r.URL.Path,
			"message":  "hello from the application behind the gateway",
		})
	})
	srv := &http.Server{Addr: *listen, Handler: h, ReadHeaderTimeout: 5 * time.Second}
	log.Printf("upstream: listening on %s", *listen)
	log.Fatal(srv.ListenAndServe())
}

// fetch is the --get client mode.
func fetch(url, bearerFile string, hdrs headers) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return fmt.Errorf("--get: %w", err)
	}
	for _, h := range hdrs {
		k, v, ok := strings.Cut(h, ":")
		if !ok {
			return fmt.Errorf("--header %q: want \"Name: value\"", h)
		}
		req.Header.Set(strings.TrimSpace(k), strings.TrimSpace(v))
	}
	if bearerFile != "" {
		tok, err := os.ReadFile(bearerFile)
		if err != nil {
			return fmt.Errorf("--bearer-file: %w", err)
		}
		req.Header.Set("Authorization", "Bearer "+strings.TrimSpace(string(tok)))
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer func() { _ = resp.Body.Close() }()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return fmt.Errorf("reading the body: %w", err)
	}
	fmt.Printf("%d\n%s\n", resp.StatusCode, body)
	return nil
}
