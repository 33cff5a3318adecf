//go:build !unix

package dirlock

import (
	"errors"
	"os"
)

// flock is unix-only: elsewhere Acquire fails rather than lock nothing.
func flock(*os.File) error { return errors.ErrUnsupported }
