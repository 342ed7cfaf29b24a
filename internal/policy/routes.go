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

package policy

import (
	"fmt"
	"path"
	"strings"
)

// The route matcher is a trie of path segments. Matching walks the request path
// once, without splitting it or allocating; at each segment it tries, in order
// of specificity, a literal child, the {tenant} child, the * child, and last a
// ** terminal, backtracking when a more specific branch leads nowhere. So the
// most specific pattern wins whatever order the routes were declared in; among
// routes of equal specificity the first declared wins.
//
// Paths are matched as the client sent them after percent-decoding
// (URL.Path), with empty segments ignored ("/a//b/" is "/a/b") and "." and
// ".." resolved, so a gated route cannot be dodged with path tricks that the
// upstream would normalise anyway. Literal segments are case-sensitive.
// A GET route also matches HEAD.

type router struct{ root *node }

type node struct {
	// Literal children: a short slice scanned linearly (faster than hashing for
	// the few children a node has), plus a map once there are many.
	litKeys  []string
	litNodes []*node
	lit      map[string]*node
	tenant   *node // {tenant}
	star     *node // *
	rest     *leaf // ** : zero or more remaining segments
	end      *leaf // the path ends at this node
}

type leaf struct {
	methods map[string]*Feature
	any     *Feature
}

func newRouter() *router { return &router{root: &node{}} }

const (
	segTenant = "{tenant}"
	segStar   = "*"
	segRest   = "**"
)

func (rt *router) add(method, pattern string, f *Feature) error {
	if !strings.HasPrefix(pattern, "/") {
		return fmt.Errorf("path %q must start with /", pattern)
	}
	if method == "" {
		method = "*"
	}
	n := rt.root
	segs := splitSegments(pattern)
	tenants := 0
	for i, s := range segs {
		if s == segRest {
			if i != len(segs)-1 {
				return fmt.Errorf("path %q: ** may only be the last segment", pattern)
			}
			if n.rest == nil {
				n.rest = &leaf{}
			}
			n.rest.set(method, f)
			return nil
		}
		if s == segTenant {
			if tenants++; tenants > 1 {
				return fmt.Errorf("path %q: {tenant} may appear only once", pattern)
			}
		}
		next, err := n.step(s)
		if err != nil {
			return fmt.Errorf("path %q: %w", pattern, err)
		}
		n = next
	}
	if n.end == nil {
		n.end = &leaf{}
	}
	n.end.set(method, f)
	return nil
}

// step returns (creating it) the child of n for pattern segment s.
func (n *node) step(s string) (*node, error) {
	switch {
	case s == segTenant:
		if n.tenant == nil {
			n.tenant = &node{}
		}
		return n.tenant, nil
	case s == segStar:
		if n.star == nil {
			n.star = &node{}
		}
		return n.star, nil
	case strings.ContainsAny(s, "{}"):
		return nil, fmt.Errorf("segment %q: the only placeholder is {tenant}, as a whole segment", s)
	case strings.Contains(s, "*"):
		return nil, fmt.Errorf("segment %q: * and ** must be whole segments", s)
	case s == "." || s == "..":
		return nil, fmt.Errorf("segments . and .. are not allowed")
	}
	if c := n.child(s); c != nil {
		return c, nil
	}
	c := &node{}
	n.litKeys = append(n.litKeys, s)
	n.litNodes = append(n.litNodes, c)
	if len(n.litKeys) > maxLinear {
		if n.lit == nil {
			n.lit = make(map[string]*node, len(n.litKeys))
			for k, key := range n.litKeys {
				n.lit[key] = n.litNodes[k]
			}
		}
		n.lit[s] = c
	}
	return c, nil
}

const maxLinear = 8

func (n *node) child(seg string) *node {
	if n.lit != nil {
		return n.lit[seg]
	}
	for k, key := range n.litKeys {
		if key == seg {
			return n.litNodes[k]
		}
	}
	return nil
}

func splitSegments(p string) []string {
	var out []string
	for _, s := range strings.Split(p, "/") {
		if s != "" {
			out = append(out, s)
		}
	}
	return out
}

// set keeps the first feature declared for a method.
func (l *leaf) set(method string, f *Feature) {
	if method == "*" {
		if l.any == nil {
			l.any = f
		}
		return
	}
	if l.methods == nil {
		l.methods = map[string]*Feature{}
	}
	if _, ok := l.methods[method]; !ok {
		l.methods[method] = f
	}
}

func (l *leaf) get(method string) *Feature {
	if l == nil {
		return nil
	}
	if f, ok := l.methods[method]; ok {
		return f
	}
	if method == "HEAD" {
		if f, ok := l.methods["GET"]; ok {
			return f
		}
	}
	return l.any
}

func (rt *router) match(method, p string) (*Feature, string, bool) {
	if needsClean(p) {
		p = path.Clean("/" + p)
	}
	f, ts, te := rt.root.match(method, p, 0, -1, -1)
	if f == nil {
		return nil, "", false
	}
	if ts < 0 {
		return f, "", true
	}
	return f, p[ts:te], true
}

// match returns the feature for p[i:] and the bounds of the {tenant} capture.
func (n *node) match(method, p string, i, ts, te int) (*Feature, int, int) {
	for i < len(p) && p[i] == '/' {
		i++
	}
	if i == len(p) {
		if f := n.end.get(method); f != nil {
			return f, ts, te
		}
		if f := n.rest.get(method); f != nil {
			return f, ts, te
		}
		return nil, -1, -1
	}
	j := strings.IndexByte(p[i:], '/')
	if j < 0 {
		j = len(p)
	} else {
		j += i
	}
	seg := p[i:j]
	if c := n.child(seg); c != nil {
		if f, s, e := c.match(method, p, j, ts, te); f != nil {
			return f, s, e
		}
	}
	if n.tenant != nil {
		if f, s, e := n.tenant.match(method, p, j, i, j); f != nil {
			return f, s, e
		}
	}
	if n.star != nil {
		if f, s, e := n.star.match(method, p, j, ts, te); f != nil {
			return f, s, e
		}
	}
	if f := n.rest.get(method); f != nil {
		return f, ts, te
	}
	return nil, -1, -1
}

// needsClean reports whether p has "." or ".." segments or lacks a leading slash.
func needsClean(p string) bool {
	if p == "" || p[0] != '/' {
		return true
	}
	for i := 0; i < len(p); i++ {
		if p[i] != '.' || p[i-1] != '/' {
			continue
		}
		// p[i] == '.' right after a slash: "." or ".." segment?
		k := i + 1
		if k < len(p) && p[k] == '.' {
			k++
		}
		if k == len(p) || p[k] == '/' {
			return true
		}
	}
	return false
}
