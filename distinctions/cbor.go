package distinctions

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"reflect"
	"sync"

	"github.com/fxamacker/cbor/v2"
	"github.com/ipfs/go-cid"
	"github.com/multiformats/go-multihash"
)

// ErrMalformed is returned (wrapped) by the decoders when the input is not well-formed
// CBOR, breaks a [Limits] bound, repeats a map key, names an unknown field of a closed
// format, or uses a type the format does not allow (a tag other than 42, undefined,
// a byte string where JSON is expected, ...).
var ErrMalformed = errors.New("malformed")

// ErrNotCanonical is returned (wrapped) by the decoders when the input is well-formed
// but is not the canonical DAG-CBOR encoding of what it holds (unsorted map keys,
// non-shortest integers, 16- or 32-bit floats, empty fields that must be omitted, ...).
// Accepting it would let two different byte strings — two CIDs — stand for one value.
var ErrNotCanonical = errors.New("not canonical DAG-CBOR")

// ErrTooLarge is returned (wrapped) when the input exceeds Limits.MaxBytes.
var ErrTooLarge = errors.New("too large")

// Limits bound what a decoder accepts. The zero value of a field means its default.
type Limits struct {
	MaxBytes int // total encoded size; default 4 MiB
	MaxDepth int // nesting of arrays and maps; default 64 (4..65535)
	MaxItems int // elements of one array or pairs of one map; default 131072 (16..)
}

// DefaultLimits are the limits used for nodes received from peers and read from disk:
// large enough for a 1 MiB value with its node, small enough to bound one decode.
var DefaultLimits = Limits{MaxBytes: 4 << 20, MaxDepth: 64, MaxItems: 128 << 10}

func (l Limits) withDefaults() Limits {
	if l.MaxBytes <= 0 {
		l.MaxBytes = DefaultLimits.MaxBytes
	}
	if l.MaxDepth <= 0 {
		l.MaxDepth = DefaultLimits.MaxDepth
	}
	l.MaxDepth = min(max(l.MaxDepth, 4), 65535)
	if l.MaxItems <= 0 {
		l.MaxItems = DefaultLimits.MaxItems
	}
	l.MaxItems = max(l.MaxItems, 16)
	return l
}

var encMode = func() cbor.EncMode {
	m, err := cbor.EncOptions{
		Sort:          cbor.SortCanonical, // length-first, then bytewise
		ShortestFloat: cbor.ShortestFloatNone,
		NaNConvert:    cbor.NaNConvertReject,
		InfConvert:    cbor.InfConvertReject,
		BigIntConvert: cbor.BigIntConvertReject,
		IndefLength:   cbor.IndefLengthForbidden,
		NilContainers: cbor.NilContainerAsEmpty,
		TagsMd:        cbor.TagsAllowed, // only Link writes a tag (42)
	}.EncMode()
	if err != nil {
		panic(err) // static options; cannot fail at run time
	}
	return m
}()

var (
	simpleValues = func() *cbor.SimpleValueRegistry {
		r, err := cbor.NewSimpleValueRegistryFromDefaults(cbor.WithRejectedSimpleValue(cbor.SimpleValue(23))) // undefined
		if err != nil {
			panic(err)
		}
		return r
	}()
	decModes sync.Map // Limits -> cbor.DecMode
)

func decMode(l Limits) (cbor.DecMode, error) {
	if m, ok := decModes.Load(l); ok {
		return m.(cbor.DecMode), nil
	}
	m, err := cbor.DecOptions{
		DupMapKey:         cbor.DupMapKeyEnforcedAPF,
		MaxNestedLevels:   l.MaxDepth,
		MaxArrayElements:  l.MaxItems,
		MaxMapPairs:       l.MaxItems,
		IndefLength:       cbor.IndefLengthForbidden,
		TagsMd:            cbor.TagsAllowed,
		IntDec:            cbor.IntDecConvertNone,
		ExtraReturnErrors: cbor.ExtraDecErrorUnknownField,
		DefaultMapType:    reflect.TypeOf(map[string]any(nil)),
		UTF8:              cbor.UTF8RejectInvalid,
		FieldNameMatching: cbor.FieldNameMatchingCaseSensitive,
		BigIntDec:         cbor.BigIntDecodePointer,
		SimpleValues:      simpleValues,
		NaN:               cbor.NaNDecodeForbidden,
		Inf:               cbor.InfDecodeForbidden,
		BignumTag:         cbor.BignumTagForbidden,
	}.DecMode()
	if err != nil {
		return nil, fmt.Errorf("decoder limits: %w", err)
	}
	decModes.Store(l, m)
	return m, nil
}

// Distinction is a content-addressed value: canonical DAG-CBOR bytes and their CID.
type Distinction struct {
	CID   cid.Cid
	Bytes []byte
}

// Marshal returns the canonical DAG-CBOR encoding of v. v is a struct with cbor tags
// (closed formats such as nodes and tokens) or a JSON value tree.
func Marshal(v any) ([]byte, error) {
	b, err := encMode.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("encode: %w", err)
	}
	return b, nil
}

// Encode returns v's canonical encoding and its CID.
func Encode(v any) (Distinction, error) {
	b, err := Marshal(v)
	if err != nil {
		return Distinction{}, err
	}
	return Distinction{CID: Sum(b), Bytes: b}, nil
}

// Sum returns the CIDv1 (dag-cbor, sha2-256) of b. It checks nothing about b:
// callers hash bytes they encoded themselves or decoded strictly.
func Sum(b []byte) cid.Cid {
	h := sha256.Sum256(b)
	mh, err := multihash.Encode(h[:], multihash.SHA2_256)
	if err != nil {
		panic(err) // sha2-256 with a 32-byte digest always encodes
	}
	return cid.NewCidV1(cid.DagCBOR, mh)
}

// decModeFor checks data's size against l and returns the decoder of l.
func decModeFor(data []byte, l Limits) (cbor.DecMode, error) {
	l = l.withDefaults()
	if len(data) > l.MaxBytes {
		return nil, fmt.Errorf("%w: %d bytes exceeds the limit of %d", ErrTooLarge, len(data), l.MaxBytes)
	}
	return decMode(l)
}

// CheckLimits reports whether data, one CBOR data item, is well formed and within
// l: its size, the nesting of its arrays and maps and the elements of each — what
// Decode checks before it decodes. An error wraps ErrTooLarge or ErrMalformed.
func CheckLimits(data []byte, l Limits) error {
	dm, err := decModeFor(data, l)
	if err != nil {
		return err
	}
	if err := dm.Wellformed(data); err != nil {
		var limit *cbor.MaxNestedLevelError
		var arr *cbor.MaxArrayElementsError
		var mp *cbor.MaxMapPairsError
		if errors.As(err, &limit) || errors.As(err, &arr) || errors.As(err, &mp) {
			return fmt.Errorf("%w: %v", ErrTooLarge, err)
		}
		return fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	return nil
}

// Decode decodes canonical DAG-CBOR data into v (a pointer to a struct with cbor
// tags, or to a JSON value — prefer [DecodeValue] for those) under the limits l.
// It fails unless data is exactly the canonical encoding of the decoded result.
//
// Fields of type cbor.RawMessage are copied through unchecked: the caller decodes them
// strictly itself.
func Decode(data []byte, v any, l Limits) error {
	dm, err := decModeFor(data, l)
	if err != nil {
		return err
	}
	if err := dm.Unmarshal(data, v); err != nil {
		return fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	again, err := encMode.Marshal(reflect.ValueOf(v).Elem().Interface())
	if err != nil {
		return fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	if !bytes.Equal(again, data) {
		return ErrNotCanonical
	}
	return nil
}
