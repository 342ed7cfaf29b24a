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

package entitlement

import (
	"sync"
	"sync/atomic"

	"golang.org/x/text/language"
)

// Negotiator picks one of a fixed list of languages (the first is the
// fallback) from an Accept-Language header with x/text's matcher, exactly as
// the gateway picks the language of its 402 and 429 bodies. Results are
// cached per header value (up to 1024 values of at most 256 bytes), so the
// common case is one map lookup. Safe for concurrent use.
type Negotiator struct {
	langs   []string
	matcher language.Matcher
	cache   sync.Map // header value -> int
	size    atomic.Int32
}

const maxLangCache = 1024

// NewNegotiator returns a Negotiator for langs (policy.Spec.Languages: the
// fallback first).
func NewNegotiator(langs []string) *Negotiator {
	tags := make([]language.Tag, len(langs))
	for i, l := range langs {
		tags[i] = language.Make(l)
	}
	return &Negotiator{langs: langs, matcher: language.NewMatcher(tags)}
}

// Pick returns the index into the languages for an Accept-Language value; 0
// (the fallback) for an empty, malformed or unsupported header.
func (n *Negotiator) Pick(accept string) int {
	if accept == "" || len(n.langs) <= 1 {
		return 0
	}
	if v, ok := n.cache.Load(accept); ok {
		return v.(int)
	}
	i := n.match(accept)
	if n.size.Load() < maxLangCache && len(accept) <= 256 {
		if _, loaded := n.cache.LoadOrStore(accept, i); !loaded {
			n.size.Add(1)
		}
	}
	return i
}

// Language returns the language picked for an Accept-Language value.
func (n *Negotiator) Language(accept string) string {
	if len(n.langs) == 0 {
		return ""
	}
	return n.langs[n.Pick(accept)]
}

func (n *Negotiator) match(accept string) int {
	tags, _, err := language.ParseAcceptLanguage(accept)
	if err != nil || len(tags) == 0 {
		return 0
	}
	_, i, conf := n.matcher.Match(tags...)
	if conf == language.No || i < 0 || i >= len(n.langs) {
		return 0
	}
	return i
}
