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

// Package httppath normalises an HTTP request target once, so that the path a
// gateway decides on and the path it forwards are the same string.
//
// The rule (RFC 3986 section 6.2.2, plus refusals for what stays ambiguous):
//
//   - the target is origin-form ("/p?q") or absolute-form ("http://h/p?q");
//     anything else (asterisk-form "*", authority-form) is refused;
//   - percent-encoded unreserved characters (ALPHA DIGIT - . _ ~) are decoded
//     once; every other percent-encoding is kept, with upper-case hex digits;
//   - bytes outside RFC 3986's pchar set (for example '"', '{', non-ASCII) are
//     percent-encoded, so the forwarded path is plain ASCII;
//   - empty segments are dropped ("//" becomes "/"), "." and ".." are removed
//     as in RFC 3986 section 5.2.4; a trailing slash is kept;
//   - refused as ambiguous (servers disagree on what they mean): an encoded
//     "/" or "\" (%2F, %5C), a raw "\", NUL or any control byte (raw or
//     encoded), a malformed %-escape, and a "." or ".." segment written with
//     %2E (single decoding would turn it into a dot segment for some servers
//     and a literal name for others).
//
// The normalised path is a fixed point: Normalize(p.Escaped) == p.
package httppath

import (
	"errors"
	"strings"
)

// Path is a normalised request path.
type Path struct {
	// Escaped is the path to forward: pchar and %XX only.
	Escaped string
	// Decoded is Escaped fully percent-decoded: what routes are matched on.
	// It has exactly the segments of Escaped (an encoded "/" is refused).
	Decoded string
}

// Errors of Normalize; all mean "answer 400".
var (
	ErrNotOriginForm = errors.New("request target is not a path (origin-form or absolute-form)")
	ErrBadEscape     = errors.New("malformed percent-encoding in the path")
	ErrEncodedSlash  = errors.New("encoded slash or backslash (%2F, %5C) in the path")
	ErrBackslash     = errors.New("backslash in the path")
	ErrControl       = errors.New("NUL or control character in the path")
	ErrEncodedDot    = errors.New("dot segment written with %2E in the path")
	ErrTooLong       = errors.New("path too long")
)

// MaxLen bounds the target Normalize accepts (servers bound header size anyway).
const MaxLen = 16 << 10

// Normalize returns the normalised path of a request target (the query and
// fragment are not part of it; see SplitTarget).
func Normalize(target string) (Path, error) {
	p, _, err := SplitTarget(target)
	if err != nil {
		return Path{}, err
	}
	return NormalizePath(p)
}

// SplitTarget returns the raw path and raw query of an origin-form or
// absolute-form request target. A fragment is dropped.
func SplitTarget(target string) (path, query string, err error) {
	if len(target) > MaxLen {
		return "", "", ErrTooLong
	}
	if i := strings.IndexByte(target, '#'); i >= 0 {
		target = target[:i]
	}
	if i := strings.IndexByte(target, '?'); i >= 0 {
		target, query = target[:i], target[i+1:]
	}
	if strings.HasPrefix(target, "/") {
		return target, query, nil
	}
	// absolute-form: scheme "://" authority path
	lower := strings.ToLower(target)
	for _, scheme := range []string{"http://", "https://"} {
		if strings.HasPrefix(lower, scheme) {
			rest := target[len(scheme):]
			i := strings.IndexByte(rest, '/')
			if i < 0 {
				return "/", query, nil
			}
			return rest[i:], query, nil
		}
	}
	return "", "", ErrNotOriginForm
}

// NormalizePath normalises a raw (still percent-encoded) path that starts with "/".
func NormalizePath(raw string) (Path, error) {
	if raw == "" || raw[0] != '/' {
		return Path{}, ErrNotOriginForm
	}
	if len(raw) > MaxLen {
		return Path{}, ErrTooLong
	}
	if clean(raw) {
		return Path{Escaped: raw, Decoded: raw}, nil
	}
	// Segment by segment: escaped and decoded forms, dot segments resolved.
	var segs []segment
	trailing := false
	for rest := raw[1:]; ; {
		i := strings.IndexByte(rest, '/')
		seg := rest
		if i >= 0 {
			seg = rest[:i]
		}
		s, err := normalizeSegment(seg)
		if err != nil {
			return Path{}, err
		}
		last := i < 0
		switch s.esc {
		case "", ".":
			// "//" collapses; "." is dropped.
		case "..":
			if len(segs) > 0 {
				segs = segs[:len(segs)-1]
			}
		default:
			segs = append(segs, s)
		}
		// RFC 3986 5.2.4 keeps the slash after a final "." or ".." segment.
		trailing = last && (s.esc == "" || s.esc == "." || s.esc == "..")
		if last {
			break
		}
		rest = rest[i+1:]
	}
	var esc, dec strings.Builder
	esc.Grow(len(raw))
	dec.Grow(len(raw))
	for _, s := range segs {
		esc.WriteByte('/')
		esc.WriteString(s.esc)
		dec.WriteByte('/')
		dec.WriteString(s.dec)
	}
	if trailing || len(segs) == 0 {
		esc.WriteByte('/')
		dec.WriteByte('/')
	}
	return Path{Escaped: esc.String(), Decoded: dec.String()}, nil
}

type segment struct{ esc, dec string }

// clean reports whether raw is already normal: only unreserved characters and
// the sub-delims, ':' and '@' that need no encoding, no empty or dot segments.
func clean(raw string) bool {
	prev := byte(0)
	for i := 0; i < len(raw); i++ {
		c := raw[i]
		if c == '/' {
			if prev == '/' {
				return false
			}
		} else if c == '.' {
			if prev == '/' {
				return false // could be a dot segment; let the slow path decide
			}
		} else if !plain(c) {
			return false
		}
		prev = c
	}
	return true
}

// plain: characters that appear unencoded in a normal path (RFC 3986 pchar
// without '%').
func plain(c byte) bool {
	return unreserved(c) || strings.IndexByte("!$&'()*+,;=:@", c) >= 0
}

func unreserved(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '.' || c == '_' || c == '~'
}

const upperHex = "0123456789ABCDEF"

func unhex(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

func normalizeSegment(seg string) (segment, error) {
	var esc, dec []byte
	encodedDot := false
	for i := 0; i < len(seg); i++ {
		c := seg[i]
		switch {
		case c == '%':
			if i+2 >= len(seg) {
				return segment{}, ErrBadEscape
			}
			h, ok1 := unhex(seg[i+1])
			l, ok2 := unhex(seg[i+2])
			if !ok1 || !ok2 {
				return segment{}, ErrBadEscape
			}
			b := h<<4 | l
			i += 2
			switch {
			case b == '/' || b == '\\':
				return segment{}, ErrEncodedSlash
			case b < 0x20 || b == 0x7f:
				return segment{}, ErrControl
			case unreserved(b):
				if b == '.' {
					encodedDot = true
				}
				esc = append(esc, b)
			default:
				esc = append(esc, '%', upperHex[b>>4], upperHex[b&15])
			}
			dec = append(dec, b)
		case c == '\\':
			return segment{}, ErrBackslash
		case c < 0x20 || c == 0x7f:
			return segment{}, ErrControl
		case plain(c):
			esc = append(esc, c)
			dec = append(dec, c)
		default: // outside pchar: encode it
			esc = append(esc, '%', upperHex[c>>4], upperHex[c&15])
			dec = append(dec, c)
		}
	}
	s := segment{esc: string(esc), dec: string(dec)}
	if encodedDot && (s.esc == "." || s.esc == "..") {
		return segment{}, ErrEncodedDot
	}
	return s, nil
}
