package crdt

import "strconv"

// ChangeKind says how a value changed at a path.
type ChangeKind uint8

// The kinds of [Change].
const (
	Added   ChangeKind = iota + 1 // no old value
	Removed                       // no new value
	Changed                       // old and new values differ
)

// String returns "added", "removed" or "changed".
func (k ChangeKind) String() string {
	switch k {
	case Added:
		return "added"
	case Removed:
		return "removed"
	case Changed:
		return "changed"
	}
	return "ChangeKind(" + strconv.Itoa(int(k)) + ")"
}

// Change is one difference between two JSON values.
type Change struct {
	Path []string // object field path from the top; empty for the whole value
	Kind ChangeKind
	Old  any // Absent when Kind is Added
	New  any // Absent when Kind is Removed
}

// DiffValues returns the changes that turn from into to, sorted by path. Where both
// sides hold objects, their fields are compared one by one, recursively; anything else
// (arrays, scalars, a type change, an object against a non-object or Absent) is compared
// whole with [Equal] and reported at its path. Equal values yield no changes. A value of a
// Go type outside the JSON representation is always reported as changed, and not copied;
// otherwise the changes share no memory with from and to.
func DiffValues(from, to any) []Change {
	return diffInto(nil, nil, from, to)
}

func diffInto(out []Change, path []string, from, to any) []Change {
	fo, fok := from.(map[string]any)
	too, took := to.(map[string]any)
	if fok && took {
		for _, k := range fieldNames(fo, too) {
			out = diffInto(out, append(path, k), fieldOf(fo, k), fieldOf(too, k))
		}
		return out
	}
	if Equal(from, to) {
		return out
	}
	kind := Changed
	switch {
	case IsAbsent(from):
		kind = Added
	case IsAbsent(to):
		kind = Removed
	}
	return append(out, Change{
		Path: append([]string{}, path...),
		Kind: kind,
		Old:  cloneValue(from),
		New:  cloneValue(to),
	})
}
