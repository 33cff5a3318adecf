package caps

import "fmt"

// Ability is what a token lets its holder do in a space. Abilities are ordered:
// Read < Write < Admin, and holding one grants every lower one. The zero Ability is
// invalid: no token carries it.
type Ability uint8

const (
	Read  Ability = 1 // read the keys covered (and be served the space's nodes)
	Write Ability = 2 // write the keys covered; implies Read
	Admin Ability = 3 // revoke others' tokens for the keys covered; implies Write
)

// Valid reports whether a is Read, Write or Admin.
func (a Ability) Valid() bool { return a >= Read && a <= Admin }

// String returns "read", "write" or "admin" (the wire form), or "ability(N)".
func (a Ability) String() string {
	switch a {
	case Read:
		return "read"
	case Write:
		return "write"
	case Admin:
		return "admin"
	}
	return fmt.Sprintf("ability(%d)", uint8(a))
}

// MarshalText implements encoding.TextMarshaler.
func (a Ability) MarshalText() ([]byte, error) {
	if !a.Valid() {
		return nil, fmt.Errorf("invalid ability %d", uint8(a))
	}
	return []byte(a.String()), nil
}

// UnmarshalText implements encoding.TextUnmarshaler.
func (a *Ability) UnmarshalText(b []byte) error {
	v, err := ParseAbility(string(b))
	if err != nil {
		return err
	}
	*a = v
	return nil
}

// ParseAbility parses "read", "write" or "admin" (exactly; the wire form is lower case).
func ParseAbility(s string) (Ability, error) {
	switch s {
	case "read":
		return Read, nil
	case "write":
		return Write, nil
	case "admin":
		return Admin, nil
	}
	return 0, fmt.Errorf("unknown ability %q (want read, write or admin)", s)
}
