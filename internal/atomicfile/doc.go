// Package atomicfile writes small files whole: the identity key, the daemon's API
// address and token.
package atomicfile
