package distinctions

import (
	"testing"

	"github.com/korup2p/korup2p/internal/proptest"
)

// TestMain runs every property test with 1,000 cases unless -rapid.checks says otherwise.
func TestMain(m *testing.M) { proptest.Main(m) }
