package syncproto

import (
	"errors"
	"fmt"

	"github.com/fxamacker/cbor/v2"
	"github.com/ipfs/go-cid"

	"github.com/korup2p/korup2p/dag"
	"github.com/korup2p/korup2p/distinctions"
)

// maxSnapshotRoots bounds the chain of snapshots followed through "prev".
const maxSnapshotRoots = 1024

// snapshotOverhead is counted per block against Options.MaxSnapshotBytes, so that
// many tiny blocks cannot exhaust memory either.
const snapshotOverhead = 64

// snapshotLinks returns the links a snapshot root names: its "chunks" and its "prev"
// snapshot (cid.Undef if none). A root is a canonical CBOR map (package tiers'
// Snapshot); its other fields are not read here.
func snapshotLinks(b []byte) (chunks []cid.Cid, prev cid.Cid, err error) {
	var m map[string]cbor.RawMessage
	if err := distinctions.Decode(b, &m, decodeLimits); err != nil {
		return nil, cid.Undef, err
	}
	if raw, ok := m["chunks"]; ok {
		var ls []distinctions.Link
		if err := distinctions.Decode(raw, &ls, decodeLimits); err != nil {
			return nil, cid.Undef, fmt.Errorf("chunks: %w", err)
		}
		chunks = fromLinks(ls)
	}
	if raw, ok := m["prev"]; ok {
		var l distinctions.Link
		if err := distinctions.Decode(raw, &l, decodeLimits); err != nil {
			return nil, cid.Undef, fmt.Errorf("prev: %w", err)
		}
		prev = l.Cid
	}
	return chunks, prev, nil
}

// sendSnapshot sends the snapshot root, its chunks, and the older snapshots it names
// through "prev" (as far as the replica keeps them), in snapshot-blocks messages; the
// last one says End.
func (ss *session) sendSnapshot(root cid.Cid) error {
	opts := &ss.svc.opts
	var batch [][]byte
	size := 0
	var total int64
	add := func(c cid.Cid, b []byte) error {
		total += int64(len(b)) + snapshotOverhead
		if total > opts.MaxSnapshotBytes {
			return fmt.Errorf("snapshot %s exceeds %d bytes", root, opts.MaxSnapshotBytes)
		}
		if len(b) > MaxMessageSize-64 {
			return fmt.Errorf("snapshot block %s of %d bytes is too large to send", c, len(b))
		}
		if len(batch) > 0 && (size+len(b) > opts.BatchBytes || len(batch) >= MaxBlocks) {
			if err := ss.send(msgSnapBlocks, &snapBlocksMsg{Blocks: batch}); err != nil {
				return err
			}
			batch, size = nil, 0
		}
		batch = append(batch, b)
		size += len(b)
		return nil
	}
	seen := map[cid.Cid]bool{}
	for c, n := root, 0; c.Defined() && n < maxSnapshotRoots && !seen[c]; n++ {
		seen[c] = true
		b, err := ss.rep.SnapshotBlock(c)
		if err != nil {
			if n > 0 && errors.Is(err, dag.ErrNotFound) {
				break // an older snapshot this replica does not keep
			}
			return fmt.Errorf("snapshot block %s: %w", c, err)
		}
		chunks, prev, err := snapshotLinks(b)
		if err != nil {
			return fmt.Errorf("snapshot %s: %w", c, err)
		}
		if err := add(c, b); err != nil {
			return err
		}
		for _, ch := range chunks {
			cb, err := ss.rep.SnapshotBlock(ch)
			if err != nil {
				return fmt.Errorf("snapshot chunk %s: %w", ch, err)
			}
			if err := add(ch, cb); err != nil {
				return err
			}
		}
		c = prev
	}
	return ss.send(msgSnapBlocks, &snapBlocksMsg{Blocks: batch, End: true})
}

// receiveSnapshot collects the blocks of the snapshot we expect; at End it checks
// that the root and every chunk it names arrived, installs it, and reloads our items.
func (ss *session) receiveSnapshot(m *snapBlocksMsg) (end bool, err error) {
	root := ss.snapRoot
	if !root.Defined() {
		return false, violationf("snapshot blocks that were not asked for")
	}
	if ss.snapBlocks == nil {
		ss.snapBlocks = map[cid.Cid][]byte{}
	}
	limit := ss.svc.opts.MaxSnapshotBytes
	for _, b := range m.Blocks {
		if ss.snapBytes += int64(len(b)) + snapshotOverhead; ss.snapBytes > limit {
			return false, fmt.Errorf("snapshot %s exceeds %d bytes", root, limit)
		}
		c, err := root.Prefix().Sum(b)
		if err != nil {
			return false, violationf("snapshot block: %v", err)
		}
		ss.snapBlocks[c] = b
	}
	if !m.End {
		return false, nil
	}
	blocks := ss.snapBlocks
	ss.snapRoot, ss.snapBlocks, ss.snapBytes = cid.Undef, nil, 0
	keep := map[cid.Cid][]byte{}
	for c, n := root, 0; c.Defined() && n < maxSnapshotRoots; n++ {
		b, ok := blocks[c]
		if !ok {
			if n == 0 {
				return true, violationf("snapshot root %s not sent", root)
			}
			break
		}
		if _, dup := keep[c]; dup {
			break
		}
		keep[c] = b
		chunks, prev, err := snapshotLinks(b)
		if err != nil {
			return true, violationf("snapshot %s: %v", c, err)
		}
		for _, ch := range chunks {
			cb, ok := blocks[ch]
			if !ok {
				return true, violationf("snapshot chunk %s not sent", ch)
			}
			keep[ch] = cb
		}
		c = prev
	}
	if err := ss.rep.InstallSnapshot(root, keep); err != nil {
		if errors.Is(err, dag.ErrInvalid) || errors.Is(err, distinctions.ErrMalformed) || errors.Is(err, distinctions.ErrNotCanonical) {
			return true, &violation{fmt.Errorf("install snapshot %s: %w", root, err)}
		}
		return true, fmt.Errorf("install snapshot %s: %w", root, err)
	}
	ss.res.Snapshot = true
	return true, ss.loadSet()
}
