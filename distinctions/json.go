package distinctions

import (
	"fmt"
	"iter"
	"maps"
	"math"
	"slices"
	"strconv"
	"sync"
	"unicode/utf8"
)

// ParseJSON parses one JSON text into a value tree (see the package doc). Integers
// become int64 (uint64 above math.MaxInt64); numbers with a fraction or exponent become
// float64. It rejects invalid UTF-8, duplicate object keys, trailing data, integers
// outside the 64-bit range, floats that overflow, and input beyond l — with an error
// wrapping ErrMalformed or ErrTooLarge that says where. A syntax error's message starts
// with "invalid JSON at offset N" (N counts bytes from 0).
//
// The grammar is RFC 8259 exactly: no comments, trailing commas, leading zeros, NaN or
// Infinity, no unescaped control characters in strings, and whitespace is space, tab,
// line feed and carriage return only. A \uXXXX escape of a lone UTF-16 surrogate (one
// not in a high-low pair) decodes to U+FFFD, as encoding/json does: JSON text may
// contain such escapes, but a Go string holding the surrogate would not be valid UTF-8.
// Two keys that decode to the same string are duplicates.
func ParseJSON(data []byte, l Limits) (any, error) {
	l = l.withDefaults()
	if len(data) > l.MaxBytes {
		return nil, &ValueError{Msg: fmt.Sprintf("%d bytes of JSON exceeds the limit of %d", len(data), l.MaxBytes), Err: ErrTooLarge}
	}
	if !utf8.Valid(data) {
		return nil, &ValueError{Msg: "JSON is not valid UTF-8", Err: ErrMalformed}
	}
	return parseJSON(data, l) // jsonparse.go
}

// FormatJSON writes a value tree as compact JSON with object keys sorted. Floats keep
// a fraction or exponent (1.0, not 1) so they parse back as floats. Strings are escaped
// as encoding/json escapes them with HTML escaping off: '"', '\\' and control
// characters (as \b \f \n \r \t or \u00XX), U+2028 and U+2029; invalid UTF-8 is
// written as \ufffd.
func FormatJSON(v any) ([]byte, error) {
	f := jsonFormatters.Get().(*jsonFormatter)
	b, err := f.write(f.buf[:0], v)
	var out []byte
	if err == nil {
		out = append([]byte(nil), b...) // one allocation, of the final size
		f.buf = b
	}
	f.release()
	if err != nil {
		return nil, err.valueError()
	}
	return out, nil
}

// jsonFormatter is the scratch space of FormatJSON, reused through jsonFormatters.
type jsonFormatter struct {
	buf  []byte   // the text written so far
	keys []string // the sorted keys of the objects being written, innermost last
}

var jsonFormatters = sync.Pool{New: func() any { return new(jsonFormatter) }}

func (f *jsonFormatter) release() {
	clear(f.keys) // non-empty only after an error
	f.keys = f.keys[:0]
	if cap(f.keys) <= 4096 && cap(f.buf) <= 64<<10 {
		jsonFormatters.Put(f)
	}
}

func (f *jsonFormatter) write(b []byte, v any) ([]byte, *parseError) {
	switch x := v.(type) {
	case nil:
		b = append(b, "null"...)
	case bool:
		b = strconv.AppendBool(b, x)
	case int64:
		b = strconv.AppendInt(b, x, 10)
	case uint64:
		b = strconv.AppendUint(b, x, 10)
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return nil, &parseError{msg: "NaN and Infinity are not JSON", err: ErrMalformed}
		}
		n := len(b)
		b = strconv.AppendFloat(b, x, 'g', -1, 64)
		if !slices.ContainsFunc(b[n:], func(c byte) bool { return c == '.' || c == 'e' || c == 'E' }) {
			b = append(b, ".0"...)
		}
	case string:
		b = appendJSONString(b, x)
	case []any:
		b = append(b, '[')
		for i, e := range x {
			if i > 0 {
				b = append(b, ',')
			}
			var err *parseError
			if b, err = f.write(b, e); err != nil {
				return nil, err.atIndex(i)
			}
		}
		b = append(b, ']')
	case map[string]any:
		base := len(f.keys)
		for k := range x {
			f.keys = append(f.keys, k)
		}
		slices.Sort(f.keys[base:])
		b = append(b, '{')
		for i := range len(x) {
			k := f.keys[base+i] // f.keys may be reallocated by the nested writes
			if i > 0 {
				b = append(b, ',')
			}
			b = appendJSONString(b, k)
			b = append(b, ':')
			var err *parseError
			if b, err = f.write(b, x[k]); err != nil {
				return nil, err.at(k)
			}
		}
		b = append(b, '}')
		clear(f.keys[base:])
		f.keys = f.keys[:base]
	default:
		return nil, &parseError{msg: fmt.Sprintf("%T is not a JSON value", v), err: ErrMalformed}
	}
	return b, nil
}

// jsonSafe marks the ASCII bytes written into a JSON string as they are.
var jsonSafe = func() (t [utf8.RuneSelf]bool) {
	for c := ' '; c < utf8.RuneSelf; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

const lowerHex = "0123456789abcdef"

// appendJSONString appends s as a JSON string, escaped byte for byte as encoding/json
// escapes it with SetEscapeHTML(false).
func appendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		if c := s[i]; c < utf8.RuneSelf {
			if jsonSafe[c] {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', lowerHex[c>>4], lowerHex[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', lowerHex[r&0xF])
		default:
			i += size
			continue
		}
		i += size
		start = i
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

func mapsKeys(m map[string]any) iter.Seq[string] { return maps.Keys(m) }
