package caps

import (
	"errors"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// MaxPatternLen is the longest key pattern, in bytes (the longest key, as in dag).
const MaxPatternLen = 1024

// MaxPatterns is the most key patterns one token may carry.
const MaxPatterns = 256

// A key pattern is one of:
//
//	*            every key of the space
//	prefix/*     every key that starts with "prefix/" and has at least one more byte
//	             ("notes/*" matches "notes/a" and "notes/a/b", not "notes/")
//	ns/rest      exactly that key
//
// A pattern ending in "/*" is always a prefix pattern; "*" elsewhere is an ordinary
// character of an exact key.

// ValidatePattern checks that p is a well-formed key pattern: valid UTF-8 of
// 1..MaxPatternLen bytes without control characters, and either "*", "prefix/*" with a
// non-empty prefix, or a key "ns/rest" with a non-empty namespace and rest.
func ValidatePattern(p string) error {
	switch {
	case p == "":
		return errors.New("empty key pattern")
	case len(p) > MaxPatternLen:
		return fmt.Errorf("key pattern of %d bytes is longer than %d", len(p), MaxPatternLen)
	case !utf8.ValidString(p):
		return errors.New("key pattern is not valid UTF-8")
	case strings.IndexFunc(p, unicode.IsControl) >= 0:
		return fmt.Errorf("key pattern %q contains a control character", p)
	case p == "*":
		return nil
	}
	if prefix, ok := strings.CutSuffix(p, "/*"); ok {
		if prefix == "" {
			return fmt.Errorf("key pattern %q: empty prefix before /*", p)
		}
		return nil
	}
	ns, rest, ok := strings.Cut(p, "/")
	if !ok || ns == "" || rest == "" {
		return fmt.Errorf(`key pattern %q: want "*", "prefix/*" or "namespace/rest"`, p)
	}
	return nil
}

// Match reports whether pattern matches key. It does not validate either.
func Match(pattern, key string) bool {
	if pattern == "*" {
		return true
	}
	if prefix, ok := strings.CutSuffix(pattern, "*"); ok && strings.HasSuffix(prefix, "/") {
		return len(key) > len(prefix) && strings.HasPrefix(key, prefix)
	}
	return pattern == key
}

// MatchAny reports whether some pattern in patterns matches key.
func MatchAny(patterns []string, key string) bool {
	for _, p := range patterns {
		if Match(p, key) {
			return true
		}
	}
	return false
}

// Within reports whether every key child matches is also matched by parent.
func Within(child, parent string) bool {
	if parent == "*" {
		return true
	}
	if child == "*" {
		return false
	}
	cp, cPrefix := prefixOf(child)
	pp, pPrefix := prefixOf(parent)
	switch {
	case pPrefix && cPrefix:
		return strings.HasPrefix(cp, pp)
	case pPrefix:
		return Match(parent, child)
	case cPrefix:
		return false // a prefix pattern matches unboundedly many keys; an exact one, one
	}
	return child == parent
}

// prefixOf returns "ns/" for a prefix pattern "ns/*".
func prefixOf(p string) (string, bool) {
	if prefix, ok := strings.CutSuffix(p, "*"); ok && strings.HasSuffix(prefix, "/") {
		return prefix, true
	}
	return "", false
}

// Covers reports whether each of child's patterns is within some pattern of parent,
// so that every key child matches is matched by parent. An empty child is covered.
func Covers(parent, child []string) bool {
	for _, c := range child {
		if !withinAny(c, parent) {
			return false
		}
	}
	return true
}

func withinAny(c string, parent []string) bool {
	for _, p := range parent {
		if Within(c, p) {
			return true
		}
	}
	return false
}
