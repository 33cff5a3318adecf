package tiers

import (
	"errors"
	"fmt"
)

// ErrClosed is returned by every method of a DB, and of its stores, after Close.
var ErrClosed = errors.New("tiers: db is closed")

// ErrDiskBudget is matched (errors.Is) by the *BudgetError that PutVerified returns
// once the WAL and the index reach Options.DiskBudget.
var ErrDiskBudget = errors.New("disk budget reached")

// ErrCorruptIndex is matched by reads and by Check when the index contradicts the
// WAL (a position holding another node, a missing record). Repair rebuilds the index.
var ErrCorruptIndex = errors.New("index does not match the wal")

// BudgetError says that a node was refused because the disk budget is reached.
// Nothing of the node was written, and everything stored before is intact. Nodes
// that only delete are still accepted.
type BudgetError struct {
	Budget int64 // Options.DiskBudget
	Used   int64 // bytes of the WAL and the index when the node was refused
}

func (e *BudgetError) Error() string {
	return fmt.Sprintf("disk budget of %s reached (%s used): only deletes are accepted until space is freed",
		formatBytes(e.Budget), formatBytes(e.Used))
}

// Is makes errors.Is(err, ErrDiskBudget) true.
func (e *BudgetError) Is(target error) bool { return target == ErrDiskBudget }

// formatBytes writes n in binary units with one decimal: "10.0 GiB", "512 B".
func formatBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit && exp < 4; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTP"[exp])
}
