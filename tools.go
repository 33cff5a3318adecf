//go:build tools

// Package korup2p pins modules that later packages use.
package korup2p
import (
 _ "github.com/fxamacker/cbor/v2"
 _ "github.com/ipfs/go-cid"
 _ "github.com/multiformats/go-multihash"
 _ "github.com/libp2p/go-libp2p/core/crypto"
 _ "github.com/libp2p/go-libp2p/core/peer"
 _ "github.com/ipld/go-ipld-prime/codec/dagcbor"
 _ "pgregory.net/rapid"
)
