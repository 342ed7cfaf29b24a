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

package entitlements

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"time"
)

// Paths of the API.
const (
	PathEntitlements = "/api/v1/entitlements"
	PathCheck        = "/api/v1/entitlements/check"
)

// ServiceAccountTokenFile is where Kubernetes mounts a pod's token.
const ServiceAccountTokenFile = "/var/run/secrets/kubernetes.io/serviceaccount/token"

// maxBody bounds what the client reads of an answer.
const maxBody = 1 << 20

// Defaults.
const (
	DefaultTimeout      = 5 * time.Second
	DefaultCacheEntries = 10000
	tokenReread         = time.Minute
)

// Client calls the entitlement API. It is safe for concurrent use.
type Client struct {
	base     string
	http     *http.Client
	token    func() (string, error)
	lang     string
	maxAge   time.Duration
	maxItems int
	now      func() time.Time

	mu    sync.Mutex
	cache map[cacheKey]*cached
}

type cacheKey struct{ tenant, namespace, feature, lang string }

type cached struct {
	etag    string
	body    []byte
	fetched time.Time
}

// Option configures a Client.
type Option func(*Client)

// WithHTTPClient sets the HTTP client (default: one with a 5 s timeout).
func WithHTTPClient(h *http.Client) Option { return func(c *Client) { c.http = h } }

// WithToken sends a fixed bearer token.
func WithToken(token string) Option {
	return func(c *Client) { c.token = func() (string, error) { return token, nil } }
}

// WithTokenFile sends the token in path, re-read every minute (Kubernetes
// rotates projected service account tokens).
func WithTokenFile(path string) Option {
	var mu sync.Mutex
	var tok string
	var read time.Time
	return func(c *Client) {
		c.token = func() (string, error) {
			mu.Lock()
			defer mu.Unlock()
			if tok == "" || c.now().Sub(read) > tokenReread {
				b, err := os.ReadFile(path)
				if err != nil {
					return "", fmt.Errorf("entitlements: reading the token: %w", err)
				}
				tok, read = strings.TrimSpace(string(b)), c.now()
			}
			return tok, nil
		}
	}
}

// WithLanguage sets the Accept-Language of every request (offers' texts).
func WithLanguage(lang string) Option { return func(c *Client) { c.lang = lang } }

// WithMaxAge lets the client reuse an answer for d without asking the server
// (default 0: every Get revalidates with If-None-Match).
func WithMaxAge(d time.Duration) Option { return func(c *Client) { c.maxAge = d } }

// WithCacheEntries bounds the answers kept (default 10,000; 0 disables the cache).
func WithCacheEntries(n int) Option { return func(c *Client) { c.maxItems = n } }

// withClock is for tests.
func withClock(now func() time.Time) Option { return func(c *Client) { c.now = now } }

// New returns a client of the API at baseURL (scheme, host and port).
func New(baseURL string, opts ...Option) (*Client, error) {
	u, err := url.Parse(baseURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("entitlements: base URL %q must be http(s)://host[:port]", baseURL)
	}
	c := &Client{
		base: strings.TrimSuffix(baseURL, "/"), http: &http.Client{Timeout: DefaultTimeout},
		token: func() (string, error) { return "", nil }, maxItems: DefaultCacheEntries, now: time.Now,
		cache: map[cacheKey]*cached{},
	}
	for _, o := range opts {
		o(c)
	}
	return c, nil
}

// Error is an answer other than 200 (and 304).
type Error struct {
	Status  int
	Code    string // the API's error code, e.g. TENANT_NOT_FOUND
	Message string
}

func (e *Error) Error() string {
	return fmt.Sprintf("entitlements: %d %s: %s", e.Status, e.Code, e.Message)
}

// IsNotFound reports whether err is a 404 (no such tenant, or one the caller may not see).
func IsNotFound(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.Status == http.StatusNotFound
}

// GetOption narrows a Get.
type GetOption func(*cacheKey)

// InNamespace asks about the tenant in one namespace.
func InNamespace(ns string) GetOption { return func(k *cacheKey) { k.namespace = ns } }

// OnlyFeature asks about one feature.
func OnlyFeature(f string) GetOption { return func(k *cacheKey) { k.feature = f } }

// Get returns the tenant's entitlements, from the cache when the server says
// they did not change (304) or within MaxAge.
func (c *Client) Get(ctx context.Context, tenantID string, opts ...GetOption) (*Entitlements, error) {
	key := cacheKey{tenant: tenantID, lang: c.lang}
	for _, o := range opts {
		o(&key)
	}
	c.mu.Lock()
	hit := c.cache[key]
	c.mu.Unlock()
	if hit != nil && c.maxAge > 0 && c.now().Sub(hit.fetched) < c.maxAge {
		return decode(hit)
	}
	q := url.Values{"tenant_id": {tenantID}}
	if key.namespace != "" {
		q.Set("namespace", key.namespace)
	}
	if key.feature != "" {
		q.Set("feature", key.feature)
	}
	req, err := c.request(ctx, http.MethodGet, PathEntitlements+"?"+q.Encode(), nil)
	if err != nil {
		return nil, err
	}
	if hit != nil {
		req.Header.Set("If-None-Match", hit.etag)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("entitlements: GET %s: %w", PathEntitlements, err)
	}
	defer func() { _ = resp.Body.Close() }()
	switch resp.StatusCode {
	case http.StatusNotModified:
		if hit == nil || (resp.Header.Get("ETag") != "" && resp.Header.Get("ETag") != hit.etag) {
			return nil, fmt.Errorf("entitlements: 304 without a cached answer for its ETag")
		}
		fresh := &cached{etag: hit.etag, body: hit.body, fetched: c.now()}
		c.store(key, fresh)
		return decode(fresh)
	case http.StatusOK:
		body, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
		if err != nil {
			return nil, fmt.Errorf("entitlements: reading the answer: %w", err)
		}
		e := &cached{etag: resp.Header.Get("ETag"), body: body, fetched: c.now()}
		out, err := decode(e)
		if err != nil {
			return nil, err
		}
		if e.etag != "" {
			c.store(key, e)
		}
		return out, nil
	default:
		c.forget(key)
		return nil, apiError(resp)
	}
}

// CheckFeature asks whether the tenant may use feature now.
func (c *Client) CheckFeature(ctx context.Context, tenantID, feature string, opts ...GetOption) (*CheckResult, error) {
	k := cacheKey{}
	for _, o := range opts {
		o(&k)
	}
	return c.check(ctx, checkRequest{TenantID: tenantID, Namespace: k.namespace, Feature: feature})
}

// CheckAmount asks whether the tenant may add amount to metric now (for
// api_calls: make amount more calls today).
func (c *Client) CheckAmount(ctx context.Context, tenantID, metric string, amount int64, opts ...GetOption) (*CheckResult, error) {
	k := cacheKey{}
	for _, o := range opts {
		o(&k)
	}
	return c.check(ctx, checkRequest{TenantID: tenantID, Namespace: k.namespace, Metric: metric, Amount: &amount})
}

func (c *Client) check(ctx context.Context, body checkRequest) (*CheckResult, error) {
	b, err := json.Marshal(body)
	if err != nil {
		return nil, fmt.Errorf("entitlements: encoding the check: %w", err)
	}
	req, err := c.request(ctx, http.MethodPost, PathCheck, b)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("entitlements: POST %s: %w", PathCheck, err)
	}
	defer func() { _ = resp.Body.Close() }()
	if resp.StatusCode != http.StatusOK {
		return nil, apiError(resp)
	}
	var r CheckResult
	if err := json.NewDecoder(io.LimitReader(resp.Body, maxBody)).Decode(&r); err != nil {
		return nil, fmt.Errorf("entitlements: decoding the check: %w", err)
	}
	if string(r.UpgradeOffer) == "null" {
		r.UpgradeOffer = nil
	}
	return &r, nil
}

func (c *Client) request(ctx context.Context, method, path string, body []byte) (*http.Request, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
	if err != nil {
		return nil, fmt.Errorf("entitlements: %w", err)
	}
	tok, err := c.token()
	if err != nil {
		return nil, err
	}
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	if c.lang != "" {
		req.Header.Set("Accept-Language", c.lang)
	}
	return req, nil
}

func (c *Client) store(k cacheKey, e *cached) {
	if c.maxItems <= 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.cache[k]; !ok && len(c.cache) >= c.maxItems {
		for old := range c.cache { // map order is random: a random eviction
			delete(c.cache, old)
			break
		}
	}
	c.cache[k] = e
}

func (c *Client) forget(k cacheKey) {
	c.mu.Lock()
	delete(c.cache, k)
	c.mu.Unlock()
}

// decode returns a fresh copy, so callers may keep and modify it.
func decode(e *cached) (*Entitlements, error) {
	var out Entitlements
	if err := json.Unmarshal(e.body, &out); err != nil {
		return nil, fmt.Errorf("entitlements: decoding the answer: %w", err)
	}
	out.ETag = e.etag
	return &out, nil
}

func apiError(resp *http.Response) error {
	var b struct {
		Error string `json:"error"`
		Code  string `json:"code"`
	}
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if json.Unmarshal(raw, &b) != nil || b.Error == "" {
		b.Error = strings.TrimSpace(string(raw))
		if len(b.Error) > 200 {
			b.Error = b.Error[:200]
		}
	}
	return &Error{Status: resp.StatusCode, Code: b.Code, Message: b.Error}
}
