package dag_test

import (
	"testing"

	"github.com/korup2p/korup2p/dag"
	"github.com/korup2p/korup2p/dag/dagtest"
)

func TestMemStoreConformance(t *testing.T) {
	dagtest.TestStore(t, func(*testing.T, *dag.Node) dag.Store { return dag.NewMemStore() })
}
