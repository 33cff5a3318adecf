package distinctions

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync"
	"unicode/utf16"
	"unicode/utf8"
)

// This file holds the JSON parser behind [ParseJSON]: a recursive-descent parser over
// the input bytes. It accepts exactly RFC 8259 JSON and reproduces, check for check, the
// behaviour of the encoding/json Decoder.Token walk it replaced, including which error
// wins when an input breaks more than one rule and the path that error names:
//
//   - a value is checked against MaxDepth before anything of it is read, so a too-deep
//     element is "nested deeper than N" even when its text is also invalid;
//   - in an array, the MaxItems check comes before the comma; in an object, the key is
//     read first, then checked for duplicates, then against MaxItems, then the value's
//     depth, then the colon;
//   - a syntax error in a key, or between members (a missing comma or closing bracket,
//     the end of the input), is reported at the container's path; anything from an
//     array element's comma (or an object member's colon) onwards at the element's path;
//   - a number ends at the first byte that cannot continue it ("01" is 0 followed by
//     data, as the encoding/json scanner reads it), and a literal at its last letter.
//
// The path is not kept while parsing: an error collects it while the recursion unwinds,
// so the well-formed path costs nothing.

// jsonParser is the state of one ParseJSON call. The scratch slices are reused across
// calls through jsonParsers.
type jsonParser struct {
	data     []byte
	pos      int
	maxDepth int
	maxItems int
	elems    []any    // elements and member values of the arrays and objects being parsed, innermost last
	keys     []string // member names of the objects being parsed, innermost last
	buf      []byte   // the unescaped bytes of the string being parsed

	// Short strings seen before, by a hash of their bytes: object keys repeat (in an
	// array of records, and from one call to the next), and so do many short values.
	// Strings are immutable, so value trees may share them; a cached value is kept
	// boxed in an any, which saves the allocation of the box too.
	keyCache [internSlots]string
	valCache [internSlots]any
}

const (
	internSlots  = 256
	internKeyMax = 32 // longest key cached, in bytes
	internValMax = 16 // longest string value cached
)

// internHash is FNV-1a, folded to a slot.
func internHash(b []byte) int {
	h := uint32(2166136261)
	for _, c := range b {
		h = (h ^ uint32(c)) * 16777619
	}
	return int((h ^ h>>16) % internSlots)
}

// key returns b, a member name, as a string.
func (p *jsonParser) key(b []byte) string {
	if len(b) > internKeyMax {
		return string(b)
	}
	slot := &p.keyCache[internHash(b)]
	if *slot != string(b) {
		*slot = string(b)
	}
	return *slot
}

// stringValue returns b as a string in an any.
func (p *jsonParser) stringValue(b []byte) any {
	if len(b) > internValMax {
		return string(b)
	}
	slot := &p.valCache[internHash(b)]
	if s, ok := (*slot).(string); !ok || s != string(b) {
		*slot = string(b)
	}
	return *slot
}

var jsonParsers = sync.Pool{New: func() any { return new(jsonParser) }}

// parseError is an error found while parsing or formatting. rpath holds the path
// segments innermost first; each level of the recursion adds its own on the way out.
type parseError struct {
	rpath []string
	msg   string
	err   error
}

func (e *parseError) at(seg string) *parseError {
	e.rpath = append(e.rpath, seg)
	return e
}

func (e *parseError) atIndex(i int) *parseError { return e.at(strconv.Itoa(i)) }

func (e *parseError) valueError() *ValueError {
	slices.Reverse(e.rpath)
	return &ValueError{Path: strings.Join(e.rpath, "."), Msg: e.msg, Err: e.err}
}

func parseJSON(data []byte, l Limits) (any, error) {
	p := jsonParsers.Get().(*jsonParser)
	p.data, p.pos, p.maxDepth, p.maxItems = data, 0, l.MaxDepth, l.MaxItems
	v, perr := p.value(0)
	if perr == nil {
		p.skipSpace()
		if p.pos < len(p.data) {
			perr = p.syntaxErr("data after the value")
		}
	}
	p.release()
	if perr != nil {
		return nil, perr.valueError()
	}
	return v, nil
}

// release drops every reference into the caller's data and returns p to the pool,
// unless its scratch space has grown too large to keep.
func (p *jsonParser) release() {
	p.data = nil
	clear(p.elems) // non-empty only after an error
	p.elems = p.elems[:0]
	clear(p.keys)
	p.keys = p.keys[:0]
	p.buf = p.buf[:0]
	if cap(p.elems) <= 4096 && cap(p.keys) <= 4096 && cap(p.buf) <= 64<<10 {
		jsonParsers.Put(p)
	}
}

func (p *jsonParser) syntaxErr(detail string) *parseError {
	return &parseError{msg: fmt.Sprintf("invalid JSON at offset %d: %s", p.pos, detail), err: ErrMalformed}
}

// unexpected reports the byte at p.pos (or the end of the input) as out of place.
func (p *jsonParser) unexpected(context string) *parseError {
	if p.pos >= len(p.data) {
		return p.syntaxErr("unexpected end of input")
	}
	r, _ := utf8.DecodeRune(p.data[p.pos:]) // the input is valid UTF-8
	return p.syntaxErr(fmt.Sprintf("invalid character %q %s", r, context))
}

func (p *jsonParser) tooDeep() *parseError {
	return &parseError{msg: fmt.Sprintf("nested deeper than %d", p.maxDepth), err: ErrTooLarge}
}

// isSpace: JSON whitespace is exactly space, tab, line feed and carriage return.
func isSpace(c byte) bool { return c <= ' ' && (c == ' ' || c == '\n' || c == '\r' || c == '\t') }

func (p *jsonParser) skipSpace() {
	for p.pos < len(p.data) && isSpace(p.data[p.pos]) {
		p.pos++
	}
}

// value parses the value at depth (the length of its path). An array or object
// there is at nesting level depth+1, which may not exceed maxDepth (the CBOR
// decoder's limit on nested arrays and maps).
func (p *jsonParser) value(depth int) (any, *parseError) {
	p.skipSpace()
	if p.pos >= len(p.data) {
		return nil, p.syntaxErr("unexpected end of input")
	}
	switch c := p.data[p.pos]; c {
	case '"':
		b, err := p.str()
		if err != nil {
			return nil, err
		}
		return p.stringValue(b), nil
	case '{', '[':
		if depth >= p.maxDepth {
			return nil, p.tooDeep()
		}
		if c == '{' {
			return p.object(depth)
		}
		return p.array(depth)
	case 't':
		return p.literal("true", true)
	case 'f':
		return p.literal("false", false)
	case 'n':
		return p.literal("null", nil)
	default:
		if c == '-' || '0' <= c && c <= '9' {
			return p.number()
		}
		return nil, p.unexpected("looking for beginning of value")
	}
}

func (p *jsonParser) literal(lit string, v any) (any, *parseError) {
	if end := p.pos + len(lit); end <= len(p.data) && string(p.data[p.pos:end]) == lit {
		p.pos = end
		return v, nil
	}
	for i := 1; i < len(lit); i++ {
		p.pos++
		if p.pos >= len(p.data) || p.data[p.pos] != lit[i] {
			return nil, p.unexpected("in literal " + lit)
		}
	}
	panic("unreachable")
}

func (p *jsonParser) array(depth int) (any, *parseError) {
	p.pos++ // '['
	base := len(p.elems)
	for n := 0; ; n++ {
		p.skipSpace()
		if p.pos >= len(p.data) {
			return nil, p.syntaxErr("unexpected end of input")
		}
		c := p.data[p.pos]
		if c == ']' {
			p.pos++
			break
		}
		if c == '}' {
			return nil, p.unexpected("in array")
		}
		if n >= p.maxItems {
			return nil, &parseError{msg: fmt.Sprintf("more than %d elements", p.maxItems), err: ErrTooLarge}
		}
		if n > 0 {
			if c != ',' {
				return nil, p.unexpected("after array element").atIndex(n)
			}
			p.pos++
		}
		e, err := p.value(depth + 1)
		if err != nil {
			return nil, err.atIndex(n)
		}
		p.elems = append(p.elems, e)
	}
	if len(p.elems) == base {
		return []any{}, nil
	}
	arr := make([]any, len(p.elems)-base)
	copy(arr, p.elems[base:])
	clear(p.elems[base:])
	p.elems = p.elems[:base]
	return arr, nil
}

// linearKeys is how many members an object collects in p.keys and p.elems, checking
// for duplicates by comparing names, before it moves them into a map. Collecting first
// lets the map be made at its final size, and spares a small object its map lookups.
const linearKeys = 16

func (p *jsonParser) object(depth int) (any, *parseError) {
	p.pos++ // '{'
	kbase, vbase := len(p.keys), len(p.elems)
	var obj map[string]any // nil while the members are collected in p.keys and p.elems
	for n := 0; ; n++ {
		p.skipSpace()
		if p.pos >= len(p.data) {
			return nil, p.syntaxErr("unexpected end of input")
		}
		c := p.data[p.pos]
		if c == '}' {
			p.pos++
			break
		}
		if c == ']' {
			return nil, p.unexpected("in object")
		}
		if n > 0 {
			if c != ',' {
				return nil, p.unexpected("after object key:value pair")
			}
			p.pos++
			p.skipSpace()
			if p.pos >= len(p.data) {
				return nil, p.syntaxErr("unexpected end of input")
			}
			c = p.data[p.pos]
		}
		if c != '"' {
			return nil, p.unexpected("looking for beginning of object key string")
		}
		kb, err := p.str()
		if err != nil {
			return nil, err
		}
		k := p.key(kb)
		var dup bool
		if obj == nil {
			dup = slices.Contains(p.keys[kbase:], k)
		} else {
			_, dup = obj[k]
		}
		if dup {
			return nil, &parseError{msg: fmt.Sprintf("duplicate key %q", k), err: ErrMalformed}
		}
		if n >= p.maxItems {
			return nil, &parseError{msg: fmt.Sprintf("more than %d fields", p.maxItems), err: ErrTooLarge}
		}
		p.skipSpace()
		if p.pos >= len(p.data) || p.data[p.pos] != ':' {
			return nil, p.unexpected("after object key").at(k)
		}
		p.pos++
		if obj == nil && n == linearKeys {
			obj = p.collected(kbase, vbase, linearKeys+linearKeys/2)
		}
		if obj == nil {
			p.keys = append(p.keys, k)
		}
		v, err := p.value(depth + 1)
		if err != nil {
			return nil, err.at(k)
		}
		if obj == nil {
			p.elems = append(p.elems, v)
		} else {
			obj[k] = v
		}
	}
	if obj == nil {
		obj = p.collected(kbase, vbase, len(p.keys)-kbase)
	}
	return obj, nil
}

// collected moves the members collected since kbase and vbase into a new map.
func (p *jsonParser) collected(kbase, vbase, size int) map[string]any {
	obj := make(map[string]any, size)
	for i, k := range p.keys[kbase:] {
		obj[k] = p.elems[vbase+i]
	}
	clear(p.keys[kbase:])
	p.keys = p.keys[:kbase]
	clear(p.elems[vbase:])
	p.elems = p.elems[:vbase]
	return obj
}

// strStop marks the bytes that end the plain run of a string: '"', '\\' and the
// control characters, which JSON does not allow unescaped.
var strStop = func() (t [256]bool) {
	for c := range 0x20 {
		t[c] = true
	}
	t['"'], t['\\'] = true, true
	return t
}()

// str parses the string starting at p.pos (its opening quote) and returns its bytes,
// which stay valid until the next call. The input was checked to be valid UTF-8 as a
// whole, so the bytes between the quotes are valid UTF-8 too: a multi-byte sequence
// never contains '"' or '\\'.
func (p *jsonParser) str() ([]byte, *parseError) {
	data := p.data
	start := p.pos + 1
	i := start
	for i < len(data) && !strStop[data[i]] {
		i++
	}
	if i < len(data) && data[i] == '"' {
		p.pos = i + 1
		return data[start:i], nil
	}
	return p.strSlow(start, i)
}

// strSlow finishes a string that holds escapes (or is invalid) from data[i]; data[start:i]
// is its plain beginning. Escapes decode as encoding/json decodes them: a \uXXXX high
// surrogate followed by a \uXXXX low surrogate is one code point; any other surrogate
// escape (a lone or reversed half) becomes U+FFFD, and an escape after it is read on its own.
func (p *jsonParser) strSlow(start, i int) ([]byte, *parseError) {
	data := p.data
	buf := append(p.buf[:0], data[start:i]...)
	for {
		j := i
		for j < len(data) && !strStop[data[j]] {
			j++
		}
		buf = append(buf, data[i:j]...)
		i = j
		if i >= len(data) {
			p.pos = i
			return nil, p.syntaxErr("unexpected end of input in string")
		}
		switch c := data[i]; {
		case c == '"':
			p.pos = i + 1
			p.buf = buf
			return buf, nil
		case c < 0x20:
			p.pos = i
			return nil, p.unexpected("in string literal")
		}
		// a backslash
		if i+1 >= len(data) {
			p.pos = i + 1
			return nil, p.syntaxErr("unexpected end of input in string escape")
		}
		switch e := data[i+1]; e {
		case '"', '\\', '/':
			buf = append(buf, e)
		case 'b':
			buf = append(buf, '\b')
		case 'f':
			buf = append(buf, '\f')
		case 'n':
			buf = append(buf, '\n')
		case 'r':
			buf = append(buf, '\r')
		case 't':
			buf = append(buf, '\t')
		case 'u':
			r, bad := hex4(data, i+2)
			if bad >= 0 {
				p.pos = bad
				return nil, p.unexpected("in \\u hexadecimal character escape")
			}
			i += 6
			if utf16.IsSurrogate(r) {
				if r2, bad := hex4(data, i+2); bad < 0 && i+1 < len(data) && data[i] == '\\' && data[i+1] == 'u' {
					if dec := utf16.DecodeRune(r, r2); dec != utf8.RuneError {
						buf = utf8.AppendRune(buf, dec)
						i += 6
						continue
					}
				}
				r = utf8.RuneError
			}
			buf = utf8.AppendRune(buf, r)
			continue
		default:
			p.pos = i + 1
			return nil, p.unexpected("in string escape code")
		}
		i += 2
	}
}

// hex4 decodes the four hex digits at data[i:]. bad is the offset of the first byte
// that is not one (len(data) at the end of the input), or -1.
func hex4(data []byte, i int) (r rune, bad int) {
	for k := i; k < i+4; k++ {
		if k >= len(data) {
			return 0, len(data)
		}
		c := data[k]
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c -= 'a' - 10
		case 'A' <= c && c <= 'F':
			c -= 'A' - 10
		default:
			return 0, k
		}
		r = r<<4 | rune(c)
	}
	return r, -1
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// number parses the number at p.pos by the RFC 8259 grammar
//
//	[ "-" ] ( "0" / [1-9] *DIGIT ) [ "." 1*DIGIT ] [ ( "e" / "E" ) [ "+" / "-" ] 1*DIGIT ]
//
// stopping at the first byte that cannot continue it.
func (p *jsonParser) number() (any, *parseError) {
	data := p.data
	start := p.pos
	i := start
	if data[i] == '-' {
		i++
	}
	digits := i
	switch {
	case i < len(data) && data[i] == '0':
		i++
	case i < len(data) && isDigit(data[i]):
		for i < len(data) && isDigit(data[i]) {
			i++
		}
	default:
		p.pos = i
		return nil, p.unexpected("in numeric literal")
	}
	integer := true
	if i < len(data) && data[i] == '.' {
		integer = false
		i++
		if i >= len(data) || !isDigit(data[i]) {
			p.pos = i
			return nil, p.unexpected("after decimal point in numeric literal")
		}
		for i < len(data) && isDigit(data[i]) {
			i++
		}
	}
	if i < len(data) && (data[i] == 'e' || data[i] == 'E') {
		integer = false
		i++
		if i < len(data) && (data[i] == '+' || data[i] == '-') {
			i++
		}
		if i >= len(data) || !isDigit(data[i]) {
			p.pos = i
			return nil, p.unexpected("in exponent of numeric literal")
		}
		for i < len(data) && isDigit(data[i]) {
			i++
		}
	}
	p.pos = i
	if integer && i-digits <= 18 {
		// At most 18 digits always fits an int64: this is what strconv.ParseInt returns.
		var n int64
		for _, c := range data[digits:i] {
			n = n*10 + int64(c-'0')
		}
		if digits > start {
			n = -n
		}
		return n, nil
	}
	return numberValue(data[start:i], integer)
}

// numberValue converts the text of a JSON number: an integer to int64, or uint64 above
// math.MaxInt64; a number with a fraction or exponent to float64. An integer is what
// strconv.ParseInt returns for it or, failing that, strconv.ParseUint; a non-negative
// one is parsed by ParseUint alone, which gives the same without ParseInt's error.
func numberValue(text []byte, integer bool) (any, *parseError) {
	switch {
	case !integer:
		f, err := strconv.ParseFloat(string(text), 64)
		if err == nil && !math.IsInf(f, 0) {
			return f, nil
		}
		return nil, &parseError{msg: fmt.Sprintf("number %s is outside the 64-bit float range", text), err: ErrMalformed}
	case text[0] == '-':
		if i, err := strconv.ParseInt(string(text), 10, 64); err == nil {
			return i, nil
		}
	default:
		if u, err := strconv.ParseUint(string(text), 10, 64); err == nil {
			if u <= math.MaxInt64 {
				return int64(u), nil
			}
			return u, nil
		}
	}
	return nil, &parseError{msg: fmt.Sprintf("integer %s is outside the 64-bit range (write it as a string, or as a float to accept rounding)", text), err: ErrMalformed}
}
