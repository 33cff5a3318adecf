package query

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/korup2p/korup2p/distinctions"
)

// SyntaxError is a filter string that [ParseFilter] rejected. It wraps [ErrInvalid].
type SyntaxError struct {
	Input  string // the filter as given
	Offset int    // byte offset in Input where the problem is
	Msg    string
}

func (e *SyntaxError) Error() string {
	col := utf8.RuneCountInString(e.Input[:min(e.Offset, len(e.Input))]) + 1
	return fmt.Sprintf("filter %q: %s at column %d", e.Input, e.Msg, col)
}

func (e *SyntaxError) Unwrap() error { return ErrInvalid }

// ops maps every accepted spelling of an operator, symbols and lower-case words.
var ops = map[string]Op{
	"=": OpEq, "==": OpEq, "!=": OpNe, ">": OpGt, ">=": OpGte, "<": OpLt, "<=": OpLte,
	"eq": OpEq, "ne": OpNe, "gt": OpGt, "gte": OpGte, "lt": OpLt, "lte": OpLte,
	"contains": OpContains, "exists": OpExists,
}

// symbols are the operators String writes as symbols.
var symbols = map[Op]string{OpEq: "==", OpNe: "!=", OpGt: ">", OpGte: ">=", OpLt: "<", OpLte: "<="}

func isOpRune(r rune) bool { return r == '=' || r == '!' || r == '<' || r == '>' }

// ParseFilter parses "FIELD OP VALUE" (see the package doc for the grammar). The
// filter it returns passes [Query.Validate]; its errors are *[SyntaxError].
func ParseFilter(s string) (Filter, error) {
	fail := func(at int, format string, args ...any) (Filter, error) {
		return Filter{}, &SyntaxError{Input: s, Offset: at, Msg: fmt.Sprintf(format, args...)}
	}
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && n == 1 {
			return fail(i, "invalid UTF-8")
		}
		i += n
	}

	var f Filter
	start := skip(s, 0, unicode.IsSpace)
	i := start
	if strings.HasPrefix(s[i:], `"`) {
		n := quotedLen(s[i:])
		if n < 0 {
			return fail(i, "unterminated quoted field")
		}
		if err := json.Unmarshal([]byte(s[i:i+n]), &f.Field); err != nil {
			return fail(i, "quoted field: %v", err)
		}
		i += n
	} else {
		i = skip(s, i, func(r rune) bool { return !unicode.IsSpace(r) && !isOpRune(r) })
		f.Field = s[start:i]
	}
	if i == start {
		return fail(i, "missing field")
	}
	if _, err := parsePath(f.Field); err != nil {
		return fail(start, "%v", err)
	}

	at := skip(s, i, unicode.IsSpace)
	if at == len(s) {
		return fail(at, "missing operator after field %q", f.Field)
	}
	r, _ := utf8.DecodeRuneInString(s[at:])
	if isOpRune(r) {
		i = skip(s, at, isOpRune)
	} else {
		i = skip(s, at, func(r rune) bool { return !unicode.IsSpace(r) })
	}
	word := s[at:i]
	op, ok := ops[strings.ToLower(word)]
	if !ok {
		return fail(at, "unknown operator %q", word)
	}
	f.Op = op

	at = skip(s, i, unicode.IsSpace)
	text := strings.TrimRightFunc(s[at:], unicode.IsSpace)
	if op == OpExists {
		switch text {
		case "":
		case "true", "false":
			f.Value = text == "true"
		default:
			return fail(at, "exists takes no value (or true or false), got %q", text)
		}
		return f, nil
	}
	if text == "" {
		return fail(at, "missing value after %q", word)
	}
	v, err := parseValue(text)
	if err != nil {
		return fail(at, "%v", err)
	}
	f.Value = v
	return f, nil
}

// parseValue reads VALUE: JSON if it parses as JSON, else the text itself. Text that
// is meant as JSON — it starts with a quote or a bracket, or is JSON that breaks a
// limit (an integer beyond 64 bits) — must parse.
func parseValue(text string) (any, error) {
	v, err := distinctions.ParseJSON([]byte(text), distinctions.DefaultLimits)
	if err == nil {
		return v, nil
	}
	if strings.ContainsAny(text[:1], `"[{`) || json.Valid([]byte(text)) {
		var ve *distinctions.ValueError
		if errors.As(err, &ve) {
			err = ve
		}
		return nil, err
	}
	return text, nil
}

// skip returns the offset of the first rune at or after i for which in is false.
func skip(s string, i int, in func(rune) bool) int {
	for i < len(s) {
		r, n := utf8.DecodeRuneInString(s[i:])
		if !in(r) {
			break
		}
		i += n
	}
	return i
}

// quotedLen returns the length of the JSON string literal at the start of s, or -1.
func quotedLen(s string) int {
	for i := 1; i < len(s); i++ {
		switch s[i] {
		case '\\':
			i++
		case '"':
			return i + 1
		}
	}
	return -1
}

// String formats f so that [ParseFilter] reads it back: the field bare when it can
// be, else as a JSON string; the operator as a symbol or word; the value as JSON.
func (f Filter) String() string {
	var b strings.Builder
	if bare := f.Field != "" && !strings.HasPrefix(f.Field, `"`) &&
		!strings.ContainsFunc(f.Field, func(r rune) bool { return unicode.IsSpace(r) || isOpRune(r) }); bare {
		b.WriteString(f.Field)
	} else {
		field, _ := distinctions.FormatJSON(f.Field) // a string always formats
		b.Write(field)
	}
	b.WriteByte(' ')
	if s, ok := symbols[f.Op]; ok {
		b.WriteString(s)
	} else {
		b.WriteString(string(f.Op))
	}
	if f.Op == OpExists && f.Value == nil {
		return b.String()
	}
	b.WriteByte(' ')
	if v, err := distinctions.FormatJSON(f.Value); err == nil {
		b.Write(v)
	} else {
		fmt.Fprintf(&b, "%v", f.Value)
	}
	return b.String()
}
