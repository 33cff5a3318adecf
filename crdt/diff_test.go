package crdt

import (
	"maps"
	"slices"
	"strings"
	"testing"

	"pgregory.net/rapid"
)

func dumpChanges(cs []Change) string {
	var b strings.Builder
	for _, c := range cs {
		b.WriteString(strings.Join(c.Path, ".") + " " + c.Kind.String() + " " + dump(c.Old) + " -> " + dump(c.New) + "\n")
	}
	return b.String()
}

func TestDiffValues(t *testing.T) {
	tests := []struct {
		name     string
		from, to any
		want     []Change
	}{
		{name: "equal scalars", from: int64(1), to: int64(1)},
		{name: "both absent", from: Absent, to: Absent},
		{name: "equal objects", from: js(`{"a":[1,{"b":2}]}`), to: js(`{"a":[1,{"b":2}]}`)},
		{name: "empty objects", from: map[string]any(nil), to: js(`{}`)},
		{
			name: "scalar changed",
			from: int64(1), to: "1",
			want: []Change{{Path: []string{}, Kind: Changed, Old: int64(1), New: "1"}},
		},
		{
			name: "integer to float",
			from: int64(1), to: 1.0,
			want: []Change{{Path: []string{}, Kind: Changed, Old: int64(1), New: 1.0}},
		},
		{
			name: "value added",
			from: Absent, to: js(`{"a":1}`),
			want: []Change{{Path: []string{}, Kind: Added, Old: Absent, New: js(`{"a":1}`)}},
		},
		{
			name: "value removed",
			from: js(`{"a":1}`), to: Absent,
			want: []Change{{Path: []string{}, Kind: Removed, Old: js(`{"a":1}`), New: Absent}},
		},
		{
			name: "null is a value",
			from: Absent, to: nil,
			want: []Change{{Path: []string{}, Kind: Added, Old: Absent, New: nil}},
		},
		{
			name: "arrays whole",
			from: js(`[1,{"a":1}]`), to: js(`[1,{"a":2}]`),
			want: []Change{{Path: []string{}, Kind: Changed, Old: js(`[1,{"a":1}]`), New: js(`[1,{"a":2}]`)}},
		},
		{
			name: "object to array",
			from: js(`{"a":{"x":1}}`), to: js(`{"a":["x"]}`),
			want: []Change{{Path: []string{"a"}, Kind: Changed, Old: js(`{"x":1}`), New: js(`["x"]`)}},
		},
		{
			name: "fields, recursively, sorted",
			from: js(`{"c":1,"a":{"x":1,"z":1},"b":null,"d":{"k":1}}`),
			to:   js(`{"c":2,"a":{"x":2,"y":1},"b":null,"e":{"k":1}}`),
			want: []Change{
				{Path: []string{"a", "x"}, Kind: Changed, Old: int64(1), New: int64(2)},
				{Path: []string{"a", "y"}, Kind: Added, Old: Absent, New: int64(1)},
				{Path: []string{"a", "z"}, Kind: Removed, Old: int64(1), New: Absent},
				{Path: []string{"c"}, Kind: Changed, Old: int64(1), New: int64(2)},
				{Path: []string{"d"}, Kind: Removed, Old: js(`{"k":1}`), New: Absent},
				{Path: []string{"e"}, Kind: Added, Old: Absent, New: js(`{"k":1}`)},
			},
		},
		{
			name: "absent fields are missing",
			from: map[string]any{"a": Absent, "b": int64(1)}, to: map[string]any{"b": Absent, "c": Absent},
			want: []Change{{Path: []string{"b"}, Kind: Removed, Old: int64(1), New: Absent}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := DiffValues(tt.from, tt.to)
			if g, w := dumpChanges(got), dumpChanges(tt.want); g != w {
				t.Errorf("DiffValues(%s, %s) =\n%s want\n%s", dump(tt.from), dump(tt.to), g, w)
			}
			for _, c := range got {
				if c.Path == nil {
					t.Errorf("change path is nil, want empty")
				}
			}
		})
	}
}

func TestChangeKindString(t *testing.T) {
	for k, want := range map[ChangeKind]string{Added: "added", Removed: "removed", Changed: "changed", 0: "ChangeKind(0)", 9: "ChangeKind(9)"} {
		if got := k.String(); got != want {
			t.Errorf("ChangeKind(%d).String() = %q, want %q", k, got, want)
		}
	}
}

func TestDiffValuesForeignTypes(t *testing.T) {
	got := DiffValues(js(`{"a":1}`), map[string]any{"a": 1})
	if len(got) != 1 || got[0].Kind != Changed || got[0].New != 1 {
		t.Errorf("DiffValues = %s, want a change to the foreign value", dumpChanges(got))
	}
}

// setAt returns v with the value at path set to nv (removed if nv is Absent).
func setAt(v any, path []string, nv any) any {
	if len(path) == 0 {
		return nv
	}
	o, _ := v.(map[string]any)
	out := maps.Clone(o)
	if out == nil {
		out = map[string]any{}
	}
	if r := setAt(fieldOf(o, path[0]), path[1:], nv); IsAbsent(r) {
		delete(out, path[0])
	} else {
		out[path[0]] = r
	}
	return out
}

func TestDiffValuesProperties(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		from := genValueOrAbsent(3).Draw(t, "from")
		to := genEdit(from, 3).Draw(t, "to")
		before := dump([]any{from, to})

		changes := DiffValues(from, to)
		if (len(changes) == 0) != Equal(from, to) {
			t.Fatalf("DiffValues(%s, %s) = %s", dump(from), dump(to), dumpChanges(changes))
		}
		got := from
		for i, c := range changes {
			if i > 0 && slices.Compare(changes[i-1].Path, c.Path) >= 0 {
				t.Fatalf("paths out of order:\n%s", dumpChanges(changes))
			}
			want := Changed
			switch {
			case IsAbsent(c.Old):
				want = Added
			case IsAbsent(c.New):
				want = Removed
			}
			if c.Kind != want || Equal(c.Old, c.New) ||
				!Equal(c.Old, valueAt(from, c.Path)) || !Equal(c.New, valueAt(to, c.Path)) {
				t.Fatalf("bad change in\n%s", dumpChanges(changes))
			}
			got = setAt(got, c.Path, c.New)
		}
		if !Equal(got, to) {
			t.Fatalf("applying\n%s to %s gives %s, want %s", dumpChanges(changes), dump(from), dump(got), dump(to))
		}

		if dump([]any{from, to}) != before {
			t.Fatalf("inputs modified")
		}
		for _, c := range changes {
			scribble(c.Old)
			scribble(c.New)
		}
		if dump([]any{from, to}) != before {
			t.Fatalf("changes alias inputs")
		}
	})
}
