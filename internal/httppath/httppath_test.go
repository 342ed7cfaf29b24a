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

package httppath

import (
	"errors"
	"net/url"
	"path"
	"strings"
	"testing"
)

func TestNormalize(t *testing.T) {
	cases := []struct {
		target, esc, dec string
		err              error
	}{
		{"/", "/", "/", nil},
		{"/a/b?x=1", "/a/b", "/a/b", nil},
		{"/a/b#frag", "/a/b", "/a/b", nil},
		{"/a//b///c", "/a/b/c", "/a/b/c", nil},
		{"/a/b/", "/a/b/", "/a/b/", nil},
		{"/a/./b", "/a/b", "/a/b", nil},
		{"/a/b/.", "/a/b/", "/a/b/", nil},
		{"/a/b/..", "/a/", "/a/", nil},
		{"/a/b/../c", "/a/c", "/a/c", nil},
		{"/../../a", "/a", "/a", nil},
		{"/api/v1/tenants/low/reports/x/../../other", "/api/v1/tenants/low/other", "/api/v1/tenants/low/other", nil},
		{"//", "/", "/", nil},
		{"/.well-known/x", "/.well-known/x", "/.well-known/x", nil},
		{"/a/...", "/a/...", "/a/...", nil},
		{"/%61%62c", "/abc", "/abc", nil},
		{"/a%7Eb%2d", "/a~b-", "/a~b-", nil},
		{"/a%20b", "/a%20b", "/a b", nil},
		{"/a%3fb", "/a%3Fb", "/a?b", nil},
		{"/a%252e%252e", "/a%252e%252e", "/a%2e%2e", nil},
		{"/a{b}", "/a%7Bb%7D", "/a{b}", nil},
		{"/caf\xc3\xa9", "/caf%C3%A9", "/caf\xc3\xa9", nil},
		{"/a:b@c!$&'()*+,;=", "/a:b@c!$&'()*+,;=", "/a:b@c!$&'()*+,;=", nil},
		{"http://example.com/a/../b?q", "/b", "/b", nil},
		{"HTTPS://example.com", "/", "/", nil},
		{"/a%2Fb", "", "", ErrEncodedSlash},
		{"/a%2fb", "", "", ErrEncodedSlash},
		{"/a%5cb", "", "", ErrEncodedSlash},
		{"/a\\b", "", "", ErrBackslash},
		{"/a%00", "", "", ErrControl},
		{"/a\x00", "", "", ErrControl},
		{"/a%0d%0a", "", "", ErrControl},
		{"/a/%2e%2e/b", "", "", ErrEncodedDot},
		{"/a/.%2E/b", "", "", ErrEncodedDot},
		{"/a/%2e", "", "", ErrEncodedDot},
		{"/a%2", "", "", ErrBadEscape},
		{"/a%zz", "", "", ErrBadEscape},
		{"*", "", "", ErrNotOriginForm},
		{"example.com:443", "", "", ErrNotOriginForm},
		{"", "", "", ErrNotOriginForm},
		{"/" + strings.Repeat("a", MaxLen), "", "", ErrTooLong},
	}
	for _, c := range cases {
		p, err := Normalize(c.target)
		if !errors.Is(err, c.err) {
			t.Errorf("%q: error %v, want %v", c.target, err, c.err)
			continue
		}
		if err == nil && (p.Escaped != c.esc || p.Decoded != c.dec) {
			t.Errorf("%q: got %q / %q, want %q / %q", c.target, p.Escaped, p.Decoded, c.esc, c.dec)
		}
	}
}

// FuzzNormalize: the result is a fixed point, is what a standard server
// (net/url) and a normalising one (path.Clean) make of the forwarded path,
// and has the same segments escaped and decoded.
func FuzzNormalize(f *testing.F) {
	for _, s := range []string{"/", "/a/../b", "/a//b/./c/", "/%2e%2e/x", "/a%2Fb", "/a%41%7e", "/a b", "http://h/a/..", "*",
		"/api/v1/tenants/x/forecasting/analytics/a", "/api/v1/tenants/x/reports/y/../../z", "/\\..\\x", "/a%25/b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, target string) {
		p, err := Normalize(target)
		if err != nil {
			return
		}
		again, err := NormalizePath(p.Escaped)
		if err != nil || again != p {
			t.Fatalf("%q -> %+v is not a fixed point: %+v %v", target, p, again, err)
		}
		u, err := url.ParseRequestURI(p.Escaped)
		if err != nil {
			t.Fatalf("%q -> %q does not parse: %v", target, p.Escaped, err)
		}
		if u.Path != p.Decoded {
			t.Fatalf("%q: net/url decodes %q to %q, want %q", target, p.Escaped, u.Path, p.Decoded)
		}
		if c := path.Clean(p.Decoded); c != strings.TrimSuffix(p.Decoded, "/") && c != p.Decoded {
			t.Fatalf("%q: a normalising upstream would see %q, the gateway decided on %q", target, c, p.Decoded)
		}
		if strings.Count(p.Escaped, "/") != strings.Count(p.Decoded, "/") {
			t.Fatalf("%q: segments differ: %q vs %q", target, p.Escaped, p.Decoded)
		}
		for i := 0; i < len(p.Escaped); i++ {
			if c := p.Escaped[i]; c < 0x21 || c > 0x7e || c == '\\' {
				t.Fatalf("%q: forwarded path has byte %#x", target, c)
			}
		}
	})
}
