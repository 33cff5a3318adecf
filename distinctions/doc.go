// Package distinctions owns korup2p's canonical encoding: every value that is stored
// or sent (nodes, JSON values, capabilities, snapshots) is a distinction — canonical
// DAG-CBOR bytes plus the CIDv1 (codec dag-cbor, sha2-256) that names them.
//
// Encoding follows the DAG-CBOR rules of the IPLD spec, so any IPLD tool decodes our
// bytes, re-encodes them to the same bytes and verifies the CID:
//
//   - map keys are text strings, sorted length-first then bytewise;
//   - definite lengths only; integers in their shortest form;
//   - floats always as 64-bit, never NaN or ±Infinity;
//   - links are tag 42 around a byte string of 0x00 followed by the binary CID;
//     no other tag and no `undefined` is ever written or accepted.
//
// Decoding is strict (see [Limits]): sizes, nesting depth, array and map lengths are
// bounded; duplicate map keys, unknown struct fields, unknown tags, indefinite lengths and
// any encoding that is not byte-for-byte canonical are rejected with an error wrapping
// [ErrNotCanonical] or [ErrMalformed].
//
// JSON values have one in-memory form, used by every layer above:
//
//	nil (null), bool, int64, uint64 (only above math.MaxInt64), float64, string,
//	[]any, map[string]any
//
// [ParseJSON] and [FormatJSON] convert JSON text to and from it without losing
// anything: integers stay integers, floats stay floats (1.0 is written back as 1.0),
// and an integer outside the 64-bit range is an error, never silently rounded.
//
// The package is pure (layer 0): no files, sockets, goroutines or wall clock.
//
// Usage:
//
//	d, err := distinctions.Encode(map[string]any{"name": "ada"})
//	fmt.Println(d.CID) // bafyrei…
//	var v any
//	err = distinctions.DecodeValue(d.Bytes, &v, distinctions.DefaultLimits)
package distinctions
