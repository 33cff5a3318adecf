package distinctions

import (
	"bytes"
	"fmt"
	"math"
	"math/big"
	"slices"
	"strconv"
	"strings"

	"github.com/fxamacker/cbor/v2"
)

// ValueError says where in a JSON value tree a rule was broken. It wraps
// [ErrMalformed] or [ErrTooLarge].
type ValueError struct {
	Path string // dotted path from the top, "" for the whole value
	Msg  string
	Err  error
}

func (e *ValueError) Error() string {
	if e.Path == "" {
		return fmt.Sprintf("value: %s", e.Msg)
	}
	return fmt.Sprintf("value at %s: %s", e.Path, e.Msg)
}

func (e *ValueError) Unwrap() error { return e.Err }

// EncodeValue checks that v is a JSON value tree within l and returns its canonical
// encoding and CID.
func EncodeValue(v any, l Limits) (Distinction, error) {
	if err := CheckValue(v, l); err != nil {
		return Distinction{}, err
	}
	d, err := Encode(v)
	if err != nil {
		return Distinction{}, err
	}
	if l = l.withDefaults(); len(d.Bytes) > l.MaxBytes {
		return Distinction{}, &ValueError{Msg: fmt.Sprintf("%d bytes encoded exceeds the limit of %d", len(d.Bytes), l.MaxBytes), Err: ErrTooLarge}
	}
	return d, nil
}

// DecodeValue strictly decodes canonical DAG-CBOR data holding a JSON value.
// Anything outside the JSON data model (byte strings, links, other tags, undefined,
// non-text map keys, integers beyond 64 bits) is ErrMalformed.
func DecodeValue(data []byte, l Limits) (any, error) {
	l = l.withDefaults()
	if len(data) > l.MaxBytes {
		return nil, fmt.Errorf("%w: %d bytes exceeds the limit of %d", ErrTooLarge, len(data), l.MaxBytes)
	}
	dm, err := decMode(l)
	if err != nil {
		return nil, err
	}
	var raw any
	if err := dm.Unmarshal(data, &raw); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	v, err := normalize(raw, nil)
	if err != nil {
		return nil, err
	}
	again, err := encMode.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	if !bytes.Equal(again, data) {
		return nil, ErrNotCanonical
	}
	return v, nil
}

// normalize turns what the CBOR decoder produced into the value tree, in place.
func normalize(v any, path []string) (any, error) {
	switch x := v.(type) {
	case nil, bool, string, int64, float64:
		return x, nil
	case uint64:
		if x <= math.MaxInt64 {
			return int64(x), nil
		}
		return x, nil
	case *big.Int, big.Int:
		return nil, valueErr(path, "integer outside the 64-bit range", ErrMalformed)
	case []any:
		for i, e := range x {
			n, err := normalize(e, append(path, strconv.Itoa(i)))
			if err != nil {
				return nil, err
			}
			x[i] = n
		}
		return x, nil
	case map[string]any:
		for k, e := range x {
			n, err := normalize(e, append(path, k))
			if err != nil {
				return nil, err
			}
			x[k] = n
		}
		return x, nil
	case []byte:
		return nil, valueErr(path, "byte strings are not JSON", ErrMalformed)
	case cbor.Tag, cbor.RawTag:
		return nil, valueErr(path, "tags are not JSON", ErrMalformed)
	default:
		return nil, valueErr(path, fmt.Sprintf("%T is not JSON", v), ErrMalformed)
	}
}

// CheckValue reports whether v is a JSON value tree (see the package doc) within the
// depth and item limits of l.
func CheckValue(v any, l Limits) error {
	l = l.withDefaults()
	return check(v, nil, l)
}

func check(v any, path []string, l Limits) error {
	switch v.(type) {
	case []any, map[string]any: // a container at path is at nesting level len(path)+1
		if len(path) >= l.MaxDepth {
			return valueErr(path, fmt.Sprintf("nested deeper than %d", l.MaxDepth), ErrTooLarge)
		}
	}
	switch x := v.(type) {
	case nil, bool, string, int64:
	case uint64:
		if x <= math.MaxInt64 {
			return valueErr(path, "uint64 holds only integers above MaxInt64; use int64", ErrMalformed)
		}
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return valueErr(path, "NaN and Infinity are not JSON", ErrMalformed)
		}
	case []any:
		if len(x) > l.MaxItems {
			return valueErr(path, fmt.Sprintf("%d elements exceeds the limit of %d", len(x), l.MaxItems), ErrTooLarge)
		}
		for i, e := range x {
			if err := check(e, append(path, strconv.Itoa(i)), l); err != nil {
				return err
			}
		}
	case map[string]any:
		if len(x) > l.MaxItems {
			return valueErr(path, fmt.Sprintf("%d fields exceeds the limit of %d", len(x), l.MaxItems), ErrTooLarge)
		}
		for _, k := range slices.Sorted(mapsKeys(x)) {
			if err := check(x[k], append(path, k), l); err != nil {
				return err
			}
		}
	default:
		return valueErr(path, fmt.Sprintf("%T is not a JSON value", v), ErrMalformed)
	}
	return nil
}

func valueErr(path []string, msg string, err error) error {
	return &ValueError{Path: strings.Join(path, "."), Msg: msg, Err: err}
}
