package crdt

// ApplyMergePatch returns target with the JSON merge patch applied, as RFC 7386 defines
// it. An object patch is merged into the target field by field, recursively: a null field
// deletes the target's field, any other field is merged into it; a target that is not an
// object, Absent included, is first replaced by {}. Any other patch replaces the target
// whole, and a null patch yields null.
//
// A patch field holding Absent is a missing field and changes nothing; an Absent patch
// replaces the target with Absent. The result shares no memory with target or patch,
// which are never modified.
func ApplyMergePatch(target, patch any) any {
	p, ok := patch.(map[string]any)
	if !ok {
		return cloneValue(patch)
	}
	t, _ := target.(map[string]any)
	out := make(map[string]any, len(t)+len(p))
	for k, v := range t {
		if IsAbsent(fieldOf(p, k)) && !IsAbsent(v) {
			out[k] = cloneValue(v)
		}
	}
	for k, v := range p {
		if v != nil && !IsAbsent(v) {
			out[k] = ApplyMergePatch(fieldOf(t, k), v)
		}
	}
	return out
}
