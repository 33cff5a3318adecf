package tiers

// The cold tier: sealed WAL segments are compressed (zstd, seekable; see
// wal.Log.Compress) and stay readable for history and time travel at the same
// positions, so the index never changes. One background goroutine does it, off the
// write path: Open starts it, Close stops it and waits, and PutVerified wakes it when
// an append starts a new segment (the previous one is then sealed).

type cold struct {
	kick chan struct{} // buffered: a wake-up pending
	stop chan struct{}
	done chan struct{}
	seg  uint64 // the segment of the last append; under wmu
}

func (db *DB) startCold() {
	db.cold = &cold{kick: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{})}
	go db.runCold()
	db.kickCold() // compress what an earlier run sealed but left warm
}

func (db *DB) kickCold() {
	select {
	case db.cold.kick <- struct{}{}:
	default:
	}
}

// appended notes the segment of an append and wakes the compactor when it changed.
// db.wmu is held.
func (db *DB) appended(seg uint64) {
	if db.cold == nil {
		return
	}
	if db.cold.seg != 0 && seg != db.cold.seg {
		db.kickCold()
	}
	db.cold.seg = seg
}

func (db *DB) runCold() {
	defer close(db.cold.done)
	for {
		select {
		case <-db.cold.stop:
			return
		case <-db.cold.kick:
			if n, err := db.log.CompressSealed(); err != nil {
				db.opts.Warn("compress sealed WAL segments", "compressed", n, "err", err)
			}
		}
	}
}

// stopCold stops the compactor and waits for it (a compression in progress finishes).
func (db *DB) stopCold() {
	if db.cold == nil {
		return
	}
	close(db.cold.stop)
	<-db.cold.done
}
