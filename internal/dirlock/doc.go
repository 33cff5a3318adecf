// Package dirlock locks a data directory against a second user, and tells whether the
// last one stopped cleanly.
//
// [Acquire] takes an exclusive, non-blocking flock(2) on the file LOCK in the
// directory and writes the process ID into it. A second Acquire — by another process,
// or by this one, since flock locks belong to open files — fails with an
// *[InUseError] naming the holder's PID. The kernel drops the lock when its holder
// exits, however it exits, so a killed process never leaves a directory that refuses
// to open: there is no stale lock to clean up.
//
// The PID in LOCK doubles as a marker of a clean shutdown: [Lock.Unlock] empties the
// file before it releases the lock. If Acquire finds the file not empty, the previous
// holder exited without Unlock (a crash, a kill, a power cut), and [Lock.Unclean]
// reports it, so the caller can log it and check its data — never refuse to start.
//
// Usage:
//
//	lk, err := dirlock.Acquire(dir)
//	var inUse *dirlock.InUseError
//	if errors.As(err, &inUse) { ... another korup2p runs on dir ... }
//	if err != nil { return err }
//	defer lk.Unlock()
//	if lk.Unclean() { log.Warn("unclean shutdown; recovering", "dir", dir) }
package dirlock
