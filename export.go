package korup2p

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/ipfs/go-cid"
	carv2 "github.com/ipld/go-car/v2"
	carstorage "github.com/ipld/go-car/v2/storage"

	"github.com/korup2p/korup2p/dag"
	"github.com/korup2p/korup2p/distinctions"
)

// Export writes the space's nodes to w as a CAR v1 file, which any IPLD tool reads:
// its roots are the space's genesis and then its heads; its blocks are the genesis
// and every node held whole, parents before children. A distilled space also
// carries its snapshot chain (the third root is the last snapshot), so that Import
// can start from it. progress, if not nil, is called with the nodes written and the
// total.
func (n *Node) Export(ctx context.Context, space string, w io.Writer, progress func(done, total int)) error {
	sp, err := n.space(space)
	if err != nil {
		return fmt.Errorf("export %s: %w", space, err)
	}
	items, err := sp.Items()
	if err != nil {
		return fmt.Errorf("export %s: %w", space, err)
	}
	heads, err := sp.store.Heads()
	if err != nil {
		return fmt.Errorf("export %s: %w", space, err)
	}
	roots := append([]cid.Cid{sp.id()}, heads...)
	snapRoot, snapBlocks, err := n.store.SnapshotBlocks(sp.id())
	if err != nil {
		return fmt.Errorf("export %s: %w", space, err)
	}
	if snapRoot.Defined() {
		roots = append([]cid.Cid{sp.id(), snapRoot}, heads...)
	}
	car, err := carstorage.NewWritable(w, roots, carv2.WriteAsCarV1(true))
	if err != nil {
		return fmt.Errorf("export %s: %w", space, err)
	}
	put := func(c cid.Cid, b []byte) error { return car.Put(ctx, c.KeyString(), b) }
	if err := put(sp.id(), sp.g.Bytes()); err != nil {
		return fmt.Errorf("export %s: %w", space, err)
	}
	for c, b := range snapBlocks {
		if err := put(c, b); err != nil {
			return fmt.Errorf("export %s: %w", space, err)
		}
	}
	for i, it := range items {
		if err := ctx.Err(); err != nil {
			return err
		}
		b, err := sp.Block(it.CID)
		if errors.Is(err, dag.ErrNotFound) {
			continue // folded since the list was taken
		}
		if err != nil {
			return fmt.Errorf("export %s: %w", space, err)
		}
		if !it.CID.Equals(sp.id()) {
			if err := put(it.CID, b); err != nil {
				return fmt.Errorf("export %s: %w", space, err)
			}
		}
		if progress != nil && (i%1024 == 0 || i == len(items)-1) {
			progress(i+1, len(items))
		}
	}
	if err := car.Finalize(); err != nil {
		return fmt.Errorf("export %s: %w", space, err)
	}
	return nil
}

// ErrInvalidCAR means a file given to Import is not a CAR of a space's nodes.
var ErrInvalidCAR = errors.New("invalid CAR file")

// importBatch is how many nodes Import ingests at a time.
const importBatch = 512

// Import reads a CAR file that Export wrote (or any CAR whose first root is a
// space's genesis and whose blocks are its nodes) and adds the space under the name
// its genesis gives, or as if not empty. Nodes already held are skipped, so
// importing into a space held under the same name adds what it lacks; a name taken
// by another space is an ErrSpaceExists error. Every node is checked (format,
// signature, causal order) as if a peer sent it. progress, if not nil, is called
// with the blocks read.
func (n *Node) Import(ctx context.Context, r io.Reader, as string, progress func(done int)) (SpaceInfo, error) {
	br, err := carv2.NewBlockReader(r)
	if err != nil {
		return SpaceInfo{}, fmt.Errorf("import: %w: %w", ErrInvalidCAR, err)
	}
	if len(br.Roots) == 0 {
		return SpaceInfo{}, fmt.Errorf("import: %w: it names no root", ErrInvalidCAR)
	}
	first, err := br.Next()
	if err != nil {
		return SpaceInfo{}, fmt.Errorf("import: %w: %w", ErrInvalidCAR, err)
	}
	g, err := dag.Decode(first.RawData(), distinctions.DefaultLimits)
	if err != nil || !g.IsGenesis() || !g.CID().Equals(br.Roots[0]) {
		return SpaceInfo{}, fmt.Errorf("import: %w: the first block is not the genesis its first root names (%v)", ErrInvalidCAR, err)
	}
	info, err := g.SpaceInfo()
	if err != nil {
		return SpaceInfo{}, fmt.Errorf("import: %w", err)
	}
	name := info.Name
	if as != "" {
		name = as
	}
	sp, err := n.space(name)
	switch {
	case err == nil && !sp.id().Equals(g.CID()):
		return SpaceInfo{}, fmt.Errorf("import: %w: %q is another space; import --as a new name", ErrSpaceExists, name)
	case errors.Is(err, ErrUnknownSpace):
		if sp, err = n.addSpace(name, g); err != nil {
			return SpaceInfo{}, fmt.Errorf("import: %w", err)
		}
	case err != nil:
		return SpaceInfo{}, fmt.Errorf("import: %w", err)
	}
	var snapRoot cid.Cid
	if len(br.Roots) > 1 {
		snapRoot = br.Roots[1] // a snapshot if a block of that CID is not a node
	}
	snapBlocks := map[cid.Cid][]byte{}
	var batch [][]byte
	read := 1
	flush := func() error {
		if len(snapBlocks) > 0 { // the chain comes first: the nodes after it build on it
			if err := sp.InstallSnapshot(snapRoot, snapBlocks); err != nil {
				return err
			}
			clear(snapBlocks)
		}
		if len(batch) == 0 {
			return nil
		}
		res, err := sp.Ingest(n.id, batch)
		if err == nil && res.Rejected > 0 {
			err = fmt.Errorf("%d invalid nodes", res.Rejected)
		}
		batch = batch[:0]
		return err
	}
	for {
		if err := ctx.Err(); err != nil {
			return SpaceInfo{}, err
		}
		b, err := br.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return SpaceInfo{}, fmt.Errorf("import: %w: block %d: %w", ErrInvalidCAR, read, err)
		}
		read++
		if _, err := dag.DecodeTrusted(b.RawData(), distinctions.DefaultLimits); err != nil && snapRoot.Defined() {
			snapBlocks[b.Cid()] = b.RawData() // the snapshot chain, not nodes
			continue
		}
		batch = append(batch, b.RawData())
		if len(batch) == importBatch {
			if err := flush(); err != nil {
				return SpaceInfo{}, fmt.Errorf("import: %w", err)
			}
		}
		if progress != nil && read%1024 == 0 {
			progress(read)
		}
	}
	if err := flush(); err != nil {
		return SpaceInfo{}, fmt.Errorf("import: %w", err)
	}
	if progress != nil {
		progress(read)
	}
	if err := n.adopt(ctx, sp); err != nil {
		return sp.infoPublic(), fmt.Errorf("import: %w", err)
	}
	if missing := sp.pendingImport(); missing > 0 {
		return sp.infoPublic(), fmt.Errorf("import: %d nodes wait for dependencies the file lacks", missing)
	}
	return sp.infoPublic(), nil
}

// pendingImport returns how many nodes the space's Ingester holds back.
func (sp *space) pendingImport() int {
	sp.mu.Lock()
	defer sp.mu.Unlock()
	return sp.ingester.Pending()
}
