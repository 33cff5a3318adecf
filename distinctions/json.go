package distinctions

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"iter"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// ParseJSON parses one JSON text into a value tree (see the package doc). Integers
// become int64 (uint64 above math.MaxInt64); numbers with a fraction or exponent become
// float64. It rejects invalid UTF-8, duplicate object keys, trailing data, integers
// outside the 64-bit range, floats that overflow, and input beyond l — with an error
// wrapping ErrMalformed or ErrTooLarge that says where.
func ParseJSON(data []byte, l Limits) (any, error) {
	l = l.withDefaults()
	if len(data) > l.MaxBytes {
		return nil, &ValueError{Msg: fmt.Sprintf("%d bytes of JSON exceeds the limit of %d", len(data), l.MaxBytes), Err: ErrTooLarge}
	}
	if !utf8.Valid(data) {
		return nil, &ValueError{Msg: "JSON is not valid UTF-8", Err: ErrMalformed}
	}
	p := jsonParser{dec: json.NewDecoder(bytes.NewReader(data)), l: l}
	p.dec.UseNumber()
	v, err := p.value(nil)
	if err != nil {
		return nil, err
	}
	if _, err := p.dec.Token(); err != io.EOF {
		return nil, &ValueError{Msg: "invalid JSON: data after the value", Err: ErrMalformed}
	}
	return v, nil
}

type jsonParser struct {
	dec *json.Decoder
	l   Limits
}

func (p *jsonParser) token(path []string) (json.Token, error) {
	t, err := p.dec.Token()
	if err != nil {
		if err == io.EOF {
			err = errors.New("unexpected end of JSON input")
		}
		return nil, valueErr(path, "invalid JSON: "+err.Error(), ErrMalformed)
	}
	return t, nil
}

func (p *jsonParser) value(path []string) (any, error) {
	if len(path) > p.l.MaxDepth {
		return nil, valueErr(path, fmt.Sprintf("nested deeper than %d", p.l.MaxDepth), ErrTooLarge)
	}
	t, err := p.token(path)
	if err != nil {
		return nil, err
	}
	switch x := t.(type) {
	case nil, bool, string:
		return x, nil
	case json.Number:
		return parseNumber(string(x), path)
	case json.Delim:
		switch x {
		case '[':
			arr := []any{}
			for p.dec.More() {
				if len(arr) >= p.l.MaxItems {
					return nil, valueErr(path, fmt.Sprintf("more than %d elements", p.l.MaxItems), ErrTooLarge)
				}
				e, err := p.value(append(path, strconv.Itoa(len(arr))))
				if err != nil {
					return nil, err
				}
				arr = append(arr, e)
			}
			_, err := p.token(path) // ']'
			return arr, err
		case '{':
			obj := map[string]any{}
			for p.dec.More() {
				kt, err := p.token(path)
				if err != nil {
					return nil, err
				}
				k := kt.(string) // the decoder guarantees a string key here
				if _, dup := obj[k]; dup {
					return nil, valueErr(path, fmt.Sprintf("duplicate key %q", k), ErrMalformed)
				}
				if len(obj) >= p.l.MaxItems {
					return nil, valueErr(path, fmt.Sprintf("more than %d fields", p.l.MaxItems), ErrTooLarge)
				}
				e, err := p.value(append(path, k))
				if err != nil {
					return nil, err
				}
				obj[k] = e
			}
			_, err := p.token(path) // '}'
			return obj, err
		}
	}
	return nil, valueErr(path, fmt.Sprintf("invalid JSON token %v", t), ErrMalformed)
}

func parseNumber(s string, path []string) (any, error) {
	if strings.ContainsAny(s, ".eE") {
		f, err := strconv.ParseFloat(s, 64)
		if err != nil || math.IsInf(f, 0) {
			return nil, valueErr(path, fmt.Sprintf("number %s is outside the 64-bit float range", s), ErrMalformed)
		}
		return f, nil
	}
	if i, err := strconv.ParseInt(s, 10, 64); err == nil {
		return i, nil
	}
	if u, err := strconv.ParseUint(s, 10, 64); err == nil {
		return u, nil
	}
	return nil, valueErr(path, fmt.Sprintf("integer %s is outside the 64-bit range (write it as a string, or as a float to accept rounding)", s), ErrMalformed)
}

// FormatJSON writes a value tree as compact JSON with object keys sorted. Floats keep
// a fraction or exponent (1.0, not 1) so they parse back as floats.
func FormatJSON(v any) ([]byte, error) {
	var b bytes.Buffer
	if err := writeJSON(&b, v, nil); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

func writeJSON(b *bytes.Buffer, v any, path []string) error {
	switch x := v.(type) {
	case nil:
		b.WriteString("null")
	case bool:
		b.WriteString(strconv.FormatBool(x))
	case int64:
		b.WriteString(strconv.FormatInt(x, 10))
	case uint64:
		b.WriteString(strconv.FormatUint(x, 10))
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return valueErr(path, "NaN and Infinity are not JSON", ErrMalformed)
		}
		s := strconv.FormatFloat(x, 'g', -1, 64)
		if !strings.ContainsAny(s, ".eE") {
			s += ".0"
		}
		b.WriteString(s)
	case string:
		writeString(b, x)
	case []any:
		b.WriteByte('[')
		for i, e := range x {
			if i > 0 {
				b.WriteByte(',')
			}
			if err := writeJSON(b, e, append(path, strconv.Itoa(i))); err != nil {
				return err
			}
		}
		b.WriteByte(']')
	case map[string]any:
		b.WriteByte('{')
		for i, k := range slices.Sorted(mapsKeys(x)) {
			if i > 0 {
				b.WriteByte(',')
			}
			writeString(b, k)
			b.WriteByte(':')
			if err := writeJSON(b, x[k], append(path, k)); err != nil {
				return err
			}
		}
		b.WriteByte('}')
	default:
		return valueErr(path, fmt.Sprintf("%T is not a JSON value", v), ErrMalformed)
	}
	return nil
}

func writeString(b *bytes.Buffer, s string) {
	enc := json.NewEncoder(b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s)       // a string always encodes
	b.Truncate(b.Len() - 1) // Encode appends a newline
}

func mapsKeys(m map[string]any) iter.Seq[string] { return maps.Keys(m) }
