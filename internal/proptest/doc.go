// Package proptest sets the house default for property tests: every rapid property
// runs at least DefaultChecks cases unless the command line says otherwise.
package proptest
