// Package query owns korup2p's query engine: it filters, sorts, limits and aggregates
// (key, value) rows whose values are JSON value trees — nil, bool, int64, uint64 (only
// above math.MaxInt64), float64, string, []any, map[string]any, as
// distinctions.ParseJSON returns them. The root package feeds it one namespace's rows
// for Node.Query; the CLI parses --where strings with [ParseFilter].
//
// The package is pure: a function of a [Query] and an iterator, no IO, no goroutines.
//
// # Field paths
//
// A field is a dotted path, "address.city"; "" and "." are the whole value. A segment
// looks a key up in an object; a segment that is a decimal integer in canonical form
// ("0", "12", not "01") also indexes an array ("tags.0"). Keys containing a dot cannot
// be reached. A path that leads nowhere — a missing key, an index out of range, a step
// into a scalar — means the field is missing. A present null is not missing.
//
// # Order and equality
//
// One total order serves sorting, min/max and the comparison operators:
//
//	null < false < true < numbers < strings < arrays < objects
//
// Numbers compare by exact numeric value across int64, uint64 and float64 (no rounding:
// 9007199254740993 > 9007199254740992.0), so 30 and 30.0 are equal. Strings compare
// bytewise; arrays element by element, then by length; objects as their (key, value)
// lists in key order. Two values are equal (eq) exactly when this order ties them, so
// eq is deep equality with numbers compared numerically.
//
// # Filters
//
// Every filter must match (AND). On a missing field every operator is false except ne,
// which is true, and exists, which tests presence (with Value false, absence).
//
//   - eq, ne: equal or not, as above; values of different kinds are never equal.
//   - gt, gte, lt, lte: by the order above, but only between values of the same kind
//     (number with number, string with string, …); across kinds all four are false.
//   - contains: a string contains the substring Value; an array contains an element
//     equal to Value; an object has the key Value (a string). Otherwise false.
//
// # Sorting and limits
//
// With Sort "" rows come in key order (Desc reverses it). With a Sort path they come in
// the order above (Desc reverses it); rows lacking the field come last in both
// directions; ties go to the smaller key in both directions. Limit applies after
// sorting. Unsorted ascending queries stop pulling rows once Limit rows matched.
//
// # Aggregates
//
// An aggregate covers every matching row; it ignores Sort, Desc and Limit.
//
//   - count: the number of matching rows, as int64 (0 for none).
//   - sum: of the numeric values of Field, skipping the rest; an int64 if every value
//     is an integer and the exact total fits int64 (an intermediate overflow that
//     comes back into range is fine), else a float64. An error wrapping [ErrOverflow]
//     if it exceeds the float64 range.
//   - avg: the float64 mean of the numeric values of Field.
//   - min, max: the least or greatest present value of Field in the order above,
//     whatever its kind; among equal values (1 and 1.0) the first in key order.
//
// Result.Count is the number of rows or values aggregated; Result.Value is nil for
// sum, avg, min and max of no values.
//
// # Filter strings
//
// [ParseFilter] reads FIELD OP VALUE:
//
//   - FIELD: a bare path running to the first space or operator character, or a JSON
//     string ("first name", "" for the whole value).
//   - OP: = == != > >= < <= (spaces around them optional), or a word after a space:
//     eq ne gt gte lt lte contains exists (any case).
//   - VALUE: the rest, trimmed. JSON if it parses as JSON (30, "Ada", true, null,
//     [1,2], {"a":1}); otherwise the text itself as a string, so `city = Paris` and
//     `city = New York` work. Text starting with a quote or bracket must be valid JSON.
//     exists takes no value, or true or false.
//
// [Filter.String] writes a filter back in this syntax.
//
// Usage:
//
//	f, err := query.ParseFilter("address.city = Paris")
//	res, err := query.Run(query.Query{
//		Filters: []query.Filter{f, {Field: "age", Op: query.OpGte, Value: int64(30)}},
//		Sort:    "age", Desc: true, Limit: 10,
//	}, rows) // rows: iter.Seq2[string, any] in key order
//	for _, r := range res.Rows { … r.Key, r.Value … }
package query
