package syncproto

import (
	"testing"

	"github.com/korup2p/korup2p/internal/proptest"
)

func TestMain(m *testing.M) { proptest.Main(m) }
