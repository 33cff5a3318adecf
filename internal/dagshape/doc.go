// Package dagshape builds small DAGs of named nodes for tests, from a
// one-line description of their shape:
//
//	g := dagshape.MustParse("G -> A -> B; G -> C; B,C -> M")
//
// A shape is a list of statements separated by ";" (empty statements are
// allowed, so a trailing ";" is fine). A statement is a chain of groups
// joined by "->"; a group is one name or several separated by ",". Each name
// in a group is a child of every name in the group before it: "B,C -> M"
// gives M the parents B and C, and "A -> B,C" gives B and C the parent A. A
// statement of one group, such as "R" or "R,S", just declares its names.
// Names are made of ASCII letters, digits and "_"; whitespace anywhere
// between tokens is ignored. A node that no statement gives a parent is a
// root. A cycle, or anything else that does not fit this grammar, is an
// error that says where.
//
// Each name becomes a node whose CID is a CIDv1 (codec dag-cbor, multihash
// sha2-256 of the name's bytes), so a name has the same CID in every graph.
// Heights are generation numbers: 0 for a root, 1 + the greatest parent
// height otherwise. A *Graph is an [lca.Graph]; for a CID it does not hold,
// Parents and Height return [lca.ErrNotFound].
//
// [Graph.Add] builds graphs node by node, for shapes too large or too random
// to write down, and [Graph.String] prints any graph back as a shape that
// Parse accepts, which makes failing property tests readable.
//
// A Graph is safe for concurrent reads, not for reads concurrent with Add.
package dagshape
