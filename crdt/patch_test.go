package crdt

import (
	"testing"

	"pgregory.net/rapid"
)

func TestApplyMergePatch(t *testing.T) {
	tests := []struct {
		name                string
		target, patch, want any
	}{
		// RFC 7386, Appendix A.
		{"A1", js(`{"a":"b"}`), js(`{"a":"c"}`), js(`{"a":"c"}`)},
		{"A2", js(`{"a":"b"}`), js(`{"b":"c"}`), js(`{"a":"b","b":"c"}`)},
		{"A3", js(`{"a":"b"}`), js(`{"a":null}`), js(`{}`)},
		{"A4", js(`{"a":"b","b":"c"}`), js(`{"a":null}`), js(`{"b":"c"}`)},
		{"A5", js(`{"a":["b"]}`), js(`{"a":"c"}`), js(`{"a":"c"}`)},
		{"A6", js(`{"a":"c"}`), js(`{"a":["b"]}`), js(`{"a":["b"]}`)},
		{"A7", js(`{"a":{"b":"c"}}`), js(`{"a":{"b":"d","c":null}}`), js(`{"a":{"b":"d"}}`)},
		{"A8", js(`{"a":[{"b":"c"}]}`), js(`{"a":[1]}`), js(`{"a":[1]}`)},
		{"A9", js(`["a","b"]`), js(`["c","d"]`), js(`["c","d"]`)},
		{"A10", js(`{"a":"b"}`), js(`["c"]`), js(`["c"]`)},
		{"A11", js(`{"a":"foo"}`), js(`null`), js(`null`)},
		{"A12", js(`{"a":"foo"}`), js(`"bar"`), js(`"bar"`)},
		{"A13", js(`{"e":null}`), js(`{"a":1}`), js(`{"e":null,"a":1}`)},
		{"A14", js(`[1,2]`), js(`{"a":"b","c":null}`), js(`{"a":"b"}`)},
		{"A15", js(`{}`), js(`{"a":{"bb":{"ccc":null}}}`), js(`{"a":{"bb":{}}}`)},
		// RFC 7386, section 3.
		{
			"example",
			js(`{"title":"Goodbye!","author":{"givenName":"John","familyName":"Doe"},"tags":["example","sample"],"content":"This will be unchanged"}`),
			js(`{"title":"Hello!","phoneNumber":"+01-123-456-7890","author":{"familyName":null},"tags":["example"]}`),
			js(`{"title":"Hello!","author":{"givenName":"John"},"tags":["example"],"content":"This will be unchanged","phoneNumber":"+01-123-456-7890"}`),
		},
		// Absent.
		{"absent target, object patch", Absent, js(`{"a":1,"b":null}`), js(`{"a":1}`)},
		{"absent target, scalar patch", Absent, int64(1), int64(1)},
		{"absent target, null patch", Absent, nil, nil},
		{"absent patch", js(`{"a":1}`), Absent, Absent},
		{"absent patch field changes nothing", js(`{"a":1}`), map[string]any{"a": Absent, "b": Absent}, js(`{"a":1}`)},
		{"absent target field is missing", map[string]any{"a": Absent}, js(`{"b":{"c":1}}`), js(`{"b":{"c":1}}`)},
		// Numbers keep their types.
		{"float replaces integer", js(`{"a":1}`), js(`{"a":1.0}`), js(`{"a":1.0}`)},
		{"nil object patch", js(`{"a":1}`), map[string]any(nil), js(`{"a":1}`)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := dump([]any{tt.target, tt.patch})
			got := ApplyMergePatch(tt.target, tt.patch)
			if !Equal(got, tt.want) {
				t.Errorf("ApplyMergePatch(%s, %s) = %s, want %s", dump(tt.target), dump(tt.patch), dump(got), dump(tt.want))
			}
			if !wellFormed(got) {
				t.Errorf("result %s holds Absent or nil containers", dump(got))
			}
			scribble(got)
			if dump([]any{tt.target, tt.patch}) != before {
				t.Errorf("inputs modified or aliased")
			}
		})
	}
}

// withoutNullFields returns v without the null fields of its objects, outside arrays:
// the values a merge patch can set.
func withoutNullFields(v any) any {
	o, ok := v.(map[string]any)
	if !ok {
		return v
	}
	out := map[string]any{}
	for k, e := range o {
		if e != nil {
			out[k] = withoutNullFields(e)
		}
	}
	return out
}

// patchFrom builds the merge patch that makes the changes between two objects.
func patchFrom(changes []Change) map[string]any {
	p := map[string]any{}
	for _, c := range changes {
		o := p
		for _, k := range c.Path[:len(c.Path)-1] {
			next, ok := o[k].(map[string]any)
			if !ok {
				next = map[string]any{}
				o[k] = next
			}
			o = next
		}
		if c.Kind == Removed {
			o[c.Path[len(c.Path)-1]] = nil
		} else {
			o[c.Path[len(c.Path)-1]] = c.New
		}
	}
	return p
}

// containsPatch reports whether every value that object patch p sets is in v.
func containsPatch(v, p any) bool {
	po, ok := p.(map[string]any)
	if !ok {
		return Equal(v, p)
	}
	vo, ok := v.(map[string]any)
	if !ok {
		return false
	}
	for k, e := range po {
		if !containsPatch(fieldOf(vo, k), e) {
			return false
		}
	}
	return true
}

func TestApplyMergePatchProperties(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		target := genValueOrAbsent(3).Draw(t, "target")
		patch := genValue(3).Draw(t, "patch")
		before := dump([]any{target, patch})

		got := ApplyMergePatch(target, patch)
		if !wellFormed(got) {
			t.Fatalf("result %s holds Absent or nil containers", dump(got))
		}
		if again := ApplyMergePatch(got, patch); !Equal(again, got) {
			t.Fatalf("not idempotent: %s, then %s", dump(got), dump(again))
		}

		// A patch without nulls adds to the target: what it sets is there, the rest stays.
		add := withoutNullFields(patch)
		sum := ApplyMergePatch(target, add)
		if !containsPatch(sum, add) {
			t.Fatalf("ApplyMergePatch(%s, %s) = %s lacks the patch", dump(target), dump(add), dump(sum))
		}
		if to, ok := target.(map[string]any); ok {
			if so, ok := sum.(map[string]any); ok {
				for k, v := range to {
					if _, patched := add.(map[string]any)[k]; !patched && !Equal(so[k], v) {
						t.Fatalf("ApplyMergePatch(%s, %s) = %s lost field %q", dump(target), dump(add), dump(sum), k)
					}
				}
			}
		}

		if dump([]any{target, patch}) != before {
			t.Fatalf("inputs modified")
		}
		scribble(got)
		scribble(sum)
		if dump([]any{target, patch}) != before {
			t.Fatalf("result aliases inputs")
		}
	})
}

func TestApplyMergePatchFromDiff(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		from := genObject(3).Draw(t, "from")
		to := withoutNullFields(genEdit(from, 3).Filter(func(v any) bool {
			_, ok := v.(map[string]any)
			return ok
		}).Draw(t, "to"))
		patch := patchFrom(DiffValues(from, to))
		if got := ApplyMergePatch(from, patch); !Equal(got, to) {
			t.Fatalf("ApplyMergePatch(%s, %s) = %s, want %s", dump(from), dump(patch), dump(got), dump(to))
		}
	})
}
