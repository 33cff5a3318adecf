package dag

import (
	"errors"
	"fmt"

	"github.com/ipfs/go-cid"
)

// ErrNotFound is returned (wrapped) by a Store for a CID it does not hold.
var ErrNotFound = errors.New("node not found")

// ErrMissingDeps is returned (wrapped) by Store.PutVerified when a parent or a prev of
// the node is not in the store: the caller broke the "dependencies first" contract.
var ErrMissingDeps = errors.New("node's dependencies are not in the store")

// ErrDistilled is matched by reads that reach into history a store has distilled
// (folded into a snapshot and dropped): time travel before the cut, for instance.
var ErrDistilled = errors.New("history before this point was distilled")

// ErrInvalid is matched (errors.Is) by every *ValidationError.
var ErrInvalid = errors.New("invalid node")

// Rule names the validation rule a node broke.
type Rule string

const (
	RuleDecode    Rule = "decode"    // not canonical DAG-CBOR within the limits, or not a node
	RuleVersion   Rule = "version"   // unknown format version
	RuleSpace     Rule = "space"     // no space, or another space than the one ingesting
	RuleParents   Rule = "parents"   // parents not sorted/unique, none, or of another space
	RuleOps       Rule = "ops"       // no ops, unsorted or repeated keys, unknown kind, value rules
	RuleKey       Rule = "key"       // an invalid or reserved key
	RuleValue     Rule = "value"     // an op's value is not a canonical JSON value
	RulePrev      Rule = "prev"      // a prev that is not a version of the key, or not older
	RuleHeight    Rule = "height"    // height is not 1 + max(parent heights)
	RuleClock     Rule = "clock"     // clock not after every parent's and prev's clock
	RuleAuthor    Rule = "author"    // no author, or not an Ed25519 peer ID
	RuleSignature Rule = "signature" // missing or bad signature
	RuleGenesis   Rule = "genesis"   // a malformed genesis node
	RuleAccess    Rule = "access"    // the author may not write what the node writes
	RuleDepends   Rule = "depends"   // a node it depends on was rejected
)

// ValidationError says which rule a node broke. errors.Is(err, ErrInvalid) is true.
type ValidationError struct {
	CID    cid.Cid // the node (its CID as received); may be cid.Undef if it did not decode
	Rule   Rule
	Detail string
	Err    error // an underlying cause, if any (e.g. an access verdict)
}

func (e *ValidationError) Error() string {
	return fmt.Sprintf("invalid node %s: %s: %s", e.CID, e.Rule, e.Detail)
}

func (e *ValidationError) Is(target error) bool { return target == ErrInvalid }

func (e *ValidationError) Unwrap() error { return e.Err }

func invalid(r Rule, c cid.Cid, format string, args ...any) *ValidationError {
	return &ValidationError{CID: c, Rule: r, Detail: fmt.Sprintf(format, args...)}
}
