package proptest

import (
	"flag"
	"os"
	"strconv"
	"testing"
)

// DefaultChecks is how many random cases each property test runs by default.
const DefaultChecks = 1000

// Main is a TestMain: it sets -rapid.checks to DefaultChecks when the flag was not
// given, then runs the tests and exits.
func Main(m *testing.M) {
	flag.Parse()
	set := false
	flag.Visit(func(f *flag.Flag) { set = set || f.Name == "rapid.checks" })
	if !set {
		if err := flag.Set("rapid.checks", strconv.Itoa(DefaultChecks)); err != nil {
			panic("proptest: the package under test does not import rapid: " + err.Error())
		}
	}
	os.Exit(m.Run())
}
