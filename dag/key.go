package dag

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// MaxKeyLen is the longest key, in bytes.
const MaxKeyLen = 1024

// SysNamespace is the reserved namespace of keys that korup2p itself writes (the space
// description in a genesis node, capability tokens, revocations). Applications cannot
// write it through the root package.
const SysNamespace = "_korup2p"

// SpaceKey is the key a genesis node writes: the space's description.
const SpaceKey = SysNamespace + "/space"

// KeyError says why a key is invalid.
type KeyError struct {
	Key    string
	Reason string
}

func (e *KeyError) Error() string {
	k := e.Key
	if len(k) > 64 {
		k = k[:64] + "…"
	}
	return fmt.Sprintf("invalid key %q: %s", k, e.Reason)
}

// ValidateKey checks that k is `namespace/rest`: valid UTF-8, 1..MaxKeyLen bytes,
// no control characters, a non-empty namespace and a non-empty rest.
func ValidateKey(k string) error {
	switch {
	case k == "":
		return &KeyError{k, "empty"}
	case len(k) > MaxKeyLen:
		return &KeyError{k, fmt.Sprintf("%d bytes is longer than %d", len(k), MaxKeyLen)}
	case !utf8.ValidString(k):
		return &KeyError{k, "not valid UTF-8"}
	case strings.IndexFunc(k, unicode.IsControl) >= 0:
		return &KeyError{k, "contains a control character"}
	}
	ns, rest, ok := strings.Cut(k, "/")
	switch {
	case !ok:
		return &KeyError{k, `no namespace: keys look like "namespace/rest"`}
	case ns == "":
		return &KeyError{k, "empty namespace before /"}
	case rest == "":
		return &KeyError{k, "nothing after the namespace"}
	}
	return nil
}

// IsSysKey reports whether k is in the reserved namespace.
func IsSysKey(k string) bool { return strings.HasPrefix(k, SysNamespace+"/") }
