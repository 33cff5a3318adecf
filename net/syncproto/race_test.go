//go:build race

package syncproto

// raceEnabled: under the race detector the fake replica trusts signatures (the
// detector slows Ed25519 tenfold, and the race tests are about this package's
// concurrency); the tests that need verification turn it back on.
const raceEnabled = true
